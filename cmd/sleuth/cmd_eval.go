package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"path/filepath"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// runEvalTrace is `sleuth eval trace`: every taint case of the answer key
// traced forward under each conserving policy, stopping at the services
// the store's labels name, scored against the key.
func runEvalTrace(ctx context.Context, args []string) error {
	var truthDir string
	var oracle, followCJ bool
	s := &storeFlags{}
	fs := flag.NewFlagSet("eval trace", flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&truthDir, "truth", "", "simulator output directory (or its truth/ subdirectory)")
	fs.BoolVar(&oracle, "oracle", false, "stop at every non-perpetrator entity of the answer key instead of the store's labels (measures the policies and clustering, not label coverage)")
	fs.BoolVar(&followCJ, "follow-coinjoins", false, "follow the taint CoinJoin splits cannot attribute instead of reporting it as uncertain")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("eval trace takes no arguments")
	}
	if truthDir == "" {
		return usagef("--truth DIR is required")
	}
	if _, err := os.Stat(filepath.Join(truthDir, "truth", "taint.csv")); err == nil {
		truthDir = filepath.Join(truthDir, "truth")
	}
	db, err := s.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	truth, err := trace.LoadTruth(truthDir)
	if err != nil {
		return err
	}
	mode := trace.StopLabels
	var nsvc int
	if oracle {
		mode = trace.StopOracle
	} else {
		svc, err := label.Services(ctx, db, nil)
		if err != nil {
			return err
		}
		if nsvc = len(svc); nsvc == 0 {
			fmt.Fprintln(os.Stderr, "note: no service labels in the store (import the simulator's public/tagpack.yaml with 'sleuth labels import'): nothing counts as a cash-out")
		}
	}
	policies := []trace.Policy{trace.FIFO, trace.Haircut, trace.LIFO, trace.TIHO}
	opts := trace.Options{FollowCoinJoins: followCJ}
	opts.EnsureDefaults()
	scores, err := trace.Evaluate(ctx, db, truth, policies, mode, opts)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(scores)
	}
	stops := fmt.Sprintf("stops: the store's labels (label.Services, %d service entities)", nsvc)
	if oracle {
		stops = "stops: the answer key's non-perpetrator entities (oracle)"
	}
	cj := "CoinJoin taint that cannot be attributed to a participant is reported as uncertain, not followed"
	if followCJ {
		cj = "CoinJoin taint that cannot be attributed to a participant is followed"
	}
	fmt.Printf("## Forward trace against the answer key\n\n%s; max %d hops, min %d sats; %s.\n"+
		"Recall: share of the key's received sats attributed to the right receiver; false exposure: cashed out at entities the key says received none, as a share of the source.\n\n",
		stops, opts.MaxHops, opts.MinSats, cj)
	fmt.Println("| case | policy | source | recall | false exposure | over-attributed | held | lost | CoinJoin (uncertain) | txs read | time |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	pct := func(x, of int64) string {
		if of == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f%%", 100*float64(x)/float64(of))
	}
	for _, r := range scores {
		fmt.Printf("| %s | %s | %s | %.4f | %s | %s | %s | %s | %s | %d | %.3f s |\n", r.Case, r.Policy, btcString(r.Source), r.Recall,
			pct(r.FalseExposure, r.Source), pct(r.OverAttributed, r.Source), pct(r.Held, r.Source), pct(r.Lost, r.Source),
			pct(r.CoinJoin, r.Source), r.TxsRead, r.Seconds)
	}
	return nil
}

func runEval(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "trace" {
		return runEvalTrace(ctx, args[1:])
	}
	if len(args) == 0 || args[0] != "clusters" {
		return usagef("usage: sleuth eval clusters --truth DIR [--db DIR] [--json] [--sweep]\n       sleuth eval trace --truth DIR [--db DIR] [--json] [--oracle] [--follow-coinjoins]")
	}
	var truthDir string
	var sweep, families bool
	s := &storeFlags{}
	fs := flag.NewFlagSet("eval clusters", flag.ContinueOnError)
	fs.BoolVar(&families, "families", false, "recluster with each detector family switched off in turn (an 'unknown shape' for it), then each group, and print precision per family and the worst false merges; leaves the store clustered with its own settings")
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
	db, err := s.open(sweep || families)
	if err != nil {
		return err
	}
	defer db.Close()
	if sweep {
		return evalSweep(ctx, db, truthDir, s.json)
	}
	if families {
		return evalFamilies(ctx, db, truthDir, s.json)
	}
	rep, err := cluster.Evaluate(ctx, db, truthDir)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(rep)
	}
	if m := rep.Clusters.LargestFalseMerge; m != nil {
		fmt.Fprintf(os.Stderr, "note: %d clusters are falsely merged; the largest has %d addresses of %d entities\n",
			rep.Clusters.ClustersFalseMerged, m.Size, m.Entities)
	}
	fmt.Printf("## Clustering (%s, height %d)\n\n%s\n## CoinJoin detection\n\n%s\n## Refused co-spends\n\n%s\n## Change links\n\n%s",
		rep.Status.Config, rep.Status.Height, rep.Clusters.Markdown(), rep.CoinJoins.Markdown(), cluster.RefusalMarkdown(rep.Refusals), rep.Change.Markdown())
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

// evalFamilies is `sleuth eval clusters --families`.
func evalFamilies(ctx context.Context, db *index.DB, truthDir string, asJSON bool) error {
	st, err := cluster.ReadStatus(db)
	if err != nil {
		return err
	}
	base := st.Cfg
	rows, err := cluster.FamilySweep(ctx, db, truthDir, base, cluster.FamilySweeps(), func(r cluster.FamilyRow) {
		if !asJSON {
			fmt.Fprintf(os.Stderr, "off %s: precision %.6f recall %.4f\n", r.Off, r.Precision, r.Recall)
		}
	})
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(rows)
	}
	fmt.Printf("## Clustering with detector families switched off (%s, height %d)\n\n", st.Config, st.Height)
	fmt.Println("| families off | precision | recall | merges | CoinJoins | refused co-spends (false) | clusters falsely merged | largest false merge | worst transaction (kind, false pairs) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		largest, worst := "none", "–"
		if r.LargestFalse > 0 {
			largest = fmt.Sprintf("%d addresses, %d entities", r.LargestFalse, r.LargestEntities)
		}
		if len(r.WorstTxs) > 0 {
			w := r.WorstTxs[0]
			worst = fmt.Sprintf("%s… (%s, %d)", w.TxID[:16], w.Kind, w.FalsePairs)
		}
		fmt.Printf("| %s | %.6f | %.4f | %d | %d | %d (%d) | %d | %s | %s |\n", r.Off, r.Precision, r.Recall, r.Merges,
			r.CoinJoins, r.Refused, r.FalseRefusals, r.FalseMerged, largest, worst)
	}
	return nil
}
