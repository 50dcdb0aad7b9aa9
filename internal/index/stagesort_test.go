package index

import (
	"cmp"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

type sortRec struct {
	a   uint32
	pad uint32
	b   uint64
}

func cmpSortRec(x, y sortRec) int {
	if c := cmp.Compare(x.a, y.a); c != 0 {
		return c
	}
	return cmp.Compare(x.b, y.b)
}

func sortRecKey(dst []byte, x sortRec) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(append(dst, StageCluster+3), x.a), x.b)
}

// TestStageSort: keys added in random order, with duplicates, come out
// of Ingest exactly once each and in order, whether they fit in memory or
// were spilled as many runs; a view taken before does not see them, keys
// already stored outside the sort are kept, nothing is left in the
// store's temporary directory, and an empty sort writes nothing.
func TestStageSort(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		memBytes int
	}{{"in memory", 5_000, 1 << 20}, {"spilled", 60_000, 16 << 10}, {"empty", 0, 1 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, t.TempDir())
			keep := db.NewStageBatch()
			keep.Set([]byte{StageCluster + 3, 0xff}, nil) // after every sorted key
			keep.Set([]byte{StageCluster + 2, 1}, []byte("other keyspace"))
			if err := keep.Commit(); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(uint64(tc.n), 3))
			want := map[string]bool{}
			s, err := NewStageSort(db, "adj", tc.memBytes, tc.n, cmpSortRec, sortRecKey)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := range tc.n {
				x := sortRec{a: uint32(r.IntN(500)), b: r.Uint64N(1 << 40)}
				if i%7 == 0 && i > 0 {
					x = sortRec{a: uint32(i % 500), b: 42} // repeated below
				}
				want[string(sortRecKey(nil, x))] = true
				if err := s.Add(x); err != nil {
					t.Fatal(err)
				}
			}
			if tc.name == "spilled" && s.s.nruns() < 4 {
				t.Fatalf("%d runs spilled: the merge is not under test", s.s.nruns())
			}
			view, err := db.View()
			if err != nil {
				t.Fatal(err)
			}
			defer view.Close()
			tables, err := s.Ingest(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if (tables == 0) != (tc.n == 0) {
				t.Fatalf("%d tables for %d records", tables, tc.n)
			}
			var got []string
			err = db.StageScan(context.Background(), []byte{StageCluster + 3}, []byte{StageCluster + 3, 0xff}, func(k, _ []byte) (bool, error) {
				got = append(got, string(k))
				return true, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			wantKeys := make([]string, 0, len(want))
			for k := range want {
				wantKeys = append(wantKeys, k)
			}
			slices.Sort(wantKeys)
			if !slices.Equal(got, wantKeys) {
				t.Fatalf("%d keys stored, want %d distinct", len(got), len(wantKeys))
			}
			for _, k := range [][]byte{{StageCluster + 3, 0xff}, {StageCluster + 2, 1}} {
				if v, err := db.StageGet(k); err != nil || v == nil {
					t.Fatalf("key %x outside the sort lost (%v)", k, err)
				}
			}
			n := 0
			view.StageScan(context.Background(), []byte{StageCluster + 3}, []byte{StageCluster + 3, 0xff}, func(_, _ []byte) (bool, error) { n++; return true, nil })
			if n != 0 {
				t.Fatalf("a view taken before the ingest sees %d of its keys", n)
			}
			s.Close()
			ents, err := os.ReadDir(filepath.Join(db.dir, commitTmp))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if len(ents) != 0 {
				t.Fatalf("%d entries left in %s", len(ents), commitTmp)
			}
		})
	}
}

// TestCompactStageThenIngest: tables ingested into a range that a range
// deletion still covers land above it; once CompactStage has
// dropped the deletion and what it covered, they land in the last level.
// The old keys are gone either way.
func TestCompactStageThenIngest(t *testing.T) {
	lo, hi := []byte{StageRisk}, []byte{StageRisk + 1}
	for _, compact := range []bool{false, true} {
		db := openTest(t, t.TempDir())
		old := db.NewStageBatch()
		for i := range 2000 {
			old.Set(binary.BigEndian.AppendUint32([]byte{StageRisk}, uint32(i)), []byte("old"))
		}
		if err := old.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := db.db.Flush(); err != nil {
			t.Fatal(err)
		}
		del := db.NewStageBatch()
		del.DeleteRange(lo, hi)
		if err := del.Commit(); err != nil {
			t.Fatal(err)
		}
		if compact {
			if err := db.CompactStage(context.Background(), lo, hi); err != nil {
				t.Fatal(err)
			}
		}
		s, err := NewStageSort(db, "new", 1<<20, 100, cmp.Compare[uint32], func(dst []byte, x uint32) []byte {
			return binary.BigEndian.AppendUint32(append(dst, StageRisk), x)
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			s.Add(uint32(5000 + i))
		}
		if _, err := s.Ingest(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.Close()
		// Over the deletion (still in a memtable), the table is queued
		// above it as a flushable and lands in L0 at the next flush.
		if l6 := db.db.Metrics().Levels[6].TablesIngested; compact != (l6 == 1) {
			t.Errorf("compacted %v: %d tables ingested into the last level", compact, l6)
		}
		n := 0
		db.StageScan(context.Background(), lo, hi, func(_, _ []byte) (bool, error) { n++; return true, nil })
		if n != 100 {
			t.Errorf("compacted %v: %d keys in the range, want the 100 ingested", compact, n)
		}
	}
}
