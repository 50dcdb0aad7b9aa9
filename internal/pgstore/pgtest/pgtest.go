// Package pgtest gives tests a PostgreSQL schema of their own on the
// throwaway server scripts/postgres.sh starts (TEST_PG_DSN), or skips
// them with a message when there is none. Test support: only _test.go
// files may import it (internal/lint).
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DSN returns the test server's DSN (scripts/postgres.sh run sets
// TEST_PG_DSN; make test does), or skips.
func DSN(t testing.TB) string {
	t.Helper()
	d := os.Getenv("TEST_PG_DSN")
	if d == "" {
		t.Skip("TEST_PG_DSN is not set: run under scripts/postgres.sh run (make test does)")
	}
	return d
}

var schemaSeq atomic.Int64

// FreshSchema creates an empty schema, dropped when the test ends, and
// returns a DSN whose connections use it, so that each test sees an empty
// database.
func FreshSchema(t testing.TB) string {
	t.Helper()
	base := DSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), schemaSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
