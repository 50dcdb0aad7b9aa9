package trace

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
	tOut, vOut, vIn := flowTotals(outVal, outTaint, inVal, in)
	if tOut == 0 {
		return 0
	}
	switch p {
	case Poison:
		poisonAll(inVal, in)
		return 0
	case Haircut:
		sum := haircutShares(tOut, max(vIn, vOut), inVal, in)
		// Attributable: all of it when the inputs cover the outputs, else
		// the inputs' part of it.
		want := tOut
		if vIn < vOut {
			want = mulDiv(tOut, vIn, vOut)
		}
		for i := 0; sum < want && i < len(inVal); i++ {
			if in[i] < max(inVal[i], 0) {
				in[i]++
				sum++
			}
		}
		return tOut - sum
	case FIFO, LIFO:
		// Output j's tainted stretch of the output stream is laid over the
		// input stream; input i gets its overlap.
		return tOut - stream(outVal, outTaint, inVal, in, false, p == LIFO)
	case TIHO:
		return fillHighest(tOut, inVal, in)
	}
	panic("trace: unknown policy")
}
