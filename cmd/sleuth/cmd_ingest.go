package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/progress"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

type ingestOptions struct {
	store     storeFlags
	blocks    string
	raw       multiFlag
	skipBad   bool
	workers   int
	batchTxs  int
	verbose   bool
	noCluster bool
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func (o *ingestOptions) addFlags(fs *flag.FlagSet) {
	o.store.add(fs, true)
	fs.StringVar(&o.blocks, "blocks", "", "Bitcoin Core blocks directory (blk*.dat, xor.dat)")
	fs.Var(&o.raw, "raw-block", "standalone block file (binary, hex or one framed record; may be gzip/bzip2); repeatable, and further file arguments are taken too")
	fs.BoolVar(&o.skipBad, "skip-bad", false, "report corrupt records and blocks and go on past them")
	fs.IntVar(&o.workers, "workers", 0, "parse goroutines (default: number of CPUs)")
	fs.IntVar(&o.batchTxs, "batch-txs", 0, "transactions per atomic batch (default 50000)")
	fs.BoolVar(&o.verbose, "v", false, "verbose logs")
	fs.BoolVar(&o.noCluster, "no-cluster", false, "do not update the entities and exposure (sleuth cluster and sleuth risk update do it later)")
}

func runIngest(ctx context.Context, args []string) error {
	var o ingestOptions
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	o.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	// Files after the flags are more standalone blocks (--raw-block a b c).
	o.raw = append(o.raw, fs.Args()...)
	if o.blocks == "" && len(o.raw) == 0 {
		return usagef("nothing to ingest: give --blocks DIR and/or --raw-block FILE")
	}
	log := newLogger(o.verbose)
	o.store.create = true // ingest makes the index
	db, err := o.store.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	rep := progress.New(os.Stderr, log, 5*time.Second)
	pl := pipeline.New(db, pipeline.Options{Logger: log})
	res, err := pl.Ingest(ctx, pipeline.IngestOptions{IndexOnly: o.noCluster, IngestOptions: index.IngestOptions{
		BlocksDir: o.blocks, RawBlocks: o.raw, SkipBad: o.skipBad, Workers: o.workers, BatchTxs: o.batchTxs,
		Progress: func(p index.Progress) {
			unit := "blocks"
			switch p.Phase {
			case "scan":
				unit = "files"
			case "derive":
				unit = "txs"
			}
			rep.Report(progress.Update{Phase: p.Phase, Done: p.Done, Total: p.Total, Unit: unit, Txs: p.Txs,
				Height: p.Height, Elapsed: p.Elapsed, Final: p.Final})
		},
	}})
	rep.Done()
	sum, csum, rsum := res.Index, res.Cluster, res.Risk
	if sum != nil && len(sum.Bad) > 0 {
		for _, b := range sum.Bad {
			fmt.Fprintf(os.Stderr, "skipped: %s\n", b)
		}
	}
	if err != nil {
		return err
	}
	if o.store.json {
		tip := ""
		if sum != nil {
			tip = sum.Tip.String()
		}
		return printJSON(struct {
			*index.IngestSummary
			Tip     string           `json:"tip"`
			Cluster *cluster.Summary `json:"cluster,omitempty"`
			Risk    *risk.Summary    `json:"exposure,omitempty"`
		}{sum, tip, csum, rsum})
	}
	rate := 0.0
	if s := sum.Elapsed.Seconds(); s > 0 {
		rate = float64(sum.Txs) / s
	}
	fmt.Printf("scanned %d files, %d records (%d new headers, %d stale, %d orphaned)\n",
		sum.FilesScanned, sum.RecordsScanned, sum.NewHeaders, sum.Stale, sum.Orphans)
	if sum.Disconnected > 0 {
		fmt.Printf("reorg: disconnected %d blocks\n", sum.Disconnected)
	}
	fmt.Printf("connected %d blocks, %d standalone (%d already indexed), %d transactions in %s (%.0f tx/s)\n",
		sum.Connected, sum.RawBlocks, sum.RawSkipped, sum.Txs, sum.Elapsed.Round(time.Millisecond), rate)
	if len(sum.Bad) > 0 {
		fmt.Printf("skipped %d corrupt records or blocks (listed on stderr)\n", len(sum.Bad))
	}
	if sum.Height >= 0 {
		fmt.Printf("best chain: height %d, tip %s\n", sum.Height, sum.Tip)
	}
	if csum != nil {
		printClusterSummary(*csum)
	}
	if rsum != nil {
		printRiskSummary(*rsum)
	}
	return nil
}
