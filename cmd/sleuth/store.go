package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// storeFlags are the flags every command that opens the index takes.
type storeFlags struct {
	db      string
	network string
	json    bool
	// create lets open(true) make a new store (ingest sets it; others
	// take --create): a mistyped --db must not become an empty store.
	create bool
}

func (s *storeFlags) add(fs *flag.FlagSet, withJSON bool) {
	fs.StringVar(&s.db, "db", "", "index directory (default: $SLEUTH_DB, else the per-user data directory)")
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
// process holds is an error naming that process.
func (s *storeFlags) open(write bool) (*index.DB, error) {
	if s.create && !write {
		return nil, usagef("--create: this command only reads the index")
	}
	netName := s.network
	if netName == "" {
		netName = "mainnet"
	}
	dir, err := s.dir(netName)
	if err != nil {
		return nil, err
	}
	if s.network == "" {
		if stored, err := index.StoredNetwork(dir); err == nil {
			netName = stored
		}
	}
	net, err := btc.NetworkByName(netName)
	if err != nil {
		return nil, usageError{err}
	}
	db, err := index.Open(dir, &index.Options{Network: net, ReadOnly: !write, MustExist: !s.create})
	if errors.Is(err, index.ErrNoIndex) {
		hint := "run 'sleuth ingest --blocks DIR' to create one, or check --db / $SLEUTH_DB"
		if write {
			hint += "; --create starts an empty one"
		}
		return nil, fmt.Errorf("%w; %s", err, hint)
	}
	if err != nil {
		return nil, serverOwns(dir, err)
	}
	return db, nil
}
