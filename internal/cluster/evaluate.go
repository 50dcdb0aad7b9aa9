package cluster

import (
	"context"
	"errors"
	"fmt"

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
		c.Merges = append(c.Merges, eval.Merge{A: m.A, B: m.B, Heuristic: name})
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep := &Evaluation{Status: st}
	if rep.Clusters, err = eval.Clusters(c, truth.Name); err != nil {
		return nil, err
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
	rep.Change = eval.Change(truth, predictedChange)
	return rep, nil
}
