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
	"time"

	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/index"
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
	// BlocksDir, when set, is polled for new blocks every Poll (default 2 s).
	BlocksDir string
	Poll      time.Duration
	// Ready, when set, is called with the server's URL once it listens.
	Ready func(url string)
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
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %q: %w", listen, ErrNotLoopback)
}

// Run serves pl's store on opts.Listen until ctx is done, ingesting new
// blocks from opts.BlocksDir through the pipeline, then shuts down
// gracefully (in-flight requests get 10 s) and removes ServerFile.
func Run(ctx context.Context, pl *pipeline.Pipeline, db *index.DB, opts RunOptions) error {
	if err := CheckListen(opts.Listen, opts.Keys); err != nil {
		return err
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	s := New(pl, opts.Options)
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
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("serving", "url", url, "store", db.Dir(), "blocks", opts.BlocksDir)
	if opts.Ready != nil {
		opts.Ready(url)
	}
	if opts.BlocksDir != "" {
		s.SetReady(false)
		followed := make(chan struct{})
		go func() {
			defer close(followed)
			s.follow(ctx, pl, opts.BlocksDir, opts.Poll)
		}()
		// The caller closes the store when Run returns: not mid-ingest.
		defer func() { <-followed }()
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// follow ingests new blocks from dir every poll until ctx is done. A
// failed ingest is logged and retried at the next poll (the store keeps
// its last committed state, X2 in internal/index).
func (s *Server) follow(ctx context.Context, pl *pipeline.Pipeline, dir string, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		res, err := pl.Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Error("ingest failed; retrying at the next poll", "err", err)
		default:
			s.SetReady(true)
			if res.Index != nil && (res.Index.Connected > 0 || res.Index.Disconnected > 0) {
				s.log.Info("ingested", "height", res.Index.Height, "connected", res.Index.Connected,
					"disconnected", res.Index.Disconnected, "txs", res.Index.Txs)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
