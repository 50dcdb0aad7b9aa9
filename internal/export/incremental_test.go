package export

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// derivedTables are the tables a run writes incrementally (E7).
var derivedTables = []string{"entities", "entity_members", "label_sources", "labels", "exposure"}

// restage brings clustering, the labels' entity index and exposure up to
// the index, as the pipeline does after new blocks or label edits.
func restage(t testing.TB, db *index.DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := cluster.Update(ctx, db, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := label.Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := risk.Update(ctx, db, risk.Options{}); err != nil {
		t.Fatal(err)
	}
}

// ingest appends recs to the blocks directory and indexes them.
func ingest(t testing.TB, db *index.DB, blocks string, recs [][]byte) {
	t.Helper()
	simtest.AppendRecords(t, blocks, recs...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: blocks})
}

// TestIncrementalDerived: after more blocks, a reorg below the exported
// tip, a label edit, and a label edit with a reorg, a second export writes
// entities, labels and exposure incrementally and ends equal to a full
// export into a fresh schema, table by table; the rows it writes are
// bounded by the rows that changed (after a few blocks, far below a full
// export's). Without
// the record of the last run, it rewrites them whole and says why (E7).
func TestIncrementalDerived(t *testing.T) {
	dsn(t)
	ctx := context.Background()
	out := simtest.Chain(t, 5, 0.3)
	pack := filepath.Join(out, "public", "tagpack.yaml")
	recs := simtest.BestRecords(t, out)
	best, staleBranch, bestAfter, fork := simtest.ReorgBranches(t, out)

	// labelSome gives n indexed addresses from the middle of the chain an
	// investigator's entity label of a category that spreads exposure.
	labelSome := func(t *testing.T, db *index.DB, n int) {
		t.Helper()
		tip := db.Tip()
		for i := range n {
			s, _, err := db.AddrString(tip.NextAddr/3 + btc.AddrID(i*97))
			if err != nil || s == "" {
				t.Fatalf("address for a label: %q %v", s, err)
			}
			if _, err := label.AddOwn(ctx, db, s, true, label.Label{Label: fmt.Sprintf("case %d", i), Category: "ransomware",
				Source: "test", Confidence: 80}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name string
		// first builds the store the first export sees; then moves it on.
		first, then func(t *testing.T, db *index.DB, blocks string)
		// whole: the parts the second run must rewrite whole.
		whole []string
		// reorg: the second run must see one.
		reorg bool
	}{
		{name: "10 more blocks",
			first: func(t *testing.T, db *index.DB, blocks string) { ingest(t, db, blocks, recs[:len(recs)-10]) },
			then:  func(t *testing.T, db *index.DB, blocks string) { ingest(t, db, blocks, recs[len(recs)-10:]) }},
		{name: "1 more block",
			first: func(t *testing.T, db *index.DB, blocks string) { ingest(t, db, blocks, recs[:len(recs)-1]) },
			then:  func(t *testing.T, db *index.DB, blocks string) { ingest(t, db, blocks, recs[len(recs)-1:]) }},
		{name: "reorg", reorg: true,
			first: func(t *testing.T, db *index.DB, blocks string) { ingest(t, db, blocks, append(best, staleBranch...)) },
			then:  func(t *testing.T, db *index.DB, blocks string) { ingest(t, db, blocks, bestAfter) }},
		{name: "label change",
			first: func(t *testing.T, db *index.DB, blocks string) { ingest(t, db, blocks, recs) },
			then:  func(t *testing.T, db *index.DB, blocks string) { labelSome(t, db, 3) }},
		{name: "label change and reorg", reorg: true,
			first: func(t *testing.T, db *index.DB, blocks string) { ingest(t, db, blocks, append(best, staleBranch...)) },
			then: func(t *testing.T, db *index.DB, blocks string) {
				labelSome(t, db, 2)
				ingest(t, db, blocks, bestAfter)
			}},
		{name: "no record of the last run", whole: []string{"entities", "labels", "exposure"},
			first: func(t *testing.T, db *index.DB, blocks string) { ingest(t, db, blocks, recs[:len(recs)-3]) },
			then: func(t *testing.T, db *index.DB, blocks string) {
				ingest(t, db, blocks, recs[len(recs)-3:])
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			blocks := t.TempDir()
			db := indextest.Open(t, t.TempDir())
			c.first(t, db, blocks)
			restage(t, db)
			if _, err := label.ImportFile(ctx, db, pack, label.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			restage(t, db)
			tg := open(t, freshSchema(t))
			export(t, tg, db, Options{})
			if c.whole != nil {
				if _, err := tg.pool.Exec(ctx, `UPDATE export_state SET digests = false`); err != nil {
					t.Fatal(err)
				}
			}
			for _, tb := range derivedTables {
				if _, err := tg.pool.Exec(ctx, `CREATE TABLE before_`+tb+` AS TABLE `+tb); err != nil {
					t.Fatal(err)
				}
			}

			c.then(t, db, blocks)
			restage(t, db)
			sum := export(t, tg, db, Options{})
			if sum.Reorg != c.reorg {
				t.Errorf("reorg %v, want %v (from %d, fork %d)", sum.Reorg, c.reorg, sum.From, fork)
			}
			for _, part := range []string{"entities", "labels", "exposure"} {
				how := sum.Derived[part]
				if whole := strings.HasPrefix(how, "whole: "); whole != slices.Contains(c.whole, part) {
					t.Errorf("%s written %q, want whole=%v", part, how, !whole)
				}
			}
			t.Logf("derived: %v", sum.Derived)

			fresh := open(t, freshSchema(t))
			full := export(t, fresh, db, Options{})
			sameDigest(t, c.name, digest(t, tg), digest(t, fresh))

			// Rows written against rows changed (rows only before or only
			// after): an updated row counts once written, twice changed; an
			// address's labels are deleted and written again together when
			// one of them changes.
			var written, fullRows, changed int64
			for _, tb := range derivedTables {
				w := sum.Rows[tb] + sum.RowsDeleted[tb]
				var diff int64
				if err := tg.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM (TABLE `+tb+` EXCEPT ALL TABLE before_`+tb+`) a) +
					(SELECT count(*) FROM (TABLE before_`+tb+` EXCEPT ALL TABLE `+tb+`) b)`).Scan(&diff); err != nil {
					t.Fatal(err)
				}
				t.Logf("%-15s written %6d deleted %6d  changed %6d  full export %7d", tb, sum.Rows[tb], sum.RowsDeleted[tb], diff, full.Rows[tb])
				written += w
				changed += diff
				fullRows += full.Rows[tb]
			}
			t.Logf("derived tables: %d rows written or deleted for %d changed; a full export writes %d (%s)",
				written, changed, fullRows, c.name)
			if c.whole != nil {
				return
			}
			if changed == 0 || written > 2*changed {
				t.Errorf("%d rows written or deleted for %d changed: want at most 2 per changed row", written, changed)
			}
			if !c.reorg && c.name != "label change" && 4*written > fullRows {
				t.Errorf("%d rows written or deleted after a few blocks: want under a quarter of a full export's %d", written, fullRows)
			}
			// A third run with nothing new writes nothing derived but the
			// export's own record.
			again := export(t, tg, db, Options{})
			for _, tb := range derivedTables {
				if again.Rows[tb]+again.RowsDeleted[tb] != 0 {
					t.Errorf("rerun wrote %d and deleted %d rows of %s", again.Rows[tb], again.RowsDeleted[tb], tb)
				}
			}
			sameDigest(t, c.name+", rerun", digest(t, tg), digest(t, fresh))
		})
	}
}
