package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestStageRuns writes sorted runs with IngestStage, each into the last
// level, and reads them back merged by suffix, values in run order.
func TestStageRuns(t *testing.T) {
	prefix := []byte{StageRisk + 0x0e}
	tests := []struct {
		name string
		runs [][]uint64 // the suffixes of each run
	}{
		{"none", nil},
		{"one run", [][]uint64{{1, 5, 9}}},
		{"overlapping", [][]uint64{{1, 3, 5, 7}, {2, 3, 4}, {}, {0, 3, 7, 1 << 40}}},
		{"disjoint", [][]uint64{{10, 11}, {1, 2}, {20}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t, t.TempDir())
			ctx := context.Background()
			want := map[uint64][]string{}
			for i, run := range tc.runs {
				n, err := db.IngestStage(ctx, "run", func(put func(k, v []byte) error) error {
					for _, x := range run {
						v := fmt.Sprintf("r%d:%d", i, x)
						want[x] = append(want[x], v)
						if err := put(StageRunKey(nil, prefix, uint32(i), binary.BigEndian.AppendUint64(nil, x)), []byte(v)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if wantN := min(len(run), 1); n != wantN {
					t.Errorf("run %d: %d tables, want %d", i, n, wantN)
				}
			}
			// Every run's range was empty: each table went to the last level.
			if l6, runs := db.db.Metrics().Levels[6].TablesIngested, countNonEmpty(tc.runs); l6 != uint64(runs) {
				t.Errorf("%d tables ingested into the last level, want %d", l6, runs)
			}
			var got []uint64
			err := db.StageRuns(ctx, prefix, uint32(len(tc.runs)), func(suffix []byte, vals [][]byte) error {
				x := binary.BigEndian.Uint64(suffix)
				got = append(got, x)
				var vs []string
				for _, v := range vals {
					vs = append(vs, string(v))
				}
				if !slices.Equal(vs, want[x]) {
					t.Errorf("suffix %d: values %v, want %v (in run order)", x, vs, want[x])
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var keys []uint64
			for x := range want {
				keys = append(keys, x)
			}
			slices.Sort(keys)
			if !slices.Equal(got, keys) {
				t.Errorf("suffixes %v, want each once in order: %v", got, keys)
			}
		})
	}
}

func countNonEmpty(runs [][]uint64) int {
	n := 0
	for _, r := range runs {
		if len(r) > 0 {
			n++
		}
	}
	return n
}

// TestIngestStageOrder: keys out of order (or repeated) are an error and
// nothing is ingested.
func TestIngestStageOrder(t *testing.T) {
	db := openTest(t, t.TempDir())
	ctx := context.Background()
	for _, keys := range [][]byte{{3, 1}, {1, 1}} {
		_, err := db.IngestStage(ctx, "bad", func(put func(k, v []byte) error) error {
			for _, k := range keys {
				if err := put([]byte{StageRisk, k}, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "not in key order") {
			t.Errorf("keys %v: %v, want a key-order error", keys, err)
		}
	}
	n := 0
	db.StageScan(ctx, []byte{StageRisk}, []byte{StageRisk + 1}, func(_, _ []byte) (bool, error) { n++; return true, nil })
	if n != 0 {
		t.Errorf("%d keys ingested after the errors", n)
	}
}
