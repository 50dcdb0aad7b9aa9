package query

import (
	"context"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// Reader answers the read-only views, from a store the caller opened
// (Local) or from the server that owns it (internal/client's Client):
// the CLI prints either with the same printers.
type Reader interface {
	Status(ctx context.Context) (*StatusView, error)
	Address(ctx context.Context, addr string) (*AddressView, error)
	// AddressTxs returns up to limit (0: all) of the address's
	// transactions, newest first, after txid after (empty: from the newest).
	AddressTxs(ctx context.Context, addr string, limit int, after string) ([]index.AddressTxView, error)
	Tx(ctx context.Context, id btc.Hash) (*TxView, error)
	Block(ctx context.Context, ref string) (*index.BlockView, error)
	// Entity is the entity of arg, an address or an entity id.
	Entity(ctx context.Context, arg string) (*cluster.EntityView, error)
	Members(ctx context.Context, arg string, limit int, after string) ([]Member, error)
	Explain(ctx context.Context, from, to string) ([]cluster.Step, error)
	Labels(ctx context.Context, arg string, asOf time.Time) ([]label.View, error)
}

// Local is a Reader over an open store.
type Local struct{ DB *index.DB }

var _ Reader = Local{}

func (l Local) Status(ctx context.Context) (*StatusView, error) { return Status(ctx, l.DB) }

func (l Local) Address(_ context.Context, addr string) (*AddressView, error) {
	return Address(l.DB, addr)
}

func (l Local) AddressTxs(_ context.Context, addr string, limit int, after string) ([]index.AddressTxView, error) {
	rows, err := l.DB.AddressTxs(addr, limit, after)
	if rows == nil && err == nil {
		rows = []index.AddressTxView{}
	}
	return rows, err
}

func (l Local) Tx(_ context.Context, id btc.Hash) (*TxView, error) { return Tx(l.DB, id) }

func (l Local) Block(_ context.Context, ref string) (*index.BlockView, error) { return l.DB.Block(ref) }

func (l Local) Entity(ctx context.Context, arg string) (*cluster.EntityView, error) {
	id, err := EntityArg(l.DB, arg)
	if err != nil {
		return nil, err
	}
	return cluster.Entity(ctx, l.DB, id)
}

func (l Local) Members(ctx context.Context, arg string, limit int, after string) ([]Member, error) {
	return Members(ctx, l.DB, arg, limit, after)
}

func (l Local) Explain(ctx context.Context, from, to string) ([]cluster.Step, error) {
	return Explain(ctx, l.DB, from, to)
}

func (l Local) Labels(ctx context.Context, arg string, asOf time.Time) ([]label.View, error) {
	return Labels(ctx, l.DB, arg, asOf)
}
