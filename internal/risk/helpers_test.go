package risk

import (
	"context"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

const sharedData = "../../../shared/data"

// world is a simulated chain ingested, clustered, labelled and screened.
type world struct {
	out string
	db  *index.DB
	sum Summary
}

func newWorld(t testing.TB, seed int64, scale float64) *world {
	t.Helper()
	out := simtest.Chain(t, seed, scale)
	return newWorldPackAt(t, out, filepath.Join(out, "public", "tagpack.yaml"))
}

// newWorldPackAt is newWorld on the simulated chain in out, importing the
// TagPack at pack instead of the public one.
func newWorldPackAt(t testing.TB, out, pack string) *world {
	t.Helper()
	return newWorldWith(t, out, pack, nil)
}

// newWorldWith is newWorldPackAt on a store opened with set's options.
func newWorldWith(t testing.TB, out, pack string, set func(*index.Options)) *world {
	t.Helper()
	db := indextest.OpenWith(t, t.TempDir(), set)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: filepath.Join(out, "blocks")})
	prepareWith(t, db, pack)
	sum, err := Update(context.Background(), db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &world{out: out, db: db, sum: sum}
}

// prepare clusters, imports the public tagpack and refreshes the labels.
func prepare(t testing.TB, db *index.DB, out string) {
	t.Helper()
	prepareWith(t, db, filepath.Join(out, "public", "tagpack.yaml"))
}

// prepareWith is prepare with the TagPack at pack.
func prepareWith(t testing.TB, db *index.DB, pack string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cluster.Update(ctx, db, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := label.ImportFile(ctx, db, pack, label.ImportOptions{}); err != nil && !strings.Contains(err.Error(), "already") {
		t.Fatal(err)
	}
	if err := label.Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
}

func riskDigest(t testing.TB, db *index.DB) [32]byte {
	t.Helper()
	d, err := db.StageDigest(context.Background(), index.StageRisk, pEnd)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
