package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/demo"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// traceJSON is what these tests read of `sleuth trace --json`.
type traceJSON struct {
	Sources []struct {
		Out string `json:"out"`
	} `json:"sources"`
	Totals struct {
		Source int64 `json:"source"`
		Held   int64 `json:"held"`
		Beyond int64 `json:"beyond_indexed"`
	} `json:"totals"`
	Entities []struct {
		Entity uint64  `json:"entity"`
		Sats   int64   `json:"sats"`
		Share  float64 `json:"share"`
	} `json:"entities"`
}

func runTraceJSON(t *testing.T, args ...string) traceJSON {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"trace", "--json", "--all"}, args...)...)
	if code != 0 {
		t.Fatalf("trace %v: exit %d: %s", args, code, errOut)
	}
	var r traceJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("trace %v: %v", args, err)
	}
	return r
}

// TestTraceIncident traces the demo's simulated theft, whose incident
// report names several transactions: --from repeated and --from-file give
// one result whose source is the sum of each traced alone, with no share
// above 100%, and the human output gives BTC amounts.
func TestTraceIncident(t *testing.T) {
	db := demoIndex(t) + "-sim"
	txids := simtest.TheftTxIDs(t, filepath.Join(filepath.Dir(demoIndex(t)), "sim"))
	if len(txids) < 2 {
		t.Fatalf("incident names %d theft txids, want several", len(txids))
	}
	var sum int64
	for _, id := range txids {
		sum += runTraceJSON(t, "--db", db, "--from", id).Totals.Source
	}
	file := filepath.Join(t.TempDir(), "theft.txt")
	list := "# the theft's transactions\n" + strings.Join(txids, "  # stolen\n") + "\n"
	if err := os.WriteFile(file, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	var repeated []string
	for _, id := range txids {
		repeated = append(repeated, "--from", id)
	}
	for name, args := range map[string][]string{
		"--from repeated": repeated,
		"--from-file":     {"--from-file", file},
		"positional":      txids,
	} {
		for _, policy := range []string{"fifo", "haircut", "poison"} {
			r := runTraceJSON(t, append([]string{"--db", db, "--policy", policy}, args...)...)
			if r.Totals.Source != sum {
				t.Errorf("%s/%s: source %d sats, want the sum of the %d txids alone, %d", name, policy, r.Totals.Source, len(txids), sum)
			}
			var shares float64
			for _, e := range r.Entities {
				shares += e.Share
				if e.Share < 0 || e.Share > 1 {
					t.Errorf("%s/%s: entity %d share %.4f", name, policy, e.Entity, e.Share)
				}
			}
			if shares > 1+1e-9 {
				t.Errorf("%s/%s: shares sum to %.4f", name, policy, shares)
			}
		}
	}
	code, out, errOut := runCLI(t, "trace", "--db", db, "--from-file", file)
	if code != 0 {
		t.Fatalf("trace: exit %d: %s", code, errOut)
	}
	rows := 0
	for _, l := range strings.Split(out, "\n") {
		if regexp.MustCompile(`^\d+\s.*\s\d+\.\d{8} BTC\s+\d+\.\d\d%\s`).MatchString(l) {
			rows++
		}
	}
	if rows == 0 || !strings.Contains(out, fmt.Sprintf("from %d source(s)", len(txids))) {
		t.Errorf("human output: %d rows with BTC amounts, want some and %d sources named:\n%s", rows, len(txids), out)
	}

	// Bad source lists: exit 2 naming the file and line.
	bad := filepath.Join(t.TempDir(), "bad.txt")
	for _, c := range []struct {
		content, want string
		code          int
	}{
		{txids[0] + "\n" + txids[1][:10] + ":x\n", "bad.txt: line 2: bad trace source: txid in", 2},
		{"\n\n# nothing\n", "bad.txt: bad trace source: no sources", 2},
		{txids[0] + "\n" + strings.Repeat("0", 64) + "\n", "bad.txt: line 2 (" + strings.Repeat("0", 64) + "): transaction", 1},
	} {
		if err := os.WriteFile(bad, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, "trace", "--db", db, "--from-file", bad)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("bad list %q: exit %d %q, want %d and %q", c.content, code, errOut, c.code, c.want)
		}
	}
	// Bad flags and incidents (query.TraceRequest's checks): exit 2 naming the flag.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--incident", "no such heist"}, "--incident: no such incident"},
		{[]string{"--from", txids[0], "--policy", "fair"}, "--policy: unknown taint policy"},
		{[]string{"--from", txids[0], "--direction", "up"}, "--direction:"},
		{[]string{"--from", txids[0], "--hops", "-1"}, "--hops:"},
		{[]string{"--from", txids[0], "--before", "soon"}, "--before: bad time"},
		{[]string{"--policy", "fifo"}, "--from: no sources"},
	} {
		code, _, errOut := runCLI(t, append([]string{"trace", "--db", db}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("trace %v: exit %d %q, want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestStandaloneSpentUnknown: the demo's standalone block 277647 has no
// successors in the index, so its outputs that no indexed input spends
// are "spent: unknown" in tx and address output, and a trace calls their
// taint beyond the indexed range, not held.
func TestStandaloneSpentUnknown(t *testing.T) {
	dir := demoIndex(t)
	db, err := index.Open(dir, &index.Options{Network: btc.Mainnet, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := db.BlockTxIDs(demo.Block277647)
	if err != nil {
		t.Fatal(err)
	}
	var txid, addr string
	for _, id := range ids {
		v, err := db.Tx(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range v.Outputs {
			if o.Spent == index.SpendUnknown && o.Address != nil && txid == "" {
				txid, addr = id.String(), *o.Address
			}
		}
	}
	db.Close()
	if txid == "" {
		t.Fatal("no output of unknown spend in block 277647")
	}
	code, out, errOut := runCLI(t, "tx", "--db", dir, txid)
	if code != 0 || !strings.Contains(out, "spent: unknown (later blocks not indexed)") || strings.Contains(out, " unspent") {
		t.Errorf("tx %s: exit %d %s\n%s", txid, code, errOut, out)
	}
	code, out, _ = runCLI(t, "tx", "--db", dir, "--json", txid)
	if code != 0 || !strings.Contains(out, `"spent": "unknown"`) || strings.Contains(out, `"spent": "no"`) {
		t.Errorf("tx --json %s: exit %d\n%s", txid, code, out)
	}
	code, out, _ = runCLI(t, "address", "--db", dir, addr)
	if code != 0 || !strings.Contains(out, "balance   unknown (") {
		t.Errorf("address %s: exit %d\n%s", addr, code, out)
	}
	r := runTraceJSON(t, "--db", dir, "--from", txid)
	if r.Totals.Held != 0 || r.Totals.Beyond == 0 {
		t.Errorf("trace %s: held %d, beyond the indexed range %d: want none held", txid, r.Totals.Held, r.Totals.Beyond)
	}
	code, out, _ = runCLI(t, "trace", "--db", dir, "--from", txid)
	if code != 0 || !strings.Contains(out, "beyond the indexed range") {
		t.Errorf("trace %s: exit %d\n%s", txid, code, out)
	}
	code, out, _ = runCLI(t, "trace", "--db", dir, "--from", txid, "--csv")
	if first, _, _ := strings.Cut(out, "\n"); code != 0 || !strings.HasSuffix(first, ",beyond_indexed") {
		t.Errorf("trace --csv %s: exit %d, header %q", txid, code, first)
	}
}
