package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/eval"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

func runEval(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "clusters" {
		return usagef("usage: sleuth eval clusters --truth DIR [--db DIR] [--json]")
	}
	var truthDir string
	db, _, s, err := lookupCommand("eval clusters", args[1:], 0, "no arguments", func(fs *flag.FlagSet) {
		fs.StringVar(&truthDir, "truth", "", "simulator output directory (or its truth/ subdirectory)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if truthDir == "" {
		return usagef("--truth DIR is required")
	}
	rep, err := evalClusters(ctx, db, truthDir)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(rep)
	}
	fmt.Printf("## Clustering (%s, height %d)\n\n%s\n## CoinJoin detection\n\n%s\n## Change links\n\n%s",
		rep.Status.Config, rep.Status.Height, rep.Clusters.Markdown(), rep.CoinJoins.Markdown(), rep.Change.Markdown())
	return nil
}

// evalReport is the answer of `sleuth eval clusters`.
type evalReport struct {
	Status    cluster.Status      `json:"clustering"`
	Clusters  *eval.ClusterReport `json:"clusters"`
	CoinJoins eval.CoinJoinReport `json:"coinjoins"`
	Change    eval.ChangeReport   `json:"change"`
}

// evalClusters scores the stored clustering against a simulator answer
// key: pairwise precision and recall, per-heuristic contribution, CoinJoin
// detection and change links.
func evalClusters(ctx context.Context, db *index.DB, truthDir string) (*evalReport, error) {
	st, err := cluster.ReadStatus(db)
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
	f, err := cluster.Load(ctx, db)
	if err != nil {
		return nil, err
	}
	for x := range c.Pred {
		c.Pred[x] = uint64(f.Find(uint32(x)))
	}
	predictedChange := map[btc.Hash]int32{}
	err = cluster.Merges(ctx, db, func(m *cluster.Merge) error {
		name := m.Heuristic.String()
		if m.Heuristic == cluster.Change {
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
	rep := &evalReport{Status: st}
	if rep.Clusters, err = eval.Clusters(c, truth.Name); err != nil {
		return nil, err
	}
	detected := map[btc.Hash]string{}
	err = cluster.CoinJoins(ctx, db, func(num btc.TxNum, v coinjoin.Verdict) error {
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
