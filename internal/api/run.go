package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/follow"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pace"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// ServerFile is the file in the store directory that names the server
// owning the store (ServerInfo as JSON), removed on shutdown.
const ServerFile = "SERVER"

// ServerInfo is the content of ServerFile.
type ServerInfo struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

// ReadServerInfo returns the server recorded in store directory dir, or
// os.ErrNotExist.
func ReadServerInfo(dir string) (ServerInfo, error) {
	var si ServerInfo
	b, err := os.ReadFile(filepath.Join(dir, ServerFile))
	if err != nil {
		return si, err
	}
	if err := json.Unmarshal(b, &si); err != nil {
		return si, fmt.Errorf("%s: %w", filepath.Join(dir, ServerFile), err)
	}
	return si, nil
}

// RunOptions configure Run.
type RunOptions struct {
	Options
	// Listen is the address to listen on (host:port).
	Listen string
	// Follow, when set, is the node (RPC, with SpoolDir) or blocks
	// directory to follow: every ingest goes through the pipeline, so the
	// stages and the alert stage run per round. Run sets its Store,
	// Network and OnEvent; /readyz is false until the follower has caught
	// up, and again whenever it is behind or the node is unavailable.
	Follow *follow.Config
	// Webhooks, when set, delivers the alert outbox while the server runs
	// (Run sets its Store to the pipeline's alert store, and Shared when
	// that is shared, and wakes it when the alert stage stores alerts).
	Webhooks *alert.Worker
	// Ready, when set, is called with the server's URL once it listens.
	Ready func(url string)
	// IngestShare is the share of wall time the follower's ingest and the
	// store's compactions may run while requests are in flight (a
	// pace.Pacer in Options.Pace, and index.DB.PaceCompactions): on a
	// machine of few cores an update that takes them all queues the
	// requests behind it. Default pace.DefaultShare; 1: they never stand
	// aside.
	IngestShare float64
}

// ErrNotLoopback is Run's refusal of a public listen address without API
// keys (A5 in doc.go).
var ErrNotLoopback = errors.New("no API keys are configured ('sleuth apikey create --name N --scope read|screen|write' makes one), so the server listens on loopback only: use --listen 127.0.0.1:PORT or [::1]:PORT")

// CheckListen refuses listen addresses that are not loopback unless keys
// guard the server.
func CheckListen(listen string, keys *apikey.Set) error {
	if keys != nil && keys.Len() > 0 {
		if _, _, err := net.SplitHostPort(listen); err != nil {
			return fmt.Errorf("--listen %q: %w", listen, err)
		}
		return nil
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", listen, err)
	}
	if loopbackHost(host) {
		return nil
	}
	return fmt.Errorf("--listen %q: %w", listen, ErrNotLoopback)
}

// loopbackHost reports whether a listen address's host is loopback only.
func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// Run serves pl's store on opts.Listen until ctx is done, following
// opts.Follow (a node or a blocks directory) through the pipeline and
// delivering webhooks with opts.Webhooks, then shuts down gracefully
// (in-flight requests get 10 s) and removes ServerFile. A follower that
// stops with a permanent error (wrong network or credentials, a reorg
// deeper than its bound) stops the server with that error.
func Run(ctx context.Context, pl *pipeline.Pipeline, db *index.DB, opts RunOptions) error {
	if err := CheckListen(opts.Listen, opts.Keys); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(opts.Listen)
	opts.LoopbackWebhooks = loopbackHost(host) // webhooks may point at loopback only from a loopback server
	if opts.Follow != nil && opts.Pace == nil && opts.IngestShare < 1 {
		opts.Pace = pace.New(0, opts.IngestShare)
	}
	s := New(pl, opts.Options)
	db.PaceCompactions(s.opts.Pace)
	defer db.PaceCompactions(nil)
	var f *follow.Follower
	if opts.Follow != nil {
		var err error
		if f, err = s.newFollower(ctx, pl, db, *opts.Follow); err != nil {
			return err
		}
		defer f.Close()
		s.SetReady(false)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	info := filepath.Join(db.Dir(), ServerFile)
	b, _ := json.Marshal(ServerInfo{URL: url, PID: os.Getpid()})
	if err := os.WriteFile(info, append(b, '\n'), 0o644); err != nil {
		ln.Close()
		return fmt.Errorf("record the server in the store: %w", err)
	}
	defer os.Remove(info)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	srv.RegisterOnShutdown(s.CloseStreams) // open alert streams would hold Shutdown
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("serving", "url", url, "store", db.Dir())
	if opts.Ready != nil {
		opts.Ready(url)
	}
	// The worker and the follower stop (and are waited for) before the
	// follower's spool closes and the store is closed by the caller.
	var wg sync.WaitGroup
	defer wg.Wait()
	bg, stop := context.WithCancel(ctx)
	defer stop()
	if w := opts.Webhooks; w != nil {
		s.startWebhooks(bg, &wg, pl, w)
	}
	followed := make(chan error, 1)
	if f != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			followed <- f.Run(pace.With(bg, s.opts.Pace))
		}()
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case err := <-followed:
		if err != nil {
			s.log.Error("the follower stopped", "err", err)
			return errors.Join(fmt.Errorf("follow: %w", err), s.shutdown(srv))
		}
	case <-ctx.Done():
	}
	return s.shutdown(srv)
}

// startWebhooks runs w over the pipeline's alert store until ctx ends,
// woken by every AlertsStored event and counted in the metrics.
func (s *Server) startWebhooks(ctx context.Context, wg *sync.WaitGroup, pl *pipeline.Pipeline, w *alert.Worker) {
	w.Store, w.Shared = pl.AlertStore(), pl.SharedAlerts()
	prev := w.OnAttempt
	w.OnAttempt = func(d *alert.Delivery) {
		s.metrics.deliveries.WithLabelValues(d.State.String()).Inc()
		if prev != nil {
			prev(d)
		}
	}
	pl.Subscribe(func(e pipeline.Event) {
		if e.Kind == pipeline.AlertsStored {
			w.Wake()
		}
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = w.Run(ctx) // returns when ctx ends; failures are logged and retried
	}()
}

// newFollower wires a follower to the pipeline (PipelineStore) and to the
// server's readiness and metrics.
func (s *Server) newFollower(ctx context.Context, pl *pipeline.Pipeline, db *index.DB, cfg follow.Config) (*follow.Follower, error) {
	cfg.Store = follow.NewPipelineStore(pl, db)
	cfg.Network = db.Network()
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	cfg.OnEvent = func(e follow.Event) {
		switch e.Kind {
		case follow.Lag:
			s.metrics.followLag.Store(e.Lag)
			s.SetReady(e.Lag == 0)
		case follow.Unavailable:
			s.metrics.nodeDown.Inc()
			s.SetReady(false)
		}
	}
	f, err := follow.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("follow: %w", err)
	}
	s.log.Info("following", "rpc", cfg.RPC != nil, "blocks", cfg.BlocksDir, "spool", cfg.SpoolDir, "zmq", cfg.ZMQ,
		"poll", cfg.Poll, "reorg_depth", cfg.ReorgDepth)
	return f, nil
}

// shutdown stops srv gracefully (in-flight requests get 10 s).
func (s *Server) shutdown(srv *http.Server) error {
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
