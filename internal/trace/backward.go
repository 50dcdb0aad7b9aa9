package trace

import (
	"container/heap"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
)

// Backward tracing (Options.Direction = Backward) walks the mirror image
// of Trace: see the package documentation, "Backward".
//
// The pending heap holds complemented transaction numbers (^num), so the
// min-heap pops the largest number first: taint only flows to smaller
// numbers, and a transaction is processed once, after all the taint on its
// outputs has arrived. pending.vin then lists output indexes, and
// pending.parent is the later transaction that took the most taint from
// this one's outputs.

// seedBack puts the sources' taint on their own transactions' outputs.
func (w *walker) seedBack(src []Taint) ([]SourceOut, error) {
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
		// Sources are walked whoever holds them (an exchange deposit's
		// funds came from elsewhere).
		w.arrive(s.Out, sats, noParent, 0, int64(o.Value))
	}
	return out, nil
}

// arrive adds sats of taint on output ref (value value) to its
// transaction's pending outputs; from is the later transaction that
// spent ref (noParent for a source), hop the hops of ref from the sources.
func (w *walker) arrive(ref btc.OutRef, sats int64, from btc.TxNum, hop int32, value int64) {
	num := ref.Tx()
	p := w.pend[num]
	if p == nil {
		if _, done := w.parent[num]; done {
			w.totals.Overlap += sats
			return
		}
		p = &pending{hop: hop, maxHop: hop, parent: noParent}
		w.pend[num] = p
		heap.Push(&w.heap, ^num)
	}
	for i, v := range p.vin {
		if v == ref.Vout() {
			add := min(sats, value-p.sats[i])
			w.totals.Overlap += sats - add
			p.sats[i] += add
			sats = add
			goto parent
		}
	}
	p.vin = append(p.vin, ref.Vout())
	p.sats = append(p.sats, sats)
parent:
	p.hop, p.maxHop = min(p.hop, hop), max(p.maxHop, hop)
	if from != noParent && sats > p.parentSats {
		p.parent, p.parentSats = from, sats
	}
}

// noParent marks a source transaction's parent in a backward walk.
const noParent = ^btc.TxNum(0)

func (w *walker) runBack() error {
	for w.heap.Len() > 0 {
		num := ^heap.Pop(&w.heap).(btc.TxNum)
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
		if err := w.processBack(num, p); err != nil {
			return err
		}
	}
	return nil
}

// processBack attributes the pending taint on transaction num's outputs
// to its inputs and walks each input's share on to the output it spent.
func (w *walker) processBack(num btc.TxNum, p *pending) error {
	if err := w.db.ReadTx(num, &w.tx); err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	tx := &w.tx
	t, err := w.blockTime(tx.Height)
	if err != nil {
		return err
	}
	var tOut int64
	for _, s := range p.sats {
		tOut += s
	}
	if !w.inWindow(t) {
		w.totals.OutsideWindow += tOut
		return nil
	}
	w.parent[num] = p.parent
	hop := p.hop + 1
	w.hops[num] = hop
	coinbase := false
	for _, in := range tx.Ins {
		coinbase = coinbase || in.Coinbase
	}
	if coinbase {
		w.totals.Mined += tOut
		return nil
	}
	w.outVal, w.outT = w.outVal[:0], w.outT[:0]
	for _, o := range tx.Outs {
		w.outVal = append(w.outVal, int64(o.Value))
		w.outT = append(w.outT, 0)
	}
	var to btc.AddrID = btc.NoAddr
	var big int64
	for i, v := range p.vin {
		w.outT[v] += p.sats[i]
		if p.sats[i] > big {
			big, to = p.sats[i], tx.Outs[v].Addr
		}
	}
	toEnt, err := w.entity(to)
	if err != nil {
		return err
	}
	w.inVal = w.inVal[:0]
	for _, in := range tx.Ins {
		w.inVal = append(w.inVal, int64(in.Value))
	}
	w.inTaint = append(w.inTaint[:0], make([]int64, len(tx.Ins))...)

	policy := w.opts.Policy
	v := coinjoin.Detect(tx)
	if v.Kind == coinjoin.NotCoinJoin && len(tx.Ins) >= 2 && len(tx.Outs) >= 3 {
		if v, err = cluster.TxNote(w.db, num); err != nil {
			return fmt.Errorf("trace: coinjoin note of tx %d: %w", num, err)
		}
	}
	var rest int64
	if v.Kind != coinjoin.NotCoinJoin {
		var method string
		if rest, method, err = w.mixSplitBack(policy, tx); err != nil {
			return err
		}
		c := CoinJoin{num: num, Kind: v.Kind.String(), Denomination: int64(v.Denomination),
			Participants: v.Participants, TaintIn: tOut, Hop: int(hop), Method: method}
		for i := range w.outU {
			c.Certain += w.inTaint[i]
			if u := w.outU[i]; u > 0 {
				c.Uncertain += u
				c.UncertainOutputs++
				if w.opts.FollowCoinJoins {
					w.inTaint[i] += u
				} else {
					w.totals.CoinJoin += u
				}
			}
		}
		w.cjs = append(w.cjs, c)
	} else {
		rest = DistributeBack(policy, w.inVal, w.outVal, w.outT, w.inTaint)
	}
	w.totals.Unknown += rest

	for i, in := range tx.Ins {
		s := w.inTaint[i]
		if s <= 0 {
			continue
		}
		if !in.Resolved {
			w.totals.Unknown += s
			continue
		}
		if in.Addr != btc.NoAddr {
			ent, err := w.entity(in.Addr)
			if err != nil {
				return err
			}
			w.edges = append(w.edges, edge{tx: num, from: ent, to: toEnt, sats: s})
			ea := w.reach(ent, in.Addr, s, hop, t, in.Prev)
			w.fixVia(ea, in.Prev, num)
			if ea.cashOut {
				w.totals.CashedOut += s
				ea.cashed += s
				ea.addrs[in.Addr].cashed += s
				continue
			}
		}
		if s < int64(w.opts.MinSats) {
			w.totals.BelowMin += s
			w.mark(in.Addr, s, func(x *addrAcc) { x.untracked += s })
			continue
		}
		if int(hop) >= w.opts.MaxHops {
			w.totals.BeyondHops += s
			w.mark(in.Addr, s, func(x *addrAcc) { x.untracked += s })
			continue
		}
		w.arrive(in.Prev, s, num, hop, max(int64(in.Value), s))
	}
	return nil
}

// fixVia records, on the example arrival at ref just kept by reach, the
// transaction that spent ref (a backward path runs through it).
func (w *walker) fixVia(ea *entAcc, ref btc.OutRef, num btc.TxNum) {
	for i := range ea.examples {
		if ea.examples[i].out == ref {
			ea.examples[i].via = num
		}
	}
}

// mixSplitBack attributes the taint on a CoinJoin's outputs (w.outT) to
// its inputs participant by participant: a participant is the inputs of
// one entity. An output is certainly a participant's when clustering puts
// it in the participant's entity, or when it is the change that change
// matching (see mixSplit) finds for exactly that participant; its taint
// then goes to that participant's inputs under the policy's mirror. The
// taint of every other output, and the taint on a participant's outputs
// beyond what its inputs can fund, is shared over all the inputs by
// haircut (over what each has left after the certain shares) and is
// uncertain. It writes the certain share of each input to
// w.inTaint, the uncertain share to w.outU (indexed by input here), and
// returns the unattributable taint.
func (w *walker) mixSplitBack(policy Policy, tx *coinjoin.Tx) (rest int64, method string, err error) {
	nIn, n := len(tx.Ins), len(tx.Outs)
	w.outU = append(w.outU[:0], make([]int64, nIn)...)
	inEnt := make([]uint64, nIn)
	part := map[uint64][]int{} // entity → its inputs
	var order []uint64
	for i, in := range tx.Ins {
		if inEnt[i], err = w.entity(in.Addr); err != nil {
			return 0, "", err
		}
		if part[inEnt[i]] == nil {
			order = append(order, inEnt[i])
		}
		part[inEnt[i]] = append(part[inEnt[i]], i)
	}
	owner := make([]int, n) // output → index in order of its participant, or -1
	count := map[int64]int{}
	for j := range owner {
		owner[j] = -1
		count[w.outVal[j]]++
	}
	method = MixNone
	for j, o := range tx.Outs {
		if w.outT[j] == 0 || o.Addr == btc.NoAddr {
			continue
		}
		e, err := w.entity(o.Addr)
		if err != nil {
			return 0, "", err
		}
		for k, g := range order {
			if g == e && e != uint64(btc.NoAddr) {
				owner[j] = k
				method = MixCluster
			}
		}
	}
	// Change matching for the participants not found by clustering.
	var denoms []int64
	for v, c := range count {
		if c >= 2 && v > 0 {
			denoms = append(denoms, v)
		}
	}
	var sums []subsetSum
	if len(denoms) <= maxMixDenoms {
		sortInt64(denoms)
		for m := uint32(1); m < 1<<len(denoms); m++ {
			var d int64
			for k := range denoms {
				if m&(1<<k) != 0 {
					d += denoms[k]
				}
			}
			sums = append(sums, subsetSum{d, m})
		}
		sortSums(sums)
	}
	changeOf := map[int]int{} // change output → participant; -1 if claimed twice
	for k, g := range order {
		var s int64
		for _, i := range part[g] {
			s += max(w.inVal[i], 0)
		}
		if c, _, ok := matchChange(s, w.outVal, count, sums); ok && c >= 0 {
			if _, dup := changeOf[c]; dup {
				changeOf[c] = -1
			} else {
				changeOf[c] = k
			}
		}
	}
	for c, k := range changeOf {
		if k >= 0 && owner[c] < 0 && w.outT[c] > 0 {
			owner[c] = k
			if method == MixNone {
				method = MixChange
			}
		}
	}
	// Certain: each participant's outputs to its inputs.
	var extra int64
	for k, g := range order {
		var ov, ot []int64
		for j := range tx.Outs {
			if owner[j] == k {
				ov = append(ov, w.outVal[j])
				ot = append(ot, w.outT[j])
			}
		}
		if len(ov) == 0 {
			continue
		}
		idx := part[g]
		pv := make([]int64, len(idx))
		pt := make([]int64, len(idx))
		for a, i := range idx {
			pv[a] = w.inVal[i]
		}
		// Taint on its outputs beyond what its inputs can fund (e.g. a
		// maker's fee, paid by others) joins the uncertain rest.
		if x := DistributeBack(policy, pv, ov, ot, pt); x > 0 {
			extra += x
		}
		for a, i := range idx {
			w.inTaint[i] += pt[a]
		}
	}
	// Uncertain: the rest by haircut over every input.
	var uv, ut []int64
	if extra > 0 {
		uv, ut = append(uv, extra), append(ut, extra)
	}
	for j := range tx.Outs {
		if owner[j] < 0 {
			uv = append(uv, w.outVal[j])
			ut = append(ut, w.outT[j])
		}
	}
	if len(uv) > 0 {
		// Over what the inputs have left after the certain attribution.
		room := make([]int64, nIn)
		for i := range room {
			room[i] = max(w.inVal[i], 0) - w.inTaint[i]
		}
		rest += DistributeBack(Haircut, room, uv, ut, w.outU)
	}
	// An input cannot have given more than its value.
	for i := range w.inTaint {
		if over := w.inTaint[i] + w.outU[i] - max(w.inVal[i], 0); over > 0 {
			cut := min(over, w.outU[i])
			w.outU[i] -= cut
			w.inTaint[i] -= over - cut
			rest += over
		}
	}
	return rest, method, nil
}

func sortInt64(s []int64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
