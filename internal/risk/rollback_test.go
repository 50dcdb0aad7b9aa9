package risk

import (
	"context"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim/regtest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestReorgRollsBack: exposure computed over a stale branch is rolled
// back from the undo records when the index reorgs to the best chain
// (not rebuilt), and the exposure keyspaces then equal those of a store
// that never saw the stale branch and was updated at the same points.
// That is R1's per-block form: exposure does not follow unlabelled
// entities that grow later, so a store updated in one go differs in a few
// aggregates, reorg or not (TestExposurePerBlock in package pipeline
// reports that gap; so does this test). The chain's TagPack labels
// entities on both sides of the fork.
func TestReorgRollsBack(t *testing.T) {
	out := simtest.Chain(t, 11, 0.5)
	best, stale, bestAfter, fork := simtest.ReorgBranches(t, out)
	ctx := context.Background()
	// feed appends each step's blocks to a fresh store's blocks directory
	// and updates every stage after each step.
	feed := func(steps ...[][]byte) (*index.DB, Summary) {
		t.Helper()
		db := indextest.Open(t, t.TempDir())
		dir := t.TempDir()
		var sum Summary
		for _, recs := range steps {
			simtest.AppendRecords(t, dir, recs...)
			indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
			prepare(t, db, out)
			var err error
			if sum, err = Update(ctx, db, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		return db, sum
	}
	cat := func(a, b [][]byte) [][]byte { return append(append([][]byte{}, a...), b...) }
	rolled, sum := feed(cat(best, stale), bestAfter)
	if sum.Rebuilt || sum.RolledBack == 0 {
		t.Fatalf("after the reorg at height %d: rebuilt %v (%s), rolled back %d blocks", fork, sum.Rebuilt, sum.Reason, sum.RolledBack)
	}
	t.Logf("rolled back %d blocks to height %d: %d aggregates rewritten from %d transactions; incremental %v (%d addresses affected, %d of them departed)",
		sum.RolledBack, fork-1, sum.Addresses, sum.Reaggregated, sum.Incremental, sum.Affected, sum.Departed)
	never, _ := feed(best, bestAfter)
	if riskDigest(t, rolled) != riskDigest(t, never) {
		t.Fatal("exposure rolled back over the reorg differs from exposure that never saw the stale branch")
	}
	bulk, _ := feed(cat(best, bestAfter))
	t.Logf("aggregates that differ from one update over the whole chain (with or without the reorg): %d", aggDiff(t, rolled, bulk))
}

// aggDiff counts the addresses whose exposure aggregate differs between
// two stores.
func aggDiff(t *testing.T, a, b *index.DB) int {
	t.Helper()
	ma, mb := aggregates(t, a), aggregates(t, b)
	n := 0
	for k, v := range ma {
		if w, ok := mb[k]; !ok || w != v {
			n++
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			n++
		}
	}
	return n
}

// TestReorgDepartedMembers: a reorg that undoes a merge into a labelled
// entity takes its joined member out again, and exposure is rolled back
// for that member too (the walk over the forest the stored attribution
// was computed with, Summary.Departed), equal to a store that never saw
// the undone block. The regtest scenario's deposit spends a CoinJoin
// output together with the thief's peel change, so its block merges the
// CoinJoin output's address into the labelled change's entity; Branch
// reorganises that block away, Rejoin mines it again.
func TestReorgDepartedMembers(t *testing.T) {
	sc, err := regtest.Build(1)
	if err != nil {
		t.Fatal(err)
	}
	var deposit *regtest.Tx
	for i := range sc.Truth.Txs {
		if sc.Truth.Txs[i].Role == "deposit" {
			deposit = &sc.Truth.Txs[i]
		}
	}
	if deposit == nil || len(deposit.Inputs) != 2 {
		t.Fatalf("the scenario's deposit: %+v, want a transaction of two inputs", deposit)
	}
	change := deposit.Inputs[1].Address // the thief's peel change; Inputs[0] is the CoinJoin output
	ctx := context.Background()
	shared := sc.Best[:sc.Fork] // heights 1..Fork
	// feed writes the chains one step at a time into a fresh regtest
	// store, updating every stage after each step; the change's address is
	// labelled after the first.
	feed := func(steps ...[][]regtest.Block) (*index.DB, Summary) {
		t.Helper()
		dir := t.TempDir()
		db, err := index.Open(t.TempDir(), &index.Options{Network: btc.Regtest, CacheSize: 16 << 20, MemTableSize: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var chain [][]regtest.Block
		var sum Summary
		for i, step := range steps {
			chain = append(chain, step...)
			if err := sc.WriteBlocksDir(dir, chain...); err != nil {
				t.Fatal(err)
			}
			indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
			if _, err := cluster.Update(ctx, db, cluster.Options{}); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if _, err := label.AddOwn(ctx, db, change, false, label.Label{Label: "thief", Category: "perpetrator", Abuse: "service_hack", Source: "case 1", Confidence: 90}); err != nil {
					t.Fatal(err)
				}
			}
			if err := label.Refresh(ctx, db); err != nil {
				t.Fatal(err)
			}
			if sum, err = Update(ctx, db, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		return db, sum
	}
	after := sc.Best[sc.Fork:]
	rolled, sum := feed([][]regtest.Block{shared, after}, [][]regtest.Block{sc.Branch})
	t.Logf("reorg to the branch: rolled back %d blocks, rebuilt %v (%s), %d addresses affected, %d departed",
		sum.RolledBack, sum.Rebuilt, sum.Reason, sum.Affected, sum.Departed)
	if sum.Rebuilt || sum.RolledBack == 0 || sum.Departed == 0 {
		t.Fatalf("the reorg did not take the departed-member path: %+v", sum)
	}
	never, _ := feed([][]regtest.Block{shared}, [][]regtest.Block{sc.Branch})
	if riskDigest(t, rolled) != riskDigest(t, never) {
		t.Fatal("exposure rolled back over the reorg differs from exposure that never saw the deposit's block")
	}
	// Back to the original chain: the deposit is mined again.
	again, _ := feed([][]regtest.Block{shared, after}, [][]regtest.Block{sc.Branch}, [][]regtest.Block{sc.Rejoin})
	straight, _ := feed([][]regtest.Block{shared, after}, [][]regtest.Block{sc.Rejoin})
	if riskDigest(t, again) != riskDigest(t, straight) {
		t.Fatal("exposure after reorganising back differs from exposure that never left the original chain")
	}
}
