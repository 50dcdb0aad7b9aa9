package index

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

// TestReferenceAgrees: the in-memory reference indexer (the baseline of
// the ingest's speed) counts what the index counts on the same files:
// blocks, transactions, inputs, outputs, distinct addresses and unspent
// outputs at the tip; and it refuses an input whose output it never saw.
func TestReferenceAgrees(t *testing.T) {
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: 9, Scale: 0.1, XOR: true, MaxFileSize: 256 << 10}); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(out, "blocks")
	db := openTest(t, t.TempDir())
	ingest(t, db, IngestOptions{BlocksDir: blocks})
	want := db.Stats()
	for _, workers := range []int{1, 3} {
		got, err := Reference(context.Background(), blocks, btc.Mainnet, workers)
		if err != nil {
			t.Fatal(err)
		}
		if int64(got.Blocks) != want.Blocks || got.Txs != want.Txs || got.Inputs != want.Inputs || got.Outputs != want.Outputs ||
			got.Addrs != want.Addresses || got.UTXOs != want.UTXOs {
			t.Fatalf("workers %d: reference %+v, index %+v", workers, *got, want)
		}
	}

	// Without the second file the chain stops at the gap (the blocks after
	// it do not link), or, if a later block's parent is found, its inputs
	// spend outputs the reference never saw: never the whole chain's counts.
	files, err := filepath.Glob(filepath.Join(blocks, "blk*.dat"))
	if err != nil || len(files) < 2 {
		t.Fatalf("want several block files, got %d (%v)", len(files), err)
	}
	cut := t.TempDir()
	for _, f := range append(files[:1:1], files[2:]...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cut, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if x, err := os.ReadFile(filepath.Join(blocks, "xor.dat")); err == nil {
		os.WriteFile(filepath.Join(cut, "xor.dat"), x, 0o644)
	}
	st, err := Reference(context.Background(), cut, btc.Mainnet, 2)
	switch {
	case err != nil && !errors.Is(err, ErrMissingPrevout):
		t.Fatalf("a file missing: %v, want the chain cut at the gap or ErrMissingPrevout", err)
	case err == nil && int64(st.Blocks) >= want.Blocks:
		t.Fatalf("a chain with a file missing counted %d blocks, as many as the whole", st.Blocks)
	}
}
