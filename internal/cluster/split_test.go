package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
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

// TestSplitCache follows a chain block by block as exposure does, then
// through a reorg and an investigator's decision: every answer of the
// cache equals LoadSplit's (the forests root for root, and the sums), the
// blocks in between are served from memory, and the reorg and the
// decision (which rewrite the log below the bound) make it replay.
func TestSplitCache(t *testing.T) {
	best, stale, bestAfter, _ := reorgBranches(t)
	ctx := context.Background()
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	cache := &SplitCache{}
	const feed = 12
	simtest.AppendRecords(t, dir, best[:len(best)-feed]...)
	next := btc.TxNum(0)
	step := func(what string) {
		t.Helper()
		indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
		update(t, db, Options{})
		second := db.Tip().NextTx
		got, err := cache.LoadSplit(ctx, db, next, second)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		want, err := LoadSplit(ctx, db, next, second)
		if err != nil {
			t.Fatal(err)
		}
		if got.BelowFirst != want.BelowFirst || got.BelowSecond != want.BelowSecond {
			t.Fatalf("%s: sums %+v %+v, want %+v %+v", what, got.BelowFirst, got.BelowSecond, want.BelowFirst, want.BelowSecond)
		}
		for a := range uint32(db.Tip().NextAddr) {
			if got.Before.Find(a) != want.Before.Find(a) || got.Forest.Find(a) != want.Forest.Find(a) {
				t.Fatalf("%s: address %d roots %d, %d; want %d, %d", what, a, got.Before.Find(a), got.Forest.Find(a), want.Before.Find(a), want.Forest.Find(a))
			}
		}
		next = second
	}
	step("first load")
	for i, r := range best[len(best)-feed:] {
		simtest.AppendRecords(t, dir, r)
		step(fmt.Sprintf("block %d of %d", i+1, feed))
	}
	if cache.Loads != 1 || cache.Hits != feed {
		t.Fatalf("%d loads and %d hits over %d blocks after the first: want 1 and %d", cache.Loads, cache.Hits, feed, feed)
	}
	// The stale branch, then the best chain past it: the index reorgs and
	// clustering undoes the stale blocks' merges.
	simtest.AppendRecords(t, dir, stale...)
	step("stale branch")
	loads := cache.Loads
	simtest.AppendRecords(t, dir, bestAfter...)
	next = db.Tip().NextTx // the caller's bound as it was: the cache must still see the rewrite
	step("reorg")
	if cache.Loads != loads+1 {
		t.Fatalf("the reorg was served from memory (%d loads before, %d after)", loads, cache.Loads)
	}
	// An investigator rejects a co-spend: its merges leave the log.
	var co btc.TxNum
	if err := Merges(ctx, db, func(m *Merge) error {
		if m.Heuristic == MultiInput {
			co = m.Tx
		}
		return nil
	}); err != nil || co == 0 {
		t.Fatalf("no co-spend to reject: %v", err)
	}
	id, _ := db.TxID(co)
	setOverride(t, db, Override{Kind: Reject, TxID: id, By: "test", Reason: "cache"}, Config{})
	loads = cache.Loads
	step("override")
	if cache.Loads != loads+1 {
		t.Fatal("the override's rewrite was served from memory")
	}
}
