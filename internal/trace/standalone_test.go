package trace_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// sharedBlocks holds the real blocks beside the repository; tests that need
// them skip when they are absent.
const sharedBlocks = "../../../shared/data/btc-blocks"

// standaloneStore ingests the real standalone blocks 574200 and 540107
// (their parents and successors absent), clusters them and computes
// exposure.
func standaloneStore(t *testing.T) *index.DB {
	t.Helper()
	var raws []string
	for _, f := range []string{"block-574200.raw", "block-540107.raw"} {
		p := filepath.Join(sharedBlocks, f)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("real data %s not found (expected ../shared/data beside the repository): %v", p, err)
		}
		raws = append(raws, p)
	}
	ctx := context.Background()
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{RawBlocks: raws})
	if _, err := cluster.Update(ctx, db, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := risk.Update(ctx, db, risk.Options{}); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestStandaloneTrace traces real standalone blocks, whose later blocks
// are not indexed: forward, taint on outputs nobody indexed spends is
// "beyond the indexed range", never "held"; backward, inputs whose spent
// outputs are not indexed are unknown; walks through standalone
// transactions and exposure paths work (they failed looking the block up
// on the best chain).
func TestStandaloneTrace(t *testing.T) {
	ctx := context.Background()
	db := standaloneStore(t)
	// 5dc4ee02… (block 574200): three P2SH inputs into two outputs that
	// no indexed transaction spends.
	peel := btc.MustParseHash("5dc4ee0295f8a5f5e8cd04673c5dd264bd00a7381f733bb007b3872dd14c597e")
	// An output the same block spends, so the walk reads a standalone
	// transaction.
	var inBlock btc.OutRef
	ids, err := db.BlockTxIDs("574200")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		v, err := db.Tx(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range v.Outputs {
			if o.Spent == index.Spent && inBlock == 0 {
				num, _ := db.TxNum(id)
				inBlock = btc.MakeOutRef(num, o.N)
			}
		}
	}
	if inBlock == 0 {
		t.Fatal("block 574200 spends none of its own outputs")
	}
	whole, err := trace.FromTx(db, peel)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		src  []trace.Taint
		dir  trace.Direction
		// check the totals beyond conservation
		check func(tot trace.Totals) bool
		want  string
	}{
		{"forward, unspent outputs", whole, trace.Forward,
			func(tot trace.Totals) bool { return tot.Held == 0 && tot.Beyond == tot.Source },
			"all beyond the indexed range, none held"},
		{"forward through a standalone tx", []trace.Taint{{Out: inBlock, Sats: btc.MaxMoney}}, trace.Forward,
			func(tot trace.Totals) bool { return tot.Held == 0 && tot.Beyond > 0 },
			"some beyond the indexed range, none held"},
		{"backward, inputs not indexed", whole, trace.Backward,
			func(tot trace.Totals) bool { return tot.Unknown == tot.Source },
			"all unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range []trace.Policy{trace.FIFO, trace.Haircut} {
				r, err := trace.Trace(ctx, db, c.src, trace.Options{Policy: p, Direction: c.dir})
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				tot := r.Totals
				if tot.Source == 0 || tot.Accounted() != tot.Source || !c.check(tot) {
					t.Errorf("%s: totals %+v, want %s and accounted = source", p, tot, c.want)
				}
				for _, e := range r.Entities {
					if e.Held != 0 {
						t.Errorf("%s: entity %d holds %d sats on outputs whose spend is unknown", p, e.ID, e.Held)
					}
				}
			}
		})
	}
	sc, err := risk.NewScreener(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := sc.Paths(ctx, "35hYK4GknXfLzSdH7fGvAeteQBsX4cSc5N", trace.Options{})
	if err != nil {
		t.Fatalf("exposure paths of an address paid in a standalone block: %v", err)
	}
	if pr.Traced != 31491349 || pr.Totals.Unknown != pr.Traced {
		t.Errorf("paths: traced %d, totals %+v; want 31491349 sats, all unknown", pr.Traced, pr.Totals)
	}
}
