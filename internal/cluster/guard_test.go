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
// our own chains: with each detector family switched off in turn (every
// shape it knows is then of an "unknown shape"), the others keep the
// entities pure on a chain with unknown coordinators, PayJoins and
// collaborative batches; with the general families all off, the same
// chain merges owners, so the test can tell.
func TestFamiliesOffPrecision(t *testing.T) {
	out := simtest.Chain(t, 1, 1)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
	update(t, db, Options{})
	rows, err := FamilySweep(context.Background(), db, out, Config{}, FamilySweeps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(FamilySweeps())+1 || rows[0].Off != "none" {
		t.Fatalf("%d rows, first %q", len(rows), rows[0].Off)
	}
	for _, r := range rows {
		t.Logf("off %-22s precision %.6f recall %.4f refused %d (%d single-owner)", r.Off, r.Precision, r.Recall, r.Refused, r.FalseRefusals)
		switch r.Off {
		case "general (all)", "all":
			if r.Precision >= 0.99 {
				t.Errorf("off %s: precision %.6f; the chain should need the general tests", r.Off, r.Precision)
			}
			if len(r.WorstTxs) == 0 || r.WorstTxs[0].Kind == "" {
				t.Errorf("off %s: worst false-merge transactions %+v, want them named with their kind", r.Off, r.WorstTxs)
			}
		case "none":
			if r.FalseRefusals > 5 {
				t.Errorf("%d single-owner co-spends refused with every family on", r.FalseRefusals)
			}
			fallthrough
		default:
			if r.Precision < 0.999 {
				t.Errorf("off %s: precision %.6f, want at least 0.999", r.Off, r.Precision)
			}
		}
	}
	if st, _ := ReadStatus(db); st.Config != "multi_input" {
		t.Errorf("the sweep left the store clustered with %s", st.Config)
	}
}
