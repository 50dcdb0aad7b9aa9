package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestLabelCommandsOnSharedStore: on a store whose labels follow
// PostgreSQL's log (sleuth serve --shared), every label write command
// refuses and names the server's routes; reads keep working.
func TestLabelCommandsOnSharedStore(t *testing.T) {
	blocks := simtest.BestChainDir(t, 5, 0.1)
	db := filepath.Join(t.TempDir(), "db")
	if code, _, errs := runCLI(t, "ingest", "--db", db, "--blocks", blocks); code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	st := indextest.Open(t, db)
	addr, _, err := st.AddrString(1)
	if err != nil {
		t.Fatal(err)
	}
	txid, err := st.TxID(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := label.FollowLog(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	st.Close()
	list := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(list, []byte(addr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"label", "add", "--db", db, addr, "--category", "exchange", "--label", "x", "--source", "case"},
		{"label", "remove", "--db", db, "--id", "1"},
		{"labels", "import", "--db", db, "--date", "2024-05-03", list},
		{"labels", "remove-source", "--db", db, "investigator"},
		{"incident", "add", "--db", db, "--category", "theft", "--txid", txid.String(), "--source", "case"},
		{"incident", "remove", "--db", db, "--id", "1"},
	} {
		code, _, errs := runCLI(t, args...)
		if code != 1 || !strings.Contains(errs, "shared through PostgreSQL") || !strings.Contains(errs, "POST /v1/labels") ||
			(args[0] != "labels" || args[1] != "import") && !strings.Contains(errs, "--shared DSN") {
			t.Errorf("%s: exit %d, %q: want a refusal naming the server's routes", strings.Join(args[:2], " "), code, errs)
		}
	}
	if code, _, errs := runCLI(t, "labels", "stats", "--db", db); code != 0 {
		t.Errorf("labels stats on a shared store: exit %d, %s", code, errs)
	}
}
