package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/eval"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Evaluation is the answer of `sleuth eval clusters`: the stored
// clustering scored against a simulator answer key.
type Evaluation struct {
	Status    Status              `json:"clustering"`
	Clusters  *eval.ClusterReport `json:"clusters"`
	CoinJoins eval.CoinJoinReport `json:"coinjoins"`
	Change    eval.ChangeReport   `json:"change"`
	// Refusals scores the refused co-spends by reason: a refusal is
	// right when the answer key gives the transaction's inputs more than
	// one owner, a false refusal (recall lost) when one owner.
	Refusals []RefusalScore `json:"refusals"`
}

// RefusalScore counts the refused co-spends of one reason.
type RefusalScore struct {
	Reason  string `json:"reason"`
	Refused int64  `json:"refused"`
	Right   int64  `json:"right"`   // inputs of several truth entities
	False   int64  `json:"false"`   // inputs of one truth entity: a false refusal
	Unknown int64  `json:"unknown"` // inputs the key does not know
}

// Evaluate scores the stored clustering against a simulator answer key
// (the directory sleuth sim writes): pairwise precision and recall,
// per-heuristic contribution, CoinJoin detection and change links.
func Evaluate(ctx context.Context, db *index.DB, truthDir string) (*Evaluation, error) {
	st, err := ReadStatus(db)
	if err != nil {
		return nil, err
	}
	truth, err := eval.LoadTruth(truthDir)
	if err != nil {
		return nil, err
	}
	n := int(db.Tip().NextAddr)
	c := &eval.Clustering{Truth: make([]int32, n), Pred: make([]uint64, n)}
	for i := range c.Truth {
		c.Truth[i] = -1
	}
	for a := range truth.Addresses() {
		id, err := db.AddrID(a.Addr)
		if errors.Is(err, index.ErrNotFound) {
			continue // never on chain (the key lists addresses handed out)
		}
		if err != nil {
			return nil, fmt.Errorf("answer key address %s: %w", a.Addr, err)
		}
		c.Truth[id] = a.Entity
	}
	f, err := Load(ctx, db)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for x := range c.Pred {
		c.Pred[x] = uint64(f.Find(uint32(x)))
	}
	predictedChange := map[btc.Hash]int32{}
	err = Merges(ctx, db, func(m *Merge) error {
		name := m.Heuristic.String()
		if m.Heuristic == Change {
			name += ":" + m.Evidence.String()
			id, err := db.TxID(m.ChangeOut.Tx())
			if err != nil {
				return err
			}
			predictedChange[id] = int32(m.ChangeOut.Vout())
		}
		c.Merges = append(c.Merges, eval.Merge{A: m.A, B: m.B, Heuristic: name, Tx: uint64(m.Tx)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep := &Evaluation{Status: st}
	if rep.Clusters, err = eval.Clusters(c, truth.Name); err != nil {
		return nil, err
	}
	for i := range rep.Clusters.WorstTxs {
		w := &rep.Clusters.WorstTxs[i]
		id, err := db.TxID(btc.TxNum(w.Tx))
		if err != nil {
			return nil, err
		}
		w.TxID = id.String()
		if info, ok := truth.Tx(id); ok {
			w.Kind = info.Kind
		}
	}
	detected := map[btc.Hash]string{}
	err = CoinJoins(ctx, db, func(num btc.TxNum, v coinjoin.Verdict) error {
		id, err := db.TxID(num)
		if err != nil {
			return err
		}
		detected[id] = v.Kind.String()
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.CoinJoins = eval.CoinJoins(truth, detected)
	if rep.Refusals, err = scoreRefusals(ctx, db, c.Truth); err != nil {
		return nil, err
	}
	rep.Change = eval.Change(truth, predictedChange)
	return rep, nil
}

// FamilyRow is one clustering of FamilySweep: the families it switched
// off and how the entities scored.
type FamilyRow struct {
	Off         string  `json:"off"` // "none" for the baseline
	Config      string  `json:"config"`
	Precision   float64 `json:"precision"`
	Recall      float64 `json:"recall"`
	Merges      uint64  `json:"merges"`
	CoinJoins   uint64  `json:"coinjoins"`
	Refused     uint64  `json:"refused_cospends"`
	FalseMerged int64   `json:"clusters_false_merged"`
	// LargestFalse is the size of the largest falsely merged cluster
	// (0: none), LargestEntities how many truth entities it mixes.
	LargestFalse    int64          `json:"largest_false_merge_size"`
	LargestEntities int            `json:"largest_false_merge_entities"`
	WorstTxs        []eval.FalseTx `json:"worst_txs"`
	// FalseRefusals: refused co-spends whose inputs the key gives one
	// owner (recall lost).
	FalseRefusals int64   `json:"false_refusals"`
	Seconds       float64 `json:"cluster_seconds"`
}

// FamilySweeps are the variants FamilySweep runs after the baseline: each
// family off alone, then each group off.
func FamilySweeps() []coinjoin.Family {
	fs := coinjoin.Families()
	return append(fs, coinjoin.ProtocolFamilies, coinjoin.GeneralFamilies, coinjoin.AllFamilies)
}

// FamilySweep reclusters with base, then with each of offs switched off in
// turn (on top of base.Off), scoring each against the answer key in
// truthDir: every family is measured as if the chain held shapes it does
// not know. It leaves the store clustered with base.
func FamilySweep(ctx context.Context, db *index.DB, truthDir string, base Config, offs []coinjoin.Family, progress func(FamilyRow)) ([]FamilyRow, error) {
	var rows []FamilyRow
	run := func(off coinjoin.Family, name string) error {
		cfg := base
		cfg.Off |= off
		sum, err := Update(ctx, db, Options{Config: &cfg, Rebuild: true})
		if err != nil {
			return err
		}
		ev, err := Evaluate(ctx, db, truthDir)
		if err != nil {
			return err
		}
		c := ev.Clusters
		r := FamilyRow{Off: name, Config: sum.Config, Precision: c.Precision, Recall: c.Recall, Merges: sum.TotalMerges,
			CoinJoins: sum.CoinJoins, Refused: sum.RefusedCoSpends, FalseMerged: c.ClustersFalseMerged,
			WorstTxs: c.WorstTxs, Seconds: sum.Elapsed.Seconds()}
		if lf := c.LargestFalseMerge; lf != nil {
			r.LargestFalse, r.LargestEntities = lf.Size, lf.Entities
		}
		for _, f := range ev.Refusals {
			r.FalseRefusals += f.False
		}
		rows = append(rows, r)
		if progress != nil {
			progress(r)
		}
		return nil
	}
	names := map[coinjoin.Family]string{coinjoin.ProtocolFamilies: "protocol (all)",
		coinjoin.GeneralFamilies: "general (all)", coinjoin.AllFamilies: "all"}
	for _, off := range offs {
		name := names[off]
		if name == "" {
			name = off.String()
		}
		if err := run(off, name); err != nil {
			return rows, err
		}
	}
	if err := run(0, "none"); err != nil { // last: the store keeps the baseline
		return rows, err
	}
	// The baseline first in the table.
	rows = append(rows[len(rows)-1:], rows[:len(rows)-1]...)
	return rows, nil
}

// scoreRefusals judges every refused co-spend against the truth entity of
// each input address.
func scoreRefusals(ctx context.Context, db *index.DB, truth []int32) ([]RefusalScore, error) {
	by := map[string]*RefusalScore{}
	var tx coinjoin.Tx
	last := ^btc.TxNum(0)
	err := Refused(ctx, db, func(m *RefusedMerge) error {
		if m.Heuristic != MultiInput || m.Tx == last {
			return nil
		}
		last = m.Tx
		r := by[m.Reason()]
		if r == nil {
			r = &RefusalScore{Reason: m.Reason()}
			by[m.Reason()] = r
		}
		r.Refused++
		if err := db.ReadTx(m.Tx, &tx); err != nil {
			return err
		}
		owner, several, unknown := int32(-1), false, false
		for _, in := range tx.Ins {
			if in.Addr == btc.NoAddr || int(in.Addr) >= len(truth) || truth[in.Addr] < 0 {
				unknown = true
				continue
			}
			if e := truth[in.Addr]; owner < 0 {
				owner = e
			} else if e != owner {
				several = true
			}
		}
		switch {
		case several:
			r.Right++
		case unknown || owner < 0:
			r.Unknown++
		default:
			r.False++
		}
		return nil
	})
	out := make([]RefusalScore, 0, len(by))
	for _, r := range by {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b RefusalScore) int { return strings.Compare(a.Reason, b.Reason) })
	return out, err
}

// Markdown renders the refusal scores.
func RefusalMarkdown(rs []RefusalScore) string {
	var b strings.Builder
	b.WriteString("| reason | co-spends refused | right (several owners) | false refusals (one owner) | unknown |\n|---|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", r.Reason, r.Refused, r.Right, r.False, r.Unknown)
	}
	if len(rs) == 0 {
		b.WriteString("| none | 0 | 0 | 0 | 0 |\n")
	}
	return b.String()
}
