package trace_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/sim"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// TestExposurePaths explains the theft exposure of an exchange deposit
// address that received stolen coins (risk.Screener.Paths): the theft row
// must name a labelled theft entity and give a path from the deposit back
// to it, and screening must report the same category.
func TestExposurePaths(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a simulated store")
	}
	ctx := context.Background()
	db, out := pipelineStore(t)
	// The exchange deposit address that received the most stolen sats.
	f, err := os.Open(filepath.Join(out, "truth", "taint.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	var best int64
	for _, r := range rows[1:] {
		// case, role, txid, vout, address, entity_id, entity_type, value, tainted, …
		if r[0] == "theft" && r[1] == "received" && r[6] == "exchange" {
			var v int64
			for _, c := range r[8] {
				v = v*10 + int64(c-'0')
			}
			if v > best {
				addr, best = r[4], v
			}
		}
	}
	if addr == "" {
		t.Fatal("no exchange received stolen coins")
	}
	sc, err := risk.NewScreener(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sc.Screen(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	screened := false
	for _, x := range rep.Exposure {
		screened = screened || (x.Category == "theft" && x.Direction == "received")
	}
	for _, p := range []trace.Policy{trace.FIFO, trace.Haircut} {
		pr, err := sc.Paths(ctx, addr, trace.Options{Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		if pr.Totals.Accounted() != pr.Traced {
			t.Errorf("%s: accounted %d != traced %d: %+v", p, pr.Totals.Accounted(), pr.Traced, pr.Totals)
		}
		var theft *risk.PathRow
		for i := range pr.Rows {
			if pr.Rows[i].Category == "theft" {
				theft = &pr.Rows[i]
			}
		}
		if theft == nil {
			t.Fatalf("%s: no theft path for %s (screened theft: %v): %+v", p, addr, screened, pr.Rows)
		}
		if !screened {
			t.Errorf("%s: paths find theft, screening does not", p)
		}
		if theft.Sats < best/2 || len(theft.Path) < 2 || theft.Explanation == nil || theft.Out == "" {
			t.Errorf("%s: theft row %+v (stolen sats received %d)", p, theft, best)
		}
		t.Logf("%s %s: theft %d sats (%.3f) from %d entities, best %d %q, %d hops, path %v; %d txs %.3fs",
			p, addr, theft.Sats, theft.Share, theft.Entities, theft.Entity, theft.Explanation.Label, theft.Hops, theft.Path, pr.TxsRead, pr.Elapsed)
	}
}

// pipelineStore builds the whole pipeline on a simulated chain (seed 1,
// scale 1): ingest, clustering, the public TagPack as labels, exposure.
// It returns the store and the simulator's output directory.
func pipelineStore(t *testing.T) (*index.DB, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "sim")
	if _, err := sim.Run(ctx, sim.Options{Out: out, Seed: 1, Scale: 1}); err != nil {
		t.Fatal(err)
	}
	db, err := index.Open(filepath.Join(dir, "db"), &index.Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Ingest(ctx, index.IngestOptions{BlocksDir: filepath.Join(out, "blocks")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Update(ctx, db, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := label.ImportFile(ctx, db, filepath.Join(out, "public", "tagpack.yaml"), label.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := label.Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := risk.Update(ctx, db, risk.Options{}); err != nil {
		t.Fatal(err)
	}
	return db, out
}

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
