package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/client"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/query"
)

// storeFlags are the flags every command that opens the index takes.
type storeFlags struct {
	db      string
	network string
	json    bool
	// create lets open(true) make a new store (ingest sets it; others
	// take --create): a mistyped --db must not become an empty store.
	create bool
	// apiKey is sent to a sleuth serve that owns the store (read commands
	// go through it); default $SLEUTH_API_KEY.
	apiKey string
	// cmd is the command's name (its flag set's), for the route a write
	// command names when a server owns the store.
	cmd string
}

func (s *storeFlags) add(fs *flag.FlagSet, withJSON bool) {
	s.cmd = fs.Name()
	fs.StringVar(&s.db, "db", "", "index directory (default: $SLEUTH_DB, else the per-user data directory)")
	fs.StringVar(&s.apiKey, "api-key", "", "API key of the sleuth serve that owns the store, when it needs one (default: $SLEUTH_API_KEY)")
	fs.BoolVar(&s.create, "create", false, "for commands that write: create an empty index at --db if there is none (ingest always may)")
	fs.StringVar(&s.network, "network", "", "mainnet, testnet3, testnet4, signet or regtest (default: the index's, else mainnet)")
	if withJSON {
		fs.BoolVar(&s.json, "json", false, "print JSON")
	}
}

// dir returns the index directory: --db, $SLEUTH_DB, or
// $XDG_DATA_HOME/sleuth/<network> (~/.local/share/sleuth/<network>).
func (s *storeFlags) dir(network string) (string, error) {
	if s.db != "" {
		return s.db, nil
	}
	if d := os.Getenv("SLEUTH_DB"); d != "" {
		return d, nil
	}
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no --db given and no home directory: %w", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "sleuth", network), nil
}

// open opens the index for reading, or for writing (write). Only ingest
// and --create may create it: otherwise a directory without an index is
// an error naming the path, and nothing is written there. A store another
// process holds is an error naming that process; when that process is a
// sleuth serve, the error says so and names the route to use instead.
func (s *storeFlags) open(write bool) (*index.DB, error) {
	db, srv, err := s.openOrServer(context.Background(), write)
	if srv != nil {
		return nil, s.serverOwns(srv.URL(), err)
	}
	return db, err
}

// openSource opens the store for reading or, when a live sleuth serve
// owns it, returns that server: a read command answers from either with
// the same views and printers.
func (s *storeFlags) openSource(ctx context.Context) (*source, error) {
	db, srv, err := s.openOrServer(ctx, false)
	switch {
	case srv != nil:
		return &source{Reader: srv, srv: srv}, nil
	case err != nil:
		return nil, err
	}
	return &source{Reader: query.Local{DB: db}, db: db}, nil
}

// source is where a read command's answers come from: the store, opened
// read-only (db), or the sleuth serve that owns it (srv).
type source struct {
	query.Reader
	db  *index.DB
	srv *client.Client
}

func (src *source) Close() error {
	if src.db != nil {
		return src.db.Close()
	}
	return nil
}

// notes receives remarks that are not the command's answer (stderr; the
// tests' stderr writer).
var notes io.Writer = os.Stderr

// openOrServer opens the store, or, when it is held and its SERVER file
// names a live sleuth serve that answers, returns a client of that
// server (with the open error). A SERVER file whose process is gone is
// ignored with a note.
func (s *storeFlags) openOrServer(ctx context.Context, write bool) (*index.DB, *client.Client, error) {
	if s.create && !write {
		return nil, nil, usagef("--create: this command only reads the index")
	}
	netName := s.network
	if netName == "" {
		netName = "mainnet"
	}
	dir, err := s.dir(netName)
	if err != nil {
		return nil, nil, err
	}
	if s.network == "" {
		if stored, err := index.StoredNetwork(dir); err == nil {
			netName = stored
		}
	}
	net, err := btc.NetworkByName(netName)
	if err != nil {
		return nil, nil, usageError{err}
	}
	db, err := index.Open(dir, &index.Options{Network: net, ReadOnly: !write, MustExist: !s.create})
	if errors.Is(err, index.ErrNoIndex) {
		hint := "run 'sleuth ingest --blocks DIR' to create one, or check --db / $SLEUTH_DB"
		if write {
			hint += "; --create starts an empty one"
		}
		return nil, nil, fmt.Errorf("%w; %s", err, hint)
	}
	if err != nil && !errors.Is(err, index.ErrLocked) {
		return nil, nil, err
	}
	si, serr := api.ReadServerInfo(dir)
	if errors.Is(serr, os.ErrNotExist) {
		return db, nil, err
	}
	stale := func() {
		fmt.Fprintf(notes, "sleuth: ignoring %s: sleuth serve pid %d is not running (it did not shut down cleanly)\n", filepath.Join(dir, api.ServerFile), si.PID)
	}
	if err == nil { // opened: any server file is stale (or unreadable)
		if serr == nil && !client.Alive(si.PID) {
			stale()
		}
		return db, nil, nil
	}
	if serr != nil {
		return nil, nil, fmt.Errorf("%w\n%w", err, serr)
	}
	key := s.apiKey
	if key == "" {
		key = os.Getenv("SLEUTH_API_KEY")
	}
	srv, cerr := client.Connect(ctx, si.URL, si.PID, key, client.Options{})
	switch {
	case errors.Is(cerr, client.ErrStale):
		stale()
		return nil, nil, err
	case cerr != nil:
		return nil, nil, fmt.Errorf("%w\n%w", err, cerr)
	}
	return nil, srv, err
}

// serverInstead names, for commands that write (or read what no route
// serves), what to use instead while a sleuth serve owns the store.
var serverInstead = map[string]string{
	"ingest":               "the server ingests new blocks itself (sleuth serve --blocks DIR)",
	"follow":               "the server keeps the store current (sleuth serve --blocks DIR)",
	"labels import":        "POST /v1/labels/import (TagPack and OFAC files); docs/API.md has examples",
	"label add":            "POST /v1/labels; docs/API.md has examples",
	"label remove":         "DELETE /v1/labels/{id}; docs/API.md has examples",
	"trace":                "POST /v1/trace (sources, direction, policy, hops, window); docs/API.md has examples",
	"check":                "GET /healthz and GET /v1/status say how far each stage is; stop the server to run check",
	"stats":                "GET /v1/status (sleuth status) gives the tip, its transactions and each stage's height",
	"risk update":          "the server updates exposure after every block and label change",
	"cluster":              "the server clusters after every block; stop it to rebuild or list entities",
	"apikey create":        "stop the server, create the key, start it again (it reads keys when it starts)",
	"apikey revoke":        "stop the server, revoke the key, start it again (it reads keys when it starts)",
	"labels remove-source": "stop the server first (no route removes a source)",
}

// serverOwns says that the sleuth serve at url owns the store, and what
// to use instead of this command.
func (s *storeFlags) serverOwns(url string, err error) error {
	what := serverInstead[s.cmd]
	if what == "" {
		what = "no route does this: stop the server first"
	}
	return fmt.Errorf("%w\nsleuth serve at %s owns this store; %s: %s (routes: %s/openapi.json, docs/API.md)", err, url, s.cmd, what, url)
}

// explainRemote adds to an error from a server what the user can do
// about it (a key, which the command line gives with --api-key).
func explainRemote(err error) error {
	if errors.Is(err, client.ErrUnauthorized) {
		return fmt.Errorf("%w\nthe sleuth serve that owns this store needs an API key of a scope that allows this: give it with --api-key KEY or $SLEUTH_API_KEY", err)
	}
	return err
}
