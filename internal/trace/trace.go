package trace

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// Taint is a number of tainted sats sitting on one output.
type Taint struct {
	Out  btc.OutRef
	Sats btc.Amount
}

// Direction is the way a trace walks.
type Direction uint8

const (
	// Forward follows taint to the transactions that spend it.
	Forward Direction = iota
	// Backward follows an output to the outputs that funded it: where
	// the funds came from (package documentation, "Backward").
	Backward
)

func (d Direction) String() string {
	if d == Backward {
		return "backward"
	}
	return "forward"
}

// Defaults of Options.
const (
	DefaultMaxHops = 50
	DefaultMinSats = 1000
	DefaultPaths   = 3
	DefaultMaxTxs  = 2_000_000

	DefaultMaxAddresses = 100
	DefaultDetail       = 100
)

// Options configure a trace. The zero value is usable: EnsureDefaults
// fills it.
type Options struct {
	Policy    Policy    // default FIFO
	Direction Direction // default Forward
	// MaxHops: outputs more than this many transactions from the source
	// are recorded but not followed (default 50).
	MaxHops int
	// MinSats: a tainted output carrying fewer sats is recorded but not
	// followed (default 1,000; 1 follows everything).
	MinSats btc.Amount
	// After, Before: only transactions with block time in [After, Before)
	// are followed; taint spent outside is counted as outside the window.
	// Zero means unbounded.
	After, Before time.Time
	// Stop names the cash-out points: an output of an entity for which Stop
	// returns true is a cash-out and is not followed. Nil stops nowhere.
	// StopAt(label.Services(…)) is the usual value.
	Stop func(entity uint64) (label.Service, bool)
	// Perpetrators are entities followed even when Stop names them.
	Perpetrators []uint64
	// Paths is how many example paths to keep per entity (default 3).
	Paths int
	// MaxAddresses is how many addresses to list per entity, most sats
	// first (default 100); all of them count in the entity's numbers.
	MaxAddresses int
	// MaxTxs bounds the transactions a trace reads (default 2,000,000);
	// taint still pending then is counted as truncated.
	MaxTxs int
	// FollowCoinJoins follows the taint a CoinJoin's split cannot
	// attribute (shared over outputs that cannot be told apart) as if it
	// were certain; by default it is counted in Totals.CoinJoin and not
	// followed.
	FollowCoinJoins bool
	// Detail is how many entities, in Result order (cash-out points
	// first, then most sats), get address strings and example paths,
	// which cost a store read each (default 100; negative: all).
	Detail int
	// Graph builds Result.Graph (a txid read per transaction with taint).
	Graph bool
}

// EnsureDefaults fills zero fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.MaxHops <= 0 {
		o.MaxHops = DefaultMaxHops
	}
	if o.MinSats <= 0 {
		o.MinSats = DefaultMinSats
	}
	if o.Paths <= 0 {
		o.Paths = DefaultPaths
	}
	if o.MaxAddresses <= 0 {
		o.MaxAddresses = DefaultMaxAddresses
	}
	if o.Detail == 0 {
		o.Detail = DefaultDetail
	}
	if o.MaxTxs <= 0 {
		o.MaxTxs = DefaultMaxTxs
	}
	return o
}

// StopAt returns a Stop function over a label.Services map.
func StopAt(services map[uint64]label.Service) func(uint64) (label.Service, bool) {
	return func(e uint64) (label.Service, bool) {
		s, ok := services[e]
		return s, ok
	}
}

// txHeap is a min-heap of pending transaction numbers: taint only flows to
// larger numbers, so a transaction popped in order has all its taint.
type txHeap []btc.TxNum

func (h txHeap) Len() int           { return len(h) }
func (h txHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h txHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *txHeap) Push(x any)        { *h = append(*h, x.(btc.TxNum)) }
func (h *txHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// pending is the taint waiting at the inputs of one transaction.
type pending struct {
	vin        []uint32
	sats       []int64
	hop        int32 // hops of the spent outputs (min over inputs)
	maxHop     int32
	parent     btc.TxNum // the transaction of the largest tainted input
	parentSats int64
}

type arrival struct {
	out  btc.OutRef
	sats int64
	via  btc.TxNum // backward: the transaction that spent out
}

type addrAcc struct {
	n                       int   // arrivals
	sats                    int64 // received from outside (see takeOwn)
	cashed, held, untracked int64
	beyond                  int64 // beyond the indexed range
	minHop, maxHop          int32
	first, last             uint32
}

type entAcc struct {
	addrAcc
	addrs    map[btc.AddrID]*addrAcc
	svc      label.Service
	cashOut  bool
	perp     bool
	examples []arrival // largest arrivals, at most Options.Paths
}

// add records an arrival of which sats are newly received.
func (a *addrAcc) add(sats int64, hop int32, t uint32) {
	if a.n == 0 {
		a.minHop, a.maxHop, a.first, a.last = hop, hop, t, t
	}
	a.n++
	a.sats += sats
	a.minHop, a.maxHop = min(a.minHop, hop), max(a.maxHop, hop)
	if t != 0 && (a.first == 0 || t < a.first) {
		a.first = t
	}
	a.last = max(a.last, t)
}

type edge struct {
	tx       btc.TxNum
	from, to uint64
	sats     int64
}

type peelRun struct {
	txs   []btc.TxNum
	rest  []uint32 // the remainder vout of each
	peels int64    // tainted sats peeled off
	start int64    // tainted sats entering the first
}

// walker is one trace's state.
type walker struct {
	ctx   context.Context
	db    *index.DB
	res   *cluster.Resolver // nil: the store is not clustered
	opts  Options
	back  bool // opts.Direction == Backward
	perps map[uint64]bool

	heap    txHeap
	pend    map[btc.TxNum]*pending
	parent  map[btc.TxNum]btc.TxNum // every transaction processed → its parent
	hops    map[btc.TxNum]int32
	entOf   map[btc.AddrID]uint64
	svcOf   map[uint64]*entAcc
	ents    map[uint64]*entAcc
	times   map[btc.Height]uint32
	peelOf  map[btc.TxNum]int // peel-shaped tx → index in peels
	peels   []peelRun
	edges   []edge
	cjs     []CoinJoin
	totals  Totals
	visited int

	// ownEnt, ownAddr: the taint the transaction being processed takes
	// from each entity and address (forward its inputs', backward its
	// outputs'); taint landing back on them is not received anew.
	ownEnt  map[uint64]int64
	ownAddr map[btc.AddrID]int64

	tx                                 coinjoin.Tx
	inVal, inTaint, outVal, outT, outU []int64
}

// Trace follows the tainted sats of src through the chain under
// opts.Policy and reports where they went.
func Trace(ctx context.Context, db *index.DB, src []Taint, opts Options) (*Result, error) {
	opts.EnsureDefaults()
	if opts.Direction > Backward {
		return nil, fmt.Errorf("trace: unknown direction %d", opts.Direction)
	}
	if int(opts.Policy) >= len(policyNames) {
		return nil, fmt.Errorf("%w: %d", ErrPolicy, opts.Policy)
	}
	start := time.Now()
	w := &walker{ctx: ctx, db: db, opts: opts, back: opts.Direction == Backward, perps: map[uint64]bool{},
		pend: map[btc.TxNum]*pending{}, parent: map[btc.TxNum]btc.TxNum{}, hops: map[btc.TxNum]int32{},
		entOf: map[btc.AddrID]uint64{}, svcOf: map[uint64]*entAcc{}, ents: map[uint64]*entAcc{},
		times: map[btc.Height]uint32{}, peelOf: map[btc.TxNum]int{},
		ownEnt: map[uint64]int64{}, ownAddr: map[btc.AddrID]int64{}}
	for _, p := range opts.Perpetrators {
		w.perps[p] = true
	}
	var err error
	if w.res, err = cluster.NewResolver(db); err != nil && !errors.Is(err, cluster.ErrNotClustered) {
		return nil, fmt.Errorf("trace: %w", err)
	}
	sources, err := w.seed(src)
	if err != nil {
		return nil, err
	}
	if err := w.run(); err != nil {
		return nil, err
	}
	res, err := w.result(sources)
	if err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start).Seconds()
	return res, nil
}

// seed puts the sources' taint on the inputs that spend them (backward:
// on their own transactions' outputs).
func (w *walker) seed(src []Taint) ([]SourceOut, error) {
	var out []SourceOut
	seen := map[btc.OutRef]bool{}
	for _, s := range src {
		if seen[s.Out] {
			continue
		}
		seen[s.Out] = true
		if err := w.db.ReadTx(s.Out.Tx(), &w.tx); err != nil {
			return nil, fmt.Errorf("trace: source %s: %w", s.Out, err)
		}
		if int(s.Out.Vout()) >= len(w.tx.Outs) {
			return nil, fmt.Errorf("%w: output %s does not exist", ErrSource, s.Out)
		}
		o := w.tx.Outs[s.Out.Vout()]
		sats := min(int64(s.Sats), int64(o.Value))
		if sats <= 0 {
			continue
		}
		w.totals.Source += sats
		ent, err := w.entity(o.Addr)
		if err != nil {
			return nil, err
		}
		out = append(out, SourceOut{ref: s.Out, addr: o.Addr, Entity: ent, Sats: sats})
		// Sources are followed whoever holds them (a theft's source is the
		// victim's, often a service, output; an exchange deposit's funds
		// came from elsewhere).
		if w.back {
			w.enqueue(s.Out.Tx(), s.Out.Vout(), sats, 0, int64(o.Value), noParent)
		} else if err := w.follow(s.Out, o.Addr, sats, 0, int64(o.Value)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (w *walker) entity(a btc.AddrID) (uint64, error) {
	if a == btc.NoAddr {
		return uint64(btc.NoAddr), nil
	}
	if e, ok := w.entOf[a]; ok {
		return e, nil
	}
	e := uint64(a) // unclustered: every address alone
	if w.res != nil {
		var err error
		if e, err = w.res.EntityOf(a); err != nil {
			return 0, fmt.Errorf("trace: entity of address %d: %w", a, err)
		}
	}
	w.entOf[a] = e
	return e, nil
}

// blockTime returns the block time of transaction num at height h.
func (w *walker) blockTime(num btc.TxNum, h btc.Height) (uint32, error) {
	if num >= index.DetachedBase {
		// A standalone block is not on the best chain at its height.
		t, err := w.db.TxUnixTime(num)
		if err != nil {
			return 0, fmt.Errorf("trace: time of standalone tx %d: %w", num, err)
		}
		return t, nil
	}
	if t, ok := w.times[h]; ok {
		return t, nil
	}
	b, err := w.db.ChainBlock(h)
	if err != nil {
		return 0, fmt.Errorf("trace: block %d: %w", h, err)
	}
	w.times[h] = b.Time
	return b.Time, nil
}

// follow moves sats of taint on output ref (of hop hop) on to the input
// that spends it, or records why it stops there.
func (w *walker) follow(ref btc.OutRef, a btc.AddrID, sats int64, hop int32, value int64) error {
	in, spent, err := w.db.Spend(ref)
	if err != nil {
		return fmt.Errorf("trace: spend of %s: %w", ref, err)
	}
	switch spent {
	case index.Unspent:
		w.totals.Held += sats
		w.mark(a, sats, func(x *addrAcc) { x.held += sats })
		return nil
	case index.SpendUnknown:
		// A standalone block's output: the blocks after it are not
		// indexed, so it may be spent there; not "held".
		w.totals.Beyond += sats
		w.mark(a, sats, func(x *addrAcc) { x.beyond += sats })
		return nil
	}
	if w.limited(a, sats, hop) {
		return nil
	}
	w.enqueue(in.Tx(), in.Vin(), sats, hop, value, ref.Tx())
	return nil
}

// limited reports whether sats of taint at address a, hop hops from the
// sources, are too few (sources excepted) or too far to walk on, and
// counts them so.
func (w *walker) limited(a btc.AddrID, sats int64, hop int32) bool {
	if hop > 0 && sats < int64(w.opts.MinSats) {
		w.totals.BelowMin += sats
		w.mark(a, sats, func(x *addrAcc) { x.untracked += sats })
		return true
	}
	if int(hop) >= w.opts.MaxHops {
		w.totals.BeyondHops += sats
		w.mark(a, sats, func(x *addrAcc) { x.untracked += sats })
		return true
	}
	return false
}

// enqueue adds sats of taint (of hop hop) to slot slot of transaction
// num's pending taint: forward the input that spends it, backward the
// output it sits on (of value value). from is the transaction the taint
// comes from (backward: the later one that spent the output; noParent
// for a source).
func (w *walker) enqueue(num btc.TxNum, slot uint32, sats int64, hop int32, value int64, from btc.TxNum) {
	p := w.pend[num]
	if p == nil {
		if _, done := w.parent[num]; done {
			// Only an overlapping source can arrive after its spender ran.
			w.totals.Overlap += sats
			return
		}
		p = &pending{hop: hop, maxHop: hop}
		key := num
		if w.back {
			p.parent, key = noParent, ^num
		}
		w.pend[num] = p
		heap.Push(&w.heap, key)
	}
	for i, v := range p.vin {
		if v == slot {
			// Two sources on one output: taint cannot exceed the value.
			add := min(sats, value-p.sats[i])
			w.totals.Overlap += sats - add
			p.sats[i] += add
			sats = add
			goto parent
		}
	}
	p.vin = append(p.vin, slot)
	p.sats = append(p.sats, sats)
parent:
	p.hop, p.maxHop = min(p.hop, hop), max(p.maxHop, hop)
	if from != noParent && sats > p.parentSats {
		p.parent, p.parentSats = from, sats
	}
}

// mark adds to the per-address stop counters of address a's entity, if the
// address was reached (sources' own addresses are not).
func (w *walker) mark(a btc.AddrID, sats int64, fn func(*addrAcc)) {
	e, ok := w.entOf[a]
	if !ok {
		return
	}
	ea := w.ents[e]
	if ea == nil {
		return
	}
	x := ea.addrs[a]
	if x == nil {
		return
	}
	fn(x)
	fn(&ea.addrAcc)
}

func (w *walker) run() error {
	for w.heap.Len() > 0 {
		num := heap.Pop(&w.heap).(btc.TxNum)
		if w.back {
			num = ^num
		}
		p := w.pend[num]
		delete(w.pend, num)
		if w.visited >= w.opts.MaxTxs {
			for _, s := range p.sats {
				w.totals.Truncated += s
			}
			continue
		}
		w.visited++
		if w.visited%1024 == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		process := w.process
		if w.back {
			process = w.processBack
		}
		if err := process(num, p); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) inWindow(t uint32) bool {
	if t == 0 {
		return true
	}
	if !w.opts.After.IsZero() && int64(t) < w.opts.After.Unix() {
		return false
	}
	return w.opts.Before.IsZero() || int64(t) < w.opts.Before.Unix()
}

// open reads transaction num into w.tx and returns its block time and
// pending taint, recording its parent and hop; ok is false when it is
// outside the window (its taint counted so).
func (w *walker) open(num btc.TxNum, p *pending) (t uint32, taint int64, hop int32, ok bool, err error) {
	if err := w.db.ReadTx(num, &w.tx); err != nil {
		return 0, 0, 0, false, fmt.Errorf("trace: %w", err)
	}
	if t, err = w.blockTime(num, w.tx.Height); err != nil {
		return 0, 0, 0, false, err
	}
	for _, s := range p.sats {
		taint += s
	}
	if !w.inWindow(t) {
		w.totals.OutsideWindow += taint
		return t, taint, 0, false, nil
	}
	hop = p.hop + 1
	w.parent[num] = p.parent
	w.hops[num] = hop
	return t, taint, hop, true, nil
}

// load fills w.inVal and w.outVal with tx's values and w.inTaint and
// w.outT with p's taint, on the inputs forward and on the outputs
// backward, and returns the entity of the address holding most of it.
func (w *walker) load(tx *coinjoin.Tx, p *pending) (uint64, error) {
	w.inVal, w.inTaint = w.inVal[:0], w.inTaint[:0]
	for _, in := range tx.Ins {
		w.inVal = append(w.inVal, int64(in.Value))
		w.inTaint = append(w.inTaint, 0)
	}
	w.outVal, w.outT = w.outVal[:0], w.outT[:0]
	for _, o := range tx.Outs {
		w.outVal = append(w.outVal, int64(o.Value))
		w.outT = append(w.outT, 0)
	}
	var a btc.AddrID = btc.NoAddr
	var big int64
	// Reuse the maps, but not one grown by a huge transaction: clearing
	// costs its capacity every time.
	if len(w.ownEnt) > 1024 || len(w.ownAddr) > 1024 {
		w.ownEnt, w.ownAddr = map[uint64]int64{}, map[btc.AddrID]int64{}
	}
	clear(w.ownEnt)
	clear(w.ownAddr)
	for i, v := range p.vin {
		var at btc.AddrID
		if w.back {
			w.outT[v] += p.sats[i]
			at = tx.Outs[v].Addr
		} else {
			w.inTaint[v] += p.sats[i]
			at = tx.Ins[v].Addr
		}
		if p.sats[i] > big {
			big, a = p.sats[i], at
		}
		e, err := w.entity(at)
		if err != nil {
			return 0, err
		}
		w.ownEnt[e] += p.sats[i]
		w.ownAddr[at] += p.sats[i]
	}
	return w.entity(a)
}

// takeOwn returns how much of s sats landing on k is new to k: taint k
// gave the transaction (pool[k]) comes back first and is used up.
func takeOwn[K comparable](pool map[K]int64, k K, s int64) (fresh int64) {
	own := min(pool[k], s)
	if own <= 0 {
		return s
	}
	pool[k] -= own
	return s - own
}

// split shares transaction num's loaded taint (taint sats, hop hop) over
// the other side: forward to w.outT, backward to w.inTaint. A CoinJoin is
// split participant by participant and recorded; other transactions go by
// the policy. It returns the taint that reaches neither side: forward the
// fee's, backward the unattributable.
func (w *walker) split(num btc.TxNum, tx *coinjoin.Tx, taint int64, hop int32) (int64, error) {
	policy := w.opts.Policy
	// Every CoinJoin rule needs at least 2 inputs and 3 outputs: smaller
	// transactions skip the stored verdict's read.
	v := coinjoin.Detect(tx)
	if v.Kind == coinjoin.NotCoinJoin && len(tx.Ins) >= 2 && len(tx.Outs) >= 3 {
		var err error
		if v, err = cluster.TxNote(w.db, num); err != nil {
			return 0, fmt.Errorf("trace: coinjoin note of tx %d: %w", num, err)
		}
	}
	if v.Kind == coinjoin.NotCoinJoin {
		if w.back {
			return DistributeBack(policy, w.inVal, w.outVal, w.outT, w.inTaint), nil
		}
		return Distribute(policy, w.inVal, w.inTaint, w.outVal, w.outT), nil
	}
	mix := w.mixSplit
	if w.back {
		mix = w.mixSplitBack
	}
	rest, method, err := mix(policy, tx)
	if err != nil {
		return 0, err
	}
	dst := w.outT
	if w.back {
		dst = w.inTaint
	}
	c := CoinJoin{num: num, Kind: v.Kind.String(), Denomination: int64(v.Denomination),
		Participants: v.Participants, TaintIn: taint, Hop: int(hop), Method: method}
	for j := range w.outU {
		c.Certain += dst[j]
		if u := w.outU[j]; u > 0 {
			c.Uncertain += u
			c.UncertainOutputs++
			if w.opts.FollowCoinJoins {
				dst[j] += u
			} else {
				w.totals.CoinJoin += u
			}
		}
	}
	w.cjs = append(w.cjs, c)
	return rest, nil
}

// process distributes the pending taint of transaction num over its
// outputs and follows each tainted output.
func (w *walker) process(num btc.TxNum, p *pending) error {
	t, tIn, hop, ok, err := w.open(num, p)
	if err != nil || !ok {
		return err
	}
	tx := &w.tx
	fromEnt, err := w.load(tx, p)
	if err != nil {
		return err
	}
	fee, err := w.split(num, tx, tIn, hop)
	if err != nil {
		return err
	}
	w.totals.Fee += fee
	w.peel(num, tx, p, tIn)

	outT := w.outT
	for j, o := range tx.Outs {
		s := outT[j]
		if s <= 0 {
			continue
		}
		ref := btc.MakeOutRef(num, uint32(j))
		if o.Addr == btc.NoAddr {
			w.totals.NoAddress += s
			continue
		}
		cashOut, err := w.land(num, o.Addr, fromEnt, s, hop, t, ref)
		if err != nil {
			return err
		}
		if cashOut {
			continue
		}
		if err := w.follow(ref, o.Addr, s, hop, int64(o.Value)); err != nil {
			return err
		}
	}
	return nil
}

// land records s sats of transaction num's taint arriving at address a on
// output ref, and its edge with entity other (forward the sender,
// backward the receiver); it reports whether a's entity is a cash-out
// point (counting the sats so there).
func (w *walker) land(num btc.TxNum, a btc.AddrID, other uint64, s int64, hop int32, t uint32, ref btc.OutRef) (cashOut bool, err error) {
	ent, err := w.entity(a)
	if err != nil {
		return false, err
	}
	e := edge{tx: num, from: other, to: ent, sats: s}
	var via btc.TxNum
	if w.back {
		// A backward path runs through the transaction that spent ref.
		e.from, e.to, via = ent, other, num
	}
	w.edges = append(w.edges, e)
	ea := w.reach(ent, a, s, hop, t, ref, via)
	if ea.cashOut {
		w.totals.CashedOut += s
		ea.cashed += s
		ea.addrs[a].cashed += s
		return true, nil
	}
	return false, nil
}

// reach records sats arriving at address a of entity e.
// via is, backward, the transaction that spent ref.
func (w *walker) reach(e uint64, a btc.AddrID, sats int64, hop int32, t uint32, ref btc.OutRef, via btc.TxNum) *entAcc {
	ea := w.ents[e]
	if ea == nil {
		ea = &entAcc{addrs: map[btc.AddrID]*addrAcc{}, perp: w.perps[e]}
		if w.opts.Stop != nil {
			ea.svc, ea.cashOut = w.opts.Stop(e)
			ea.cashOut = ea.cashOut && !ea.perp
		}
		w.ents[e] = ea
	}
	// Received: only what is new to the entity (address); its own taint
	// coming back (change, a self-transfer, a peel's remainder) was
	// received already.
	ea.add(takeOwn(w.ownEnt, e, sats), hop, t)
	x := ea.addrs[a]
	if x == nil {
		x = &addrAcc{}
		ea.addrs[a] = x
	}
	x.add(takeOwn(w.ownAddr, a, sats), hop, t)
	// Keep the largest arrivals as evidence.
	if len(ea.examples) < w.opts.Paths {
		ea.examples = append(ea.examples, arrival{out: ref, sats: sats, via: via})
	} else {
		k := 0
		for i := range ea.examples {
			if ea.examples[i].sats < ea.examples[k].sats {
				k = i
			}
		}
		if sats > ea.examples[k].sats {
			ea.examples[k] = arrival{out: ref, sats: sats, via: via}
		}
	}
	return ea
}

// PeelShare is the largest share of a transaction's outputs the smaller
// output may have for the transaction to count as a peel.
const PeelShare = 0.25

// peelShape reports whether tx has a peel chain link's shape (1–2 inputs,
// 2 outputs, the smaller at most PeelShare of both) and which output is
// the remainder.
func peelShape(tx *coinjoin.Tx) (rest uint32, ok bool) {
	if len(tx.Ins) < 1 || len(tx.Ins) > 2 || len(tx.Outs) != 2 {
		return 0, false
	}
	a, b := int64(tx.Outs[0].Value), int64(tx.Outs[1].Value)
	if a <= 0 || b <= 0 {
		return 0, false
	}
	if a < b {
		a, b, rest = b, a, 1
	}
	return rest, float64(b) <= PeelShare*float64(a+b)
}

// peel extends or starts a peel run when tx has the shape, continuing the
// run whose remainder it spends.
func (w *walker) peel(num btc.TxNum, tx *coinjoin.Tx, p *pending, tIn int64) {
	rest, ok := peelShape(tx)
	if !ok {
		return
	}
	k := -1
	for _, v := range p.vin {
		prev := tx.Ins[v].Prev
		if i, ok := w.peelOf[prev.Tx()]; ok {
			r := &w.peels[i]
			if r.txs[len(r.txs)-1] == prev.Tx() && r.rest[len(r.rest)-1] == prev.Vout() {
				k = i
				break
			}
		}
	}
	if k < 0 {
		w.peels = append(w.peels, peelRun{start: tIn})
		k = len(w.peels) - 1
	}
	r := &w.peels[k]
	r.txs = append(r.txs, num)
	r.rest = append(r.rest, rest)
	r.peels += w.outT[1-rest]
	w.peelOf[num] = k
}
