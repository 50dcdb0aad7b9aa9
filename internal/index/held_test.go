package index

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

// countKeys counts the keys of keyspace p.
func countKeys(t testing.TB, db *DB, p byte) uint64 {
	t.Helper()
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: []byte{p}, UpperBound: []byte{p + 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := uint64(0)
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}

// TestHeldOutputsRestored: a bulk ingest stopped mid-path leaves the
// unspent outputs its writer's cache held out of the store; a read-only
// open refuses the store (ErrIncomplete), and a writable open writes them
// back from the transaction records, to the store of an uninterrupted
// ingest (X1, X2). The cases: generations never evicted (everything since
// the path's start is held), generations of 64 slots evicted every few
// transactions (the held range moves on), and an output treated as
// oversized, which the records cannot tell from a spendable one, so that
// its batch must write every held output.
func TestHeldOutputsRestored(t *testing.T) {
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: 7, Scale: 0.1}); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(out, "blocks")
	withDefer(t, -1, 0)
	plain := openTest(t, t.TempDir())
	ingest(t, plain, IngestOptions{BlocksDir: blocks})
	total := plain.Stats().Txs
	// An unspent output of a transaction about 40% into the chain.
	var mark outpoint
	var markTx btc.TxNum
	it, err := plain.r.NewIter(&pebble.IterOptions{LowerBound: []byte{pUTXO}, UpperBound: []byte{pUTXO + 1}})
	if err != nil {
		t.Fatal(err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		var u utxoRecord
		if err := u.decode(it.Value()); err != nil {
			t.Fatal(err)
		}
		if tx := uint64(u.Ref.Tx()); tx > total*35/100 && tx < total*45/100 {
			copy(mark.ID[:], it.Key()[1:33])
			mark.Vout, markTx = u.Ref.Vout(), u.Ref.Tx()
			break
		}
	}
	it.Close()
	if markTx == 0 {
		t.Fatal("no unspent output 35-45% into the chain")
	}
	for _, tc := range []struct {
		name       string
		cacheBytes int64
		oversized  bool
	}{
		{"never evicted", 0, false},
		{"evicted", 1, false}, // 1 byte: two tables of 64 slots
		{"oversized output", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := plain
			if tc.oversized {
				oversizedForTest = func(id btc.Hash, vout int) bool { return id == mark.ID && uint32(vout) == mark.Vout }
				t.Cleanup(func() { oversizedForTest = nil })
				withDefer(t, -1, 0)
				ref = openTest(t, t.TempDir())
				ingest(t, ref, IngestOptions{BlocksDir: blocks})
				if ref.Stats().UTXOs != plain.Stats().UTXOs-1 {
					t.Fatal("the oversized output is still in the UTXO set")
				}
			}
			withDefer(t, 1, 64<<20)
			dir := t.TempDir()
			db, err := Open(dir, &Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20,
				UTXOCacheBytes: tc.cacheBytes, AddrCacheBytes: tc.cacheBytes})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err = db.Ingest(ctx, IngestOptions{BlocksDir: blocks, BulkBatchTxs: 100, ProgressEvery: 1, Progress: func(p Progress) {
				if p.Phase == "connect" && p.Txs >= total*7/10 {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted ingest: %v, want context.Canceled", err)
			}
			st := db.st
			missing := st.UTXOs - countKeys(t, db, pUTXO)
			t.Logf("stopped at tx %d of %d: outputs held from tx %d, %d unspent outputs not in the store", st.NextTx, total, db.heldFrom, missing)
			if db.heldFrom >= st.NextTx || missing == 0 {
				t.Fatal("nothing held when the ingest stopped: the case tests no restore")
			}
			if tc.cacheBytes == 1 && db.heldFrom == 0 {
				t.Fatal("the held range never moved on: no generation was evicted")
			}
			if tc.oversized && db.heldFrom <= markTx {
				t.Fatalf("outputs held from tx %d, before the oversized output's tx %d", db.heldFrom, markTx)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(dir, &Options{Network: btc.Mainnet, ReadOnly: true}); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("read-only open of a store with held outputs: %v, want ErrIncomplete", err)
			}
			db = openTest(t, dir)
			if n := countKeys(t, db, pUTXO); n != db.st.UTXOs {
				t.Fatalf("%d unspent outputs in the store after open, state says %d", n, db.st.UTXOs)
			}
			ingest(t, db, IngestOptions{BlocksDir: blocks, BulkBatchTxs: 100})
			mustCheck(t, db)
			if db.Stats() != ref.Stats() || digest(t, db) != digest(t, ref) {
				t.Fatal("store restored after the stop differs from an uninterrupted ingest")
			}
		})
	}
}

// TestHeldRestoreRefusesDamagedRecords: a transaction record of the held
// range whose input names an output not before it (a later transaction,
// or a vout its transaction lacks) stops the restore with ErrCorrupt,
// not a panic or a wrong unspent set.
func TestHeldRestoreRefusesDamagedRecords(t *testing.T) {
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: 7, Scale: 0.05}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		prev func(num btc.TxNum, p btc.OutRef) btc.OutRef
	}{
		{"later transaction", func(num btc.TxNum, _ btc.OutRef) btc.OutRef { return btc.MakeOutRef(num+1, 0) }},
		{"missing vout", func(_ btc.TxNum, p btc.OutRef) btc.OutRef { return btc.MakeOutRef(p.Tx(), 1000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withDefer(t, 1, 64<<20)
			db := openTest(t, t.TempDir())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := db.Ingest(ctx, IngestOptions{BlocksDir: filepath.Join(out, "blocks"), BulkBatchTxs: 50, ProgressEvery: 1,
				Progress: func(p Progress) {
					if p.Phase == "connect" && p.Txs >= 300 {
						cancel()
					}
				}})
			if !errors.Is(err, context.Canceled) || db.heldFrom >= db.st.NextTx {
				t.Fatalf("ingest %v, held from %d to %d: nothing to restore", err, db.heldFrom, db.st.NextTx)
			}
			// The last transaction of the range with an input that spends
			// an output of the range.
			damaged := false
			for num := db.st.NextTx - 1; num >= db.heldFrom && !damaged; num-- {
				v, err := db.get(keyTx(num))
				if err != nil {
					t.Fatal(err)
				}
				var rec txRecord
				if err := rec.decode(v, false); err != nil {
					t.Fatal(err)
				}
				for i := range rec.Ins {
					if in := &rec.Ins[i]; in.Kind == inResolved && in.Prev.Tx() >= db.heldFrom {
						in.Prev = tc.prev(num, in.Prev)
						var e encoding.Encbuf
						rec.encodeHead(&e, false)
						e.PutUvarint(uint64(len(rec.Ins)))
						for j := range rec.Ins {
							encodeIn(&e, &rec.Ins[j])
						}
						e.PutUvarint(uint64(len(rec.Outs)))
						for j := range rec.Outs {
							encodeOut(&e, &rec.Outs[j])
						}
						if err := db.db.Set(keyTx(num), e.Get(), pebble.Sync); err != nil {
							t.Fatal(err)
						}
						damaged = true
						break
					}
				}
			}
			if !damaged {
				t.Fatal("no input of the held range spends an output of it")
			}
			if err := db.restoreHeld(context.Background()); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("restore over a damaged record: %v, want ErrCorrupt", err)
			}
		})
	}
}
