package export

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestExportAfterBlocksLarge measures a full export and an incremental one
// after SLEUTH_EXPORT_BENCH_BLOCKS (default 10) more blocks, on the
// simulated chain in SLEUTH_EXPORT_BENCH (a `sleuth sim` output directory
// with blocks/, truth/ and public/tagpack.yaml, e.g. the 1M-transaction
// chain): it indexes all but the last blocks, clusters, imports the
// TagPack and computes exposure, exports into a fresh schema, indexes the
// last blocks and brings the stages up, and exports again. It logs each
// run's time and rows written per table (docs/BENCHMARKS.md), checks that
// the second run wrote entities, labels and exposure incrementally, and
// that a full export of the same store into another schema is equal,
// table by table. It skips without the variable (it takes minutes).
func TestExportAfterBlocksLarge(t *testing.T) {
	out := os.Getenv("SLEUTH_EXPORT_BENCH")
	if out == "" {
		t.Skip("SLEUTH_EXPORT_BENCH is not set (a sleuth sim output directory)")
	}
	dsn(t)
	n := 10
	if s := os.Getenv("SLEUTH_EXPORT_BENCH_BLOCKS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	recs := simtest.BestRecords(t, out)
	blocks := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	start := time.Now()
	ingest(t, db, blocks, recs[:len(recs)-n])
	restage(t, db)
	if _, err := label.ImportFile(ctx, db, filepath.Join(out, "public", "tagpack.yaml"), label.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	restage(t, db)
	t.Logf("store at height %d (%d txs, %d addresses) in %s", db.Tip().Height, db.Tip().NextTx, db.Tip().NextAddr, time.Since(start).Round(time.Second))

	logRun := func(what string, s *Summary) {
		t.Logf("%s: heights %d-%d, %d rows written, %d deleted, in %s; derived %v", what, s.From, s.To, s.TotalRows(), sumOf(s.RowsDeleted),
			s.Elapsed.Round(time.Millisecond), s.Derived)
		for _, tb := range append(append([]string{}, pksOrder...), "export_digests", "export_merge_sums") {
			t.Logf("  %-17s written %10d deleted %8d", tb, s.Rows[tb], s.RowsDeleted[tb])
		}
	}
	tg := open(t, freshSchema(t))
	logRun("full export", export(t, tg, db, Options{}))

	prev := db.Tip()
	ingest(t, db, blocks, recs[len(recs)-n:])
	restage(t, db)
	t.Logf("%d more blocks: %d txs, %d addresses", n, db.Tip().NextTx-prev.NextTx, db.Tip().NextAddr-prev.NextAddr)
	inc := export(t, tg, db, Options{})
	logRun("incremental export", inc)
	for _, part := range []string{"entities", "labels", "exposure"} {
		if h := inc.Derived[part]; !strings.HasPrefix(h, "incremental") {
			t.Errorf("%s written %q, want incremental", part, h)
		}
	}
	fresh := open(t, freshSchema(t))
	logRun("full export of the same store", export(t, fresh, db, Options{}))
	sameDigest(t, "incremental after blocks", digest(t, tg), digest(t, fresh))
}

// pksOrder lists the exported tables in the order the CLI prints them.
var pksOrder = []string{"blocks", "transactions", "outputs", "inputs", "addresses",
	"entities", "entity_members", "label_sources", "labels", "exposure"}

func sumOf(m map[string]int64) int64 {
	var n int64
	for _, x := range m {
		n += x
	}
	return n
}
