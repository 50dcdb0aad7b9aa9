package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/demo"
)

var (
	demoOnce sync.Once
	demoDir  string
	demoDB   string
	demoErr  error
)

// TestMain removes the shared demo index after the package's tests: it is
// 430 MB, and a hundred runs left behind filled the disk.
func TestMain(m *testing.M) {
	code := m.Run()
	if demoDir != "" {
		os.RemoveAll(demoDir)
	}
	os.Exit(code)
}

// demoIndex builds the demo index once (from the bundled real blocks, so it
// needs nothing outside the repository).
func demoIndex(t *testing.T) string {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sleuth-cmd-test-")
		if err != nil {
			demoErr = err
			return
		}
		demoDir = dir
		demoDB = dir + "/index"
		demoErr = demo.Run(context.Background(), dir, demoDB, io.Discard)
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoDB
}

// runCLI runs the CLI in-process and returns its exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, r); close(done) }()
	var stderr bytes.Buffer
	code := run(context.Background(), args, &stderr)
	w.Close()
	<-done
	os.Stdout = old
	return code, out.String(), stderr.String()
}

func TestLookupsJSON(t *testing.T) {
	db := demoIndex(t)
	code, out, errOut := runCLI(t, "tx", "--db", db, "--json", demo.HalTxID)
	if code != 0 {
		t.Fatalf("tx: exit %d: %s", code, errOut)
	}
	var tx struct {
		TxID      string `json:"txid"`
		Height    int64  `json:"height"`
		BlockHash string `json:"block_hash"`
		Time      string `json:"time"`
		Fee       *int64 `json:"fee"`
		Size      int    `json:"size"`
		VSize     int    `json:"vsize"`
		Inputs    []map[string]any
		Outputs   []struct {
			N       int            `json:"n"`
			Type    string         `json:"type"`
			Address string         `json:"address"`
			Value   int64          `json:"value"`
			SpentBy map[string]any `json:"spent_by"`
		}
	}
	if err := json.Unmarshal([]byte(out), &tx); err != nil {
		t.Fatalf("tx json: %v\n%s", err, out)
	}
	if tx.Height != 170 || *tx.Fee != 0 || tx.Size != 275 || tx.VSize != 275 || tx.Time != "2009-01-12T03:30:25Z" ||
		len(tx.Outputs) != 2 || tx.Outputs[0].Value != 1_000_000_000 || tx.Outputs[0].Address != demo.HalAddress {
		t.Errorf("tx: %s", out)
	}
	for _, k := range []string{"txid", "vout", "address", "value"} {
		if _, ok := tx.Inputs[0][k]; !ok {
			t.Errorf("input lacks %q: %v", k, tx.Inputs[0])
		}
	}
	if !strings.Contains(out, `"spent_by": null`) && !strings.Contains(out, `"spent_by": {`) {
		t.Errorf("outputs lack spent_by: %s", out)
	}

	code, out, _ = runCLI(t, "stats", "--db", db, "--json")
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("stats: %d %s", code, out)
	}
	for _, k := range []string{"height", "best_hash", "blocks", "txs", "outputs", "addresses", "utxos", "utxo_value"} {
		if _, ok := st[k]; !ok {
			t.Errorf("stats lacks %q", k)
		}
	}
	// Heights 0-500 hold 509 transactions; block 277647 adds 213 standalone ones.
	if st["height"].(float64) != 500 || st["blocks"].(float64) != 501 || st["txs"].(float64) != 509 || st["detached_txs"].(float64) != 213 {
		t.Errorf("stats: %v", st)
	}

	code, out, _ = runCLI(t, "block", "--db", db, "--json", "170")
	for _, k := range []string{`"hash"`, `"height": 170`, `"time"`, `"tx_count": 2`, `"size"`, `"weight"`} {
		if code != 0 || !strings.Contains(out, k) {
			t.Errorf("block 170 lacks %s: %s", k, out)
		}
	}

	code, out, _ = runCLI(t, "address", "--db", db, "--json", demo.HalAddress)
	for _, k := range []string{`"address"`, `"type": "p2pkh"`, `"balance"`, `"received"`, `"sent"`, `"tx_count"`, `"first_seen"`, `"last_seen"`} {
		if code != 0 || !strings.Contains(out, k) {
			t.Errorf("address lacks %s: %s", k, out)
		}
	}
	code, out, _ = runCLI(t, "address", "--db", db, "--json", "--txs", "--limit", "1", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S")
	var rows []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 {
		t.Fatalf("address --txs: %d %s", code, out)
	}
	// The next page starts after the last row of this one.
	code, out2, _ := runCLI(t, "address", "--db", db, "--json", "--txs", "--limit", "1", "--after", rows[0]["txid"].(string), "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S")
	if code != 0 || out2 == out || !strings.Contains(out2, "txid") {
		t.Errorf("second page: %d %s", code, out2)
	}
}

func TestExitCodes(t *testing.T) {
	db := demoIndex(t)
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown txid", []string{"tx", "--db", db, strings.Repeat("ab", 32)}, 1, "not found"},
		{"short txid", []string{"tx", "--db", db, "abcd"}, 2, "64 hex"},
		{"non-hex txid", []string{"tx", "--db", db, strings.Repeat("zz", 32)}, 2, "hex"},
		{"unknown address", []string{"address", "--db", db, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}, 1, "not found"},
		{"bad checksum", []string{"address", "--db", db, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"}, 2, "checksum"},
		{"wrong network", []string{"address", "--db", db, "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"}, 2, "network"},
		{"bad bech32 checksum", []string{"address", "--db", db, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"}, 2, "checksum"},
		{"bad length", []string{"address", "--db", db, "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx"}, 2, ""},
		{"unknown block", []string{"block", "--db", db, "9999"}, 1, "not found"},
		{"bad block ref", []string{"block", "--db", db, "tip"}, 2, "height"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"no index", []string{"stats", "--db", t.TempDir() + "/none"}, 1, "no index"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(strings.ToLower(stderr), c.msg) {
			t.Errorf("%s: exit %d (want %d), stderr %q (want %q)", c.name, code, c.code, stderr, c.msg)
		}
	}
}

// TestLabelsCLI runs the label commands end to end on the bundled real
// blocks: import a TagPack, show in the JSON shape (via address and
// via entity), add an investigator's entity label, export it as a TagPack
// that imports again, and rescreen.
func TestLabelsCLI(t *testing.T) {
	work := t.TempDir()
	blocks, _, err := demo.Unpack(work)
	if err != nil {
		t.Fatal(err)
	}
	db := work + "/db"
	code, out, errs := runCLI(t, "ingest", "--db", db, "--blocks", blocks, "--json")
	if code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	// The ingest's JSON names its fields as every other summary does and
	// gives the tip as the hash a user looks up, not as 32 numbers.
	var ing struct {
		Tip       string         `json:"tip"`
		Height    int64          `json:"height"`
		Txs       uint64         `json:"txs"`
		Connected int            `json:"connected"`
		Batches   map[string]any `json:"batches"`
	}
	if err := json.Unmarshal([]byte(out), &ing); err != nil {
		t.Fatalf("ingest --json: %v\n%s", err, out)
	}
	if _, err := btc.ParseHash(ing.Tip); err != nil || ing.Height <= 0 || ing.Txs == 0 || ing.Connected == 0 || ing.Batches["commits"] == nil {
		t.Fatalf("ingest --json: %+v (tip: %v)\n%s", ing, err, out)
	}
	pack := work + "/case.yaml"
	// 18SH9vwx… and 1ByLSV2g… were spent together at height 496.
	os.WriteFile(pack, []byte(`title: Test case
creator: sleuth tests
source: case 1
currency: BTC
confidence: forensic
is_cluster_definer: true
lastmod: 2017-05-12
tags:
- address: 18SH9vwx24L5cTabfkgtGMjF8A56pD9AUJ
  label: Early wallet
  category: miner
  abuse: service_hack
`), 0o644)
	if code, out, errs := runCLI(t, "labels", "import", "--db", db, pack); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	code, out, errs = runCLI(t, "labels", "show", "--db", db, "--json", "1ByLSV2gLRcuqUmfdYcpPQH8Npm8cccsFg")
	if code != 0 {
		t.Fatalf("show: %s", errs)
	}
	var views []map[string]any
	if err := json.Unmarshal([]byte(out), &views); err != nil || len(views) != 1 {
		t.Fatalf("show: %v %s", err, out)
	}
	for _, k := range []string{"label", "category", "source", "confidence", "actor", "listed_from", "listed_to", "via"} {
		if _, ok := views[0][k]; !ok {
			t.Errorf("labels show --json lacks %q: %s", k, out)
		}
	}
	if views[0]["via"] != "entity" || views[0]["label"] != "Early wallet" || views[0]["listed_from"] != "2017-05-12" {
		t.Fatalf("inherited label: %s", out)
	}
	// Before the tag's date it did not apply.
	if _, out, _ := runCLI(t, "labels", "show", "--db", db, "--json", "--as-of", "2017-01-01", "18SH9vwx24L5cTabfkgtGMjF8A56pD9AUJ"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("as of 2017-01-01: %s", out)
	}
	if code, _, errs := runCLI(t, "label", "add", "--db", db, "18SH9vwx24L5cTabfkgtGMjF8A56pD9AUJ", "--category", "exchange", "--label", "Yapizon hot wallet", "--source", "case 2017-04", "--confidence", "90", "--abuse", "service_hack"); code != 0 {
		t.Fatalf("label add: %s", errs)
	}
	code, exported, errs := runCLI(t, "labels", "export", "--db", db)
	if code != 0 || !strings.Contains(exported, "Yapizon hot wallet") {
		t.Fatalf("export: %d %s %s", code, exported, errs)
	}
	os.WriteFile(work+"/export.yaml", []byte(exported), 0o644)
	db2 := work + "/db2"
	if code, _, errs := runCLI(t, "labels", "import", "--db", db2, "--create", work+"/export.yaml"); code != 0 {
		t.Fatalf("re-import of the export: %s", errs)
	}
	if _, out, _ := runCLI(t, "labels", "show", "--db", db2, "18SH9vwx24L5cTabfkgtGMjF8A56pD9AUJ"); !strings.Contains(out, "Yapizon hot wallet") {
		t.Fatalf("exported label lost: %s", out)
	}
	code, out, errs = runCLI(t, "rescreen", "--db", db, "--json")
	if code != 0 || !strings.Contains(out, `"direction": "received"`) {
		t.Fatalf("rescreen: %d %s %s", code, out, errs)
	}
	// Backward from Hal's 10 BTC (height 170): it was mined in block 9.
	code, out, errs = runCLI(t, "trace", "--db", db, "--json", "--direction", "backward", "--from", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0")
	if code != 0 || !strings.Contains(out, `"mined": 1000000000`) {
		t.Fatalf("backward trace: %d %s %s", code, out, errs)
	}
	if code, _, _ := runCLI(t, "trace", "--db", db, "--direction", "sideways", "--from", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0"); code != 2 {
		t.Fatalf("bad direction: exit %d, want 2", code)
	}
	// Bad input: a malformed pack is refused with its line, exit 1.
	os.WriteFile(work+"/bad.yaml", []byte("title: x\ncreator: y\ntags:\n- address: 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3\n  currency: BTC\n  label: z\n  source: s\n  category: nonsense\n"), 0o644)
	if code, _, errs := runCLI(t, "labels", "import", "--db", db, work+"/bad.yaml"); code != 1 || !strings.Contains(errs, "bad.yaml:") {
		t.Fatalf("bad pack: exit %d, %s", code, errs)
	}
}

// TestHelpAndVersion: help asked for goes to stdout with exit 0; help
// given because no command was named goes to stderr with exit 2;
// --version names the build.
func TestHelpAndVersion(t *testing.T) {
	for _, c := range []struct {
		args        []string
		code        int
		out, errOut string
	}{
		{[]string{"--help"}, 0, "usage: sleuth", ""},
		{[]string{"help"}, 0, "commands:", ""},
		{nil, 2, "", "usage: sleuth"},
		{[]string{"--version"}, 0, "sleuth ", ""},
		{[]string{"version"}, 0, "go1.", ""},
	} {
		var out, errOut strings.Builder
		code := runWith(context.Background(), c.args, &out, &errOut)
		if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.errOut) ||
			(c.out == "" && out.Len() != 0) || (c.errOut == "" && errOut.Len() != 0) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", c.args, code, out.String(), errOut.String())
		}
	}
}
