package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

func runServe(ctx context.Context, args []string) error {
	var s storeFlags
	var listen, blocks string
	var poll time.Duration
	var verbose bool
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	s.add(fs, false)
	fs.StringVar(&listen, "listen", "127.0.0.1:8334", "address to serve on (loopback only until API keys exist)")
	fs.StringVar(&blocks, "blocks", "", "Bitcoin Core blocks directory to keep ingesting from (optional)")
	fs.DurationVar(&poll, "poll", 2*time.Second, "how often to look for new blocks in --blocks")
	fs.BoolVar(&verbose, "v", false, "verbose logs")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("serve takes no arguments (got %q)", fs.Args())
	}
	if poll <= 0 {
		return usagef("--poll must be > 0")
	}
	if err := api.CheckListen(listen); err != nil {
		return usageError{err}
	}
	db, err := s.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	log := newLogger(verbose)
	pl := pipeline.New(db, pipeline.Options{Logger: log})
	return api.Run(ctx, pl, db, api.RunOptions{Options: api.Options{Logger: log}, Listen: listen, BlocksDir: blocks, Poll: poll,
		Ready: func(url string) {
			fmt.Fprintf(os.Stderr, "sleuth serve: %s (store %s); API description at %s/openapi.json\n", url, db.Dir(), url)
		}})
}

// serverOwns explains a failure to open the store at dir when a running
// sleuth serve owns it (its SERVER file), and how to query it instead.
func serverOwns(dir string, err error) error {
	si, rerr := api.ReadServerInfo(dir)
	if rerr != nil {
		return err
	}
	return fmt.Errorf("%w\nsleuth serve (pid %d) owns this store: query it over HTTP instead, e.g. curl %s/v1/status (routes: %s/openapi.json, docs/API.md)",
		err, si.PID, si.URL, si.URL)
}
