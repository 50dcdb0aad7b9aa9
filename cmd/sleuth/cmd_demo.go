package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/sleuth-forensics/sleuth/internal/demo"
)

func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	keep := fs.String("db", "", "keep the demo index in this directory (default: a temporary one, removed after)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	work, err := os.MkdirTemp("", "sleuth-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dbDir := *keep
	if dbDir == "" {
		dbDir = work + "/index"
	}
	if err := demo.Run(ctx, work, dbDir, os.Stdout); err != nil {
		return err
	}
	if *keep != "" {
		fmt.Printf("\nThe index is in %s: try 'sleuth tx --db %s %s'\n", dbDir, dbDir, demo.HalTxID)
	}
	return nil
}
