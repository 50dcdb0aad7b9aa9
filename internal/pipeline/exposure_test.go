package pipeline

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestExposurePerBlock ingests a labelled chain's last blocks one at a
// time, as a server following a node does. Blocks that move addresses
// into labelled entities update exposure from the members they moved
// (risk's comparison with the stored forest), not the whole entity: the
// result must equal the update that takes every member, byte for byte,
// and no block may rebuild from scratch. Against one ingest of every
// block, the vectors, the attribution and the incidents are equal; a
// few aggregates differ the same way with either update (an unlabelled
// entity that grows later changes what its members count as their own
// funds, and exposure does not follow unlabelled entities), which the
// test reports.
func TestExposurePerBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests a chain block by block, twice")
	}
	out := simtest.Chain(t, 2, 0.4)
	recs := simtest.BestRecords(t, out)
	held := min(40, len(recs)/3)
	ctx := context.Background()
	pack := filepath.Join(out, "public", "tagpack.yaml")
	build := func(first int, opts Options) (*index.DB, *Pipeline, string) {
		dir := t.TempDir()
		simtest.AppendRecords(t, dir, recs[:first]...)
		db := indextest.Open(t, t.TempDir())
		pl := New(db, opts)
		if err := pl.Write(func(db *index.DB) error {
			_, err := label.ImportFile(ctx, db, pack, label.ImportOptions{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := pl.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}}); err != nil {
			t.Fatal(err)
		}
		return db, pl, dir
	}
	perBlock := func(opts Options) (db *index.DB, changed, narrowed int) {
		db, pl, dir := build(len(recs)-held, opts)
		for _, r := range recs[len(recs)-held:] {
			simtest.AppendRecords(t, dir, r)
			res, err := pl.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}})
			if err != nil {
				t.Fatal(err)
			}
			if s := res.Risk; s != nil && s.Rebuilt {
				t.Errorf("block %d rebuilt exposure from scratch: %s", res.Index.Height, s.Reason)
			} else if s != nil && s.Incremental && s.Changed > 0 {
				changed++
				if s.Affected < 50 {
					narrowed++
				}
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
		return db, changed, narrowed
	}
	a, changed, narrowed := perBlock(Options{})
	whole, _, wholeNarrowed := perBlock(Options{Risk: risk.Options{WholeEntities: true}})
	if changed == 0 || narrowed <= wholeNarrowed {
		t.Fatalf("%d of %d blocks changed labelled entities, %d of them affected fewer than 50 addresses (%d when every member counts): the test proves nothing",
			changed, held, narrowed, wholeNarrowed)
	}
	t.Logf("%d of %d blocks changed labelled entities; %d of them affected fewer than 50 addresses (%d when every member counts)", changed, held, narrowed, wholeNarrowed)
	if digest(t, a, 0, 0x10) != digest(t, whole, 0, 0x10) {
		t.Fatal("exposure updated from the moved members differs from exposure updated from every member")
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
