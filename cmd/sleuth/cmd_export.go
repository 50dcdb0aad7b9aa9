package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/export"
	"github.com/sleuth-forensics/sleuth/internal/progress"
)

// exportTables is the order the summary lists tables in.
var exportTables = []string{"blocks", "transactions", "outputs", "inputs", "addresses",
	"entities", "entity_members", "label_sources", "labels", "exposure"}

func runExport(ctx context.Context, args []string) error {
	var s storeFlags
	var dsn, schema string
	var from int64
	var batch int
	var verbose bool
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&dsn, "postgres", "", "PostgreSQL to write to: postgres://user:pass@host:port/db or key=value (required)")
	fs.StringVar(&schema, "schema", export.DefaultSchema, "PostgreSQL schema of the tables")
	fs.Int64Var(&from, "from-height", -1, "delete the rows at and above this height and export them again (default: only new blocks)")
	fs.IntVar(&batch, "batch-txs", 0, "transactions per COPY batch, one PostgreSQL transaction each (default 50000)")
	fs.BoolVar(&verbose, "v", false, "verbose logs")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() != 0 {
		return usagef("export takes no arguments")
	}
	if dsn == "" {
		return usagef("export needs --postgres DSN")
	}
	if from < -1 {
		return usagef("--from-height %d: want a height (0 or more)", from)
	}
	tg, err := export.Open(ctx, dsn, schema)
	if errors.Is(err, export.ErrDSN) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	defer tg.Close()
	db, err := s.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	view, err := db.View()
	if err != nil {
		return err
	}
	defer view.Close()
	log := newLogger(verbose)
	rep := progress.New(os.Stderr, log, 5*time.Second)
	sum, err := tg.Export(ctx, view, export.Options{FromHeight: from, BatchTxs: batch, Logger: log, Progress: func(p export.Progress) {
		rep.Report(progress.Update{Phase: "export " + p.Phase, Done: p.Height - p.From + 1, Total: p.Tip - p.From + 1, Unit: "blocks",
			Txs: p.Txs, Height: p.Height, Elapsed: p.Elapsed, Final: p.Final})
	}})
	rep.Done()
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(sum)
	}
	switch {
	case sum.From > sum.To:
		fmt.Printf("no new block: the export is at height %d\n", sum.To)
	case sum.Deleted >= 0 && sum.Reorg:
		fmt.Printf("reorg: the export differed from the index from height %d; exported heights %d-%d again\n", sum.Deleted, sum.From, sum.To)
	case sum.Deleted >= 0:
		fmt.Printf("re-exported heights %d-%d\n", sum.From, sum.To)
	default:
		fmt.Printf("exported heights %d-%d\n", sum.From, sum.To)
	}
	for _, t := range exportTables {
		if d := sum.RowsDeleted[t]; d > 0 {
			fmt.Printf("  %-15s %12d rows  %d deleted\n", t, sum.Rows[t], d)
		} else {
			fmt.Printf("  %-15s %12d rows\n", t, sum.Rows[t])
		}
	}
	for _, part := range []string{"entities", "labels", "exposure"} {
		fmt.Printf("%s: %s\n", part, sum.Derived[part])
	}
	rate := 0.0
	if sec := sum.Elapsed.Seconds(); sec > 0 {
		rate = float64(sum.TotalRows()) / sec
	}
	fmt.Printf("%d rows in %s (%.0f rows/s)\n", sum.TotalRows(), sum.Elapsed.Round(time.Millisecond), rate)
	if sum.Retries > 0 {
		fmt.Printf("%d batches tried again after PostgreSQL went away\n", sum.Retries)
	}
	for _, n := range sum.Notes {
		fmt.Printf("note: %s\n", n)
	}
	return nil
}
