package eval

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

func loadTestTruth(t *testing.T) *Truth {
	t.Helper()
	tr, err := LoadTruth("testdata/sim")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var payment00ab = btc.MustParseHash("0000000000000000000000000000000000000000000000000000000000000000"[:62] + "ab")

// changeReport scores predictions on testdata/sim: t2 right, t3 wrong vout,
// t4 right, a CoinJoin and a consolidation (no change), an unknown tx, and
// a negative vout that is skipped. The key has change in t2, t3, t4, t7
// and 00…ab.
func changeReport(t *testing.T) ChangeReport {
	return Change(loadTestTruth(t), map[btc.Hash]int32{
		rep("2"): 1, rep("3"): 1, rep("4"): 2, rep("5"): 3, rep("8"): 0, rep("9"): 0, rep("1"): -1,
	})
}

func TestChange(t *testing.T) {
	got := changeReport(t)
	want := ChangeReport{
		TruthTxs: 10, TruthWithChange: 5, Predicted: 6, UnknownTx: 1,
		Correct: 2, WrongVout: 1, NoChange: 2, Precision: 2.0 / 5, Coverage: 2.0 / 5,
	}
	kinds := got.Kinds
	got.Kinds = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	wantKinds := []ChangeKind{
		{Kind: "coinbase", Txs: 1, Precision: 1, Coverage: 1},
		{Kind: "coinjoin_wasabi", Txs: 1, Predicted: 1, NoChange: 1, Precision: 0, Coverage: 1},
		{Kind: "coinjoin_whirlpool", Txs: 1, Precision: 1, Coverage: 1},
		{Kind: "consolidation", Txs: 1, Predicted: 1, NoChange: 1, Precision: 0, Coverage: 1},
		{Kind: "exchange_deposit", Txs: 1, Precision: 1, Coverage: 1},
		{Kind: "exchange_withdrawal", Txs: 1, WithChange: 1, Predicted: 1, Correct: 1, Precision: 1, Coverage: 1},
		{Kind: "payment", Txs: 3, WithChange: 3, Predicted: 2, Correct: 1, WrongVout: 1, Precision: 1.0 / 2, Coverage: 1.0 / 3},
		{Kind: "whirlpool_tx0", Txs: 1, WithChange: 1, Precision: 1, Coverage: 0},
	}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("kinds:\n got %+v\nwant %+v", kinds, wantKinds)
	}
	if c := Change(loadTestTruth(t), map[btc.Hash]int32{payment00ab: 1}); c.Correct != 1 {
		t.Errorf("00…ab: %+v", c)
	}
}

// coinJoinReport scores detections on testdata/sim: the Wasabi round found,
// the Whirlpool mix missed, and three false positives (a tx0, a payment, a
// tx not in the key).
func coinJoinReport(t *testing.T) CoinJoinReport {
	return CoinJoins(loadTestTruth(t), map[btc.Hash]string{
		rep("5"): "wasabi1", rep("7"): "whirlpool", rep("2"): "generic", rep("9"): "generic",
	})
}

func TestCoinJoins(t *testing.T) {
	got := coinJoinReport(t)
	want := CoinJoinReport{
		Truth: 2, Detected: 4, Found: 1, FalsePositives: 3, Precision: 1.0 / 4, Recall: 1.0 / 2,
		Kinds: []CoinJoinKind{
			{Kind: "coinjoin_wasabi", Truth: 1, Found: 1, Recall: 1, DetectedAs: map[string]int64{"wasabi1": 1}},
			{Kind: "coinjoin_whirlpool", Truth: 1, Recall: 0, DetectedAs: map[string]int64{}},
		},
		FalsePositivesByDetectedKind: []KindCount{{"generic", 2}, {"whirlpool", 1}},
		FalsePositivesByTxKind:       []KindCount{{"(not in key)", 1}, {"payment", 1}, {"whirlpool_tx0", 1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if none := CoinJoins(loadTestTruth(t), nil); none.Precision != 1 || none.Recall != 0 || none.Truth != 2 {
		t.Errorf("no detections: %+v", none)
	}
}

func clusterReport(t *testing.T) *ClusterReport {
	truth := []int32{0, 0, 0, 0, 1, 1, 1, 2, 2, -1}
	merges := slices.Concat(mg("multi-input", 0, 1, 2, 3, 4, 5, 5, 6, 7, 8), mg("change", 6, 7, 9, 4))
	tr := loadTestTruth(t)
	r, err := Clusters(&Clustering{Truth: truth, Pred: predFromMerges(len(truth), merges), Merges: merges}, func(e int32) string {
		return tr.Name(e + 2) // entities 2..4 of testdata/sim, for a name with a '|'
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGoldenMarkdown compares each report's Markdown with testdata/golden.
func TestGoldenMarkdown(t *testing.T) {
	cr, ch, cj := clusterReport(t), changeReport(t), coinJoinReport(t)
	for _, c := range []struct {
		file string
		got  string
	}{
		{"clusters.md", cr.Markdown()},
		{"change.md", ch.Markdown()},
		{"coinjoins.md", cj.Markdown()},
	} {
		path := filepath.Join("testdata", "golden", c.file)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(c.got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if c.got != string(want) {
			t.Errorf("%s differs (run with -update to rewrite it)\n got:\n%s\nwant:\n%s", path, c.got, want)
		}
	}
}

// jsonKeys returns the keys of a JSON object.
func jsonKeys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestJSON(t *testing.T) {
	cr := clusterReport(t)
	for _, c := range []struct {
		v    any
		want []string
	}{
		{cr, []string{"addresses", "clusters", "clusters_false_merged", "entities", "entities_split", "f1",
			"false_merge_txs", "heuristics", "known_addresses", "largest_false_merge", "precision", "predicted_pairs", "recall",
			"split_pieces", "true_pairs", "truth_pairs", "worst_txs"}},
		{cr.LargestFalseMerge, []string{"cluster", "entities", "false_pairs", "known", "size", "top"}},
		{cr.LargestFalseMerge.Top[0], []string{"addresses", "entity", "name"}},
		{cr.Heuristics[0], []string{"false_pairs", "heuristic", "merges", "pairs", "precision", "redundant", "wrong"}},
		{changeReport(t), []string{"correct", "coverage", "kinds", "no_change", "precision", "predicted",
			"truth_txs", "truth_with_change", "unknown_tx", "wrong_vout"}},
		{changeReport(t).Kinds[0], []string{"correct", "coverage", "kind", "no_change", "precision", "predicted",
			"txs", "with_change", "wrong_vout"}},
		{coinJoinReport(t), []string{"detected", "false_positives", "false_positives_by_detected_kind",
			"false_positives_by_tx_kind", "found", "kinds", "precision", "recall", "truth"}},
		{coinJoinReport(t).Kinds[0], []string{"detected_as", "found", "kind", "recall", "truth"}},
	} {
		if got := jsonKeys(t, c.v); !slices.Equal(got, c.want) {
			t.Errorf("%T keys:\n got %v\nwant %v", c.v, got, c.want)
		}
	}
	// A round trip keeps every value.
	b, _ := json.Marshal(cr)
	var back ClusterReport
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(&back, cr) {
		t.Errorf("round trip: %v\n got %+v\nwant %+v", err, back, *cr)
	}
}

func TestNum(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {-1234567, "-1,234,567"}, {100000, "100,000"}} {
		if got := num(c.n); got != c.want {
			t.Errorf("num(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
