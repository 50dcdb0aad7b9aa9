package cluster

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Investigators' overrides. An investigator who knows better than the
// heuristics can reject a transaction's merges (it was collaborative),
// accept a co-spend the tests refused (it was one wallet), or merge two
// addresses outright (an exchange's own statement, a court record). Each
// decision is stored with who made it, why and when, in keyspace 3E, which
// a rebuild does not clear; transactions are named by txid and addresses
// by address key, so decisions survive reorgs and rebuilds. The clustering
// applies them as part of its input: a decision about the past reclusters
// from the block it concerns, so the store equals a fresh run with the
// same decisions (C1).

// Manual is the heuristic of an investigator's merge.
const Manual Heuristic = 3

// OverrideKind names an investigator's decision.
type OverrideKind byte

const (
	Reject OverrideKind = 'r' // the transaction's merges are refused
	Accept OverrideKind = 'a' // the transaction's co-spend merges, whatever the tests say
	Join   OverrideKind = 'm' // two addresses are one entity
)

func (k OverrideKind) String() string {
	switch k {
	case Reject:
		return "reject"
	case Accept:
		return "accept"
	case Join:
		return "merge"
	}
	return fmt.Sprintf("override(%d)", byte(k))
}

// Override is one stored decision.
type Override struct {
	Kind OverrideKind `json:"-"`
	// TxID names the transaction of a Reject or Accept.
	TxID btc.Hash `json:"-"`
	// A and B are the address keys of a merge.
	A, B   address.Key `json:"-"`
	By     string      `json:"by"`
	Reason string      `json:"reason"`
	Time   time.Time   `json:"time"`
}

// ErrOverride is returned (wrapped) for a decision that cannot be taken.
var ErrOverride = errors.New("cluster: override")

type override uint8

const (
	ovNone override = iota
	ovReject
	ovAccept
)

// manualMerge is a stored merge resolved to address ids: applied once the
// later of its two addresses has appeared.
type manualMerge struct {
	a, b btc.AddrID
}

func (m manualMerge) at() btc.AddrID { return max(m.a, m.b) }

// overrides are the stored decisions resolved against the index.
type overrides struct {
	tx     map[btc.TxNum]override
	merges []manualMerge // by at()
	next   int           // merges[:next] are applied
}

func (o *Override) key() []byte {
	k := []byte{pOverride, byte(o.Kind)}
	if o.Kind == Join {
		var e encoding.Encbuf
		a, b := o.A.Bytes(), o.B.Bytes()
		if bytes.Compare(a, b) > 0 {
			a, b = b, a
		}
		e.PutUvarintBytes(a)
		e.PutUvarintBytes(b)
		return append(k, e.Get()...)
	}
	return append(k, o.TxID[:]...)
}

func (o *Override) encode() []byte {
	var e encoding.Encbuf
	e.PutUvarintBytes([]byte(o.By))
	e.PutUvarintBytes([]byte(o.Reason))
	e.PutVarint(o.Time.Unix())
	return e.Get()
}

func decodeOverride(k, v []byte) (Override, error) {
	var o Override
	if len(k) < 2 {
		return o, corrupt("override", fmt.Errorf("key %x", k))
	}
	o.Kind = OverrideKind(k[1])
	switch o.Kind {
	case Reject, Accept:
		if len(k) != 2+32 {
			return o, corrupt("override", fmt.Errorf("key %x", k))
		}
		copy(o.TxID[:], k[2:])
	case Join:
		d := encoding.Decbuf{B: k[2:]}
		a, b := d.UvarintBytes(), d.UvarintBytes()
		if d.Err() != nil {
			return o, corrupt("override", fmt.Errorf("key %x", k))
		}
		var err error
		if o.A, err = address.KeyFromBytes(a); err != nil {
			return o, corrupt("override", err)
		}
		if o.B, err = address.KeyFromBytes(b); err != nil {
			return o, corrupt("override", err)
		}
	default:
		return o, corrupt("override", fmt.Errorf("kind %q", k[1]))
	}
	d := encoding.Decbuf{B: v}
	o.By = string(d.UvarintBytes())
	o.Reason = string(d.UvarintBytes())
	o.Time = time.Unix(d.Varint(), 0).UTC()
	if d.Err() != nil {
		return o, corrupt("override", d.Err())
	}
	return o, nil
}

// Overrides calls fn with every stored decision.
func Overrides(ctx context.Context, db *index.DB, fn func(*Override) error) error {
	return db.StageScan(ctx, []byte{pOverride}, []byte{pOverride + 1}, func(k, v []byte) (bool, error) {
		o, err := decodeOverride(k, v)
		if err != nil {
			return false, err
		}
		return true, fn(&o)
	})
}

// loadOverrides resolves the stored decisions against the index: txids to
// transaction numbers, address keys to ids. Decisions about what the index
// does not hold (yet) wait.
func (e *engine) loadOverrides(ctx context.Context) error {
	e.ov = overrides{tx: map[btc.TxNum]override{}}
	err := Overrides(ctx, e.db, func(o *Override) error {
		switch o.Kind {
		case Reject, Accept:
			num, err := e.db.TxNum(o.TxID)
			if errors.Is(err, index.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			e.ov.tx[num] = ovAccept
			if o.Kind == Reject {
				e.ov.tx[num] = ovReject
			}
		case Join:
			a, err := e.db.AddrIDOfKey(o.A)
			if errors.Is(err, index.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			b, err := e.db.AddrIDOfKey(o.B)
			if errors.Is(err, index.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			e.ov.merges = append(e.ov.merges, manualMerge{a: a, b: b})
		}
		return nil
	})
	slices.SortFunc(e.ov.merges, func(x, y manualMerge) int {
		return cmp.Or(cmp.Compare(x.at(), y.at()), cmp.Compare(min(x.a, x.b), min(y.a, y.b)))
	})
	return err
}

// manualSeq is the first merge-log sequence number of the manual merges
// logged after a transaction's own.
const manualSeq = 1 << 31

// applyManual applies the pending manual merges whose addresses have both
// appeared (ids below seen), logging them after transaction last.
func (e *engine) applyManual(last btc.TxNum, seen btc.AddrID) {
	seq := uint32(manualSeq)
	for ; e.ov.next < len(e.ov.merges) && e.ov.merges[e.ov.next].at() < seen; e.ov.next++ {
		m := e.ov.merges[e.ov.next]
		e.seq = seq
		e.link(last, m.a, m.b, Manual, 0, 1, 0)
		seq = max(seq, e.seq)
	}
}

// SetOverride stores a decision and brings the clustering up to date with
// it: a decision about an indexed transaction or addresses reclusters from
// the block it concerns. It fails (ErrOverride) without a reason, or when
// the transaction or an address is not indexed. Accepting a transaction
// nothing refused changes nothing but is recorded.
func SetOverride(ctx context.Context, db *index.DB, o Override, opts Options) (Summary, error) {
	if strings.TrimSpace(o.Reason) == "" {
		return Summary{}, fmt.Errorf("%w: a reason is required", ErrOverride)
	}
	if o.Time.IsZero() {
		o.Time = time.Now().UTC()
	}
	from, err := overrideFrom(ctx, db, &o)
	if err != nil {
		return Summary{}, err
	}
	b := db.NewStageBatch()
	defer b.Close()
	if o.Kind == Reject || o.Kind == Accept {
		other := o
		other.Kind = Reject + Accept - o.Kind
		b.Delete(other.key())
	}
	b.Set(o.key(), o.encode())
	if err := b.Commit(); err != nil {
		return Summary{}, fmt.Errorf("cluster: store override: %w", err)
	}
	opts.reclusterFrom = &from
	return Update(ctx, db, opts)
}

// RemoveOverride deletes a stored decision and reclusters from the block
// it concerned.
func RemoveOverride(ctx context.Context, db *index.DB, o Override, opts Options) (Summary, error) {
	v, err := db.StageGet(o.key())
	if err != nil {
		return Summary{}, err
	}
	if v == nil {
		return Summary{}, fmt.Errorf("%w: no %s decision stored for that subject", ErrOverride, o.Kind)
	}
	from, err := overrideFrom(ctx, db, &o)
	if err != nil {
		return Summary{}, err
	}
	b := db.NewStageBatch()
	defer b.Close()
	b.Delete(o.key())
	if err := b.Commit(); err != nil {
		return Summary{}, fmt.Errorf("cluster: remove override: %w", err)
	}
	opts.reclusterFrom = &from
	return Update(ctx, db, opts)
}

// overrideFrom returns the first transaction whose clustering a decision
// changes: the transaction itself, or the one where the later of two
// merged addresses first appears.
func overrideFrom(ctx context.Context, db *index.DB, o *Override) (btc.TxNum, error) {
	switch o.Kind {
	case Reject, Accept:
		num, err := db.TxNum(o.TxID)
		if errors.Is(err, index.ErrNotFound) {
			return 0, fmt.Errorf("%w: transaction %s is not indexed", ErrOverride, o.TxID)
		}
		return num, err
	case Join:
		var first [2]btc.TxNum
		for i, k := range []address.Key{o.A, o.B} {
			id, err := db.AddrIDOfKey(k)
			if errors.Is(err, index.ErrNotFound) {
				return 0, fmt.Errorf("%w: address %d of the merge is not indexed", ErrOverride, i+1)
			}
			if err != nil {
				return 0, err
			}
			first[i] = ^btc.TxNum(0)
			err = db.AddrTxNums(id, func(n btc.TxNum) bool { first[i] = min(first[i], n); return true })
			if err != nil {
				return 0, err
			}
		}
		if o.A == o.B {
			return 0, fmt.Errorf("%w: an address cannot be merged with itself", ErrOverride)
		}
		return max(first[0], first[1]), nil
	}
	return 0, fmt.Errorf("%w: unknown kind %q", ErrOverride, byte(o.Kind))
}

// Split separates addresses a and b: while they share an entity, it
// rejects the transaction of the latest merge on the path between them
// and reclusters. It returns the transactions it rejected. At most
// maxSplitRounds rounds: a pair joined through more independent paths
// than that is left joined, with an error saying so.
func Split(ctx context.Context, db *index.DB, a, b btc.AddrID, by, reason string, opts Options) ([]btc.Hash, error) {
	const maxSplitRounds = 32
	var rejected []btc.Hash
	for range maxSplitRounds {
		steps, err := Explain(ctx, db, a, b, 0)
		if errors.Is(err, ErrNotJoined) {
			return rejected, nil
		}
		if err != nil {
			return rejected, err
		}
		if len(steps) == 0 {
			return rejected, fmt.Errorf("%w: an address cannot be split from itself", ErrOverride)
		}
		latest := steps[0]
		for _, s := range steps[1:] {
			if s.num > latest.num || (s.num == latest.num && s.seq > latest.seq) {
				latest = s
			}
		}
		if latest.Heuristic == Manual.String() {
			return rejected, fmt.Errorf("%w: %s and %s are joined by an investigator's merge; remove it instead", ErrOverride, latest.FromAddr, latest.ToAddr)
		}
		id, err := db.TxID(latest.num)
		if err != nil {
			return rejected, err
		}
		if _, err := SetOverride(ctx, db, Override{Kind: Reject, TxID: id, By: by, Reason: reason}, opts); err != nil {
			return rejected, err
		}
		rejected = append(rejected, id)
	}
	return rejected, fmt.Errorf("%w: still joined after rejecting %d transactions", ErrOverride, len(rejected))
}
