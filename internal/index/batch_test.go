package index

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

// TestBatchBounds: a batch ended by its bytes or by a full cache
// generation instead of its transaction count leaves the same store, byte
// for byte, on the direct and the bulk path, and the summary says what
// ended the batches.
func TestBatchBounds(t *testing.T) {
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: 5, Scale: 0.1, MaxFileSize: 256 << 10}); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(out, "blocks")
	withDefer(t, -1, 0)
	ref := openTest(t, t.TempDir())
	ingest(t, ref, IngestOptions{BlocksDir: blocks, BatchTxs: 1 << 30})
	want := digest(t, ref)
	for _, tc := range []struct {
		name       string
		bulk       bool
		batchBytes int64
		cacheBytes int64 // both caches
		by         func(BatchStats) int
	}{
		{"bytes", false, 64 << 10, 0, func(b BatchStats) int { return b.ByBytes }},
		{"bytes, bulk", true, 64 << 10, 0, func(b BatchStats) int { return b.ByBytes }},
		// The path's last commit writes every held output (held.go): in
		// pieces, each within the bound too.
		{"bytes, bulk, held outputs", true, 16 << 10, 0, func(b BatchStats) int { return b.ByBytes }},
		{"cache", false, 0, 1, func(b BatchStats) int { return b.ByCache }},
		{"cache, bulk", true, 0, 1, func(b BatchStats) int { return b.ByCache }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bulk {
				withDefer(t, 1, 64<<20)
			}
			// 1 byte asks for the smallest cache: two tables of 64 slots.
			db, err := Open(t.TempDir(), &Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20,
				UTXOCacheBytes: tc.cacheBytes, AddrCacheBytes: tc.cacheBytes})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			sum := ingest(t, db, IngestOptions{BlocksDir: blocks, BatchTxs: 1 << 30, BatchBytes: tc.batchBytes})
			b := sum.Batches
			t.Logf("%d txs: %+v", sum.Txs, b)
			if tc.by(b) < 2 || b.ByTxs != 0 || b.Commits < tc.by(b) {
				t.Fatalf("batches %+v: not ended by what the case bounds", b)
			}
			if tc.batchBytes > 0 && b.MaxBytes > 4*tc.batchBytes {
				t.Errorf("largest batch %d bytes, bound %d", b.MaxBytes, tc.batchBytes)
			}
			// Outputs created in a block go one per entry of 64 bytes or
			// more into a piece; 2 pieces at least when they exceed the
			// bound.
			if tc.bulk && b.Released*64 > uint64(tc.batchBytes) && tc.batchBytes > 0 && b.ReleasePieces < 2 {
				t.Errorf("%d held outputs released in %d piece(s), bound %d bytes", b.Released, b.ReleasePieces, tc.batchBytes)
			}
			if tc.bulk && b.Released == 0 {
				t.Error("a bulk path released no held outputs")
			}
			mustCheck(t, db)
			if db.Stats() != ref.Stats() || digest(t, db) != want {
				t.Fatal("store differs from one written in a single batch")
			}
		})
	}
}

// TestCacheBudget: driven as the writer drives it (a commit whenever the
// current generation is full), a cache never holds a table larger than its
// budget's, and a rotation reuses the retired full-size table instead of
// allocating a new one.
func TestCacheBudget(t *testing.T) {
	gen := genSizeFor(2*8192*utxoSlotBytes, utxoSlotBytes)
	if gen.maxSlots != 8192 || gen.limit != 8192*11/16 {
		t.Fatalf("genSizeFor: %+v", gen)
	}
	if g := genSizeFor(512<<20, utxoSlotBytes); g.maxSlots != 4<<20 {
		t.Fatalf("512 MiB: %+v, want tables of 4M slots", g)
	}
	c := newUTXOCache(gen)
	var u utxoRecord
	rotations, reused := 0, 0
	for i := 0; i < 200_000; i++ {
		var op outpoint
		op.ID[0], op.ID[1], op.ID[2], op.ID[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		c.set(&op, slotPending, &u)
		if i%100 == 99 && c.full() { // a block of 100 outputs ends the batch
			before := &c.old.slots[0]
			full := len(c.old.slots) == gen.maxSlots
			c.commit(holdNone, func(*outpoint, *utxoRecord) {})
			c.evict(false, nil)
			rotations++
			if full && &c.cur.slots[0] == before {
				reused++
			}
		}
		if len(c.cur.slots) > gen.maxSlots || len(c.old.slots) > gen.maxSlots {
			t.Fatalf("output %d: tables of %d and %d slots, budget %d", i, len(c.cur.slots), len(c.old.slots), gen.maxSlots)
		}
	}
	if rotations < 10 || reused < rotations-2 {
		t.Fatalf("%d rotations, %d reused the retired table", rotations, reused)
	}
}
