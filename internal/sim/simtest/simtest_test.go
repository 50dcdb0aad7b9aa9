package simtest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestHelpers checks that Blocks splits a small chain into framed records
// agreeing with truth/blocks.csv, and that AppendRecords writes them back
// in order.
func TestHelpers(t *testing.T) {
	out := Chain(t, 1, 0.05)
	rows := ReadCSV(t, filepath.Join(out, "truth", "blocks.csv"))
	blocks := Blocks(t, out)
	if len(blocks) == 0 || len(blocks) != len(rows) {
		t.Fatalf("%d blocks, %d rows in blocks.csv", len(blocks), len(rows))
	}
	var want []byte
	stale := 0
	for i, b := range blocks {
		if !bytes.Equal(b.Record[:4], btc.Mainnet.Magic[:]) {
			t.Fatalf("block %d (height %d) does not start with the magic", i, b.Height)
		}
		if b.Stale {
			stale++
		}
		want = append(want, b.Record...)
	}
	dir := t.TempDir()
	AppendRecords(t, dir, blocks[0].Record)
	recs := make([][]byte, 0, len(blocks)-1)
	for _, b := range blocks[1:] {
		recs = append(recs, b.Record)
	}
	AppendRecords(t, dir, recs...)
	got, err := os.ReadFile(filepath.Join(dir, "blk00000.dat"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("blk00000.dat holds %d bytes, want the %d of the records in order", len(got), len(want))
	}
	t.Logf("%d blocks, %d stale", len(blocks), stale)
}
