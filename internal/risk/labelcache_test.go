package risk

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestLabelCacheResolves labels addresses that later blocks first show,
// then ingests those blocks in steps: after each, the labels a cache kept
// from the first step (its pending keys resolved either by looking them up
// or by the new addresses' keys) equal those a fresh read finds, and the
// cache read the labels once.
func TestLabelCacheResolves(t *testing.T) {
	out := simtest.Chain(t, 3, 0.2)
	recs := simtest.BestRecords(t, out)
	split := len(recs) * 2 / 3
	// Addresses the truth says first appear after the split.
	var later []string
	for _, r := range simtest.ReadCSV(t, filepath.Join(out, "truth", "addresses.csv")) {
		if h, err := strconv.Atoi(r["height"]); err == nil && h > split+2 && len(later) < 6 && r["address"][0] == '1' {
			later = append(later, r["address"])
		}
	}
	if len(later) == 0 {
		t.Fatal("no address first seen after the split")
	}
	ctx := context.Background()
	for _, byKeys := range []bool{false, true} {
		t.Run(map[bool]string{false: "by new ids", true: "by pending keys"}[byKeys], func(t *testing.T) {
			defer func(f func(int, int) bool) { resolveByKeys = f }(resolveByKeys)
			resolveByKeys = func(int, int) bool { return byKeys }
			dir := t.TempDir()
			db := indextest.Open(t, t.TempDir())
			simtest.AppendRecords(t, dir, recs[:split]...)
			indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
			for _, a := range later {
				if _, err := label.AddOwn(ctx, db, a, false, label.Label{Label: "later", Category: "sanction", Source: "test", Confidence: 80}); err != nil {
					t.Fatal(err)
				}
			}
			c := &LabelCache{}
			resolved := 0
			for lo := split; lo < len(recs); lo += 3 {
				simtest.AppendRecords(t, dir, recs[lo:min(lo+3, len(recs))]...)
				indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
				got, err := c.labelled(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				want, err := (&LabelCache{}).labelled(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				if !sameLabelled(got, want) {
					t.Fatalf("at %d blocks: kept labels of %d addresses, a fresh read %d", lo, len(got), len(want))
				}
				resolved = len(later) - len(c.pending)
			}
			if c.Loads != 1 || resolved == 0 {
				t.Fatalf("labels read %d times (want 1); %d of %d pending addresses resolved", c.Loads, resolved, len(later))
			}
		})
	}
}

// sameLabelled reports whether a and b hold the same addresses with the
// same labels, in any order.
func sameLabelled(a, b []labelledAddr) bool {
	sorted := func(x []labelledAddr) []labelledAddr {
		x = slices.Clone(x)
		slices.SortFunc(x, func(p, q labelledAddr) int { return cmp.Compare(p.id, q.id) })
		return x
	}
	return slices.EqualFunc(sorted(a), sorted(b), func(p, q labelledAddr) bool {
		return p.id == q.id && slices.Equal(p.labs, q.labs)
	})
}
