package eval

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ClusterReport is the result of Clusters. Counts cover truth-known
// addresses only, except Addresses and FalseMerge.Size. See the package
// documentation for the definitions.
type ClusterReport struct {
	Addresses           int64             `json:"addresses"`       // address ids evaluated
	KnownAddresses      int64             `json:"known_addresses"` // of which the key knows the entity
	Precision           float64           `json:"precision"`
	Recall              float64           `json:"recall"`
	F1                  float64           `json:"f1"`
	TruePairs           int64             `json:"true_pairs"`
	PredictedPairs      int64             `json:"predicted_pairs"`
	TruthPairs          int64             `json:"truth_pairs"`
	Entities            int64             `json:"entities"`
	Clusters            int64             `json:"clusters"`
	EntitiesSplit       int64             `json:"entities_split"`
	SplitPieces         int64             `json:"split_pieces"`
	ClustersFalseMerged int64             `json:"clusters_false_merged"`
	LargestFalseMerge   *FalseMerge       `json:"largest_false_merge"` // nil when no cluster is falsely merged
	Heuristics          []HeuristicReport `json:"heuristics"`          // by name
	// FalseMergeTxs counts the transactions whose merges joined
	// different entities; WorstTxs are the TopFalseTxs of them that
	// created the most false pairs, worst first.
	FalseMergeTxs int64     `json:"false_merge_txs"`
	WorstTxs      []FalseTx `json:"worst_txs"`
}

// FalseTx is a transaction whose merges joined addresses of different
// entities, as the merge log was replayed.
type FalseTx struct {
	Tx          uint64 `json:"-"`
	TxID        string `json:"txid"` // filled in by the caller, which knows the store
	Kind        string `json:"kind"` // the answer key's kind of the transaction; filled in by the caller
	Heuristic   string `json:"heuristic"`
	WrongMerges int64  `json:"wrong_merges"`
	FalsePairs  int64  `json:"false_pairs"`
}

// FalseMerge describes one cluster holding addresses of several entities.
type FalseMerge struct {
	Cluster    uint64        `json:"cluster"`     // its label in Clustering.Pred
	Size       int64         `json:"size"`        // all its addresses, known or not
	Known      int64         `json:"known"`       // its truth-known addresses
	Entities   int           `json:"entities"`    // distinct truth entities among them
	FalsePairs int64         `json:"false_pairs"` // pairs of them of different entities
	Top        []EntityCount `json:"top"`         // the TopEntities largest entities, largest first
}

// EntityCount is how many addresses of an entity a cluster holds.
type EntityCount struct {
	Entity    int32  `json:"entity"`
	Name      string `json:"name"`
	Addresses int64  `json:"addresses"`
}

// HeuristicReport is what one heuristic's merges contributed when the merge
// log was replayed in order.
type HeuristicReport struct {
	Heuristic  string  `json:"heuristic"`
	Merges     int64   `json:"merges"`      // merges in the log
	Redundant  int64   `json:"redundant"`   // of which joined ids already together
	Wrong      int64   `json:"wrong"`       // of which added at least one false pair
	Pairs      int64   `json:"pairs"`       // truth-known pairs added
	FalsePairs int64   `json:"false_pairs"` // of which of different entities
	Precision  float64 `json:"precision"`   // (pairs − false_pairs) / pairs
}

// ChangeReport is the result of Change.
type ChangeReport struct {
	TruthTxs        int64        `json:"truth_txs"`         // transactions in the key
	TruthWithChange int64        `json:"truth_with_change"` // of which with a change output
	Predicted       int64        `json:"predicted"`         // transactions with a predicted change output
	UnknownTx       int64        `json:"unknown_tx"`        // of which not in the key (not scored)
	Correct         int64        `json:"correct"`           // the key's change vout
	WrongVout       int64        `json:"wrong_vout"`        // the key has change, at another vout
	NoChange        int64        `json:"no_change"`         // the key has no change
	Precision       float64      `json:"precision"`         // correct / (predicted − unknown_tx)
	Coverage        float64      `json:"coverage"`          // correct / truth_with_change
	Kinds           []ChangeKind `json:"kinds"`             // by transaction kind, by name
}

// ChangeKind is ChangeReport for the transactions of one kind.
type ChangeKind struct {
	Kind       string  `json:"kind"`
	Txs        int64   `json:"txs"`
	WithChange int64   `json:"with_change"`
	Predicted  int64   `json:"predicted"`
	Correct    int64   `json:"correct"`
	WrongVout  int64   `json:"wrong_vout"`
	NoChange   int64   `json:"no_change"`
	Precision  float64 `json:"precision"`
	Coverage   float64 `json:"coverage"`
}

// CoinJoinReport is the result of CoinJoins.
type CoinJoinReport struct {
	Truth                        int64          `json:"truth"`           // CoinJoins in the key
	Detected                     int64          `json:"detected"`        // transactions detected
	Found                        int64          `json:"found"`           // detected and in the key
	FalsePositives               int64          `json:"false_positives"` // detected, not in the key
	Precision                    float64        `json:"precision"`       // found / detected
	Recall                       float64        `json:"recall"`          // found / truth
	Kinds                        []CoinJoinKind `json:"kinds"`           // by the key's kind, by name
	FalsePositivesByDetectedKind []KindCount    `json:"false_positives_by_detected_kind"`
	FalsePositivesByTxKind       []KindCount    `json:"false_positives_by_tx_kind"` // the key's kind of the tx
}

// CoinJoinKind is the detection of one of the key's CoinJoin kinds.
type CoinJoinKind struct {
	Kind       string           `json:"kind"`
	Truth      int64            `json:"truth"`
	Found      int64            `json:"found"`
	Recall     float64          `json:"recall"`
	DetectedAs map[string]int64 `json:"detected_as"` // detector kind → found
}

// KindCount is a count of transactions of one kind.
type KindCount struct {
	Kind  string `json:"kind"`
	Count int64  `json:"count"`
}

// Markdown renders the report as tables for docs/ACCURACY.md.
func (r *ClusterReport) Markdown() string {
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	b.WriteString("| metric | value |\n|---|---:|\n")
	row("addresses (truth-known / all)", num(r.KnownAddresses)+" / "+num(r.Addresses))
	row("pairwise precision", frac(r.TruePairs, r.PredictedPairs, "pairs"))
	row("pairwise recall", frac(r.TruePairs, r.TruthPairs, "pairs"))
	row("pairwise F1", fmt.Sprintf("%.4f", r.F1))
	row("truth entities", num(r.Entities))
	row("predicted clusters", num(r.Clusters))
	row("entities split", fmt.Sprintf("%s (into %s clusters)", num(r.EntitiesSplit), num(r.SplitPieces)))
	row("clusters falsely merged", num(r.ClustersFalseMerged))
	if m := r.LargestFalseMerge; m != nil {
		row("largest false merge", fmt.Sprintf("cluster %d: %s addresses (%s known) of %s entities, %s false pairs",
			m.Cluster, num(m.Size), num(m.Known), num(int64(m.Entities)), num(m.FalsePairs)))
		fmt.Fprintf(&b, "\nLargest false merge (cluster %d), top entities:\n\n", m.Cluster)
		b.WriteString("| entity | name | addresses |\n|---:|---|---:|\n")
		for _, e := range m.Top {
			fmt.Fprintf(&b, "| %d | %s | %s |\n", e.Entity, cell(e.Name), num(e.Addresses))
		}
	} else {
		row("largest false merge", "none")
	}
	if len(r.Heuristics) > 0 {
		b.WriteString("\n| heuristic | merges | redundant | wrong | pairs added | false pairs | precision |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
		for _, h := range r.Heuristics {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(h.Heuristic), num(h.Merges),
				num(h.Redundant), num(h.Wrong), num(h.Pairs), num(h.FalsePairs), pct(h.Pairs-h.FalsePairs, h.Pairs))
		}
	}
	if len(r.WorstTxs) > 0 {
		fmt.Fprintf(&b, "\nTransactions that joined different entities: %s; the worst:\n\n", num(r.FalseMergeTxs))
		b.WriteString("| txid | kind (answer key) | heuristic | wrong merges | false pairs |\n|---|---|---|---:|---:|\n")
		for _, t := range r.WorstTxs {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", t.TxID, cell(t.Kind), cell(t.Heuristic), num(t.WrongMerges), num(t.FalsePairs))
		}
	}
	return b.String()
}

// Markdown renders the report as tables for docs/ACCURACY.md.
func (r *ChangeReport) Markdown() string {
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	b.WriteString("| metric | value |\n|---|---:|\n")
	row("transactions in key", num(r.TruthTxs))
	row("with change", num(r.TruthWithChange))
	row("change predicted", fmt.Sprintf("%s (%s not in key)", num(r.Predicted), num(r.UnknownTx)))
	row("correct", num(r.Correct))
	row("wrong vout", num(r.WrongVout))
	row("predicted, key has no change", num(r.NoChange))
	row("precision", frac(r.Correct, r.Predicted-r.UnknownTx, "predictions"))
	row("coverage", frac(r.Correct, r.TruthWithChange, "txs with change"))
	b.WriteString("\n| kind | txs | with change | predicted | correct | wrong vout | no change | precision | coverage |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range r.Kinds {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(k.Kind), num(k.Txs),
			num(k.WithChange), num(k.Predicted), num(k.Correct), num(k.WrongVout), num(k.NoChange),
			pct(k.Correct, k.Predicted), pct(k.Correct, k.WithChange))
	}
	return b.String()
}

// Markdown renders the report as tables for docs/ACCURACY.md.
func (r *CoinJoinReport) Markdown() string {
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	b.WriteString("| metric | value |\n|---|---:|\n")
	row("CoinJoins in key", num(r.Truth))
	row("detected", num(r.Detected))
	row("found", num(r.Found))
	row("false positives", num(r.FalsePositives))
	row("precision", frac(r.Found, r.Detected, "detections"))
	row("recall", frac(r.Found, r.Truth, "CoinJoins"))
	b.WriteString("\n| kind | in key | found | recall | detected as |\n|---|---:|---:|---:|---|\n")
	for _, k := range r.Kinds {
		as := make([]KindCount, 0, len(k.DetectedAs))
		for d, n := range k.DetectedAs {
			as = append(as, KindCount{d, n})
		}
		slices.SortFunc(as, compareCounts)
		parts := make([]string, len(as))
		for i, a := range as {
			parts[i] = a.Kind + ": " + num(a.Count)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(k.Kind), num(k.Truth), num(k.Found),
			pct(k.Found, k.Truth), cell(strings.Join(parts, ", ")))
	}
	counts := func(title string, kc []KindCount) {
		if len(kc) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n| %s | false positives |\n|---|---:|\n", title)
		for _, c := range kc {
			fmt.Fprintf(&b, "| %s | %s |\n", cell(c.Kind), num(c.Count))
		}
	}
	counts("detected as", r.FalsePositivesByDetectedKind)
	counts("tx kind in key", r.FalsePositivesByTxKind)
	return b.String()
}

// num formats n with thousands separators.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// pct formats a/b with four decimals, "n/a" when b is 0.
func pct(a, b int64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.4f", float64(a)/float64(b))
}

// frac formats a/b and the counts behind it.
func frac(a, b int64, what string) string {
	return fmt.Sprintf("%s (%s / %s %s)", pct(a, b), num(a), num(b), what)
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
