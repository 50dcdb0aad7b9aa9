package cluster

import (
	"cmp"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
)

// refuseReason is the evidence byte of a refused co-spend: a
// coinjoin.InputVerdict, or reasonInvestigator.
const reasonInvestigator = 0x80

// RefuseReason names why a co-spend was refused.
func RefuseReason(e Evidence) string {
	if e == reasonInvestigator {
		return "investigator"
	}
	if s := coinjoin.InputVerdict(e).String(); s != "" {
		return s
	}
	return "unknown"
}

// rootInput is an input's entity (forest root) and address.
type rootInput struct {
	root uint32
	addr btc.AddrID
}

// coSpend applies the multi-input heuristic to tx (not a CoinJoin): every
// input address joins the first, unless the input-structure tests or an
// investigator refuse the transaction, in which case one refused record
// names the two largest entities it would have joined. It reports whether
// the co-spend was refused.
func (e *engine) coSpend(tx *coinjoin.Tx, ov override) bool {
	if len(tx.Ins) < 2 {
		return false // nothing to merge
	}
	s, a, b := e.inputStructure(tx)
	if s.Entities < 2 {
		return false // one entity already: nothing to merge or refuse
	}
	var why Evidence
	switch ov {
	case ovReject:
		why = reasonInvestigator
	case ovAccept:
	default:
		rules := e.cfg.inputRules()
		why = Evidence(rules.Judge(tx, s, e.cfg.on()))
	}
	if why != 0 {
		m := mergeRecord{A: a, B: b, Heuristic: MultiInput, Evidence: why, Confidence: 100,
			SizeA: s.Largest, SizeB: s.Second, Entities: uint32(s.Entities), Established: uint32(s.Established)}
		e.b.Set(keyMerge(pRefused, tx.Num, e.seq), m.encode(true))
		e.seq++
		e.st.Refused++
		e.sum.Refused++
		e.sum.RefusedCoSpends++
		return true
	}
	first := btc.NoAddr
	for i := range tx.Ins {
		x := tx.Ins[i].Addr
		if x == btc.NoAddr {
			continue
		}
		if first == btc.NoAddr {
			first = x
			continue
		}
		e.link(tx.Num, first, x, MultiInput, 0, 1, 0)
	}
	return false
}

// inputStructure reports the entities tx's inputs belong to before tx, and
// an input address of the largest and of the second largest (ties: the
// smaller entity id first, so every run names the same).
func (e *engine) inputStructure(tx *coinjoin.Tx) (coinjoin.InputStructure, btc.AddrID, btc.AddrID) {
	var s coinjoin.InputStructure
	r := e.roots[:0]
	for i := range tx.Ins {
		if a := tx.Ins[i].Addr; a != btc.NoAddr {
			r = append(r, rootInput{root: e.f.Find(uint32(a)), addr: a})
		}
	}
	slices.SortFunc(r, func(x, y rootInput) int {
		return cmp.Or(cmp.Compare(x.root, y.root), cmp.Compare(x.addr, y.addr))
	})
	e.roots = r
	a, b := btc.NoAddr, btc.NoAddr
	for i := range r {
		if i > 0 && r[i].root == r[i-1].root {
			continue
		}
		s.Entities++
		size := e.f.Size(r[i].root)
		if size >= e.cfg.EstablishedSize {
			s.Established++
		}
		switch {
		case size > s.Largest || a == btc.NoAddr:
			s.Second, b = s.Largest, a
			s.Largest, a = size, r[i].addr
		case size > s.Second || b == btc.NoAddr:
			s.Second, b = size, r[i].addr
		}
	}
	return s, a, b
}
