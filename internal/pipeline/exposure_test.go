package pipeline

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestExposurePerBlock ingests a labelled chain's last blocks one at a
// time, as a server following a node does. Blocks that move addresses
// into labelled entities update exposure from the members they moved
// (risk's comparison with the stored forest), not the whole entity, and
// bring the aggregates up to date by the difference of the moved
// transactions' flows before and after the merges (the old flows under
// the forest before the block), not from all of their addresses'
// transactions: the result must equal the update that takes every member
// and recomputes every aggregate it touches, byte for byte, and no block
// may rebuild from scratch. Two of the blocks are made to merge labelled
// entities (own labels on both sides of one of the block's merges) and
// to merge into the largest entity that one of them grows (labelled);
// both must go by the difference. Against one ingest of every block, the
// vectors, the attribution and the incidents are equal; a few aggregates
// differ the same way with either update (an unlabelled entity that
// grows later changes what its members count as their own funds, and
// exposure does not follow unlabelled entities), which the test reports.
func TestExposurePerBlock(t *testing.T) {
	recs, pack, held := heldChain(t, 40)
	first := len(recs) - held
	ctx := context.Background()
	var own []ownLabel
	build := func(n int, opts Options) (*index.DB, *Pipeline, string) {
		return labelledStore(t, recs[:n], pack, opts, own...)
	}
	unlabelled, _, _ := build(len(recs), Options{})
	pair, large := mergingBlocks(t, unlabelled, first)
	own = []ownLabel{
		{pair.a, label.Label{Label: "listed", Category: "sanction", Source: "test", Confidence: 90}},
		{pair.b, lateLabel},
		{large.a, label.Label{Label: "market", Category: "perpetrator", Abuse: "ransomware", Source: "test", Confidence: 60}},
	}
	perBlock := func(opts Options) (db *index.DB, changed, narrowed int, paths map[int64]string) {
		db, pl, dir := build(first, opts)
		paths = map[int64]string{}
		for _, r := range recs[first:] {
			simtest.AppendRecords(t, dir, r)
			res, err := pl.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}})
			if err != nil {
				t.Fatal(err)
			}
			if s := res.Risk; s != nil && s.Rebuilt {
				t.Errorf("block %d: rebuilt exposure from scratch: %s", res.Index.Height, s.Reason)
			} else if s != nil && s.Incremental && s.Changed > 0 {
				changed++
				if s.Affected < 50 {
					narrowed++
				}
				paths[res.Index.Height] = s.Aggregation
			}
		}
		// Every block after the first is served the entities' forests
		// from memory (cluster.SplitCache), not by replaying the log.
		if f := &pl.forests; f.Hits < held-1 {
			t.Errorf("the forests were loaded %d times and kept %d times over %d blocks", f.Loads, f.Hits, held)
		}
		// The clustering keeps its own forest between blocks too
		// (cluster.ForestCache), not loading the snapshot each time.
		if f := &pl.forest; f.Hits < held-1 {
			t.Errorf("the clustering's forest was loaded %d times and kept %d times over %d blocks", f.Loads, f.Hits, held)
		}
		return db, changed, narrowed, paths
	}
	a, changed, narrowed, paths := perBlock(Options{})
	whole, _, wholeNarrowed, wholePaths := perBlock(Options{Risk: risk.Options{WholeEntities: true}})
	if changed == 0 || narrowed <= wholeNarrowed {
		t.Fatalf("%d of %d blocks changed labelled entities, %d of them affected fewer than 50 addresses (%d when every member counts): the test proves nothing",
			changed, held, narrowed, wholeNarrowed)
	}
	count := func(paths map[int64]string) map[string]int {
		n := map[string]int{}
		for _, p := range paths {
			n[p]++
		}
		return n
	}
	t.Logf("%d of %d blocks changed labelled entities; %d of them affected fewer than 50 addresses (%d when every member counts); aggregates %v (%v when every member counts)",
		changed, held, narrowed, wholeNarrowed, count(paths), count(wholePaths))
	for _, m := range []struct {
		what string
		h    int64
	}{{"merges two labelled entities", pair.h}, {"merges into the largest entity", large.h}} {
		if p := paths[m.h]; p != risk.AggregatesByDifference && p != risk.AggregatesMixed {
			t.Errorf("block %d %s: aggregates %q, want them by the difference", m.h, m.what, p)
		}
		if p := wholePaths[m.h]; p != risk.AggregatesRecomputed {
			t.Errorf("block %d %s: aggregates %q when every member counts, want them recomputed", m.h, m.what, p)
		}
	}
	if digest(t, a, 0, 0x10) != digest(t, whole, 0, 0x10) {
		t.Fatal("exposure updated from the moved members by the difference differs from exposure updated from every member and recomputed")
	}
	bulk, _, _ := build(len(recs), Options{})
	// The entities, clustered block by block from the kept forest, equal
	// one ingest's (C1).
	if d, w := clusterDigest(t, a), clusterDigest(t, bulk); d != w {
		t.Errorf("the entities after %d blocks one at a time differ from one ingest", held)
	}
	for _, p := range []byte{0x02, 0x04, 0x05} { // vectors, attribution, incidents
		if digest(t, a, p, p+1) != digest(t, bulk, p, p+1) {
			t.Errorf("keyspace %x after %d blocks one at a time differs from one ingest", index.StageRisk+p, held)
		}
	}
	diff := 0
	for _, pair := range [][2]*index.DB{{a, bulk}, {bulk, a}} {
		err := pair[0].StageScan(ctx, []byte{index.StageRisk + 3}, []byte{index.StageRisk + 4}, func(k, v []byte) (bool, error) {
			w, err := pair[1].StageGet(k)
			if string(w) != string(v) {
				diff++
			}
			return true, err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("aggregates that differ from one ingest (with either update): %d", diff)
}

// heldChain returns the best-chain records of the labelled chain the
// per-block tests ingest, its public TagPack and how many of its last
// blocks they hold back (at most most, and a third of the chain), skipping in
// short mode.
func heldChain(t *testing.T, most int) (recs [][]byte, pack string, held int) {
	t.Helper()
	if testing.Short() {
		t.Skip("ingests a chain block by block, twice")
	}
	out := simtest.Chain(t, 2, 0.4)
	recs = simtest.BestRecords(t, out)
	return recs, filepath.Join(out, "public", "tagpack.yaml"), min(most, len(recs)/3)
}

// labelledStore returns a store and its pipeline with the pack and the
// own labels imported and recs ingested, and its blocks directory.
func labelledStore(t *testing.T, recs [][]byte, pack string, opts Options, own ...ownLabel) (*index.DB, *Pipeline, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	simtest.AppendRecords(t, dir, recs...)
	db := indextest.Open(t, t.TempDir())
	pl := New(db, opts)
	if err := pl.Write(func(db *index.DB) error {
		if _, err := label.ImportFile(ctx, db, pack, label.ImportOptions{}); err != nil {
			return err
		}
		for _, o := range own {
			if _, err := label.AddOwn(ctx, db, o.addr, false, o.l); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}}); err != nil {
		t.Fatal(err)
	}
	return db, pl, dir
}

// ownLabel is an investigator's label a test adds before ingesting.
type ownLabel struct {
	addr string
	l    label.Label
}

// blockMerge is a merge logged for block h of addresses a and b.
type blockMerge struct {
	h    int64
	a, b string
	size uint32 // the larger side's members before the block
}

// mergingBlocks finds, among the blocks from height first on, a merge of
// two entities of several members each (pair) and, in another block, the
// merge into the largest entity (large: a is in it), each in the forest
// before its block and moving an address with earlier transactions (b).
func mergingBlocks(t *testing.T, db *index.DB, first int) (pair, large blockMerge) {
	t.Helper()
	ctx := context.Background()
	pair.h, large.h = -1, -1
	for h := first; h <= int(db.Tip().Height); h++ {
		cb, err := db.ChainBlock(btc.Height(h))
		if err != nil {
			t.Fatal(err)
		}
		f, err := cluster.LoadBelow(ctx, db, cb.FirstTx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ms [][2]btc.AddrID
		if err := cluster.MergesIn(ctx, db, cb.FirstTx, cb.FirstTx+btc.TxNum(cb.NTx), func(a, b btc.AddrID) { ms = append(ms, [2]btc.AddrID{a, b}) }); err != nil {
			t.Fatal(err)
		}
		str := func(a btc.AddrID) string {
			s, _, err := db.AddrString(a)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		for _, m := range ms {
			ra, rb := f.Find(uint32(m[0])), f.Find(uint32(m[1]))
			na, nb := f.Size(ra), f.Size(rb)
			if ra == rb {
				continue
			}
			if nb > na {
				m[0], m[1], na, nb = m[1], m[0], nb, na
			}
			// b's side must have transactions before the block (a new
			// address moves none).
			seen := btc.TxNum(math.MaxUint64)
			if err := db.AddrTxNums(m[1], func(n btc.TxNum) bool { seen = n; return false }); err != nil {
				t.Fatal(err)
			}
			sa, sb := str(m[0]), str(m[1])
			if sa == "" || sb == "" || seen >= cb.FirstTx {
				continue
			}
			if pair.h < 0 && nb >= 2 {
				pair = blockMerge{h: int64(h), a: sa, b: sb, size: na}
			} else if na > large.size && int64(h) != pair.h {
				large = blockMerge{h: int64(h), a: sa, b: sb, size: na}
			}
		}
		f.Close()
	}
	if pair.h < 0 || large.h < 0 || large.size < 20 {
		t.Fatalf("no block merging entities of several members each (%+v) or into a large one (%+v)", pair, large)
	}
	t.Logf("block %d merges two entities (labelled here), block %d merges into one of %d members (labelled here)", pair.h, large.h, large.size)
	return pair, large
}

func digest(t *testing.T, db *index.DB, lo, hi byte) [32]byte {
	t.Helper()
	d, err := db.StageDigest(context.Background(), index.StageRisk+lo, index.StageRisk+hi)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// clusterDigest digests the entity keyspaces (package cluster's 30–3A).
func clusterDigest(t *testing.T, db *index.DB) [32]byte {
	t.Helper()
	d, err := db.StageDigest(context.Background(), index.StageCluster, index.StageCluster+0xB)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestExposureLabelCache ingests a labelled chain's last blocks one at a
// time with label edits between them: an own label on an indexed
// address, one on an address a later block first shows (it waits as a
// pending key), and the first one's removal. The pipeline keeps the labels
// in memory (risk.LabelCache): each edit makes the next block read them
// again and every other block reads none, and the exposure equals, byte
// for byte, that of a pipeline made afresh for every block (which reads
// every label each time); its vectors, attribution and incidents equal
// one ingest's under the final labels.
func TestExposureLabelCache(t *testing.T) {
	recs, pack, held := heldChain(t, 16)
	first := len(recs) - held
	ctx := context.Background()
	build := func(n int, late string) (*index.DB, *Pipeline, string) {
		if late == "" {
			return labelledStore(t, recs[:n], pack, Options{})
		}
		return labelledStore(t, recs[:n], pack, Options{}, ownLabel{late, lateLabel})
	}
	// The addresses: one the base holds, with transactions, and one first
	// seen in the held block lateAt.
	const lateAt = 8
	bulk, _, _ := build(len(recs), "")
	old := outputAddress(t, bulk, btc.Height(first-5), false)
	late := outputAddress(t, bulk, btc.Height(first+lateAt), true)
	var ownImport uint32
	edits := map[int]func(db *index.DB) error{
		2: func(db *index.DB) error {
			r, err := label.AddOwn(ctx, db, old, false, label.Label{Label: "listed", Category: "sanction", Source: "test", Confidence: 90})
			ownImport = r.Import
			return err
		},
		4: func(db *index.DB) error { _, err := label.AddOwn(ctx, db, late, false, lateLabel); return err },
		6: func(db *index.DB) error {
			_, err := label.Remove(ctx, db, label.RemoveSpec{Import: ownImport})
			return err
		},
	}
	perBlock := func(fresh bool) (*index.DB, *Pipeline) {
		db, pl, dir := build(first, "")
		pl.labels = risk.LabelCache{} // count from the held blocks
		for i, r := range recs[first:] {
			if fresh {
				pl = New(db, Options{})
			}
			if edit := edits[i]; edit != nil {
				if err := pl.Write(edit); err != nil {
					t.Fatal(err)
				}
			}
			simtest.AppendRecords(t, dir, r)
			res, err := pl.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}})
			if err != nil {
				t.Fatal(err)
			}
			if s := res.Risk; s == nil || s.Rebuilt {
				t.Fatalf("block %d: exposure %+v", res.Index.Height, s)
			}
			if s := res.Risk; s.ChangedTotal != 0 || s.ChangedAddresses != nil {
				t.Fatalf("block %d: a block's update read back its aggregates to list %d changed addresses", res.Index.Height, s.ChangedTotal)
			}
		}
		return db, pl
	}
	kept, pl := perBlock(false)
	if c := &pl.labels; c.Loads != 1+len(edits) || c.Hits != held-c.Loads {
		t.Errorf("over %d blocks and %d label edits the labels were read %d times and kept %d times, want %d and %d",
			held, len(edits), c.Loads, c.Hits, 1+len(edits), held-1-len(edits))
	}
	fresh, _ := perBlock(true)
	if digest(t, kept, 0, 0x10) != digest(t, fresh, 0, 0x10) {
		t.Fatal("exposure with the labels kept between blocks differs from exposure reading them every block")
	}
	final, _, _ := build(len(recs), late)
	for _, p := range []byte{0x02, 0x04, 0x05} { // vectors, attribution, incidents
		if digest(t, kept, p, p+1) != digest(t, final, p, p+1) {
			t.Errorf("keyspace %x after label edits between blocks differs from one ingest under the final labels", index.StageRisk+p)
		}
	}
}

// lateLabel labels an address before the chain shows it.
var lateLabel = label.Label{Label: "ransom wallet", Category: "perpetrator", Abuse: "ransomware", Source: "case", Confidence: 70}

// outputAddress returns an output address of block h's transactions
// after the coinbase; with fresh, one the block shows for the first time.
func outputAddress(t *testing.T, db *index.DB, h btc.Height, fresh bool) string {
	t.Helper()
	cb, err := db.ChainBlock(h)
	if err != nil {
		t.Fatal(err)
	}
	for i := btc.TxNum(1); i < btc.TxNum(cb.NTx); i++ {
		var tx coinjoin.Tx
		if err := db.ReadTx(cb.FirstTx+i, &tx); err != nil {
			t.Fatal(err)
		}
		for _, o := range tx.Outs {
			if o.Addr == btc.NoAddr {
				continue
			}
			seen := btc.TxNum(0)
			if err := db.AddrTxNums(o.Addr, func(m btc.TxNum) bool { seen = m; return false }); err != nil {
				t.Fatal(err)
			}
			if fresh && seen < cb.FirstTx {
				continue
			}
			if s, _, err := db.AddrString(o.Addr); err == nil && s != "" {
				return s
			}
		}
	}
	t.Fatalf("block %d has no output address (fresh: %v)", h, fresh)
	return ""
}

// TestExposureReorgPerBlock feeds a pipeline the blocks around a reorg
// one at a time (the best chain, a stale branch, then the best chain from
// the fork on, which disconnects the stale blocks) and requires exposure
// equal, byte for byte, to a pipeline fed the same best chain one block at
// a time that never saw the stale branch: the rollback (risk's undo
// records), the blocks after it (whose aggregates go by the difference
// of the moved transactions' flows) and the labels kept in memory across
// the reorg (read again after it: a reorg can reuse address ids) agree.
func TestExposureReorgPerBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests a chain block by block, twice")
	}
	out := simtest.Chain(t, 11, 0.5)
	best, stale, bestAfter, fork := simtest.ReorgBranches(t, out)
	ctx := context.Background()
	pack := filepath.Join(out, "public", "tagpack.yaml")
	base := max(0, len(best)-8)
	feed := func(steps ...[]byte) (*index.DB, *Pipeline, map[string]int) {
		db, pl, dir := labelledStore(t, best[:base], pack, Options{})
		paths := map[string]int{}
		ingest := func() {
			res, err := pl.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}})
			if err != nil {
				t.Fatal(err)
			}
			if s := res.Risk; s != nil {
				if s.Rebuilt {
					t.Errorf("block %d: exposure rebuilt: %s", res.Index.Height, s.Reason)
				}
				if s.RolledBack > 0 {
					paths["rolled back"]++
				}
				if s.Aggregation != "" {
					paths[s.Aggregation]++
				}
			}
		}
		for _, r := range steps {
			simtest.AppendRecords(t, dir, r)
			ingest()
		}
		return db, pl, paths
	}
	cat := func(parts ...[][]byte) (out [][]byte) {
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	rolled, pl, paths := feed(cat(best[base:], stale, bestAfter)...)
	if paths["rolled back"] == 0 {
		t.Fatalf("no block rolled exposure back (fork at %d): %v", fork, paths)
	}
	if c := &pl.labels; c.Loads < 2 {
		t.Errorf("the labels were read %d times over a reorg, want them read again after it", c.Loads)
	}
	never, _, neverPaths := feed(cat(best[base:], bestAfter)...)
	t.Logf("fork at %d: %d stale blocks; over the reorg %v, without it %v", fork, len(stale), paths, neverPaths)
	if digest(t, rolled, 0, 0x10) != digest(t, never, 0, 0x10) {
		t.Fatal("exposure fed block by block over a reorg differs from exposure that never saw the stale branch")
	}
}
