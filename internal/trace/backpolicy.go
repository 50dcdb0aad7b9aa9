package trace

import (
	"math/bits"
	"sort"
)

// DistributeBack is Distribute's mirror for backward tracing: it shares
// the tainted sats of one transaction's outputs among its inputs, i.e.
// says which inputs the outputs' tainted sats came from. inVal[i] is input
// i's value, outVal[j] output j's value and outTaint[j] its tainted sats;
// it writes input i's share to in[i] (in must have len(inVal)) and returns
// the tainted sats it cannot attribute to any input (only when the known
// input values fall short of what the mirror needs, e.g. inputs of unknown
// value, or FIFO/LIFO positions past the end of the input stream).
//
// Inputs are sanitised as in Distribute: a negative value counts as 0 and
// a taint is clamped to [0, value]. For every policy but Poison, in[i] is
// in [0, inVal[i]], the return value is >= 0 and Σin + returned ==
// Σ clamped outTaint (conservation). The mirrors:
//
//   - FIFO: the outputs in order form a stream, each output's tainted sats
//     before its clean sats (as the forward direction puts an input's
//     tainted sats first); the stream is laid over the inputs in order,
//     and each input gets the tainted positions that fall within it. With
//     a whole output tainted, input i's share is exactly what forward FIFO
//     moves from a wholly tainted input i to that output. The fee sits at
//     the end of the input stream, so the last inputs are the ones that
//     paid it.
//   - LIFO: the same with the inputs taken last first (the first outputs
//     came from the last input), mirroring forward LIFO.
//   - Haircut: each input gets tainted × its value / all input sats
//     (fee included: the fee is paid by every input in proportion, as the
//     outputs are, so the shares sum to the whole taint); the rounding
//     (fewer sats than inputs) goes one sat each to the inputs in order
//     that have room. When the known input sats are fewer than the
//     outputs' (unknown inputs) the denominator is the outputs' total and
//     the difference is returned as unattributed.
//   - TIHO: the tainted sats are attributed to the inputs from the highest
//     value down (equal values: lower index first), each up to its value.
//   - Poison: if any output is tainted, every input is, in full (in[i] =
//     inVal[i]); returns 0. It creates taint.
func DistributeBack(p Policy, inVal, outVal, outTaint, in []int64) (rest int64) {
	var tOut, vIn, vOut int64
	for j := range outVal {
		v, t := clampIn(outVal[j], outTaint[j])
		tOut += t
		vOut += v
	}
	for i := range inVal {
		in[i] = 0
		vIn += max(inVal[i], 0)
	}
	if tOut == 0 {
		return 0
	}
	switch p {
	case Poison:
		for i, v := range inVal {
			in[i] = max(v, 0)
		}
		return 0
	case Haircut:
		den := max(vIn, vOut)
		var sum int64
		for i, v := range inVal {
			if v <= 0 {
				continue
			}
			hi, lo := bits.Mul64(uint64(tOut), uint64(v))
			q, _ := bits.Div64(hi, lo, uint64(den))
			in[i] = int64(q)
			sum += in[i]
		}
		// Attributable: all of it when the inputs cover the outputs, else
		// the inputs' part of it.
		want := tOut
		if vIn < vOut {
			hi, lo := bits.Mul64(uint64(tOut), uint64(vIn))
			q, _ := bits.Div64(hi, lo, uint64(vOut))
			want = int64(q)
		}
		for i := 0; sum < want && i < len(inVal); i++ {
			if in[i] < max(inVal[i], 0) {
				in[i]++
				sum++
			}
		}
		return tOut - sum
	case FIFO, LIFO:
		return streamBack(p == LIFO, inVal, outVal, outTaint, in, tOut)
	case TIHO:
		order := make([]int, 0, len(inVal))
		for i := range inVal {
			order = append(order, i)
		}
		sort.SliceStable(order, func(a, b int) bool { return inVal[order[a]] > inVal[order[b]] })
		left := tOut
		for _, i := range order {
			if left == 0 {
				break
			}
			t := min(left, max(inVal[i], 0))
			in[i] = t
			left -= t
		}
		return left
	}
	panic("trace: unknown policy")
}

// streamBack implements the FIFO (LIFO when reverse) mirror: output j's
// tainted stretch [O_j, O_j+t_j) of the output stream is laid over the
// input stream; input i gets its overlap. Linear in inputs+outputs.
func streamBack(reverse bool, inVal, outVal, outTaint, in []int64, tOut int64) int64 {
	n := len(inVal)
	idx := func(k int) int {
		if reverse {
			return n - 1 - k
		}
		return k
	}
	var sum int64
	k := 0
	var pos int64 // start of input idx(k) in the input stream
	var opos int64
	for j := range outVal {
		v, t := clampIn(outVal[j], outTaint[j])
		lo, hi := opos, opos+t
		opos += v
		for hi > lo && k < n {
			iv := max(inVal[idx(k)], 0)
			iEnd := pos + iv
			if iEnd <= lo {
				k++
				pos = iEnd
				continue
			}
			a, b := max(lo, pos), min(hi, iEnd)
			if b > a {
				in[idx(k)] += b - a
				sum += b - a
			}
			if iEnd >= hi {
				break
			}
			k++
			pos = iEnd
		}
	}
	return tOut - sum
}
