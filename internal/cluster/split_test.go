package cluster

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestLoadSplit: the forest of the whole log equals Load's; the forest
// before a bound equals replaying only the merges below it; the sums
// count those merges, and a log that changes below the bound changes them.
func TestLoadSplit(t *testing.T) {
	out := simtest.Chain(t, 3, 0.1)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: filepath.Join(out, "blocks")})
	update(t, db, Options{})
	ctx := context.Background()
	tip := db.Tip()
	mid := tip.NextTx / 2
	sp, err := LoadSplit(ctx, db, mid, tip.NextTx)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	before := NewForest(int(tip.NextAddr))
	nBefore, err := replayRange(ctx, db, before, []byte{pMerge}, keyMerge(pMerge, mid, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(db)
	if err != nil {
		t.Fatal(err)
	}
	if nBefore == 0 || nBefore == st.Merges {
		t.Fatalf("%d of %d merges below the middle: the test needs some on each side", nBefore, st.Merges)
	}
	for a := range uint32(tip.NextAddr) {
		if sp.Forest.Find(a) != whole.Find(a) || sp.Before.Find(a) != before.Find(a) {
			t.Fatalf("address %d: split roots %d, %d; want %d, %d", a, sp.Forest.Find(a), sp.Before.Find(a), whole.Find(a), before.Find(a))
		}
	}
	if sp.BelowFirst.Merges != nBefore || sp.BelowSecond.Merges != st.Merges {
		t.Errorf("sums count %d and %d merges, want %d and %d", sp.BelowFirst.Merges, sp.BelowSecond.Merges, nBefore, st.Merges)
	}
	// Dropping one merge below the bound changes the sum below it.
	var k []byte
	err = db.StageScan(ctx, []byte{pMerge}, keyMerge(pMerge, mid, 0), func(key, _ []byte) (bool, error) {
		k = append([]byte(nil), key...)
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewStageBatch()
	b.Delete(k)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	sp2, err := LoadSplit(ctx, db, mid, tip.NextTx)
	if err != nil {
		t.Fatal(err)
	}
	if sp2.BelowFirst == sp.BelowFirst {
		t.Error("a merge removed below the bound left its sum unchanged")
	}
}
