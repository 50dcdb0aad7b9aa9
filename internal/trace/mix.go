package trace

import (
	"slices"
	"sort"

	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
)

// How a CoinJoin's tainted participant was told apart (CoinJoin.Method).
const (
	MixCluster = "cluster"      // outputs of the tainted inputs' entity
	MixChange  = "change match" // change = inputs − a set of denominations − fees
	MixNone    = "none"         // nothing attributable: all uncertain
)

// maxMixDenoms bounds the distinct denominations whose subsets change
// matching tries (2^n sums); Wasabi 1 has at most 11 levels.
const maxMixDenoms = 12

// mixTol is how far a participant's inputs may exceed its matched outputs
// (coordinator fee, at most 0.3% of the mixed sats in Wasabi 1, and the
// miner fee share).
func mixTol(mixed int64) int64 { return mixed*4/1000 + 300_000 }

// subsetSum is a sum of distinct denominations (bit k: denomination k).
type subsetSum struct {
	d    int64
	mask uint32
}

// vout is a participant's output in a CoinJoin as the split sees it: one
// certain output, or a share of a set of outputs it cannot tell apart.
type vout struct {
	val   int64
	pos   int   // output order: index of the (first) output
	one   int   // the certain output, or -1
	set   []int // else: outputs sharing the taint by value
	taint int64
}

// mixSplit shares the taint at a CoinJoin's inputs participant by
// participant (see the package documentation, "CoinJoins"). The inputs'
// values and taint are w.inVal and w.inTaint; it writes the certain taint
// of each output to w.outT, the uncertain taint to w.outU, and returns the
// taint paid as fee and how the participants were told apart.
func (w *walker) mixSplit(policy Policy, tx *coinjoin.Tx) (fee int64, method string, err error) {
	n := len(tx.Outs)
	w.outU = append(w.outU[:0], make([]int64, n)...)
	inEnt := make([]uint64, len(tx.Ins))
	groups := map[uint64]bool{}
	var order []uint64
	for i, in := range tx.Ins {
		if inEnt[i], err = w.entity(in.Addr); err != nil {
			return 0, "", err
		}
		if w.inTaint[i] > 0 && !groups[inEnt[i]] {
			groups[inEnt[i]] = true
			order = append(order, inEnt[i])
		}
	}
	outEnt := make([]uint64, n)
	count := map[int64]int{}
	for j, o := range tx.Outs {
		if outEnt[j], err = w.entity(o.Addr); err != nil {
			return 0, "", err
		}
		count[w.outVal[j]]++
	}
	denoms, sums := denominations(count)
	first := map[int64]int{}
	for j := n - 1; j >= 0; j-- {
		first[w.outVal[j]] = j
	}
	method = MixNone
	var pv, pt []int64
	for _, g := range order {
		pv, pt = pv[:0], pt[:0]
		var s int64
		for i := range tx.Ins {
			if inEnt[i] == g {
				pv = append(pv, w.inVal[i])
				pt = append(pt, w.inTaint[i])
				s += max(w.inVal[i], 0)
			}
		}
		var vo []vout
		var owned int64
		for j := range tx.Outs {
			if outEnt[j] == g && w.outVal[j] > 0 {
				vo = append(vo, vout{val: w.outVal[j], pos: j, one: j})
				owned += w.outVal[j]
			}
		}
		if len(vo) > 0 {
			method = MixCluster
			// The rest of the participant's sats went to outputs clustering
			// does not attribute: uncertain, over all the others.
			if rest := s - owned; rest > 0 {
				var set []int
				for j := range tx.Outs {
					if outEnt[j] != g {
						set = append(set, j)
					}
				}
				vo = append(vo, vout{val: rest, pos: n, one: -1, set: set})
			}
		} else if c, m, ok := matchChange(s, w.outVal, count, sums); ok {
			if method == MixNone {
				method = MixChange
			}
			if c >= 0 {
				vo = append(vo, vout{val: w.outVal[c], pos: c, one: c})
			}
			for k, d := range denoms {
				if m&(1<<k) == 0 {
					continue
				}
				var set []int
				for j := range tx.Outs {
					if w.outVal[j] == d {
						set = append(set, j)
					}
				}
				vo = append(vo, vout{val: d, pos: first[d], one: -1, set: set})
			}
		} else {
			all := make([]int, n)
			for j := range all {
				all[j] = j
			}
			vo = append(vo, vout{val: s, pos: 0, one: -1, set: all})
		}
		sort.SliceStable(vo, func(a, b int) bool { return vo[a].pos < vo[b].pos })
		vv := make([]int64, len(vo))
		vt := make([]int64, len(vo))
		for k := range vo {
			vv[k] = vo[k].val
		}
		fee += Distribute(policy, pv, pt, vv, vt)
		for k, x := range vo {
			if vt[k] == 0 {
				continue
			}
			if x.one >= 0 {
				w.outT[x.one] += vt[k]
				continue
			}
			fee += spread(vt[k], x.set, w.outVal, w.outU)
		}
	}
	// Two participants cannot put more taint on an output than its value.
	fee += capTaint(w.outVal, w.outT, w.outU)
	return fee, method, nil
}

// denominations returns a CoinJoin's denominations (values of at least
// two outputs, by output value counts), in increasing order, and their
// subset sums in increasing order (none when there are more than
// maxMixDenoms).
func denominations(count map[int64]int) (denoms []int64, sums []subsetSum) {
	for v, c := range count {
		if c >= 2 && v > 0 {
			denoms = append(denoms, v)
		}
	}
	slices.Sort(denoms)
	if len(denoms) <= maxMixDenoms {
		sums = subsetSums(denoms)
	}
	return denoms, sums
}

// subsetSums returns every non-empty subset sum of denoms, in increasing
// order.
func subsetSums(denoms []int64) []subsetSum {
	var sums []subsetSum
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
	return sums
}

// capTaint keeps each slot's certain plus uncertain taint within its
// value, cutting the uncertain first, and returns the taint cut.
func capTaint(val, certain, uncertain []int64) (cut int64) {
	for j := range certain {
		if over := certain[j] + uncertain[j] - max(val[j], 0); over > 0 {
			c := min(over, uncertain[j])
			uncertain[j] -= c
			certain[j] -= over - c
			cut += over
		}
	}
	return cut
}

// spread shares t over the outputs of set by value (rounded down),
// adding to u, and returns the rounding.
func spread(t int64, set []int, outVal, u []int64) int64 {
	var tot int64
	for _, j := range set {
		tot += max(outVal[j], 0)
	}
	if tot == 0 {
		return t
	}
	left := t
	for _, j := range set {
		v := max(outVal[j], 0)
		q := mulDiv(t, v, max(tot, t))
		u[j] += q
		left -= q
	}
	return left
}

// matchChange finds a participant's outputs from its inputs' total s: a
// change output c (a value only one output has; -1 for none) and a set of
// denominations, one output each, with s − c − Σ set within mixTol. It
// answers only when exactly one change candidate fits.
func matchChange(s int64, outVal []int64, count map[int64]int, sums []subsetSum) (int, uint32, bool) {
	if len(sums) == 0 {
		return 0, 0, false
	}
	best, bestMask, found := -2, uint32(0), 0
	try := func(c int, cv int64) {
		rest := s - cv
		// The largest sum ≤ rest, then check it is within tolerance.
		i := sort.Search(len(sums), func(i int) bool { return sums[i].d > rest }) - 1
		if i < 0 || rest-sums[i].d > mixTol(sums[i].d) {
			return
		}
		found++
		best, bestMask = c, sums[i].mask
	}
	try(-1, 0)
	for j, v := range outVal {
		if v > 0 && v < s && count[v] == 1 {
			try(j, v)
		}
	}
	if found != 1 {
		return 0, 0, false
	}
	return best, bestMask, true
}

func sortSums(s []subsetSum) {
	sort.Slice(s, func(a, b int) bool { return s[a].d < s[b].d })
}
