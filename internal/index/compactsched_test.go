package index

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/pace"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

// TestPacedCompactions: the store's own compaction scheduler compacts as
// Pebble's would, and with a pacer whose foreground work never leaves,
// the ingest's loops and Pebble's compactions each rest for it, and the
// ingest still finishes, leaving the same store: pacing changes
// when work runs, never what it writes.
func TestPacedCompactions(t *testing.T) {
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: 5, Scale: 0.1, MaxFileSize: 256 << 10}); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(out, "blocks")
	open := func() *DB {
		// A small memtable, so that flushes and compactions happen.
		db, err := Open(t.TempDir(), &Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 256 << 10})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	ref := open()
	ingest(t, ref, IngestOptions{BlocksDir: blocks, BatchTxs: 100})
	if c := ref.db.Metrics().Compact.Count; c == 0 {
		t.Fatalf("no compaction ran:\n%s", ref.db.Metrics())
	}
	if ref.compactions.granted.Load() == 0 {
		t.Fatal("Pebble compacted without the store's scheduler")
	}
	want := digest(t, ref)

	// Two pacers, each with a request in flight for the whole ingest: one
	// the ingest's loops rest for (its context), one only the compactions
	// do (PaceCompactions), so that each path is seen to rest.
	db := open()
	loops, compactions := pace.New(200*time.Microsecond, 0.5), pace.New(200*time.Microsecond, 0.5)
	loops.Enter()
	compactions.Enter()
	db.PaceCompactions(compactions)
	ctx := pace.With(context.Background(), loops)
	if _, err := db.Ingest(ctx, IngestOptions{BlocksDir: blocks, BatchTxs: 100}); err != nil {
		t.Fatal(err)
	}
	if err := db.db.Compact(ctx, []byte{0}, []byte{0xff}, false); err != nil {
		t.Fatal(err)
	}
	loops.Leave()
	compactions.Leave()
	if loops.Stats().Rests == 0 {
		t.Error("the ingest's loops never rested for the request in flight")
	}
	if compactions.Stats().Rests == 0 {
		t.Error("the compactions never rested for the request in flight")
	}
	if c := db.db.Metrics().Compact.Count; c == 0 {
		t.Fatal("no compaction ran under the pacer")
	}
	mustCheck(t, db)
	if db.Stats() != ref.Stats() || digest(t, db) != want {
		t.Fatal("a paced ingest left a different store")
	}
}
