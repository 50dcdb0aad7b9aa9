package trace

import (
	"fmt"
	"slices"
	"testing"
)

func TestDistributeTable(t *testing.T) {
	type tc struct {
		name                   string
		p                      Policy
		inVal, inTaint, outVal []int64
		want                   []int64
		fee                    int64
	}
	// A: two inputs 100 (60 tainted) and 50 (clean); outputs 70, 70; fee 10.
	a := func(p Policy, want []int64, fee int64) tc {
		return tc{"two-in", p, []int64{100, 50}, []int64{60, 0}, []int64{70, 70}, want, fee}
	}
	// B: clean first input, tainted second: 50 clean, 100 with 100 tainted;
	// outputs 30, 100, fee 20.
	b := func(p Policy, want []int64, fee int64) tc {
		return tc{"taint-last", p, []int64{50, 100}, []int64{0, 100}, []int64{30, 100}, want, fee}
	}
	// C: a peel: one fully tainted input of 1000 to 100 (peel) and 890.
	c := func(p Policy, want []int64, fee int64) tc {
		return tc{"peel", p, []int64{1000}, []int64{1000}, []int64{100, 890}, want, fee}
	}
	cases := []tc{
		a(FIFO, []int64{60, 0}, 0),
		a(LIFO, []int64{20, 40}, 0), // stream: 50 clean | 60 tainted, 40 clean
		a(Haircut, []int64{28, 28}, 4),
		a(Poison, []int64{70, 70}, 10),
		a(TIHO, []int64{60, 0}, 0),  // equal values: lower index first
		b(FIFO, []int64{0, 80}, 20), // 30 clean | 20 clean + 80 tainted | 20 tainted fee
		b(LIFO, []int64{30, 70}, 0),
		b(Haircut, []int64{20, 66}, 14),
		b(TIHO, []int64{0, 100}, 0),
		c(FIFO, []int64{100, 890}, 10),
		c(LIFO, []int64{100, 890}, 10),
		c(Haircut, []int64{100, 890}, 10),
		c(TIHO, []int64{100, 890}, 10),
		c(Poison, []int64{100, 890}, 10),
		{"nothing-tainted", FIFO, []int64{5}, []int64{0}, []int64{4}, []int64{0}, 0},
		{"poison-nothing", Poison, []int64{5}, []int64{0}, []int64{4}, []int64{0}, 0},
		{"tiho-excess-to-fee", TIHO, []int64{100}, []int64{100}, []int64{10, 80}, []int64{10, 80}, 10},
		{"tiho-partial", TIHO, []int64{100, 100}, []int64{40, 0}, []int64{30, 150}, []int64{0, 40}, 0},
		{"fifo-spans-outputs", FIFO, []int64{10, 10, 10}, []int64{10, 0, 10}, []int64{5, 20, 5}, []int64{5, 10, 5}, 0},
		{"lifo-spans-outputs", LIFO, []int64{10, 10, 10}, []int64{10, 0, 10}, []int64{5, 20, 5}, []int64{5, 10, 5}, 0},
		{"fifo-zero-output", FIFO, []int64{10}, []int64{10}, []int64{0, 4, 0, 6}, []int64{0, 4, 0, 6}, 0},
		{"unknown-input", Haircut, []int64{-1, 10}, []int64{5, 10}, []int64{20}, []int64{10}, 0},
		{"clamped-taint", FIFO, []int64{10}, []int64{99}, []int64{4, 4}, []int64{4, 4}, 2},
		{"fifo-fee-tainted", FIFO, []int64{10, 10}, []int64{0, 10}, []int64{12}, []int64{2}, 8},
	}
	for i, c := range cases {
		out := make([]int64, len(c.outVal))
		fee := Distribute(c.p, c.inVal, c.inTaint, c.outVal, out)
		if !slices.Equal(out, c.want) || fee != c.fee {
			t.Errorf("#%d %s/%s: got %v fee %d, want %v fee %d", i, c.name, c.p, out, fee, c.want, c.fee)
		}
		checkInvariants(t, c.p, c.inVal, c.inTaint, c.outVal, out, fee)
	}
}

// checkInvariants checks non-negativity, bounds and conservation.
func checkInvariants(t testing.TB, p Policy, inVal, inTaint, outVal, out []int64, fee int64) {
	t.Helper()
	checkFlow(t, p, inVal, inTaint, outVal, out, fee, forwardMsgs, p, inVal, inTaint, outVal)
}

// flowMsgs are one direction's failure messages for checkFlow (each
// but poison after the case's description).
type flowMsgs struct {
	desc   string // the case: formatted with checkFlow's args
	share  string // destination index, its share
	left   string // the leftover
	sum    string // Σ shares, leftover, Σ source taint
	poison string // destination index, its share, its value
}

var forwardMsgs = flowMsgs{
	desc:   "%s in %v taint %v out %v",
	share:  "output %d tainted %d",
	left:   "fee %d",
	sum:    "outputs %d + fee %d != %d tainted in",
	poison: "poison: output %d tainted %d of %d",
}

// checkFlow checks the invariants both directions share: taint flows
// from a source side (srcVal, srcTaint) to a destination side (dstVal,
// shares dst) leaving left. Every share is in [0, value], left >= 0, a
// conserving policy's shares and left sum to the source side's clamped
// taint, and Poison taints every destination in full.
func checkFlow(t testing.TB, p Policy, srcVal, srcTaint, dstVal, dst []int64, left int64, m flowMsgs, args ...any) {
	t.Helper()
	desc := fmt.Sprintf(m.desc, args...)
	var tSrc, sum int64
	for i := range srcVal {
		_, ti := clampIn(srcVal[i], srcTaint[i])
		tSrc += ti
	}
	for j := range dst {
		if dst[j] < 0 || dst[j] > max(dstVal[j], 0) {
			t.Fatalf("%s: "+m.share, desc, j, dst[j])
		}
		sum += dst[j]
	}
	if left < 0 {
		t.Fatalf("%s: "+m.left, desc, left)
	}
	if p.Conserving() && sum+left != tSrc {
		t.Fatalf("%s: "+m.sum, desc, sum, left, tSrc)
	}
	if !p.Conserving() && tSrc > 0 {
		for j := range dst {
			if dst[j] != max(dstVal[j], 0) {
				t.Fatalf(m.poison, j, dst[j], dstVal[j])
			}
		}
	}
}

// TestDistributeExhaustive tries every shape of up to 3 inputs and 3
// outputs with small values, every taint, every policy; and checks FIFO
// and LIFO against a satoshi-by-satoshi reference.
func TestDistributeExhaustive(t *testing.T) {
	shapes := smallShapes()
	count := 0
	for _, ins := range shapes {
		taints := everyTaint(ins)
		inSum := sumOf(ins)
		for _, outs := range shapes {
			outSum := sumOf(outs)
			if outSum > inSum {
				continue
			}
			for _, tt := range taints {
				for _, p := range Policies {
					out := make([]int64, len(outs))
					fee := Distribute(p, ins, tt, outs, out)
					checkInvariants(t, p, ins, tt, outs, out, fee)
					if p == FIFO || p == LIFO {
						want := naiveStream(p == LIFO, ins, tt, outs)
						if !slices.Equal(out, want) {
							t.Fatalf("%s in %v taint %v out %v: got %v, reference %v", p, ins, tt, outs, out, want)
						}
					}
					count++
				}
			}
		}
	}
	t.Logf("%d cases", count)
}

// smallShapes is every list of 1 to 3 values from {0, 1, 2, 3, 5}: the
// input and output shapes of the exhaustive tests.
func smallShapes() [][]int64 {
	vals := []int64{0, 1, 2, 3, 5}
	var shapes [][]int64
	var gen func(prefix []int64, n int)
	gen = func(prefix []int64, n int) {
		if len(prefix) > 0 {
			shapes = append(shapes, slices.Clone(prefix))
		}
		if n == 0 {
			return
		}
		for _, v := range vals {
			gen(append(prefix, v), n-1)
		}
	}
	gen(nil, 3)
	return shapes
}

// everyTaint is every taint vector over values vals: taint[i] in
// [0, vals[i]].
func everyTaint(vals []int64) [][]int64 {
	taints := [][]int64{{}}
	for _, v := range vals {
		var next [][]int64
		for _, tt := range taints {
			for x := int64(0); x <= v; x++ {
				next = append(next, append(slices.Clone(tt), x))
			}
		}
		taints = next
	}
	return taints
}

func sumOf(xs []int64) (s int64) {
	for _, x := range xs {
		s += x
	}
	return s
}

// streamOrder is the order the stream policies take n inputs in.
func streamOrder(n int, reverse bool) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if reverse {
		slices.Reverse(order)
	}
	return order
}

// naiveStream is FIFO/LIFO one satoshi at a time.
func naiveStream(reverse bool, ins, taint, outs []int64) []int64 {
	var line []bool
	for _, i := range streamOrder(len(ins), reverse) {
		for k := int64(0); k < ins[i]; k++ {
			line = append(line, k < taint[i])
		}
	}
	out := make([]int64, len(outs))
	pos := 0
	for j, v := range outs {
		for k := int64(0); k < v && pos < len(line); k++ {
			if line[pos] {
				out[j]++
			}
			pos++
		}
	}
	return out
}

func FuzzDistribute(f *testing.F) {
	f.Add(uint8(0), int64(100), int64(60), int64(50), int64(0), int64(70), int64(70), int64(0))
	f.Add(uint8(1), int64(2_100_000_000_000_000), int64(2_000_000_000_000_000), int64(1), int64(1), int64(1_000_000_000_000_000), int64(999_999_999_999_999), int64(5))
	f.Add(uint8(4), int64(-1), int64(5), int64(10), int64(10), int64(3), int64(20), int64(-4))
	f.Fuzz(func(t *testing.T, p uint8, v0, t0, v1, t1, o0, o1, o2 int64) {
		pol := Policies[int(p)%len(Policies)]
		clamp := func(x int64) int64 { return min(max(x, -1), 2_100_000_000_000_000) }
		ins := []int64{clamp(v0), clamp(v1)}
		taint := []int64{t0, t1}
		outs := []int64{clamp(o0), clamp(o1), clamp(o2)}
		out := make([]int64, len(outs))
		fee := Distribute(pol, ins, taint, outs, out)
		checkInvariants(t, pol, ins, taint, outs, out, fee)
	})
}

func TestParsePolicy(t *testing.T) {
	for _, p := range Policies {
		q, err := ParsePolicy(p.String())
		if err != nil || q != p {
			t.Errorf("%s: got %v %v", p, q, err)
		}
	}
	if _, err := ParsePolicy("nope"); err == nil {
		t.Error("want error")
	}
}
