package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/pace"
	"github.com/sleuth-forensics/sleuth/internal/pgstore"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

func runServe(ctx context.Context, args []string) error {
	var s storeFlags
	var o followFlags
	var listen, shared string
	var rate, share float64
	var verbose, noWebhooks, loopback bool
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	s.add(fs, false)
	fs.StringVar(&listen, "listen", "127.0.0.1:8334", "address to serve on (loopback only unless API keys exist: sleuth apikey create)")
	fs.Float64Var(&rate, "rate", 100, "requests per second each API key may make (bursts of twice that); 0: no limit")
	o.add(fs, "a Bitcoin Core blocks directory to follow as it grows (instead of --rpc; optional)")
	fs.BoolVar(&noWebhooks, "no-webhooks", false, "do not deliver the alert outbox (sleuth webhook deliver can, while the server is stopped)")
	fs.BoolVar(&loopback, "webhook-allow-loopback", false, "let webhooks reach loopback addresses (tests; private addresses stay refused)")
	fs.StringVar(&shared, "shared", "", "PostgreSQL DSN (postgres://…) for the state several servers share: cases, labels, watchlists, API keys, alerts, webhook endpoints and the outbox (default: the store itself)")
	fs.Float64Var(&share, "ingest-share", pace.DefaultShare, "share of the time the follower's ingest and the store's compactions may run while requests are in flight (1: they never stand aside)")
	fs.BoolVar(&verbose, "v", false, "verbose logs")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if !(share > 0 && share <= 1) { // NaN too
		return usagef("--ingest-share %v: want a share of the time, above 0 and at most 1", share)
	}
	if fs.NArg() != 0 {
		return usagef("serve takes no arguments (got %q)", fs.Args())
	}
	if err := o.check(); err != nil {
		return err
	}
	if rate < 0 {
		return usagef("--rate must be ≥ 0")
	}
	db, err := s.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	log := newLogger(verbose)
	opts := api.Options{Logger: log}
	popts := pipeline.Options{Logger: log}
	var keyStore apikey.Store = apikey.NewDB(db)
	var lists *watch.Snapshot
	var pg *pgstore.DB
	if shared != "" {
		if pg, err = pgstore.Open(ctx, shared); err != nil {
			return err
		}
		defer pg.Close()
		opts.Cases, opts.Watchlists, keyStore = pg.Cases(), pg.Watch(), pg.APIKeys()
		// The alert stage matches against an in-memory copy of the shared
		// lists, kept current below.
		if lists, err = watch.NewSnapshot(ctx, pg.Watch()); err != nil {
			return err
		}
		popts.Watchlists = lists
		popts.Alerts = pg.Alerts()
	}
	keys, err := apikey.Load(ctx, keyStore, rate)
	if err != nil {
		return err
	}
	if err := api.CheckListen(listen, keys); err != nil {
		return usageError{err}
	}
	opts.Keys = keys
	if shared != "" {
		// Keys and watchlists changed on any server take effect here
		// within a second; while PostgreSQL is down the last loaded ones
		// stay in force.
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		go keys.Follow(fctx, keyStore, 0, func(err error) {
			log.Warn("API keys: cannot reload from PostgreSQL; the last loaded keys stay in force", "err", err)
		})
		go lists.Follow(fctx, 0, func(err error) {
			log.Warn("watchlists: cannot reload from PostgreSQL; the alert stage keeps the last copy", "err", err)
		})
	}
	pl := pipeline.New(db, popts)
	if shared != "" {
		labels, stop, err := sharedLabels(ctx, pl, pg, log)
		if err != nil {
			return err
		}
		defer stop()
		opts.Labels = labels
	}
	ropts := api.RunOptions{Options: opts, Listen: listen, IngestShare: share,
		Ready: func(url string) {
			fmt.Fprintf(os.Stderr, "sleuth serve: %s (store %s); API description at %s/openapi.json\n", url, db.Dir(), url)
		}}
	if o.enabled() {
		cfg, err := o.config(db)
		if err != nil {
			return err
		}
		ropts.Follow = &cfg
	}
	if !noWebhooks {
		ropts.Webhooks = &alert.Worker{AllowLoopback: loopback, Log: log}
	}
	return api.Run(ctx, pl, db, ropts)
}

// sharedLabels makes the store's labels follow PostgreSQL's label log
// and starts applying it; stop ends the applier.
func sharedLabels(ctx context.Context, pl *pipeline.Pipeline, pg *pgstore.DB, log *slog.Logger) (*labelsync.Shared, func(), error) {
	ll := pg.LabelLog()
	sh, err := labelsync.NewShared(ctx, pl, ll, labelsync.Options{Logger: log})
	if err != nil {
		ll.Close()
		return nil, nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { sh.Run(rctx); close(done) }()
	return sh, func() { cancel(); <-done; ll.Close() }, nil
}

// runAPIKey is `sleuth apikey create|list|revoke`. Keys in the embedded
// store are read when sleuth serve starts: create them before starting it
// (the server owns the store while it runs). Keys in the shared store
// (--shared DSN) take effect on every server within a second.
func runAPIKey(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("usage: sleuth apikey create --name N --scope read|screen|write | list | revoke ID [--shared DSN]")
	}
	verb := args[0]
	switch verb {
	case "create", "list", "revoke":
	default:
		return usagef("unknown apikey command %q (want create, list or revoke)", verb)
	}
	var s storeFlags
	var name, scope, shared string
	fs := flag.NewFlagSet("apikey "+verb, flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&name, "name", "", "what the key is for (create)")
	fs.StringVar(&scope, "scope", "read", "read (lookups), screen (screening only) or write (everything)")
	fs.StringVar(&shared, "shared", "", "PostgreSQL DSN (postgres://…) of the key store several servers share (default: the index's store)")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	var st apikey.Store
	takesEffect := "sleuth serve reads keys when it starts"
	if shared != "" {
		pg, err := pgstore.Open(ctx, shared)
		if err != nil {
			return err
		}
		defer pg.Close()
		st = pg.APIKeys()
		takesEffect = "every server on the shared store within a second"
	} else {
		db, err := s.open(verb != "list")
		if err != nil {
			return err
		}
		defer db.Close()
		st = apikey.NewDB(db)
	}
	switch verb {
	case "create":
		sc, err := apikey.ParseScope(scope)
		if err != nil {
			return usageError{err}
		}
		if name == "" {
			return usagef("--name is required")
		}
		k, secret, err := apikey.Create(ctx, st, name, sc)
		if err != nil {
			return err
		}
		if s.json {
			return printJSON(map[string]any{"id": k.ID, "name": k.Name, "scope": k.Scope.String(), "secret": secret})
		}
		fmt.Printf("key %d (%s, scope %s): %s\nThe secret is shown only now; sleuth stores its SHA-256.\n", k.ID, k.Name, k.Scope, secret)
		return nil
	case "list":
		keys, err := st.List(ctx)
		if err != nil {
			return err
		}
		type row struct {
			apikey.Key
			Scope string `json:"scope"`
		}
		rows := []row{}
		for _, k := range keys {
			rows = append(rows, row{k, k.Scope.String()})
		}
		if s.json {
			return printJSON(rows)
		}
		for _, r := range rows {
			state := "active"
			if r.Revoked {
				state = "revoked"
			}
			fmt.Printf("%4d  %-7s %-8s %s  %s\n", r.ID, r.Scope, state, r.Created.Format(time.RFC3339), r.Name)
		}
		return nil
	case "revoke":
		if fs.NArg() != 1 {
			return usagef("revoke takes one key id")
		}
		id, err := strconv.ParseUint(fs.Arg(0), 10, 32)
		if err != nil {
			return usagef("key id %q: %v", fs.Arg(0), err)
		}
		if err := st.Revoke(ctx, uint32(id)); err != nil {
			return err
		}
		fmt.Printf("key %d revoked (%s)\n", id, takesEffect)
		return nil
	}
	return usagef("unknown apikey command %q (want create, list or revoke)", verb)
}
