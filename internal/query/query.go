package query

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// AddressView is an address with its entity.
type AddressView struct {
	*index.AddressView
	Entity *uint64 `json:"entity"` // null until the store is clustered
}

// Address returns the view of address s.
func Address(db *index.DB, s string) (*AddressView, error) {
	v, err := db.Address(s)
	if err != nil {
		return nil, err
	}
	ent, err := EntityOfAddress(db, s)
	if err != nil {
		return nil, err
	}
	return &AddressView{v, ent}, nil
}

// EntityOfAddress returns the entity of an address, or nil when the store
// is not clustered.
func EntityOfAddress(db *index.DB, s string) (*uint64, error) {
	a, err := db.AddrID(s)
	if err != nil {
		return nil, err
	}
	e, err := cluster.EntityOf(db, a)
	if errors.Is(err, cluster.ErrNotClustered) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// CoinJoinView is the CoinJoin verdict shown with a transaction.
type CoinJoinView struct {
	Kind         string `json:"kind"`
	Denomination int64  `json:"denomination"`
	Participants int    `json:"participants"`
}

// TxView is a transaction with its CoinJoin verdict.
type TxView struct {
	*index.TxView
	CoinJoin *CoinJoinView `json:"coinjoin"`
}

// Tx returns the view of transaction id.
func Tx(db *index.DB, id btc.Hash) (*TxView, error) {
	v, err := db.Tx(id)
	if err != nil {
		return nil, err
	}
	cj, err := CoinJoinOf(db, id)
	if err != nil {
		return nil, err
	}
	return &TxView{v, cj}, nil
}

// CoinJoinOf returns the stored CoinJoin verdict of a transaction, or nil
// when it has none or the store is not clustered.
func CoinJoinOf(db *index.DB, id btc.Hash) (*CoinJoinView, error) {
	num, err := db.TxNum(id)
	if err != nil {
		return nil, err
	}
	v, err := cluster.TxNote(db, num)
	if err != nil || v.Kind == coinjoin.NotCoinJoin {
		return nil, err
	}
	return &CoinJoinView{Kind: v.Kind.String(), Denomination: int64(v.Denomination), Participants: v.Participants}, nil
}

// EntityArg resolves an address or a numeric entity id.
func EntityArg(db *index.DB, arg string) (uint64, error) {
	if id, err := strconv.ParseUint(arg, 10, 64); err == nil {
		return id, nil
	}
	a, err := db.AddrID(arg)
	if err != nil {
		return 0, err
	}
	return cluster.EntityOf(db, a)
}

// Member is one address of an entity.
type Member struct {
	Address string `json:"address"`
	Type    string `json:"type"`
}

// Members returns up to limit (0: all) addresses of the entity of arg (an
// address or entity id) in id order, starting after address after (empty:
// from the first).
func Members(ctx context.Context, db *index.DB, arg string, limit int, after string) ([]Member, error) {
	id, err := EntityArg(db, arg)
	if err != nil {
		return nil, err
	}
	if id >= uint64(db.Tip().NextAddr) {
		return nil, fmt.Errorf("entity %d: %w", id, index.ErrNotFound)
	}
	if id, err = cluster.EntityOf(db, btc.AddrID(id)); err != nil {
		return nil, err
	}
	var from btc.AddrID
	first := true
	if after != "" {
		a, err := db.AddrID(after)
		if err != nil {
			return nil, fmt.Errorf("after: %w", err)
		}
		from, first = a, false
	}
	rows := []Member{}
	var rerr error
	err = cluster.Members(ctx, db, id, from, first, func(a btc.AddrID) bool {
		str, typ, err := db.AddrString(a)
		if err != nil {
			rerr = err
			return false
		}
		if str == "" {
			str = fmt.Sprintf("(address id %d)", a)
		}
		rows = append(rows, Member{str, typ.String()})
		return limit == 0 || len(rows) < limit
	})
	if err == nil {
		err = rerr
	}
	return rows, err
}

// Apart says why two addresses are not one entity: their entities and the
// links between them that were refused.
type Apart struct {
	Joined  bool                  `json:"joined"` // always false
	EntityA uint64                `json:"entity_a"`
	EntityB uint64                `json:"entity_b"`
	Refused []cluster.RefusedView `json:"refused"`
}

// NotJoinedError is Explain's error for two addresses in different
// entities; it carries the Apart view.
type NotJoinedError struct {
	From, To string
	Apart    Apart
}

func (e *NotJoinedError) Error() string {
	return fmt.Sprintf("%s is in entity %d, %s in entity %d: %v", e.From, e.Apart.EntityA, e.To, e.Apart.EntityB, cluster.ErrNotJoined)
}

func (e *NotJoinedError) Unwrap() error { return cluster.ErrNotJoined }

// explainMaxVisit bounds the addresses Explain's search visits.
const explainMaxVisit = 50_000_000

// Explain returns the merges that joined addresses from and to, or a
// *NotJoinedError saying why they are apart.
func Explain(ctx context.Context, db *index.DB, from, to string) ([]cluster.Step, error) {
	a, err := db.AddrID(from)
	if err != nil {
		return nil, err
	}
	b, err := db.AddrID(to)
	if err != nil {
		return nil, fmt.Errorf("other address: %w", err)
	}
	steps, err := cluster.Explain(ctx, db, a, b, explainMaxVisit)
	if errors.Is(err, cluster.ErrNotJoined) {
		ea, _ := cluster.EntityOf(db, a)
		eb, _ := cluster.EntityOf(db, b)
		refused, rerr := cluster.RefusedBetween(ctx, db, a, b, 100)
		if rerr != nil {
			return nil, rerr
		}
		if refused == nil {
			refused = []cluster.RefusedView{}
		}
		return nil, &NotJoinedError{from, to, Apart{EntityA: ea, EntityB: eb, Refused: refused}}
	}
	if steps == nil && err == nil {
		steps = []cluster.Step{}
	}
	return steps, err
}

// Labels returns the labels of arg, an address or a numeric entity id,
// that applied on asOf (zero: all).
func Labels(ctx context.Context, db *index.DB, arg string, asOf time.Time) ([]label.View, error) {
	var views []label.View
	var err error
	if id, perr := strconv.ParseUint(arg, 10, 64); perr == nil {
		if id >= uint64(db.Tip().NextAddr) {
			return nil, fmt.Errorf("entity %d: %w", id, index.ErrNotFound)
		}
		views, err = label.ShowEntity(ctx, db, id, asOf)
	} else {
		views, err = label.ShowAddress(ctx, db, arg, asOf)
	}
	if views == nil && err == nil {
		views = []label.View{}
	}
	return views, err
}

// StageView is how far one stage has come.
type StageView struct {
	Name   string `json:"name"`
	Height *int64 `json:"height"` // null when the stage never ran
}

// SourceView is a label source and its latest date.
type SourceView struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Labels   int    `json:"labels"`
	Imported string `json:"imported"`         // RFC 3339
	Latest   string `json:"latest,omitempty"` // the latest publication of a dated list
}

// StatusView is the store's state: the tip and each stage's height.
type StatusView struct {
	Network string       `json:"network"`
	Height  int64        `json:"height"` // -1 when empty
	Hash    string       `json:"hash,omitempty"`
	Time    string       `json:"time,omitempty"`
	Txs     uint64       `json:"txs"`
	Stages  []StageView  `json:"stages"`
	Sources []SourceView `json:"label_sources"`
	// Basis is what screening answers stand on now (risk.ReadBasis), so
	// that a client of the server prints the header a local screen does;
	// absent until exposure is computed.
	Basis *risk.Basis `json:"basis,omitempty"`
}

// Status returns the store's state.
func Status(ctx context.Context, db *index.DB) (*StatusView, error) {
	st := db.Stats()
	v := &StatusView{Network: st.Network, Height: st.Height, Hash: st.BestHash, Txs: st.Txs, Sources: []SourceView{}}
	if st.Height >= 0 {
		b, err := db.ChainBlock(btc.Height(st.Height))
		if err != nil {
			return nil, fmt.Errorf("tip block: %w", err)
		}
		v.Time = time.Unix(int64(b.Time), 0).UTC().Format(time.RFC3339)
	}
	h := st.Height
	v.Stages = append(v.Stages, StageView{"index", &h})
	cs, err := cluster.ReadStatus(db)
	switch {
	case errors.Is(err, cluster.ErrNotClustered):
		v.Stages = append(v.Stages, StageView{"cluster", nil})
	case err != nil:
		return nil, err
	default:
		v.Stages = append(v.Stages, StageView{"cluster", &cs.Height})
	}
	rs, err := risk.ReadStatus(db)
	switch {
	case errors.Is(err, risk.ErrNotComputed):
		v.Stages = append(v.Stages, StageView{"exposure", nil})
	case err != nil:
		return nil, err
	default:
		v.Stages = append(v.Stages, StageView{"exposure", &rs.Height})
		if v.Basis, err = risk.ReadBasis(ctx, db); err != nil {
			return nil, err
		}
	}
	ls, err := label.ReadStats(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, s := range ls.Sources {
		sv := SourceView{Name: s.Name, Kind: s.Kind, Labels: s.Labels, Imported: s.Imported.UTC().Format(time.RFC3339)}
		if n := len(s.Publications); n > 0 {
			sv.Latest = s.Publications[n-1]
		}
		v.Sources = append(v.Sources, sv)
	}
	return v, nil
}

// Sanctions returns the labels on address s itself (not its entity's)
// that put it on a sanctions list on date at.
func Sanctions(ctx context.Context, db *index.DB, s string, at time.Time) ([]label.View, error) {
	vs, err := label.ShowAddress(ctx, db, s, at)
	if err != nil {
		return nil, err
	}
	out := vs[:0]
	for _, v := range vs {
		if v.Via == "address" && (risk.Concepts[v.Category] == risk.Sanction || risk.Concepts[v.Abuse] == risk.Sanction) {
			out = append(out, v)
		}
	}
	return out, nil
}
