package trace

import (
	"github.com/sleuth-forensics/sleuth/internal/btc"
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

// noParent marks a source transaction's parent in a backward walk.
const noParent = ^btc.TxNum(0)

// processBack attributes the pending taint on transaction num's outputs
// to its inputs and walks each input's share on to the output it spent.
func (w *walker) processBack(num btc.TxNum, p *pending) error {
	t, tOut, hop, ok, err := w.open(num, p)
	if err != nil || !ok {
		return err
	}
	tx := &w.tx
	coinbase := false
	for _, in := range tx.Ins {
		coinbase = coinbase || in.Coinbase
	}
	if coinbase {
		w.totals.Mined += tOut
		return nil
	}
	toEnt, err := w.load(tx, p)
	if err != nil {
		return err
	}
	rest, err := w.split(num, tx, tOut, hop)
	if err != nil {
		return err
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
			cashOut, err := w.land(num, in.Addr, toEnt, s, hop, t, in.Prev)
			if err != nil {
				return err
			}
			if cashOut {
				continue
			}
		}
		if w.limited(in.Addr, s, hop) {
			continue
		}
		w.enqueue(in.Prev.Tx(), in.Prev.Vout(), s, hop, max(int64(in.Value), s), num)
	}
	return nil
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
	_, sums := denominations(count)
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
	rest += capTaint(w.inVal, w.inTaint, w.outU)
	return rest, method, nil
}
