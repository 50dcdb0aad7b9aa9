package coinjoin

import (
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Distinct-address counting without allocation: a sorted set of ids in a
// buffer on the caller's stack.

const (
	smallSet = 64        // ids kept for small questions
	maxSet   = maxSorted // the most ids kept at all
)

// idSet is a sorted set of address ids held in a fixed buffer; it never
// grows past cap(ids).
type idSet struct {
	ids []btc.AddrID
}

// add inserts id and reports whether it was new. The set must not be full.
func (s *idSet) add(id btc.AddrID) bool {
	i, found := slices.BinarySearch(s.ids, id)
	if found {
		return false
	}
	n := len(s.ids)
	s.ids = s.ids[:n+1]
	copy(s.ids[i+1:], s.ids[i:n])
	s.ids[i] = id
	return true
}

func (s *idSet) full() bool { return len(s.ids) == cap(s.ids) }

// distinctInputs reports whether ins spend from at least k distinct
// addresses. An input whose address is unknown (btc.NoAddr) counts as an
// address of its own: unknown is no evidence of reuse, and a rule that
// failed whenever addresses are unknown would stop recognising CoinJoins
// in standalone blocks, whose inputs are partly unresolvable. Past maxSet
// distinct addresses the answer is yes whatever k is: no rule needs to
// tell 2,048 distinct input addresses from more.
func distinctInputs(ins []In, k int) bool {
	switch {
	case k <= 0:
		return true
	case k > len(ins):
		return false
	case k <= smallSet:
		var buf [smallSet]btc.AddrID
		return countInputs(ins, k, idSet{ids: buf[:0]})
	}
	var buf [maxSet]btc.AddrID
	return countInputs(ins, k, idSet{ids: buf[:0]})
}

func countInputs(ins []In, k int, s idSet) bool {
	n := 0
	for i := range ins {
		if a := ins[i].Addr; a == btc.NoAddr || s.add(a) {
			n++
			if n >= k {
				return true
			}
			if s.full() {
				return true // more than maxSet distinct addresses (k <= cap otherwise returned above)
			}
		}
		if n+len(ins)-i-1 < k {
			return false
		}
	}
	return false
}

// distinctOutputs reports whether no two outputs pay the same known
// address. Outputs without an address (OP_RETURN) are ignored. It is
// called only with at most maxSorted outputs and reports false beyond.
func distinctOutputs(outs []Out) bool {
	switch {
	case len(outs) <= smallSet:
		var buf [smallSet]btc.AddrID
		return outputsDistinct(outs, idSet{ids: buf[:0]})
	case len(outs) <= maxSet:
		var buf [maxSet]btc.AddrID
		return outputsDistinct(outs, idSet{ids: buf[:0]})
	}
	return false
}

func outputsDistinct(outs []Out, s idSet) bool {
	for i := range outs {
		if a := outs[i].Addr; a != btc.NoAddr && !s.add(a) {
			return false
		}
	}
	return true
}
