package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

func runEval(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "clusters" {
		return usagef("usage: sleuth eval clusters --truth DIR [--db DIR] [--json] [--sweep]")
	}
	var truthDir string
	var sweep bool
	s := &storeFlags{}
	fs := flag.NewFlagSet("eval clusters", flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&truthDir, "truth", "", "simulator output directory (or its truth/ subdirectory)")
	fs.BoolVar(&sweep, "sweep", false, "recluster with each heuristic set in turn (multi-input; all change heuristics at two thresholds; all but one) and print one row each; leaves the store clustered with the last")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("eval clusters takes no arguments")
	}
	if truthDir == "" {
		return usagef("--truth DIR is required")
	}
	db, err := s.open(sweep)
	if err != nil {
		return err
	}
	defer db.Close()
	if sweep {
		return evalSweep(ctx, db, truthDir, s.json)
	}
	rep, err := cluster.Evaluate(ctx, db, truthDir)
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

// sweepRow is one heuristic set of `sleuth eval clusters --sweep`.
type sweepRow struct {
	Name           string  `json:"name"`
	Config         string  `json:"config"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
	Merges         uint64  `json:"merges"`
	ChangeLinks    uint64  `json:"change_links"`
	Refused        uint64  `json:"refused"`
	ChangePrec     float64 `json:"change_link_precision"`
	Clusters       int64   `json:"clusters"`
	FalseMerged    int64   `json:"clusters_false_merged"`
	LargestFalse   int64   `json:"largest_false_merge_size"`
	LargestFalseEn int64   `json:"largest_false_merge_entities"`
	Seconds        float64 `json:"cluster_seconds"`
}

func evalSweep(ctx context.Context, db *index.DB, truthDir string, asJSON bool) error {
	var all cluster.Evidence
	for _, e := range cluster.AllEvidence {
		all |= e
	}
	type cfg struct {
		name string
		c    cluster.Config
	}
	cfgs := []cfg{{"multi-input only", cluster.Config{}}, {"+ all change heuristics", cluster.Config{Change: all}},
		{"+ all change heuristics, threshold 0.8", cluster.Config{Change: all, Threshold: 0.8}}}
	for _, e := range cluster.AllEvidence {
		cfgs = append(cfgs, cfg{"+ all but " + e.String(), cluster.Config{Change: all &^ e}})
	}
	var rows []sweepRow
	for _, c := range cfgs {
		conf := c.c
		sum, err := cluster.Update(ctx, db, cluster.Options{Config: &conf, Rebuild: true})
		if err != nil {
			return err
		}
		rep, err := cluster.Evaluate(ctx, db, truthDir)
		if err != nil {
			return err
		}
		r := sweepRow{Name: c.name, Config: sum.Config, Precision: rep.Clusters.Precision, Recall: rep.Clusters.Recall,
			F1: rep.Clusters.F1, Merges: sum.TotalMerges, ChangeLinks: sum.ChangeMerges, Refused: sum.Refused,
			ChangePrec: rep.Change.Precision, Clusters: rep.Clusters.Clusters, FalseMerged: rep.Clusters.ClustersFalseMerged,
			Seconds: sum.Elapsed.Seconds()}
		if lf := rep.Clusters.LargestFalseMerge; lf != nil {
			r.LargestFalse, r.LargestFalseEn = lf.Size, int64(lf.Entities)
		}
		rows = append(rows, r)
		if !asJSON {
			fmt.Fprintf(os.Stderr, "%s: precision %.4f recall %.4f\n", c.name, r.Precision, r.Recall)
		}
	}
	if asJSON {
		return printJSON(rows)
	}
	fmt.Println("| heuristics | precision | recall | F1 | merges | change links (precision) | refused | clusters | falsely merged | largest false merge | cluster time |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		cl := "–"
		if r.ChangeLinks > 0 {
			cl = fmt.Sprintf("%d (%.4f)", r.ChangeLinks, r.ChangePrec)
		}
		fmt.Printf("| %s | %.4f | %.4f | %.4f | %d | %s | %d | %d | %d | %d addresses, %d entities | %.1f s |\n",
			r.Name, r.Precision, r.Recall, r.F1, r.Merges, cl, r.Refused, r.Clusters, r.FalseMerged, r.LargestFalse, r.LargestFalseEn, r.Seconds)
	}
	return nil
}
