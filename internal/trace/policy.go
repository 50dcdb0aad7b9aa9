package trace

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"
)

// Policy decides how a transaction's tainted input sats are shared among
// its outputs. The package documentation defines each one exactly.
type Policy uint8

const (
	// FIFO (first in, first out; Clayton's Case): inputs in order form a
	// stream, each input's tainted sats before its clean sats; outputs in
	// order take from the stream; what is left pays the fee.
	FIFO Policy = iota
	// Haircut: every output gets the same tainted fraction,
	// tainted input sats / input sats (rounded down; the rounding goes to
	// the fee).
	Haircut
	// Poison: if any input is tainted, every output is tainted in full.
	// Totals then overstate: they are the outputs' values.
	Poison
	// LIFO (last in, first out): FIFO with the inputs taken last first:
	// the last input's sats (tainted, then clean) go to the first outputs.
	LIFO
	// TIHO (taint in highest out): the tainted sats fill the outputs from
	// the highest value down (equal values: lower index first); any excess
	// over the outputs' total pays the fee.
	TIHO
)

var policyNames = [...]string{"fifo", "haircut", "poison", "lifo", "tiho"}

func (p Policy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", p)
}

// Policies lists every policy, in the order of their constants.
var Policies = []Policy{FIFO, Haircut, Poison, LIFO, TIHO}

// ParsePolicy parses a policy name (case-insensitive).
func ParsePolicy(s string) (Policy, error) {
	for i, n := range policyNames {
		if strings.EqualFold(s, n) {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q (want fifo, haircut, poison, lifo or tiho)", ErrPolicy, s)
}

// Conserving reports whether p moves taint without creating it: the
// outputs' taint plus the fee's equals the inputs' (every policy but
// Poison).
func (p Policy) Conserving() bool { return p != Poison }

// Distribute shares the tainted sats of one transaction's inputs among its
// outputs under policy p. inVal[i] is input i's value and inTaint[i] its
// tainted sats; outVal[j] is output j's value. It writes output j's tainted
// sats to out[j] (out must have len(outVal)) and returns the tainted sats
// that pay the miner fee.
//
// Distribute is a pure function. Inputs are sanitised rather than
// rejected: a negative value (unknown) counts as 0, and a taint is clamped
// to [0, value]. For every policy but Poison, out[j] is in [0, outVal[j]],
// fee >= 0 and Σout + fee == Σ clamped inTaint (conservation). Poison
// sets out[j] = outVal[j] (or 0 when nothing is tainted) and returns as
// fee the fee itself, max(0, Σ inputs − Σ outputs).
func Distribute(p Policy, inVal, inTaint, outVal, out []int64) (fee int64) {
	tIn, vIn, vOut := flowTotals(inVal, inTaint, outVal, out)
	if tIn == 0 {
		return 0
	}
	switch p {
	case Poison:
		poisonAll(outVal, out)
		return max(vIn-vOut, 0)
	case Haircut:
		// The denominator is at least the outputs' total so that no
		// output exceeds its value when input values are unknown.
		return tIn - haircutShares(tIn, max(vIn, vOut), outVal, out)
	case FIFO, LIFO:
		return tIn - stream(inVal, inTaint, outVal, out, p == LIFO, false)
	case TIHO:
		return fillHighest(tIn, outVal, out)
	}
	panic(fmt.Sprintf("trace: unknown policy %d", p))
}

// The policies' shared steps, for both directions. Taint flows from a
// source side (values srcVal, tainted sats srcTaint) to a destination
// side (values dstVal, shares written to dst): forward from the inputs to
// the outputs, backward from the outputs to the inputs.

// flowTotals zeroes dst and returns the source side's sanitised taint and
// value and the destination side's value.
func flowTotals(srcVal, srcTaint, dstVal, dst []int64) (t, vSrc, vDst int64) {
	for i := range srcVal {
		v, ti := clampIn(srcVal[i], srcTaint[i])
		t += ti
		vSrc += v
	}
	for j := range dstVal {
		dst[j] = 0
		vDst += max(dstVal[j], 0)
	}
	return t, vSrc, vDst
}

func clampIn(v, t int64) (int64, int64) {
	v = max(v, 0)
	return v, min(max(t, 0), v)
}

// mulDiv is a*b/den rounded down, without overflowing the product.
func mulDiv(a, b, den int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(den))
	return int64(q)
}

// poisonAll taints every destination in full.
func poisonAll(dstVal, dst []int64) {
	for j, v := range dstVal {
		dst[j] = max(v, 0)
	}
}

// haircutShares gives each destination t × its value / den (rounded
// down) and returns their sum.
func haircutShares(t, den int64, dstVal, dst []int64) (sum int64) {
	for j, v := range dstVal {
		if v <= 0 {
			continue
		}
		dst[j] = mulDiv(t, v, den)
		sum += dst[j]
	}
	return sum
}

// fillHighest (TIHO) puts t on the destinations from the highest value
// down (equal values: lower index first), each up to its value, and
// returns what is left.
func fillHighest(t int64, dstVal, dst []int64) (left int64) {
	order := make([]int, 0, len(dstVal))
	for j := range dstVal {
		order = append(order, j)
	}
	sort.SliceStable(order, func(a, b int) bool { return dstVal[order[a]] > dstVal[order[b]] })
	left = t
	for _, j := range order {
		if left == 0 {
			break
		}
		x := min(left, max(dstVal[j], 0))
		dst[j] = x
		left -= x
	}
	return left
}

// stream implements FIFO and LIFO in both directions: the source side's
// sats form a line (taken last first when revSrc), each source
// contributing its tainted sats then its clean sats; the destinations
// (taken last first when revDst) take consecutive stretches of a second
// line laid from the same start. A destination's share is its stretch's
// overlap with the tainted parts; taint past the end of the destination
// line reaches none. It returns the sats shared. Linear in the sides'
// lengths.
//
// Forward: the inputs are the source (reversed for LIFO), the outputs the
// destination, and the taint left over paid the fee. Backward: the outputs
// are the source, the inputs the destination (reversed for LIFO), and the
// taint left over cannot be attributed.
func stream(srcVal, srcTaint, dstVal, dst []int64, revSrc, revDst bool) (sum int64) {
	ns, nd := len(srcVal), len(dstVal)
	at := func(k, n int, rev bool) int {
		if rev {
			return n - 1 - k
		}
		return k
	}
	k := 0
	var pos int64  // start of destination at(k) in its line
	var spos int64 // start of the current source in its line
	for a := range ns {
		i := at(a, ns, revSrc)
		v, t := clampIn(srcVal[i], srcTaint[i])
		lo, hi := spos, spos+t // its tainted stretch
		spos += v
		for hi > lo && k < nd {
			d := at(k, nd, revDst)
			end := pos + max(dstVal[d], 0)
			if end <= lo {
				k++
				pos = end
				continue
			}
			x, y := max(lo, pos), min(hi, end)
			if y > x {
				dst[d] += y - x
				sum += y - x
			}
			if end >= hi {
				break
			}
			k++
			pos = end
		}
	}
	return sum
}
