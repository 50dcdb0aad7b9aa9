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
	var tIn, vIn, vOut int64
	for i := range inVal {
		v, t := clampIn(inVal[i], inTaint[i])
		tIn += t
		vIn += v
	}
	for j := range outVal {
		out[j] = 0
		vOut += max(outVal[j], 0)
	}
	if tIn == 0 {
		return 0
	}
	switch p {
	case Poison:
		for j, v := range outVal {
			out[j] = max(v, 0)
		}
		return max(vIn-vOut, 0)
	case Haircut:
		// The denominator is at least the outputs' total so that no
		// output exceeds its value when input values are unknown.
		den := max(vIn, vOut)
		var sum int64
		for j, v := range outVal {
			if v <= 0 {
				continue
			}
			hi, lo := bits.Mul64(uint64(tIn), uint64(v))
			q, _ := bits.Div64(hi, lo, uint64(den))
			out[j] = int64(q)
			sum += out[j]
		}
		return tIn - sum
	case FIFO, LIFO:
		return stream(p == LIFO, inVal, inTaint, outVal, out, tIn)
	case TIHO:
		order := make([]int, 0, len(outVal))
		for j := range outVal {
			order = append(order, j)
		}
		sort.SliceStable(order, func(a, b int) bool { return outVal[order[a]] > outVal[order[b]] })
		left := tIn
		for _, j := range order {
			if left == 0 {
				break
			}
			t := min(left, max(outVal[j], 0))
			out[j] = t
			left -= t
		}
		return left
	}
	panic(fmt.Sprintf("trace: unknown policy %d", p))
}

func clampIn(v, t int64) (int64, int64) {
	v = max(v, 0)
	return v, min(max(t, 0), v)
}

// stream implements FIFO (and LIFO when reverse): the inputs' sats form a
// line, each input contributing its tainted sats then its clean sats; the
// outputs in order take consecutive stretches of it. An output's taint is
// its stretch's overlap with the tainted parts. Linear in inputs+outputs.
func stream(reverse bool, inVal, inTaint, outVal, out []int64, tIn int64) int64 {
	n := len(inVal)
	in := func(k int) (int64, int64) {
		if reverse {
			k = n - 1 - k
		}
		return clampIn(inVal[k], inTaint[k])
	}
	// Walk inputs (segment [pos, pos+v) with its first t tainted) and
	// outputs (segment [opos, opos+outVal[j])) together.
	var sum int64
	k, j := 0, 0
	var pos, opos int64
	v, t := int64(0), int64(0)
	if n > 0 {
		v, t = in(0)
	}
	for j < len(outVal) && k < n {
		ov := max(outVal[j], 0)
		oEnd := opos + ov
		iEnd := pos + v
		// The tainted part of input k is [pos, pos+t).
		lo, hi := max(opos, pos), min(oEnd, pos+t)
		if hi > lo {
			out[j] += hi - lo
			sum += hi - lo
		}
		if oEnd <= iEnd {
			j++
			opos = oEnd
			if oEnd == iEnd {
				k++
				pos = iEnd
				if k < n {
					v, t = in(k)
				}
			}
		} else {
			k++
			pos = iEnd
			if k < n {
				v, t = in(k)
			}
		}
	}
	return tIn - sum
}
