package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/follow"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// runFollow keeps the index in step with a running node until SIGINT or
// SIGTERM: over RPC (blocks appended to a spool directory and ingested),
// or by reading the node's own blocks directory.
func runFollow(ctx context.Context, args []string) error {
	var (
		store                           storeFlags
		rpcURL, cookie, user, pass, zmq string
		blocks, spool                   string
		rest, verbose, noCluster        bool
		poll                            time.Duration
		depth                           int64
	)
	fs := flag.NewFlagSet("follow", flag.ContinueOnError)
	store.add(fs, false)
	fs.StringVar(&rpcURL, "rpc", "", "node JSON-RPC URL, e.g. http://127.0.0.1:8332 (Bitcoin Core or btcd)")
	fs.StringVar(&cookie, "rpc-cookie", "", "Bitcoin Core cookie file (re-read when the node rejects it)")
	fs.StringVar(&user, "rpc-user", "", "RPC user")
	fs.StringVar(&pass, "rpc-pass", "", "RPC password")
	fs.StringVar(&zmq, "zmq", "", "ZMQ endpoint publishing sequence or hashblock (tcp://host:port), a wake-up beside polling; \"auto\" asks the node (getzmqnotifications)")
	fs.BoolVar(&rest, "rest", false, "fetch blocks over REST /rest/block/<hash>.bin (bitcoind -rest)")
	fs.StringVar(&blocks, "blocks", "", "follow a running node's own blocks directory instead of its RPC")
	fs.StringVar(&spool, "spool", "", "where fetched blocks are appended (default: <db>/spool)")
	fs.DurationVar(&poll, "poll", 2*time.Second, "how often to check the node")
	fs.Int64Var(&depth, "reorg-depth", 100, "deepest reorg followed (blocks below the indexed tip)")
	fs.BoolVar(&noCluster, "no-cluster", false, "do not update the entities and exposure after each ingest")
	fs.BoolVar(&verbose, "v", false, "verbose logs")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected arguments %q", fs.Args())
	case (rpcURL == "") == (blocks == ""):
		return usagef("give --rpc URL or --blocks DIR (exactly one)")
	case blocks != "" && (cookie != "" || user != "" || pass != "" || zmq != "" || rest):
		return usagef("--rpc-cookie, --rpc-user, --rpc-pass, --zmq and --rest need --rpc")
	case cookie != "" && (user != "" || pass != ""):
		return usagef("give --rpc-cookie or --rpc-user/--rpc-pass, not both")
	case poll <= 0 || depth <= 0:
		return usagef("--poll and --reorg-depth must be positive")
	}
	log := newLogger(verbose)
	store.create = true // following builds the index, as ingest does
	db, err := store.open(true)
	if err != nil {
		return err
	}
	defer db.Close()

	st := &follow.IndexStore{DB: db}
	if !noCluster {
		// The later stages in the pipeline's order: entities (and the
		// labels' entity index), then exposure.
		pl := pipeline.New(db, pipeline.Options{Logger: log})
		st.After = func(ctx context.Context, _ *index.IngestSummary) error {
			if _, err := pl.UpdateClusters(ctx, cluster.Options{}); err != nil {
				return fmt.Errorf("indexed, but clustering failed: %w", err)
			}
			if _, err := pl.AttributionChanged(ctx, false); err != nil {
				return fmt.Errorf("indexed and clustered, but exposure failed: %w", err)
			}
			return nil
		}
	}
	cfg := follow.Config{BlocksDir: blocks, ZMQ: zmq, Poll: poll, ReorgDepth: depth,
		Network: db.Network(), Store: st, Logger: log}
	lag := int64(-1)
	cfg.OnEvent = func(e follow.Event) {
		if e.Kind == follow.Lag && e.Lag != lag {
			lag = e.Lag
			log.Info("lag", "height", e.Height, "behind", e.Lag)
		}
	}
	if rpcURL != "" {
		cfg.RPC, err = follow.NewRPC(follow.RPCConfig{URL: rpcURL, User: user, Pass: pass, CookieFile: cookie, REST: rest})
		if err != nil {
			return usageError{err}
		}
		cfg.SpoolDir = spool
		if cfg.SpoolDir == "" {
			cfg.SpoolDir = filepath.Join(db.Dir(), "spool")
		}
	}
	f, err := follow.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer f.Close()
	log.Info("following", "rpc", rpcURL, "blocks", blocks, "zmq", zmq, "poll", poll, "reorg_depth", depth)
	if err := f.Run(ctx); err != nil {
		return err
	}
	log.Info("stopped", "height", db.Stats().Height)
	return nil
}
