package cluster

import (
	"context"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestCoSpendGuard: with a small guard, no accepted co-spend joins two
// entities that were both at least the guard size before it (C5 for
// co-spends), every refused one names two such entities, and the result
// is what a fresh run gives.
func TestCoSpendGuard(t *testing.T) {
	out := simtest.Chain(t, 3, 0.3)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
	// Only the guard: the other general families off, so that it is
	// exercised alone.
	cfg := Config{GuardSize: 2, Off: coinjoin.GeneralFamilies &^ coinjoin.FamGuard}
	sum := update(t, db, Options{Config: &cfg})
	ctx := context.Background()
	ref := NewForest(int(db.Tip().NextAddr))
	// Replay the log transaction by transaction, judging each co-spend by
	// the sizes before it.
	var cur btc.TxNum = ^btc.TxNum(0)
	before := map[uint32]uint32{} // root -> size before the current tx
	err := Merges(ctx, db, func(m *Merge) error {
		if m.Tx != cur {
			cur = m.Tx
			clear(before)
		}
		for _, a := range []btc.AddrID{m.A, m.B} {
			r := ref.Find(uint32(a))
			if _, ok := before[r]; !ok {
				before[r] = ref.Size(r)
			}
		}
		ref.Union(ref.Find(uint32(m.A)), ref.Find(uint32(m.B)))
		if m.Heuristic != MultiInput {
			return nil
		}
		big := 0
		for _, s := range before {
			if s >= cfg.GuardSize {
				big++
			}
		}
		if big >= 2 {
			t.Fatalf("co-spend in tx %d joined %d entities of at least %d addresses", m.Tx, big, cfg.GuardSize)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	err = Refused(ctx, db, func(m *RefusedMerge) error {
		refused++
		if m.Reason() != "guard" || m.SizeA < cfg.GuardSize || m.SizeB < cfg.GuardSize || m.Entities < 2 {
			t.Errorf("refused %+v", m)
		}
		if ref.Find(uint32(m.A)) == ref.Find(uint32(m.B)) {
			// Joined later by another transaction: allowed, but rare.
			t.Logf("refused co-spend in tx %d was joined later", m.Tx)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if refused == 0 || uint64(refused) != sum.RefusedCoSpends {
		t.Fatalf("%d refused co-spends stored, summary %d; a guard of %d should refuse some", refused, sum.RefusedCoSpends, cfg.GuardSize)
	}
	fresh := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, fresh, index.IngestOptions{BlocksDir: out + "/blocks"})
	update(t, fresh, Options{Config: &cfg})
	if clusterDigest(t, db) != clusterDigest(t, fresh) {
		t.Fatal("guarded clustering differs between two runs")
	}
}

// TestFamiliesOffPrecision is the check that would have caught issue 10 on
// our own chains: with every protocol detector switched off (every
// CoinJoin of the chain is then of an "unknown shape"), the general tests
// alone keep the entities pure; with the general tests off too, the same
// chain merges owners, so the test can tell.
func TestFamiliesOffPrecision(t *testing.T) {
	out := simtest.Chain(t, 1, 1)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
	cases := []struct {
		name string
		off  coinjoin.Family
		min  float64 // precision at least
		max  float64 // precision below (1.01: no bound)
	}{
		{"all families", 0, 0.999, 1.01},
		{"protocol detectors off", coinjoin.ProtocolFamilies, 0.999, 1.01},
		{"value-structure tests off", coinjoin.FamEqualOutputs | coinjoin.FamDenominations, 0.999, 1.01},
		{"everything off", coinjoin.AllFamilies, 0, 0.99},
	}
	for _, c := range cases {
		cfg := Config{Off: c.off}
		update(t, db, Options{Config: &cfg, Rebuild: true})
		ev, err := Evaluate(context.Background(), db, out)
		if err != nil {
			t.Fatal(err)
		}
		p := ev.Clusters.Precision
		t.Logf("%s: precision %.6f recall %.4f", c.name, p, ev.Clusters.Recall)
		if p < c.min || p >= c.max {
			t.Errorf("%s: precision %.6f, want in [%v, %v)", c.name, p, c.min, c.max)
		}
	}
}
