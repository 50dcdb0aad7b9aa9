package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestAddrFilter: no false negatives, about 1% false positives, and a
// saved filter reads back bit for bit.
func TestAddrFilter(t *testing.T) {
	f := newAddrFilter(200_000)
	key := func(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte{2}, i*0x9e3779b97f4a7c15) }
	for i := uint64(0); i < 200_000; i++ {
		f.add(filterHash(key(i)))
	}
	for i := uint64(0); i < 200_000; i++ {
		if !f.mayContain(filterHash(key(i))) {
			t.Fatalf("false negative for key %d", i)
		}
	}
	fp := 0
	for i := uint64(1 << 40); i < 1<<40+200_000; i++ {
		if f.mayContain(filterHash(key(i))) {
			fp++
		}
	}
	if rate := float64(fp) / 200_000; rate > 0.02 {
		t.Errorf("false positive rate %.4f, want about 0.01", rate)
	} else {
		t.Logf("false positive rate %.4f at %d bits per key (sized for %d, holding 200000)", rate, filterBitsPerKey, f.capacity)
	}
	db := &DB{dir: "/db", opts: Options{FS: vfs.NewMem()}}
	db.opts.FS.MkdirAll("/db", 0o755)
	db.st.NextAddr = 200_000
	if err := db.saveFilter(f); err != nil {
		t.Fatal(err)
	}
	g, covered, err := db.readFilter()
	if err != nil || covered != btc.AddrID(200_000) || g.count != f.count || len(g.words) != len(f.words) {
		t.Fatalf("read back: covered %d err %v", covered, err)
	}
	for i := range f.words {
		if f.words[i] != g.words[i] {
			t.Fatalf("word %d differs", i)
		}
	}
	// A damaged file is refused (and then rebuilt by loadFilter).
	file, _ := db.opts.FS.OpenReadWrite(db.filterPath(), vfs.WriteCategoryUnspecified)
	file.WriteAt([]byte{0xff}, 100)
	file.Close()
	if _, _, err := db.readFilter(); err == nil {
		t.Fatal("damaged filter accepted")
	}
}

// TestFilterGrowsInBackground ingests a simulated chain in small batches,
// so the address filter outgrows its capacity many times, then reorgs it:
// the bigger filters are built in the background and swapped in, every
// stored address key stays in the filter (X7), and the store equals one
// ingested in one go.
func TestFilterGrowsInBackground(t *testing.T) {
	defer func(n uint64) { minFilterKeys = n }(minFilterKeys)
	minFilterKeys = 64
	out := simtest.Chain(t, 11, 0.2)
	best, stale, bestAfter, _ := simtest.ReorgBranches(t, out)
	dir := t.TempDir()
	db := openTest(t, t.TempDir())
	hasEveryKey := func(what string) { t.Helper(); filterHasEveryKey(t, db, what) }
	simtest.AppendRecords(t, dir, append(append([][]byte{}, best...), stale...)...)
	ingest(t, db, IngestOptions{BlocksDir: dir, BatchTxs: 100})
	hasEveryKey("after the stale branch")
	swaps := db.filterSwaps
	simtest.AppendRecords(t, dir, bestAfter...)
	ingest(t, db, IngestOptions{BlocksDir: dir, BatchTxs: 100})
	hasEveryKey("after the reorg")
	if db.filterSwaps == 0 {
		t.Fatal("no filter was built in the background")
	}
	t.Logf("%d filters built in the background and swapped in (%d before the reorg), capacity %d for %d addresses",
		db.filterSwaps, swaps, db.filter.capacity, db.st.NextAddr)
	fresh := openTest(t, t.TempDir())
	freshDir := t.TempDir()
	simtest.AppendRecords(t, freshDir, append(append([][]byte{}, best...), bestAfter...)...)
	ingest(t, fresh, IngestOptions{BlocksDir: freshDir})
	a, err := db.Digest(context.Background(), ReadKeyspaces...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fresh.Digest(context.Background(), ReadKeyspaces...)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("the store ingested in small batches through a reorg differs from one ingested in one go")
	}
	mustCheck(t, db)
}

// TestFilterSizedForPath: a bulk path sizes its address filter for the
// addresses its block bytes promise (hintFilter), so the filter is
// rebuilt (a rescan of every stored key) once or twice instead of at
// every growth step as on the direct path; every stored key stays in it
// (X7) and the store is the direct path's.
func TestFilterSizedForPath(t *testing.T) {
	defer func(n uint64) { minFilterKeys = n }(minFilterKeys)
	minFilterKeys = 64
	out := simtest.Chain(t, 12, 0.3)
	blocks := filepath.Join(out, "blocks")
	builds := func(bulk bool) (*DB, int) {
		if bulk {
			withDefer(t, 1, 64<<20)
		} else {
			withDefer(t, -1, 0)
		}
		db := openTest(t, t.TempDir())
		ingest(t, db, IngestOptions{BlocksDir: blocks, BatchTxs: 100, BulkBatchTxs: 100})
		db.filterWG.Wait()
		filterHasEveryKey(t, db, fmt.Sprintf("bulk %v", bulk))
		t.Logf("bulk %v: %d filters swapped in, %d rebuilt in place, capacity %d for %d addresses",
			bulk, db.filterSwaps, db.filterRebuilds, db.filter.capacity, db.st.NextAddr)
		return db, db.filterSwaps + db.filterRebuilds
	}
	direct, nd := builds(false)
	bulk, nb := builds(true)
	if nb > 2 || nd < 4 {
		t.Fatalf("filters built: %d on the bulk path, %d on the direct path", nb, nd)
	}
	if bulk.filterHint != 0 {
		t.Fatal("the path's estimate outlived the path")
	}
	mustCheck(t, bulk)
	if digest(t, bulk) != digest(t, direct) {
		t.Fatal("bulk store differs from the direct one")
	}
}

// filterHasEveryKey fails the test if the filter says absent for a stored
// address key (X7).
func filterHasEveryKey(t *testing.T, db *DB, what string) {
	t.Helper()
	for id := btc.AddrID(0); id < db.st.NextAddr; id++ {
		k, err := db.AddrKey(id)
		if err != nil {
			t.Fatal(err)
		}
		if !db.filter.mayContain(filterHash(k.Bytes())) {
			t.Fatalf("%s: address %d is stored but the filter says absent (X7)", what, id)
		}
	}
}
