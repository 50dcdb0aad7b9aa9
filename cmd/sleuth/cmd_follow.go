package main

import (
	"context"
	"flag"
	"path/filepath"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/follow"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// followFlags are the node-following flags of sleuth follow and sleuth
// serve.
type followFlags struct {
	rpcURL, cookie, user, pass, zmq string
	blocks, spool                   string
	rest                            bool
	poll                            time.Duration
	depth                           int64
}

func (o *followFlags) add(fs *flag.FlagSet, blocksUsage string) {
	fs.StringVar(&o.rpcURL, "rpc", "", "node JSON-RPC URL, e.g. http://127.0.0.1:8332 (Bitcoin Core or btcd)")
	fs.StringVar(&o.cookie, "rpc-cookie", "", "Bitcoin Core cookie file (re-read when the node rejects it)")
	fs.StringVar(&o.user, "rpc-user", "", "RPC user")
	fs.StringVar(&o.pass, "rpc-pass", "", "RPC password")
	fs.StringVar(&o.zmq, "zmq", "", "ZMQ endpoint publishing sequence or hashblock (tcp://host:port), a wake-up beside polling; \"auto\" asks the node (getzmqnotifications)")
	fs.BoolVar(&o.rest, "rest", false, "fetch blocks over REST /rest/block/<hash>.bin (bitcoind -rest)")
	fs.StringVar(&o.blocks, "blocks", "", blocksUsage)
	fs.StringVar(&o.spool, "spool", "", "where fetched blocks are appended (default: <db>/spool)")
	fs.DurationVar(&o.poll, "poll", 2*time.Second, "how often to check the node (or blocks directory)")
	fs.Int64Var(&o.depth, "reorg-depth", 100, "deepest reorg followed (blocks below the indexed tip)")
}

// enabled reports whether a node or blocks directory was given.
func (o *followFlags) enabled() bool { return o.rpcURL != "" || o.blocks != "" }

// check refuses contradictory flags.
func (o *followFlags) check() error {
	switch {
	case o.rpcURL != "" && o.blocks != "":
		return usagef("--rpc URL and --blocks DIR exclude each other: give exactly one")
	case o.blocks != "" && (o.cookie != "" || o.user != "" || o.pass != "" || o.zmq != "" || o.rest || o.spool != ""):
		return usagef("--rpc-cookie, --rpc-user, --rpc-pass, --zmq, --rest and --spool need --rpc")
	case o.rpcURL == "" && (o.cookie != "" || o.user != "" || o.pass != "" || o.zmq != "" || o.rest || o.spool != ""):
		return usagef("--rpc-cookie, --rpc-user, --rpc-pass, --zmq, --rest and --spool need --rpc")
	case o.cookie != "" && (o.user != "" || o.pass != ""):
		return usagef("give --rpc-cookie or --rpc-user/--rpc-pass, not both")
	case o.poll <= 0 || o.depth <= 0:
		return usagef("--poll and --reorg-depth must be positive")
	}
	return nil
}

// config returns the follower's configuration for the store db (Store,
// Network and OnEvent are the caller's).
func (o *followFlags) config(db *index.DB) (follow.Config, error) {
	cfg := follow.Config{BlocksDir: o.blocks, ZMQ: o.zmq, Poll: o.poll, ReorgDepth: o.depth}
	if o.rpcURL == "" {
		return cfg, nil
	}
	var err error
	cfg.RPC, err = follow.NewRPC(follow.RPCConfig{URL: o.rpcURL, User: o.user, Pass: o.pass, CookieFile: o.cookie, REST: o.rest})
	if err != nil {
		return cfg, usageError{err}
	}
	cfg.SpoolDir = o.spool
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = filepath.Join(db.Dir(), "spool")
	}
	return cfg, nil
}

// runFollow keeps the index in step with a running node until SIGINT or
// SIGTERM: over RPC (blocks appended to a spool directory and ingested),
// or by reading the node's own blocks directory. It is sleuth serve's
// follower without the HTTP server and the webhook worker.
func runFollow(ctx context.Context, args []string) error {
	var (
		store              storeFlags
		o                  followFlags
		verbose, noCluster bool
	)
	fs := flag.NewFlagSet("follow", flag.ContinueOnError)
	store.add(fs, false)
	o.add(fs, "follow a running node's own blocks directory instead of its RPC")
	fs.BoolVar(&noCluster, "no-cluster", false, "do not update the entities, exposure and alerts after each ingest")
	fs.BoolVar(&verbose, "v", false, "verbose logs")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected arguments %q", fs.Args())
	case !o.enabled():
		return usagef("give --rpc URL or --blocks DIR (exactly one)")
	}
	if err := o.check(); err != nil {
		return err
	}
	log := newLogger(verbose)
	store.create = true // following builds the index, as ingest does
	db, err := store.open(true)
	if err != nil {
		return err
	}
	defer db.Close()

	cfg, err := o.config(db)
	if err != nil {
		return err
	}
	// The same path as sleuth serve: every stage through the pipeline,
	// so that the alert stage raises the new blocks' alerts (delivered by
	// sleuth webhook deliver, or by sleuth serve's worker).
	st := follow.NewPipelineStore(pipeline.New(db, pipeline.Options{Logger: log}), db)
	st.IndexOnly = noCluster
	cfg.Store, cfg.Network, cfg.Logger = st, db.Network(), log
	lag := int64(-1)
	cfg.OnEvent = func(e follow.Event) {
		if e.Kind == follow.Lag && e.Lag != lag {
			lag = e.Lag
			log.Info("lag", "height", e.Height, "behind", e.Lag)
		}
	}
	f, err := follow.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer f.Close()
	log.Info("following", "rpc", o.rpcURL, "blocks", o.blocks, "zmq", o.zmq, "poll", o.poll, "reorg_depth", o.depth)
	if err := f.Run(ctx); err != nil {
		return err
	}
	log.Info("stopped", "height", db.Stats().Height)
	return nil
}
