package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestExportCLI: sleuth export writes the demo's real blocks to
// PostgreSQL, a rerun finds nothing new, --from-height re-exports, and
// bad arguments are clear errors.
func TestExportCLI(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export"}, exitUsage, "needs --postgres"},
		{[]string{"export", "--postgres", "postgres://u:secret@[::1:5432/db"}, exitUsage, "malformed --postgres DSN"},
		{[]string{"export", "--postgres", "postgres://127.0.0.1/x", "--from-height", "-5"}, exitUsage, "--from-height -5"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "secret") {
			t.Errorf("%q: exit %d, %q: want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
	dsn := os.Getenv("TEST_PG_DSN")
	if dsn == "" {
		t.Skip("TEST_PG_DSN is not set: run under scripts/postgres.sh run (make test does)")
	}
	db := demoIndex(t)
	schema := fmt.Sprintf("cli%d", os.Getpid())
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), dsn); err == nil {
			c.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"exported heights 0-500", rows("transactions", 509), rows("blocks", 501), "rows/s"}},
		{nil, []string{"no new block: the export is at height 500", rows("transactions", 0), "labels: incremental: unchanged", "exposure: incremental: unchanged"}},
		{[]string{"--from-height", "400"}, []string{"re-exported heights 400-500", rows("blocks", 101)}},
	} {
		code, out, errOut := runCLI(t, append([]string{"export", "--db", db, "--postgres", dsn, "--schema", schema}, c.args...)...)
		if code != exitOK {
			t.Fatalf("export %q: exit %d: %s", c.args, code, errOut)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("export %q: output lacks %q:\n%s", c.args, w, out)
			}
		}
	}
}

// rows is the summary line of a table.
func rows(table string, n int) string { return fmt.Sprintf("  %-15s %12d rows", table, n) }
