package label

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestRefreshAfterMerges: a simulated chain's best chain ingested in
// pieces, clustered after each, the public TagPack imported after the
// first, and the labels' entity index brought up to date by RefreshAfter:
// incrementally (only the absorbed entities' members moved, only newly
// indexed labelled addresses added) whenever the clustering only grew.
// After each piece the readers find it fresh, and at the end it equals the
// index a rebuild gives over the whole chain.
func TestRefreshAfterMerges(t *testing.T) {
	// Addresses first indexed since the last refresh are found by looking
	// each up in the labels, or, past probeLimit, by resolving every label.
	for _, tc := range []struct {
		name  string
		limit btc.AddrID
	}{{"each new address looked up", probeLimit}, {"every label resolved", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(l btc.AddrID) { probeLimit = l }(probeLimit)
			probeLimit = tc.limit
			testRefreshAfterMerges(t)
		})
	}
}

func testRefreshAfterMerges(t *testing.T) {
	out := simtest.Chain(t, 11, 0.3)
	blocks := simtest.BestRecords(t, out)
	pack := filepath.Join(out, "public", "tagpack.yaml")
	ctx := context.Background()
	dir := t.TempDir()
	inc := indextest.Open(t, t.TempDir())
	// The first piece is the chain's first 77% (its early blocks pay a
	// few miners' addresses and merge nothing), then 8 pieces.
	steps, incremental := 9, 0
	cut := func(i int) int {
		if i == 0 {
			return 0
		}
		return len(blocks)*77/100 + len(blocks)*23/100*(i-1)/(steps-1)
	}
	for i := range steps {
		lo, hi := cut(i), cut(i+1)
		if i == steps-1 {
			hi = len(blocks)
		}
		simtest.AppendRecords(t, dir, blocks[lo:hi]...)
		indextest.Ingest(t, inc, index.IngestOptions{BlocksDir: dir})
		sum, err := cluster.Update(ctx, inc, cluster.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := ImportFile(ctx, inc, pack, ImportOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		ok, err := RefreshAfter(ctx, inc, sum)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			incremental++
		}
		if fresh, err := entityIndexFresh(inc); err != nil || !fresh {
			t.Fatalf("step %d: entity index not fresh after RefreshAfter (%v)", i, err)
		}
		t.Logf("step %d: height %d, %d addresses, %d merges, %d absorbed, incremental %v", i, inc.Tip().Height, inc.Tip().NextAddr, sum.Merges, len(sum.Absorbed), ok)
	}
	if incremental < steps-1 {
		t.Fatalf("%d of %d refreshes incremental: the path under test was not taken", incremental, steps)
	}
	full := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, full, index.IngestOptions{BlocksDir: dir})
	if _, err := cluster.Update(ctx, full, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportFile(ctx, full, pack, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Refresh(ctx, full); err != nil {
		t.Fatal(err)
	}
	digest := func(db *index.DB) [32]byte {
		t.Helper()
		d, err := db.StageDigest(ctx, pEntity, pEntity+1)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if digest(inc) != digest(full) {
		t.Fatal("the entity index kept up block by block differs from one rebuilt over the whole chain")
	}
}
