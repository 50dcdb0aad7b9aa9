package eval

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// predFromMerges labels each id with the smallest id of its set after the
// merges, as cluster.Forest does, by naive relabelling.
func predFromMerges(n int, merges []Merge) []uint64 {
	pred := make([]uint64, n)
	for i := range pred {
		pred[i] = uint64(i)
	}
	for _, m := range merges {
		la, lb := pred[m.A], pred[m.B]
		lo, hi := min(la, lb), max(la, lb)
		for i := range pred {
			if pred[i] == hi {
				pred[i] = lo
			}
		}
	}
	return pred
}

func mg(h string, pairs ...int) []Merge {
	var out []Merge
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Merge{A: btc.AddrID(pairs[i]), B: btc.AddrID(pairs[i+1]), Heuristic: h, Tx: uint64(i / 2)})
	}
	return out
}

var testNames = map[int32]string{0: "Alpha", 1: "Bravo", 2: "Charlie"}

func names(e int32) string { return testNames[e] }

func TestClusters(t *testing.T) {
	for _, c := range []struct {
		name   string
		truth  []int32
		merges []Merge
		want   ClusterReport
	}{{
		name: "empty",
		want: ClusterReport{Precision: 1, Recall: 1, F1: 1, Heuristics: []HeuristicReport{}},
	}, {
		// A = {0,1,2,3} split into {0,1} and {2,3}; B = {4,5,6} and
		// C = {7,8} falsely merged, with the unknown 9, into one cluster.
		// Predicted pairs 1+1+C(5,2) = 12, truth pairs 6+3+1 = 10, true
		// pairs 1+1+3+1 = 6: P = 1/2, R = 3/5, F1 = 6/11.
		name:  "split and false merge",
		truth: []int32{0, 0, 0, 0, 1, 1, 1, 2, 2, -1},
		merges: slices.Concat(
			mg("multi-input", 0, 1, 2, 3, 4, 5, 5, 6, 7, 8),
			mg("change", 6, 7, 9, 4),
			mg("multi-input", 4, 6)),
		want: ClusterReport{
			Addresses: 10, KnownAddresses: 9,
			Precision: 6.0 / 12, Recall: 6.0 / 10, F1: 6.0 / 11,
			TruePairs: 6, PredictedPairs: 12, TruthPairs: 10,
			Entities: 3, Clusters: 3, EntitiesSplit: 1, SplitPieces: 2, ClustersFalseMerged: 1,
			LargestFalseMerge: &FalseMerge{Cluster: 4, Size: 6, Known: 5, Entities: 2, FalsePairs: 6,
				Top: []EntityCount{{1, "Bravo", 3}, {2, "Charlie", 2}}},
			Heuristics: []HeuristicReport{
				{Heuristic: "change", Merges: 2, Wrong: 1, Pairs: 6, FalsePairs: 6, Precision: 0},
				{Heuristic: "multi-input", Merges: 6, Redundant: 1, Pairs: 6, Precision: 1},
			},
			FalseMergeTxs: 1,
			WorstTxs:      []FalseTx{{Tx: 0, Heuristic: "change", WrongMerges: 1, FalsePairs: 6}},
		},
	}, {
		name:  "singletons",
		truth: []int32{0, 0, 1, -1},
		want: ClusterReport{
			Addresses: 4, KnownAddresses: 3,
			Precision: 1, Recall: 0, F1: 0, TruthPairs: 1,
			Entities: 2, Clusters: 3, EntitiesSplit: 1, SplitPieces: 2,
			Heuristics: []HeuristicReport{},
		},
	}, {
		name:   "perfect",
		truth:  []int32{2, 0, 2, 0, 2},
		merges: mg("h", 0, 2, 4, 2, 3, 1),
		want: ClusterReport{
			Addresses: 5, KnownAddresses: 5,
			Precision: 1, Recall: 1, F1: 1, TruePairs: 4, PredictedPairs: 4, TruthPairs: 4,
			Entities: 2, Clusters: 2,
			Heuristics: []HeuristicReport{{Heuristic: "h", Merges: 3, Pairs: 4, Precision: 1}},
		},
	}, {
		// Merges of unknown addresses add no pairs; an all-unknown
		// cluster is no cluster.
		name:   "unknown only",
		truth:  []int32{-1, -1, 0, -7},
		merges: mg("h", 0, 1, 3, 2),
		want: ClusterReport{
			Addresses: 4, KnownAddresses: 1,
			Precision: 1, Recall: 1, F1: 1,
			Entities: 1, Clusters: 1,
			Heuristics: []HeuristicReport{{Heuristic: "h", Merges: 2, Precision: 1}},
		},
	}, {
		// Mixed sets joined to pure and to mixed sets. e0 = {0,1,2},
		// e1 = {3,4,5}, e2 = {6,7}.
		//   a (0,3): {0}+{3}            pairs 1, false 1
		//   a (1,6): {1}+{6}            pairs 1, false 1
		//   b (0,1): {0,3}+{1,6}        pairs 4, false 4−1 = 3
		//   b (2,4): {2}+{4}            pairs 1, false 1
		//   c (2,0): {2,4}+{0,1,3,6}    pairs 8, false 8−(1·2+1·1) = 5
		//   c (5,0): {5}+{0..4,6}       pairs 6, false 6−2 = 4
		// Final {0..6}: 3·e0, 3·e1, 1·e2: predicted 21, true 6; and {7}.
		name:   "mixed sets",
		truth:  []int32{0, 0, 0, 1, 1, 1, 2, 2},
		merges: slices.Concat(mg("a", 0, 3, 1, 6), mg("b", 0, 1, 2, 4), mg("c", 2, 0, 5, 0)),
		want: ClusterReport{
			Addresses: 8, KnownAddresses: 8,
			Precision: 6.0 / 21, Recall: 6.0 / 7, F1: 2 * (6.0 / 21) * (6.0 / 7) / (6.0/21 + 6.0/7),
			TruePairs: 6, PredictedPairs: 21, TruthPairs: 7,
			Entities: 3, Clusters: 2, EntitiesSplit: 1, SplitPieces: 2, ClustersFalseMerged: 1,
			LargestFalseMerge: &FalseMerge{Cluster: 0, Size: 7, Known: 7, Entities: 3, FalsePairs: 15,
				Top: []EntityCount{{0, "Alpha", 3}, {1, "Bravo", 3}, {2, "Charlie", 1}}},
			Heuristics: []HeuristicReport{
				{Heuristic: "a", Merges: 2, Wrong: 2, Pairs: 2, FalsePairs: 2, Precision: 0},
				{Heuristic: "b", Merges: 2, Wrong: 2, Pairs: 5, FalsePairs: 4, Precision: 1.0 / 5},
				{Heuristic: "c", Merges: 2, Wrong: 2, Pairs: 14, FalsePairs: 9, Precision: 5.0 / 14},
			},
			// Merges number their transactions per heuristic list (mg),
			// so transactions 0 and 1 each hold one merge of a, b and c.
			FalseMergeTxs: 2,
			WorstTxs: []FalseTx{{Tx: 0, Heuristic: "a", WrongMerges: 3, FalsePairs: 9},
				{Tx: 1, Heuristic: "a", WrongMerges: 3, FalsePairs: 6}},
		},
	}} {
		cl := &Clustering{Truth: c.truth, Pred: predFromMerges(len(c.truth), c.merges), Merges: c.merges}
		got, err := Clusters(cl, names)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, *got, c.want)
			if got.LargestFalseMerge != nil {
				t.Logf("largest false merge %+v", *got.LargestFalseMerge)
			}
		}
	}
}

// TestClustersTop checks that the largest false merge lists the five
// largest entities, ties by id, and that nil names leave names empty.
func TestClustersTop(t *testing.T) {
	truth := []int32{7, 7, 7, 3, 3, 9, 9, 1, 5, 8, 4}
	var merges []Merge
	for i := 1; i < len(truth); i++ {
		merges = append(merges, Merge{A: 0, B: btc.AddrID(i), Heuristic: "h"})
	}
	got, err := Clusters(&Clustering{Truth: truth, Pred: make([]uint64, len(truth)), Merges: merges}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []EntityCount{{7, "", 3}, {3, "", 2}, {9, "", 2}, {1, "", 1}, {4, "", 1}}
	if m := got.LargestFalseMerge; m == nil || !reflect.DeepEqual(m.Top, want) || m.Entities != 7 {
		t.Errorf("largest false merge %+v, want top %v of 7 entities", m, want)
	}
}

// TestClustersLabels checks that any labels will do, including labels
// beyond the id range.
func TestClustersLabels(t *testing.T) {
	truth := []int32{0, 0, 1, 1}
	merges := mg("h", 0, 1, 3, 2)
	for _, pred := range [][]uint64{
		{0, 0, 2, 2},
		{1, 1, 0, 0},
		{1 << 40, 1 << 40, 3, 3},
		{^uint64(0), ^uint64(0), 1 << 63, 1 << 63},
	} {
		r, err := Clusters(&Clustering{Truth: truth, Pred: pred, Merges: merges}, nil)
		if err != nil {
			t.Fatalf("pred %v: %v", pred, err)
		}
		if r.Precision != 1 || r.Recall != 1 || r.Clusters != 2 {
			t.Errorf("pred %v: %+v", pred, r)
		}
	}
}

func TestClustersInconsistent(t *testing.T) {
	for i, c := range []struct {
		name   string
		truth  []int32
		pred   []uint64
		merges []Merge
		want   string
	}{
		{"merged, not merging", []int32{0, 0, 1}, []uint64{0, 0, 2}, nil,
			"addresses 0 and 1 are both predicted in cluster 0, but the merges never join them"},
		{"merging, not merged", []int32{0, 0, 1}, []uint64{0, 1, 2}, mg("h", 0, 1),
			"address 1 is predicted in cluster 1, but the merges join it to address 0 of cluster 0"},
		{"far labels shared", []int32{0, 0, 1}, []uint64{1 << 40, 1 << 40, 5}, nil,
			"addresses 0 and 1 are both predicted in cluster 1099511627776, but the merges never join them"},
		{"singleton label reused", []int32{0, 0, 1}, []uint64{2, 0, 2}, mg("h", 1, 0),
			"address 0 is predicted in cluster 2, but the merges join it to address 1 of cluster 0"},
		{"id out of range", []int32{0, 0, 1}, []uint64{0, 1, 2}, mg("change", 0, 3),
			"merge 0 (change) joins ids 0 and 3, but ids run 0..2"},
		{"NoAddr", []int32{0, 0, 1}, []uint64{0, 1, 2}, []Merge{{A: 0, B: 1, Heuristic: "h"}, {A: btc.NoAddr, B: 2, Heuristic: "h"}},
			"merge 1 (h) joins ids NoAddr and 2, but ids run 0..2"},
	} {
		_, err := Clusters(&Clustering{Truth: c.truth, Pred: c.pred, Merges: c.merges}, nil)
		if !errors.Is(err, ErrInconsistent) || !strings.HasSuffix(err.Error(), c.want) {
			t.Errorf("#%d %s: error %v, want ErrInconsistent ending %q", i, c.name, err, c.want)
		}
	}
	_, err := Clusters(&Clustering{Truth: []int32{0, 1}, Pred: []uint64{0}}, nil)
	if err == nil || errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "2 truth entities but 1 predicted clusters") {
		t.Errorf("length mismatch: %v", err)
	}
}

// reference computes the report's counts by brute force: every pair of
// known addresses, and every merge's pairs from naive composition sets.
func reference(truth []int32, merges []Merge) (got ClusterReport) {
	n := len(truth)
	label := make([]int, n)
	for i := range label {
		label[i] = i
	}
	heur := map[string]*HeuristicReport{}
	for _, m := range merges {
		h := heur[m.Heuristic]
		if h == nil {
			h = &HeuristicReport{Heuristic: m.Heuristic}
			heur[m.Heuristic] = h
		}
		h.Merges++
		la, lb := label[m.A], label[m.B]
		if la == lb {
			h.Redundant++
			continue
		}
		var pairs, fp int64
		for i := range n {
			for j := range n {
				if label[i] == la && label[j] == lb && truth[i] >= 0 && truth[j] >= 0 {
					pairs++
					if truth[i] != truth[j] {
						fp++
					}
				}
			}
		}
		h.Pairs += pairs
		h.FalsePairs += fp
		if fp > 0 {
			h.Wrong++
		}
		for i := range label {
			if label[i] == lb {
				label[i] = la
			}
		}
	}
	for i := range n {
		if truth[i] < 0 {
			continue
		}
		got.KnownAddresses++
		for j := i + 1; j < n; j++ {
			if truth[j] < 0 {
				continue
			}
			sameC, sameE := label[i] == label[j], truth[i] == truth[j]
			if sameC {
				got.PredictedPairs++
			}
			if sameE {
				got.TruthPairs++
			}
			if sameC && sameE {
				got.TruePairs++
			}
		}
	}
	clusters := map[int]map[int32]bool{}
	entities := map[int32]map[int]bool{}
	for i, e := range truth {
		if e < 0 {
			continue
		}
		if clusters[label[i]] == nil {
			clusters[label[i]] = map[int32]bool{}
		}
		clusters[label[i]][e] = true
		if entities[e] == nil {
			entities[e] = map[int]bool{}
		}
		entities[e][label[i]] = true
	}
	got.Clusters = int64(len(clusters))
	got.Entities = int64(len(entities))
	for _, es := range clusters {
		if len(es) > 1 {
			got.ClustersFalseMerged++
		}
	}
	for _, cs := range entities {
		if len(cs) > 1 {
			got.EntitiesSplit++
			got.SplitPieces += int64(len(cs))
		}
	}
	for _, h := range heur {
		got.Heuristics = append(got.Heuristics, *h)
	}
	slices.SortFunc(got.Heuristics, func(a, b HeuristicReport) int { return strings.Compare(a.Heuristic, b.Heuristic) })
	return got
}

// TestClustersAgainstReference compares Clusters with the brute-force
// reference on random worlds, and checks that heuristic contributions sum
// to the pairwise counts.
func TestClustersAgainstReference(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 7))
		n := 1 + r.IntN(60)
		nEnt := 1 + r.IntN(8)
		truth := make([]int32, n)
		for i := range truth {
			truth[i] = int32(r.IntN(nEnt+1)) - 1 // -1: unknown
		}
		var merges []Merge
		for range r.IntN(2 * n) {
			merges = append(merges, Merge{A: btc.AddrID(r.IntN(n)), B: btc.AddrID(r.IntN(n)), Heuristic: []string{"x", "y", "z"}[r.IntN(3)]})
		}
		got, err := Clusters(&Clustering{Truth: truth, Pred: predFromMerges(n, merges), Merges: merges}, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		want := reference(truth, merges)
		var sumPairs, sumFalse int64
		for i := range got.Heuristics {
			h := &got.Heuristics[i]
			sumPairs += h.Pairs
			sumFalse += h.FalsePairs
			h.Precision = 0
		}
		if sumPairs != got.PredictedPairs || sumFalse != got.PredictedPairs-got.TruePairs {
			t.Errorf("seed %d: heuristics add %d pairs (%d false), clustering has %d (%d false)",
				seed, sumPairs, sumFalse, got.PredictedPairs, got.PredictedPairs-got.TruePairs)
		}
		var txFalse int64
		for _, w := range got.WorstTxs {
			txFalse += w.FalsePairs
		}
		if got.FalseMergeTxs <= TopFalseTxs && txFalse != sumFalse {
			t.Errorf("seed %d: the %d false-merge transactions add %d false pairs, the heuristics %d", seed, got.FalseMergeTxs, txFalse, sumFalse)
		}
		g := *got
		g.Addresses, g.Precision, g.Recall, g.F1, g.LargestFalseMerge = 0, 0, 0, 0, nil
		g.WorstTxs, g.FalseMergeTxs = nil, 0
		if len(g.Heuristics) == 0 {
			g.Heuristics = nil
		}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("seed %d:\n got %+v\nwant %+v", seed, g, want)
		}
		if got.Precision != ratio(want.TruePairs, want.PredictedPairs) || got.Recall != ratio(want.TruePairs, want.TruthPairs) {
			t.Errorf("seed %d: precision %v recall %v", seed, got.Precision, got.Recall)
		}
	}
}
