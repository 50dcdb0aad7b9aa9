package index

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestViewKeepsItsState takes a view of a store, ingests more blocks into
// the store, and checks that the view still answers from the state it was
// taken at (X8): tip, totals, digest, a block above its tip, the checker;
// that it refuses writes; and that every view is closed exactly once, by
// its own Close or by the store's.
func TestViewKeepsItsState(t *testing.T) {
	recs := simtest.BestRecords(t, simtest.Chain(t, 3, 0.1))
	blocks := t.TempDir()
	db := openTest(t, t.TempDir())
	half := len(recs) / 2
	simtest.AppendRecords(t, blocks, recs[:half]...)
	ingest(t, db, IngestOptions{BlocksDir: blocks})

	v, err := db.View()
	if err != nil {
		t.Fatal(err)
	}
	if !v.IsView() || db.IsView() {
		t.Fatalf("IsView: view %v, store %v", v.IsView(), db.IsView())
	}
	tip, stats, sum := v.Tip(), v.Stats(), digest(t, v)
	if sum != digest(t, db) {
		t.Fatal("a fresh view's digest differs from the store's")
	}
	above := strconv.Itoa(half) // the first height the next ingest adds
	if _, err := v.Block(above); !errors.Is(err, ErrNotFound) {
		t.Fatalf("block %s before the second ingest: %v", above, err)
	}

	simtest.AppendRecords(t, blocks, recs[half:]...)
	ingest(t, db, IngestOptions{BlocksDir: blocks})
	if db.Tip().Height != int64(len(recs)-1) {
		t.Fatalf("store tip %d after the second ingest, want %d", db.Tip().Height, len(recs)-1)
	}

	if got := v.Tip(); got != tip {
		t.Errorf("view tip moved: %+v, was %+v", got, tip)
	}
	if got := v.Stats(); got != stats {
		t.Errorf("view stats moved: %+v, was %+v", got, stats)
	}
	if got := digest(t, v); got != sum {
		t.Error("view digest changed after the store's ingest")
	}
	if _, err := v.Block(above); !errors.Is(err, ErrNotFound) {
		t.Errorf("block %s seen through the old view: %v", above, err)
	}
	if _, err := db.Block(above); err != nil {
		t.Errorf("block %s in the store: %v", above, err)
	}
	mustCheck(t, v)

	// Writes are refused, and nothing is written.
	if _, err := v.Ingest(context.Background(), IngestOptions{BlocksDir: blocks}); !errors.Is(err, ErrView) {
		t.Errorf("ingest on a view: %v, want ErrView", err)
	}
	b := v.NewStageBatch()
	b.Set([]byte{StageCluster, 1}, []byte("x"))
	b.DeleteRange([]byte{StageCluster}, []byte{StageLabel})
	if err := b.Commit(); !errors.Is(err, ErrView) {
		t.Errorf("stage batch commit on a view: %v, want ErrView", err)
	}
	if got, err := db.StageGet([]byte{StageCluster, 1}); err != nil || got != nil {
		t.Errorf("a view's refused batch wrote %q (%v)", got, err)
	}
	if _, err := v.View(); err == nil {
		t.Error("a view of a view was allowed")
	}

	// Each view closes exactly once.
	if n := db.OpenViews(); n != 1 {
		t.Fatalf("%d open views, want 1", n)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil { // a second Close is harmless
		t.Fatal(err)
	}
	if n := db.OpenViews(); n != 0 {
		t.Fatalf("%d open views after Close, want 0", n)
	}
	left, err := db.View()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // Pebble reports leaked snapshots
		t.Fatalf("closing the store with a view open: %v", err)
	}
	if n := db.OpenViews(); n != 0 {
		t.Fatalf("%d open views after the store closed, want 0", n)
	}
	if err := left.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.View(); err == nil {
		t.Error("a view of a closed store was allowed")
	}
}
