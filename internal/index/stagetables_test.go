package index

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestStageBatchTables: a stage batch committed as ingested tables
// (Options.StageTableBytes) leaves the stage keyspaces byte-equal to the
// same batches committed through Pebble's batches: random keys in several
// keyspaces, overwrites and deletes within a batch and of earlier
// batches' keys, and a batch with a DeleteRange (which always takes the
// batch path). A view taken before a tables commit does not see it, and
// the commit leaves no files behind in commit.tmp.
func TestStageBatchTables(t *testing.T) {
	open := func(tableBytes int64) *DB {
		db, err := Open(t.TempDir(), &Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20, StageTableBytes: tableBytes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	tables, batches := open(1), open(-1)
	key := func(space byte, n uint64) []byte {
		return binary.BigEndian.AppendUint64([]byte{StageCluster + space}, n)
	}
	apply := func(db *DB, seed uint64, withRange bool) {
		t.Helper()
		r := rand.New(rand.NewPCG(seed, 7))
		b := db.NewStageBatch()
		if withRange {
			b.DeleteRange(key(1, 100), key(1, 300))
		}
		for i := range 3000 {
			k := key(byte(r.IntN(3)), r.Uint64N(1000))
			switch {
			case i%7 == 0:
				b.Delete(k)
			default:
				b.Set(k, binary.BigEndian.AppendUint64(nil, r.Uint64()))
			}
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	digest := func(db *DB) [32]byte {
		t.Helper()
		d, err := db.StageDigest(context.Background(), StageCluster, StageCluster+0x10)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for step, withRange := range []bool{false, false, true, false} {
		var before [32]byte
		var view *DB
		if !withRange {
			var err error
			if view, err = tables.View(); err != nil {
				t.Fatal(err)
			}
			before = digest(view)
		}
		apply(tables, uint64(step), withRange)
		apply(batches, uint64(step), withRange)
		if got, want := digest(tables), digest(batches); got != want {
			t.Fatalf("step %d (range delete %v): the stage keyspaces committed as tables differ from those committed as batches", step, withRange)
		}
		if view != nil {
			if digest(view) != before || digest(view) == digest(tables) {
				t.Fatalf("step %d: a view taken before a tables commit sees it", step)
			}
			view.Close()
		}
	}
	ents, err := os.ReadDir(filepath.Join(tables.dir, commitTmp))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("%d entries left in %s", len(ents), commitTmp)
	}
}
