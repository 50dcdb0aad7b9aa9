package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// ErrNotClustered is returned by lookups on a store that was never
// clustered.
var ErrNotClustered = errors.New("no clustering in this store (run sleuth cluster)")

// ErrNotJoined is returned by Explain when the two addresses are in
// different entities.
var ErrNotJoined = errors.New("not in the same entity")

// Status is the stored clustering's state.
type Status struct {
	Config  string `json:"config"`
	Height  int64  `json:"height"`
	Merges  uint64 `json:"merges"`
	Refused uint64 `json:"refused"`
	Dirty   bool   `json:"dirty"`
	// Cfg is the stored configuration itself.
	Cfg Config `json:"-"`
}

// ReadStatus returns the stored clustering's state.
func ReadStatus(db *index.DB) (Status, error) {
	st, err := readState(db)
	if err != nil {
		return Status{}, err
	}
	var c Config
	if err := c.decode(st.Config); err != nil {
		return Status{}, err
	}
	return Status{Config: c.String(), Height: st.Height, Merges: st.Merges, Refused: st.Refused, Dirty: st.Dirty, Cfg: c}, nil
}

func readState(db *index.DB) (state, error) {
	var st state
	v, err := db.StageGet([]byte{pState})
	if err != nil {
		return st, err
	}
	if v == nil {
		return st, ErrNotClustered
	}
	return st, st.decode(v)
}

// EntityOf returns the entity id of address a: the smallest address id of
// its entity (a itself when a is alone).
func EntityOf(db *index.DB, a btc.AddrID) (uint64, error) {
	e, err := EntityOrSelf(db, a)
	if err == nil && e == uint64(a) {
		if _, err := readState(db); err != nil {
			return 0, err
		}
	}
	return e, err
}

// EntityOrSelf returns the entity id of address a as EntityOf does, but
// without checking that the store was ever clustered: a itself when no
// entity is recorded for it (alone, or not clustered yet). One point
// read; screening uses it, since it answers a unclustered address with
// its own id anyway, and the clustering state's record costs a read of
// its own on every singleton address (half the addresses of a chain).
func EntityOrSelf(db *index.DB, a btc.AddrID) (uint64, error) {
	v, err := db.StageGet(key64(pEntityOf, uint64(a)))
	if err != nil || v == nil {
		return uint64(a), err
	}
	x, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, corrupt("entity of", fmt.Errorf("address %d", a))
	}
	return x, nil
}

// Resolver maps addresses to entities with one point read each: the
// clustering's state is checked once, by NewResolver, not per singleton
// address as EntityOf does. Recent answers are cached (up to
// ResolverCache addresses). A Resolver is not safe for concurrent use and
// must not outlive a reclustering of the store.
type Resolver struct {
	db    *index.DB
	cache map[btc.AddrID]uint64
	key   []byte
}

// ResolverCache bounds a Resolver's cache; it is emptied when full.
const ResolverCache = 1 << 20

// NewResolver returns a Resolver over db, or ErrNotClustered.
func NewResolver(db *index.DB) (*Resolver, error) {
	if _, err := readState(db); err != nil {
		return nil, err
	}
	return &Resolver{db: db, cache: map[btc.AddrID]uint64{}}, nil
}

// EntityOf returns the entity id of address a, as EntityOf does.
func (r *Resolver) EntityOf(a btc.AddrID) (uint64, error) {
	if e, ok := r.cache[a]; ok {
		return e, nil
	}
	r.key = append(r.key[:0], pEntityOf)
	r.key = binary.BigEndian.AppendUint64(r.key, uint64(a))
	v, err := r.db.StageGet(r.key)
	if err != nil {
		return 0, err
	}
	e := uint64(a)
	if v != nil {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			return 0, corrupt("entity of", fmt.Errorf("address %d", a))
		}
		e = x
	}
	if len(r.cache) >= ResolverCache {
		clear(r.cache)
	}
	r.cache[a] = e
	return e, nil
}

// Size returns the number of addresses of entity id (an entity id as
// EntityOf returns it).
func Size(db *index.DB, id uint64) (uint64, error) {
	v, err := db.StageGet(key64(pEntity, id))
	if err != nil || v == nil {
		return 1, err
	}
	x, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, corrupt("entity", fmt.Errorf("entity %d", id))
	}
	return x, nil
}

// Members calls fn with the addresses of entity id in id order, starting
// after address after (0 and first=true for the start).
func Members(ctx context.Context, db *index.DB, id uint64, after btc.AddrID, first bool, fn func(btc.AddrID) bool) error {
	size, err := Size(db, id)
	if err != nil {
		return err
	}
	if size == 1 {
		if first || btc.AddrID(id) > after {
			fn(btc.AddrID(id))
		}
		return nil
	}
	lo := key64x2(pMember, id, 0)
	if !first {
		lo = key64x2(pMember, id, uint64(after)+1)
	}
	return db.StageScan(ctx, lo, key64(pMember, id+1), func(k, _ []byte) (bool, error) {
		return fn(btc.AddrID(be64(k[9:]))), nil
	})
}

// EntityView is the answer of `sleuth entity`.
type EntityView struct {
	ID          uint64  `json:"id"`
	RootAddress string  `json:"root_address"` // the entity's oldest address (its id's address)
	Size        uint64  `json:"size"`
	Balance     *int64  `json:"balance"` // null when a spend's value is unknown
	Received    int64   `json:"received"`
	Sent        *int64  `json:"sent"`
	TxCount     uint64  `json:"tx_count"`
	FirstSeen   *string `json:"first_seen"`
	LastSeen    *string `json:"last_seen"`
	// CoinJoinParticipant: an address of the entity was an input of a
	// transaction detected as a CoinJoin; CoinJoinTxs counts them.
	CoinJoinParticipant bool   `json:"coinjoin_participant"`
	CoinJoinTxs         uint64 `json:"coinjoin_txs"`
}

// Entity returns the view of entity id. An id that was merged into an
// older entity resolves to that entity (ids are address ids).
func Entity(ctx context.Context, db *index.DB, id uint64) (*EntityView, error) {
	if id >= uint64(db.Tip().NextAddr) && id < uint64(btc.NoAddr) {
		return nil, fmt.Errorf("entity %d: %w", id, index.ErrNotFound)
	}
	root, err := EntityOf(db, btc.AddrID(id))
	if err != nil {
		return nil, err
	}
	v := &EntityView{ID: root}
	if v.RootAddress, _, err = db.AddrString(btc.AddrID(root)); err != nil {
		return nil, err
	}
	var received, sent, unknown uint64
	var txs []btc.TxNum
	var cjs []btc.TxNum
	first, last := btc.TxNum(0), btc.TxNum(0)
	seen := false
	var ierr error
	err = Members(ctx, db, root, 0, true, func(a btc.AddrID) bool {
		v.Size++
		t, err := db.AddrTotals(a)
		if err != nil {
			ierr = err
			return false
		}
		received += t.Received
		sent += t.Sent
		unknown += t.Unknown
		if t.TxCount > 0 {
			if !seen || t.First < first {
				first = t.First
			}
			if !seen || t.Last > last {
				last = t.Last
			}
			seen = true
		}
		if ierr = db.AddrTxNums(a, func(n btc.TxNum) bool { txs = append(txs, n); return true }); ierr != nil {
			return false
		}
		lo := key64(pMixer, uint64(a))
		ierr = db.StageScan(ctx, lo, key64(pMixer, uint64(a)+1), func(k, _ []byte) (bool, error) {
			cjs = append(cjs, btc.TxNum(be64(k[9:])))
			return true, nil
		})
		return ierr == nil && ctx.Err() == nil
	})
	if err == nil {
		err = ierr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(txs)
	v.TxCount = uint64(len(slices.Compact(txs)))
	slices.Sort(cjs)
	v.CoinJoinTxs = uint64(len(slices.Compact(cjs)))
	v.CoinJoinParticipant = v.CoinJoinTxs > 0
	v.Received = int64(received)
	if unknown == 0 {
		s, b := int64(sent), int64(received)-int64(sent)
		v.Sent, v.Balance = &s, &b
	}
	if seen {
		f, err := db.TxTime(first)
		if err != nil {
			return nil, err
		}
		l, err := db.TxTime(last)
		if err != nil {
			return nil, err
		}
		v.FirstSeen, v.LastSeen = &f, &l
	}
	return v, nil
}

// Step is one merge on the path between two addresses.
type Step struct {
	From       btc.AddrID `json:"-"`
	To         btc.AddrID `json:"-"`
	FromAddr   string     `json:"from"`
	ToAddr     string     `json:"to"`
	TxID       string     `json:"txid"`
	Height     *int64     `json:"height"`
	Heuristic  string     `json:"heuristic"`
	Evidence   string     `json:"evidence,omitempty"`
	Confidence float64    `json:"confidence"`
	// ChangeOutput is "txid:vout" of the output judged to be change.
	ChangeOutput string `json:"change_output,omitempty"`
	// By and Reason are an investigator's, for a manual merge (which
	// has no transaction: TxID is empty, Height the block after which
	// it was applied).
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`

	num btc.TxNum // the merge's place in the log
	seq uint32
}

// Explain returns the merges that joined addresses a and b, in order from
// a to b: the path between them in the forest of merges (each merge joined
// two entities, so the path is unique). maxVisit bounds the addresses the
// search may visit (0: no bound).
func Explain(ctx context.Context, db *index.DB, a, b btc.AddrID, maxVisit int) ([]Step, error) {
	if st, err := readState(db); err == nil && st.AdjFrom != 0 {
		// An interrupted bulk run: its merges' adjacency is not written yet.
		return nil, fmt.Errorf("explain: %w: its last run did not finish", ErrNotClustered)
	}
	ea, err := EntityOf(db, a)
	if err != nil {
		return nil, err
	}
	eb, err := EntityOf(db, b)
	if err != nil {
		return nil, err
	}
	if ea != eb {
		return nil, fmt.Errorf("entities %d and %d: %w", ea, eb, ErrNotJoined)
	}
	if a == b {
		return nil, nil
	}
	type edge struct {
		prev btc.AddrID
		tx   btc.TxNum
		seq  uint32
	}
	via := map[btc.AddrID]edge{a: {prev: a}}
	queue := []btc.AddrID{a}
	var m mergeRecord
	for len(queue) > 0 {
		if maxVisit > 0 && len(via) > maxVisit {
			return nil, fmt.Errorf("explain: gave up after visiting %d addresses", maxVisit)
		}
		x := queue[0]
		queue = queue[1:]
		lo := key64(pAdj, uint64(x))
		err := db.StageScan(ctx, lo, key64(pAdj, uint64(x)+1), func(k, _ []byte) (bool, error) {
			tx, seq := btc.TxNum(be64(k[9:])), bytesBE32(k[17:])
			v, err := db.StageGet(keyMerge(pMerge, tx, seq))
			if err != nil {
				return false, err
			}
			if v == nil {
				return false, corrupt("adjacency", fmt.Errorf("merge %d/%d missing", tx, seq))
			}
			if err := m.decode(v, false); err != nil {
				return false, err
			}
			y := m.B
			if y == x {
				y = m.A
			}
			if _, ok := via[y]; !ok {
				via[y] = edge{prev: x, tx: tx, seq: seq}
				queue = append(queue, y)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		if _, ok := via[b]; ok {
			break
		}
	}
	if _, ok := via[b]; !ok {
		return nil, corrupt("merge log", fmt.Errorf("addresses %d and %d share entity %d but no merge path joins them", a, b, ea))
	}
	var steps []Step
	for y := b; y != a; {
		ed := via[y]
		s, err := stepOf(db, ed.prev, y, ed.tx, ed.seq)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
		y = ed.prev
	}
	slices.Reverse(steps)
	return steps, nil
}

func stepOf(db *index.DB, from, to btc.AddrID, tx btc.TxNum, seq uint32) (Step, error) {
	v, err := db.StageGet(keyMerge(pMerge, tx, seq))
	if err != nil {
		return Step{}, err
	}
	var m mergeRecord
	if err := m.decode(v, false); err != nil {
		return Step{}, err
	}
	s := Step{From: from, To: to, Heuristic: m.Heuristic.String(), Confidence: float64(m.Confidence) / 100, num: tx, seq: seq}
	if m.Heuristic == Change {
		s.Evidence = m.Evidence.String()
		id, err := db.TxID(m.ChangeOut.Tx())
		if err != nil {
			return s, err
		}
		s.ChangeOutput = fmt.Sprintf("%s:%d", id, m.ChangeOut.Vout())
	}
	if s.FromAddr, _, err = db.AddrString(from); err != nil {
		return s, err
	}
	if s.ToAddr, _, err = db.AddrString(to); err != nil {
		return s, err
	}
	var t coinjoin.Tx
	if err := db.ReadTx(tx, &t); err != nil {
		return s, err
	}
	if m.Heuristic == Manual {
		if err := manualStep(db, &s, m.A, m.B); err != nil {
			return s, err
		}
	} else {
		id, err := db.TxID(tx)
		if err != nil {
			return s, err
		}
		s.TxID = id.String()
	}
	if tx < index.DetachedBase || t.Height != index.NoHeight {
		h := int64(t.Height)
		s.Height = &h
	}
	return s, nil
}

// manualStep fills in who merged a and b, and why.
func manualStep(db *index.DB, s *Step, a, b btc.AddrID) error {
	o := Override{Kind: Join}
	var err error
	if o.A, err = db.AddrKey(a); err != nil {
		return err
	}
	if o.B, err = db.AddrKey(b); err != nil {
		return err
	}
	v, err := db.StageGet(o.key())
	if err != nil || v == nil {
		return err
	}
	stored, err := decodeOverride(o.key(), v)
	if err != nil {
		return err
	}
	s.By, s.Reason = stored.By, stored.Reason
	return nil
}

// TxNote returns the CoinJoin verdict stored for transaction num.
func TxNote(db *index.DB, num btc.TxNum) (coinjoin.Verdict, error) {
	v, err := db.StageGet(key64(pTxNote, uint64(num)))
	if err != nil || v == nil {
		return coinjoin.Verdict{}, err
	}
	return decodeNote(v)
}

func decodeNote(v []byte) (coinjoin.Verdict, error) {
	d := encoding.Decbuf{B: v}
	out := coinjoin.Verdict{Kind: coinjoin.Kind(d.Byte()), Denomination: btc.Amount(d.Uvarint()), Participants: int(d.Uvarint())}
	if d.Err() != nil {
		return out, corrupt("tx note", d.Err())
	}
	return out, nil
}

// Merge is one logged merge, for evaluation and export.
type Merge struct {
	Tx         btc.TxNum
	A, B       btc.AddrID
	Heuristic  Heuristic
	Evidence   Evidence
	Confidence float64
	ChangeOut  btc.OutRef
}

// Merges calls fn with every logged merge in the order applied.
func Merges(ctx context.Context, db *index.DB, fn func(*Merge) error) error {
	var m mergeRecord
	var out Merge
	return db.StageScan(ctx, []byte{pMerge}, []byte{pMerge + 1}, func(k, v []byte) (bool, error) {
		if err := m.decode(v, false); err != nil {
			return false, err
		}
		out = Merge{Tx: btc.TxNum(be64(k[1:])), A: m.A, B: m.B, Heuristic: m.Heuristic, Evidence: m.Evidence,
			Confidence: float64(m.Confidence) / 100, ChangeOut: m.ChangeOut}
		return true, fn(&out)
	})
}

// RefusedMerge is a link that was refused: a change link or a co-spend
// (the guard, the input-structure tests, or an investigator).
type RefusedMerge struct {
	Merge
	// SizeA and SizeB are the sizes of the two entities it would have
	// joined (for a co-spend: the two largest).
	SizeA, SizeB uint32
	// Entities and Established: a co-spend's distinct input entities,
	// and how many of them were established.
	Entities, Established uint32
}

// Reason names why it was refused: "guard" for a change link, else the
// co-spend's reason (RefuseReason).
func (r *RefusedMerge) Reason() string {
	if r.Heuristic == Change {
		return "guard"
	}
	return RefuseReason(r.Evidence)
}

// Refused calls fn with every refused link, in chain order.
func Refused(ctx context.Context, db *index.DB, fn func(*RefusedMerge) error) error {
	var m mergeRecord
	var out RefusedMerge
	return db.StageScan(ctx, []byte{pRefused}, []byte{pRefused + 1}, func(k, v []byte) (bool, error) {
		if err := m.decode(v, true); err != nil {
			return false, err
		}
		out = RefusedMerge{Merge: Merge{Tx: btc.TxNum(be64(k[1:])), A: m.A, B: m.B, Heuristic: m.Heuristic, Evidence: m.Evidence,
			Confidence: float64(m.Confidence) / 100, ChangeOut: m.ChangeOut},
			SizeA: m.SizeA, SizeB: m.SizeB, Entities: m.Entities, Established: m.Established}
		return true, fn(&out)
	})
}

// Load replays the merge log into a forest over every indexed address, for
// whole-chain analyses (evaluation, tracing by entity). A large forest is
// memory-mapped scratch files beside the store: Close it when done.
func Load(ctx context.Context, db *index.DB) (*Forest, error) {
	if _, err := readState(db); err != nil {
		return nil, err
	}
	f, _, err := replay(ctx, db, int(db.Tip().NextAddr))
	return f, err
}

// CoinJoins calls fn with every transaction that has a CoinJoin verdict,
// in transaction order.
func CoinJoins(ctx context.Context, db *index.DB, fn func(btc.TxNum, coinjoin.Verdict) error) error {
	return db.StageScan(ctx, []byte{pTxNote}, []byte{pTxNote + 1}, func(k, v []byte) (bool, error) {
		out, err := decodeNote(v)
		if err != nil {
			return false, err
		}
		return true, fn(btc.TxNum(be64(k[1:])), out)
	})
}

// EntitySize is an entity id and its number of addresses.
type EntitySize struct {
	ID   uint64 `json:"id"`
	Size uint64 `json:"size"`
}

// Largest returns the n largest entities, largest first (ties: smaller id
// first). It reads the size of every multi-address entity.
func Largest(ctx context.Context, db *index.DB, n int) ([]EntitySize, error) {
	if _, err := readState(db); err != nil {
		return nil, err
	}
	var top []EntitySize
	less := func(a, b EntitySize) int {
		if a.Size != b.Size {
			if a.Size > b.Size {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	}
	err := db.StageScan(ctx, []byte{pEntity}, []byte{pEntity + 1}, func(k, v []byte) (bool, error) {
		size, m := binary.Uvarint(v)
		if m <= 0 {
			return false, corrupt("entity", fmt.Errorf("size of %d", be64(k[1:])))
		}
		e := EntitySize{ID: be64(k[1:]), Size: size}
		if len(top) < n || less(e, top[len(top)-1]) < 0 {
			i, _ := slices.BinarySearchFunc(top, e, less)
			top = slices.Insert(top, i, e)
			if len(top) > n {
				top = top[:n]
			}
		}
		return true, nil
	})
	return top, err
}

// RefusedView is a refused link as users read it.
type RefusedView struct {
	TxID   string `json:"txid"`
	Height *int64 `json:"height"`
	// Kind is "change" or "multi_input"; Reason "guard",
	// "input_entities", "script_mix" or "investigator".
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	// From and To are an address of each of the two (largest) entities
	// the link would have joined, FromSize and ToSize their sizes.
	From     string `json:"from"`
	To       string `json:"to"`
	FromSize uint32 `json:"from_size"`
	ToSize   uint32 `json:"to_size"`
	// Co-spends: distinct input entities, and how many were established.
	Entities    uint32 `json:"input_entities,omitempty"`
	Established uint32 `json:"established_entities,omitempty"`
	// Change links: the agreeing heuristics, their confidence and the
	// output judged to be change.
	Evidence     string  `json:"evidence,omitempty"`
	Confidence   float64 `json:"confidence,omitempty"`
	ChangeOutput string  `json:"change_output,omitempty"`
}

// View renders r.
func (r *RefusedMerge) View(db *index.DB) (RefusedView, error) {
	v := RefusedView{Kind: r.Heuristic.String(), Reason: r.Reason(), FromSize: r.SizeA, ToSize: r.SizeB,
		Entities: r.Entities, Established: r.Established}
	id, err := db.TxID(r.Tx)
	if err != nil {
		return v, err
	}
	v.TxID = id.String()
	var t coinjoin.Tx
	if err := db.ReadTx(r.Tx, &t); err != nil {
		return v, err
	}
	if r.Tx < index.DetachedBase || t.Height != index.NoHeight {
		h := int64(t.Height)
		v.Height = &h
	}
	if v.From, _, err = db.AddrString(r.A); err != nil {
		return v, err
	}
	if v.To, _, err = db.AddrString(r.B); err != nil {
		return v, err
	}
	if r.Heuristic == Change {
		ch, err := db.TxID(r.ChangeOut.Tx())
		if err != nil {
			return v, err
		}
		v.Evidence, v.Confidence = r.Evidence.String(), r.Confidence
		v.ChangeOutput = fmt.Sprintf("%s:%d", ch, r.ChangeOut.Vout())
	}
	return v, nil
}

// RefusedBetween lists the refused links that would have joined the
// entities of addresses a and b (today's entities of the two addresses
// each link names), to explain why two addresses are apart. At most limit
// (0: all).
func RefusedBetween(ctx context.Context, db *index.DB, a, b btc.AddrID, limit int) ([]RefusedView, error) {
	r, err := NewResolver(db)
	if err != nil {
		return nil, err
	}
	ea, err := r.EntityOf(a)
	if err != nil {
		return nil, err
	}
	eb, err := r.EntityOf(b)
	if err != nil {
		return nil, err
	}
	var out []RefusedView
	errStop := errors.New("enough")
	err = Refused(ctx, db, func(m *RefusedMerge) error {
		x, err := r.EntityOf(m.A)
		if err != nil {
			return err
		}
		y, err := r.EntityOf(m.B)
		if err != nil {
			return err
		}
		if (x == ea && y == eb) || (x == eb && y == ea) {
			v, err := m.View(db)
			if err != nil {
				return err
			}
			out = append(out, v)
			if limit > 0 && len(out) >= limit {
				return errStop
			}
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}
