package main

import (
	"cmp"
	"context"
	"flag"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pgstore"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// sharedUsage is the --shared flag's help, for the commands that edit
// what several servers share.
const sharedUsage = "PostgreSQL DSN (postgres://…) of the state several sleuth serve --shared servers share: work on it instead of the index's store (which is then not opened)"

// stateStores is what a command that edits shared state (watchlists,
// alerts and their review, webhook endpoints) works on: PostgreSQL's
// stores with --shared DSN, the ones sleuth serve --shared uses, so an
// operator manages a fleet from the command line; else the index's
// embedded stores.
type stateStores struct {
	db  *index.DB   // the index: nil with --shared, unless the command needs the chain
	pg  *pgstore.DB // with --shared
	net *btc.Network
}

func (s *stateStores) Close() {
	if s.pg != nil {
		s.pg.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

// watch returns the watchlist store.
func (s *stateStores) watch() watch.Store {
	if s.pg != nil {
		return s.pg.Watch()
	}
	return watch.NewDB(s.db)
}

// alerts returns the alert store (alerts, review, webhook endpoints and
// the outbox).
func (s *stateStores) alerts() alert.Store {
	if s.pg != nil {
		return s.pg.Alerts()
	}
	return alert.NewDB(s.db)
}

// stateCommand is storeCommand for a command that edits shared state: it
// adds --shared and, given a DSN, opens PostgreSQL instead of the index
// (addresses are then read for --network, mainnet by default). chain
// says the command needs the index all the same (alerts scan reads its
// blocks); it is then opened read-only beside PostgreSQL.
func stateCommand(ctx context.Context, name string, args []string, nargs int, want string, extra func(*flag.FlagSet), write, chain bool) (*stateStores, *flag.FlagSet, *storeFlags, error) {
	var dsn string
	return openCommand(name, args, nargs, want, func(fs *flag.FlagSet) {
		fs.StringVar(&dsn, "shared", "", sharedUsage)
		if extra != nil {
			extra(fs)
		}
	}, func(s *storeFlags) (*stateStores, error) {
		if dsn == "" {
			db, err := s.open(write)
			if err != nil {
				return nil, err
			}
			return &stateStores{db: db, net: db.Network()}, nil
		}
		if !chain {
			return openShared(ctx, dsn, s)
		}
		if s.create {
			return nil, usagef("--create: with --shared the index is not written")
		}
		db, err := s.open(false)
		if err != nil {
			return nil, err
		}
		st := &stateStores{db: db, net: db.Network()}
		if st.pg, err = pgstore.Open(ctx, dsn); err != nil {
			st.Close()
			return nil, err
		}
		return st, nil
	})
}

// openShared opens the PostgreSQL of --shared DSN for a command that
// works on it without the index: addresses are read for --network
// (mainnet by default).
func openShared(ctx context.Context, dsn string, s *storeFlags) (*stateStores, error) {
	if s.create {
		return nil, usagef("--create: with --shared the index is not written")
	}
	net, err := btc.NetworkByName(cmp.Or(s.network, "mainnet"))
	if err != nil {
		return nil, usageError{err}
	}
	pg, err := pgstore.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return &stateStores{pg: pg, net: net}, nil
}
