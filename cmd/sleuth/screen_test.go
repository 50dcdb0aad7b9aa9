package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// riskStore writes a simulated chain (seed 1, scale 0.2), indexes it and
// imports its public TagPack (which clusters and computes exposure) with
// the CLI, and returns the store's directory and some of its addresses.
func riskStore(t *testing.T) (string, []string) {
	t.Helper()
	work := t.TempDir()
	out, db := filepath.Join(work, "sim"), filepath.Join(work, "db")
	for _, args := range [][]string{
		{"sim", "--out", out, "--seed", "1", "--scale", "0.2"},
		{"ingest", "--db", db, "--blocks", filepath.Join(out, "blocks")},
		{"labels", "import", "--db", db, filepath.Join(out, "public", "tagpack.yaml")},
	} {
		if code, stdout, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s %s", args[0], code, stdout, stderr)
		}
	}
	// Addresses of the key that the best chain holds (the key also lists
	// addresses of stale blocks and addresses handed out but never paid).
	store, err := index.Open(db, &index.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var addrs []string
	rows := simtest.ReadCSV(t, filepath.Join(out, "truth", "addresses.csv"))
	for i := 0; i < len(rows); i += max(1, len(rows)/500) {
		if _, err := store.AddrID(rows[i]["address"]); err == nil {
			addrs = append(addrs, rows[i]["address"])
		}
	}
	return db, addrs
}

// TestScreenBatch10k screens a 10,000-row CSV batch on a mainnet store:
// valid indexed addresses, valid unseen ones, testnet addresses, bad
// checksums, garbage, empty addresses, rows with the wrong field count
// and unparsable quoting. Every input row is answered in order with its
// columns kept; every malformed row is invalid with a reason and its
// line number and no risk; the exit status is 3.
func TestScreenBatch10k(t *testing.T) {
	db, addrs := riskStore(t)
	unseen := []string{"1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}
	testnet := []string{"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc"}
	type want struct {
		status string
		reason string
	}
	var b strings.Builder
	b.WriteString("customer,address,note\n")
	wants := map[int]want{} // by line
	const rows = 10_000
	for i := 0; i < rows; i++ {
		line := i + 2
		switch i % 10 {
		case 0, 1, 2, 3:
			fmt.Fprintf(&b, "c%d,%s,indexed\n", i, addrs[i%len(addrs)])
			wants[line] = want{"assessed", ""}
		case 4:
			fmt.Fprintf(&b, "c%d,%s,unseen\n", i, unseen[i%len(unseen)])
			wants[line] = want{"not_seen", "tip height"}
		case 5:
			fmt.Fprintf(&b, "c%d,%s,testnet\n", i, testnet[i%len(testnet)])
			wants[line] = want{"invalid", "network"}
		case 6:
			a := addrs[i%len(addrs)]
			last := a[len(a)-1]
			sub := byte('2')
			if last == '2' {
				sub = '3'
			}
			fmt.Fprintf(&b, "c%d,%s%c,checksum\n", i, a[:len(a)-1], sub)
			wants[line] = want{"invalid", "checksum"}
		case 7:
			fmt.Fprintf(&b, "c%d,not-an-address-%d,garbage\n", i, i)
			wants[line] = want{"invalid", "malformed"}
		case 8:
			fmt.Fprintf(&b, "c%d,,empty\n", i)
			wants[line] = want{"invalid", fmt.Sprintf("line %d: empty address", line)}
		case 9:
			if i%20 == 9 {
				fmt.Fprintf(&b, "c%d,%s\n", i, addrs[0])
				wants[line] = want{"invalid", fmt.Sprintf("line %d: 2 fields, the header has 3", line)}
			} else {
				fmt.Fprintf(&b, "c%d,\"%s,bad quote\n", i, addrs[0])
				wants[line] = want{"invalid", fmt.Sprintf("line %d: unparsable", line)}
			}
		}
	}
	in := filepath.Join(t.TempDir(), "batch.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "screen", "--db", db, "--csv", in)
	if code != exitNotAssessed || !strings.Contains(stderr, "not assessed") {
		t.Fatalf("exit %d (want %d), stderr %q", code, exitNotAssessed, stderr)
	}
	cr := csv.NewReader(strings.NewReader(out))
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := recs[0]
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, h := range append([]string{"customer", "address", "note"}, risk.CSVColumns...) {
		if _, ok := col[h]; !ok {
			t.Fatalf("no column %q in %q", h, head)
		}
	}
	if len(recs) != rows+1 {
		t.Fatalf("%d answers for %d rows", len(recs)-1, rows)
	}
	counts := map[string]int{}
	for i, rec := range recs[1:] {
		line, err := strconv.Atoi(rec[col["line"]])
		if err != nil || line != i+2 {
			t.Fatalf("answer %d: line %q", i, rec[col["line"]])
		}
		w := wants[line]
		status, reason, level := rec[col["status"]], rec[col["reason"]], rec[col["risk"]]
		counts[status]++
		if status != w.status || !strings.Contains(reason, w.reason) {
			t.Fatalf("line %d (%q): %s %q, want %s %q", line, rec, status, reason, w.status, w.reason)
		}
		if (status == "assessed") != (level != "") || status != "assessed" && reason == "" {
			t.Fatalf("line %d: status %s risk %q reason %q", line, status, level, reason)
		}
		if !strings.HasPrefix(rec[col["customer"]], "c") || rec[col["tip_height"]] == "" || rec[col["basis_date"]] == "" {
			t.Fatalf("line %d: input columns or basis lost: %q", line, rec)
		}
	}
	t.Logf("10,000 rows: %v", counts)
	if counts["assessed"] != 4000 || counts["not_seen"] != 1000 || counts["invalid"] != 5000 {
		t.Fatalf("statuses %v", counts)
	}
}

// TestScreenStatusCLI: exit 0 only when every input was assessed, 3
// otherwise, with the answer still printed; entities, txids, JSON, JSON
// lines, the basis header and --as-of.
func TestScreenStatusCLI(t *testing.T) {
	db, addrs := riskStore(t)
	cases := []struct {
		name string
		args []string
		code int
		out  []string // substrings of stdout
	}{
		{"all assessed", []string{"screen", "--db", db, addrs[1], addrs[2]}, 0, []string{"basis: chain tip", "risk "}},
		{"one unseen", []string{"screen", "--db", db, addrs[1], "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}, 3, []string{"NOT SEEN: not on the indexed chain (tip height"}},
		{"wrong network", []string{"screen", "--db", db, "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"}, 3, []string{"INVALID: ", "wrong network"}},
		{"json", []string{"screen", "--db", db, "--json", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}, 3, []string{`"basis"`, `"status":"not_seen"`, `"risk":null`}},
		{"unknown entity", []string{"exposure", "--db", db, "--json", "99999999"}, 3, []string{`"status": "not_seen"`, `"risk": null`, `"tip_height"`}},
		{"unknown txid", []string{"exposure", "--db", db, strings.Repeat("ab", 32)}, 3, []string{"NOT SEEN"}},
		{"bad txid", []string{"exposure", "--db", db, strings.Repeat("zz", 32)}, 3, []string{"INVALID: txid"}},
		{"bad address", []string{"exposure", "--db", db, "1BoatSLRHtKNngkdXEeobR76b53LETtpyU"}, 3, []string{"INVALID: ", "checksum"}},
		{"entity", []string{"exposure", "--db", db, "--json", "0"}, 0, []string{`"status": "assessed"`, `"lists"`}},
		{"as of", []string{"screen", "--db", db, "--as-of", "2023-12-31", addrs[1]}, 0, []string{"as of 2023-12-31 (height"}},
		{"bad as-of", []string{"screen", "--db", db, "--as-of", "June", addrs[1]}, 2, nil},
		{"help", []string{"screen", "-h"}, 0, nil},
	}
	for _, c := range cases {
		code, out, stderr := runCLI(t, c.args...)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d; stderr %q; stdout %s", c.name, code, c.code, stderr, out)
			continue
		}
		for _, s := range c.out {
			if !strings.Contains(out, s) {
				t.Errorf("%s: stdout lacks %q:\n%s", c.name, s, out)
			}
		}
	}
	// JSON lines in and out, from stdin: fields kept, one answer a line.
	in := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(in, []byte(fmt.Sprintf("{\"address\":%q,\"id\":1}\n%q\n{\"id\":3}\nnot json\n", addrs[3], addrs[4])), 0o644)
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	code, out, _ := runCLI(t, "screen", "--db", db, "--in", "jsonl")
	os.Stdin = old
	if code != 3 {
		t.Fatalf("jsonl: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("jsonl: %d lines:\n%s", len(lines), out)
	}
	type answer struct {
		ID      *int   `json:"id"`
		Address string `json:"address"`
		Input   string `json:"input"`
		Screen  struct {
			Line   int     `json:"line"`
			Status string  `json:"status"`
			Reason string  `json:"reason"`
			Risk   *string `json:"risk"`
			Tip    *int64  `json:"tip_height"`
		} `json:"screen"`
	}
	var got []answer
	for _, l := range lines {
		var g answer
		if err := json.Unmarshal([]byte(l), &g); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		got = append(got, g)
	}
	if got[0].ID == nil || *got[0].ID != 1 || got[0].Screen.Status != "assessed" || got[0].Screen.Risk == nil || got[0].Screen.Tip == nil ||
		got[1].Address != addrs[4] || got[1].Screen.Line != 2 ||
		got[2].Screen.Status != "invalid" || !strings.Contains(got[2].Screen.Reason, `line 3: no "address" field`) || got[2].Screen.Risk != nil ||
		got[3].Input != "not json" || got[3].Screen.Status != "invalid" {
		t.Fatalf("jsonl answers: %+v", got)
	}
}
