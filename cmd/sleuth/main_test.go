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

	"github.com/sleuth-forensics/sleuth/internal/demo"
)

var (
	demoOnce sync.Once
	demoDB   string
	demoErr  error
)

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
