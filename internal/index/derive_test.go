package index

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

// withDefer sets deferMinBlocks (and, when runBytes > 0, the sort budget)
// for the rest of the test.
func withDefer(t testing.TB, minBlocks, runBytes int) {
	oldMin, oldRun := deferMinBlocks, deriveRunBytes
	deferMinBlocks = minBlocks
	if runBytes > 0 {
		deriveRunBytes = runBytes
	}
	t.Cleanup(func() { deferMinBlocks, deriveRunBytes = oldMin, oldRun })
}

// TestDeferredEqualsDirect: a bulk ingest that derives the txid index,
// spends and address history afterwards (in memory, or through spilled
// runs) gives the store, byte for byte, of one that writes them per block
// (X1), on a simulated chain with stale and out-of-order blocks.
func TestDeferredEqualsDirect(t *testing.T) {
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: 5, Scale: 0.1, XOR: true, MaxFileSize: 256 << 10}); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(out, "blocks")
	withDefer(t, -1, 0)
	ref := openTest(t, t.TempDir())
	ingest(t, ref, IngestOptions{BlocksDir: blocks, BatchTxs: 500})
	want := digest(t, ref)
	for _, tc := range []struct {
		name     string
		runBytes int
	}{
		{"in memory", 64 << 20},
		{"spilled runs", 1 << 10}, // the floor: 1,024 records per run
	} {
		t.Run(tc.name, func(t *testing.T) {
			withDefer(t, 1, tc.runBytes)
			db := openTest(t, t.TempDir())
			sum := ingest(t, db, IngestOptions{BlocksDir: blocks, BatchTxs: 500})
			t.Logf("%+v", sum.Derive)
			if sum.Derive.Txs != ref.Stats().Txs || (tc.runBytes < 1<<20) != (sum.Derive.Runs > 0) {
				t.Fatalf("derive %+v for %d txs: not the path under test", sum.Derive, ref.Stats().Txs)
			}
			if db.derivePending {
				t.Fatal("derive marker left after a finished ingest")
			}
			mustCheck(t, db)
			if db.Stats() != ref.Stats() || digest(t, db) != want {
				t.Fatalf("deferred ingest differs from direct: %+v vs %+v", db.Stats(), ref.Stats())
			}
		})
	}
}

// TestDeferredInterrupted: an ingest stopped after connecting but before
// deriving leaves the marker; a read-only open refuses the store
// (ErrIncomplete) instead of answering without address history, and a
// writable open completes it to the uninterrupted store.
func TestDeferredInterrupted(t *testing.T) {
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: 6, Scale: 0.05}); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(out, "blocks")
	withDefer(t, -1, 0)
	ref := openTest(t, t.TempDir())
	ingest(t, ref, IngestOptions{BlocksDir: blocks})
	withDefer(t, 1, 1<<10)
	dir := t.TempDir()
	db, err := Open(dir, &Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = db.Ingest(ctx, IngestOptions{BlocksDir: blocks, Progress: func(p Progress) {
		if p.Phase == "connect" && p.Final {
			cancel() // derive is next; it stops at its first check
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted ingest: %v, want context.Canceled", err)
	}
	if !db.derivePending {
		t.Fatal("no derive marker after an interrupted deferred ingest")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, &Options{Network: btc.Mainnet, ReadOnly: true}); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("read-only open of a store mid-ingest: %v, want ErrIncomplete", err)
	}
	db = openTest(t, dir)
	if db.derivePending {
		t.Fatal("writable open did not complete the derive")
	}
	mustCheck(t, db)
	if digest(t, db) != digest(t, ref) {
		t.Fatal("store completed at open differs from an uninterrupted ingest")
	}
}

// failCreateFS fails the creation of files whose name has the prefix,
// once armed, to break one of derive's parallel merges midway.
type failCreateFS struct {
	vfs.FS
	prefix string
	armed  atomic.Bool
	failed atomic.Int32
}

func (fs *failCreateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if fs.armed.Load() && strings.HasPrefix(filepath.Base(name), fs.prefix) {
		fs.failed.Add(1)
		return nil, errInjected
	}
	return fs.FS.Create(name, c)
}

// TestDeriveMergeFails: derive merges the txid index, the spends and the
// address history on goroutines of their own; when one of them fails (its
// table file cannot be created), the ingest returns that failure, not a
// cancellation, with the derive marker still set, and the next ingest
// completes the store to the uninterrupted one. Each keyspace's merge is
// broken in turn, so a failure in any of them stops the others.
func TestDeriveMergeFails(t *testing.T) {
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: 6, Scale: 0.05}); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(out, "blocks")
	withDefer(t, -1, 0)
	ref := openTest(t, t.TempDir())
	ingest(t, ref, IngestOptions{BlocksDir: blocks})
	want := digest(t, ref)
	for _, prefix := range []string{"11-", "13-", "23-"} {
		t.Run(prefix, func(t *testing.T) {
			withDefer(t, 1, 1<<10)
			dir := t.TempDir()
			fs := &failCreateFS{FS: vfs.Default, prefix: prefix}
			db, err := Open(dir, &Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20, FS: fs})
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.Ingest(context.Background(), IngestOptions{BlocksDir: blocks, Progress: func(p Progress) {
				if p.Phase == "connect" && p.Final {
					fs.armed.Store(true)
				}
			}})
			if !errors.Is(err, errInjected) || fs.failed.Load() == 0 {
				t.Fatalf("derive with %s tables failing: %v (%d failures), want the injected failure", prefix, err, fs.failed.Load())
			}
			if !db.derivePending {
				t.Fatal("no derive marker after a failed derive")
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openTest(t, dir)
			if db.derivePending {
				t.Fatal("writable open did not complete the derive")
			}
			mustCheck(t, db)
			if digest(t, db) != want {
				t.Fatal("store completed after a failed derive differs from an uninterrupted ingest")
			}
		})
	}
}

// TestDeferredEverywhere reruns the chain tests with every path deferred,
// so that reorgs, appends, standalone blocks and bad blocks meet a store
// whose derived keyspaces were built by derive.
func TestDeferredEverywhere(t *testing.T) {
	withDefer(t, 1, 1<<10)
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"reorg", TestReorg},
		{"append and order", TestAppendAndOrder},
		{"standalone", TestStandaloneBlocks},
		{"bad input", TestBadInput},
		{"simulated", TestSimulatedChain},
		{"follow tail", TestFollowTail},
	} {
		t.Run(tc.name, tc.fn)
	}
}
