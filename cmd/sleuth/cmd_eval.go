package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
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
