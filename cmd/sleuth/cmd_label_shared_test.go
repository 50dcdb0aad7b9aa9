package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/labelsync/labelsynctest"
	"github.com/sleuth-forensics/sleuth/internal/pgstore"
	"github.com/sleuth-forensics/sleuth/internal/pgstore/pgtest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestLabelCommandsShared: with --shared DSN, sleuth label, labels and
// incident log their edits in the PostgreSQL label log that a server run
// as sleuth serve --shared follows (here an api.Server wired the same
// way, its applier running), without opening an index: a label added
// with the CLI changes the server's screening answer, its removal changes
// it back, an imported list and its source's removal do the same, and
// incidents come and go. Bad input is refused before anything is logged;
// an unreachable PostgreSQL is a clear error.
func TestLabelCommandsShared(t *testing.T) {
	d := pgtest.FreshSchema(t)
	ctx := context.Background()
	blocks := simtest.BestChainDir(t, 5, 0.1)
	pl := labelsynctest.Ingest(t, indextest.Open(t, t.TempDir()), blocks)
	pg, err := pgstore.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	log := pg.LabelLog()
	t.Cleanup(log.Close)
	sh, err := labelsync.NewShared(ctx, pl, log, labelsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { sh.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	srv := api.New(pl, api.Options{Labels: sh})

	x := labelsynctest.Addr(t, pl, 1)
	var network, txid string
	if err := pl.Read(func(db *index.DB) error {
		network = db.Network().Name
		id, err := db.TxID(2)
		txid = id.String()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	screen := func() string {
		t.Helper()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/screen/"+x, nil))
		var v struct{ Status, Risk string }
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || rec.Code != 200 {
			t.Fatalf("screen %s: %d %s", x, rec.Code, rec.Body)
		}
		return v.Status + "/" + v.Risk
	}
	// await polls the server's answer until ok accepts it (the applier
	// reads the log within its poll interval, 500 ms).
	await := func(what string, ok func(string) bool) {
		t.Helper()
		start := time.Now()
		for {
			got := screen()
			if ok(got) {
				t.Logf("%s: the server answers %s after %v", what, got, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s: the server still answers %s after 5 s", what, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	cli := func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, append(args, "--shared", d, "--network", network)...)
		if code != want {
			t.Fatalf("sleuth %s: exit %d, want %d: %s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out, errOut
	}
	last := func() uint64 { t.Helper(); return labelsynctest.Last(t, log) }
	incidents := func() int {
		t.Helper()
		var n int
		if err := pl.Read(func(db *index.DB) error {
			ins, err := label.Incidents(ctx, db)
			n = len(ins)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}

	before := screen()
	is := func(s string) func(string) bool { return func(x string) bool { return x == s } }
	isNot := func(s string) func(string) bool { return func(x string) bool { return x != s } }

	// A label added with the CLI changes the server's answer; removing it
	// by the id the CLI printed changes it back.
	out, _ := cli(0, "label", "add", x, "--category", "exchange", "--abuse", "sanction", "--label", "Shared sanction",
		"--source", "case 16", "--confidence", "90")
	if !strings.Contains(out, "entry 1 ") || !strings.Contains(out, "label id 1") {
		t.Errorf("label add --shared: %q, want entry and label id 1", out)
	}
	await("label added with the CLI", isNot(before))
	sanctioned := screen()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/labels/"+x, nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Shared sanction") {
		t.Errorf("the server's labels of %s: %d %s", x, rec.Code, rec.Body)
	}
	cli(0, "label", "remove", "--id", "1")
	await("label removed with the CLI", is(before))

	// A list imported with the CLI, then its source removed.
	list := filepath.Join(t.TempDir(), "sanctioned.txt")
	if err := os.WriteFile(list, []byte(x+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli(0, "labels", "import", "--date", "2024-05-03", list)
	await("list imported with the CLI", isNot(before))
	cli(0, "labels", "remove-source", label.OFACSource) // a plain list is a dated publication of OFAC's list
	await("source removed with the CLI", is(before))

	// Incidents.
	cli(0, "incident", "add", "--category", "theft", "--txid", txid, "--name", "test theft")
	for start := time.Now(); incidents() != 1; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the incident logged with the CLI did not reach the server")
		}
	}
	cli(0, "incident", "remove", "--txid", txid)
	for start := time.Now(); incidents() != 0; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the incident removal logged with the CLI did not reach the server")
		}
	}

	// Bad input is refused before it is logged.
	n := last()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"label", "add", x, "--category", "not-a-concept", "--label", "x", "--source", "s"}, "not a concept"},
		{[]string{"label", "add", "1NotAnAddress", "--category", "exchange", "--label", "x", "--source", "s"}, ""},
		{[]string{"label", "add", x, "--category", "exchange", "--source", "s"}, "needs --label"},
		{[]string{"incident", "remove", "--txid", "zz"}, "txid"},
		{[]string{"labels", "import", filepath.Join(t.TempDir(), "missing.txt")}, "missing.txt"},
	} {
		code, _, errOut := runCLI(t, append(c.args, "--shared", d, "--network", network)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("sleuth %s: exit %d, %q: want a failure naming %q", strings.Join(c.args, " "), code, errOut, c.want)
		}
	}
	if got := last(); got != n {
		t.Errorf("bad input logged entries %d..%d", n+1, got)
	}
	if got := screen(); got != before {
		t.Errorf("after the refusals the server answers %s, want %s (sanctioned: %s)", got, before, sanctioned)
	}

	// PostgreSQL unreachable: a clear error, nothing stored.
	code, _, errOut := runCLI(t, "label", "add", x, "--category", "exchange", "--label", "x", "--source", "s", "--network", network,
		"--shared", "postgres://sleuth@127.0.0.1:1/sleuth?sslmode=disable&connect_timeout=2")
	if code == 0 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Errorf("unreachable PostgreSQL: exit %d, %q", code, errOut)
	}
}
