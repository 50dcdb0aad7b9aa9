package trace

import (
	"slices"
	"testing"
)

func TestDistributeBackTable(t *testing.T) {
	type tc struct {
		name                    string
		p                       Policy
		inVal, outVal, outTaint []int64
		want                    []int64
		rest                    int64
	}
	// Inputs 100, 50; outputs 70 (tainted 70), 70 (clean); fee 10.
	a := func(p Policy, want []int64, rest int64) tc {
		return tc{"first-out", p, []int64{100, 50}, []int64{70, 70}, []int64{70, 0}, want, rest}
	}
	// Same, the second output tainted: it spans both inputs.
	b := func(p Policy, want []int64, rest int64) tc {
		return tc{"second-out", p, []int64{100, 50}, []int64{70, 70}, []int64{0, 70}, want, rest}
	}
	cases := []tc{
		a(FIFO, []int64{70, 0}, 0),
		a(LIFO, []int64{20, 50}, 0), // reversed stream: 50 of input 1, then input 0
		a(Haircut, []int64{47, 23}, 0),
		a(TIHO, []int64{70, 0}, 0),
		a(Poison, []int64{100, 50}, 0),
		b(FIFO, []int64{30, 40}, 0),
		b(LIFO, []int64{70, 0}, 0),
		b(Haircut, []int64{47, 23}, 0),
		{"partly-tainted", FIFO, []int64{10, 10}, []int64{4, 12}, []int64{4, 5}, []int64{9, 0}, 0},
		{"tiho-spills", TIHO, []int64{5, 20, 20}, []int64{40}, []int64{30}, []int64{0, 20, 10}, 0},
		{"unknown-input", FIFO, []int64{-1, 10}, []int64{20}, []int64{20}, []int64{0, 10}, 10},
		{"haircut-unknown", Haircut, []int64{-1, 10}, []int64{20}, []int64{20}, []int64{0, 10}, 10},
		{"clamped", TIHO, []int64{10}, []int64{4}, []int64{99}, []int64{4}, 0},
		{"nothing", FIFO, []int64{10}, []int64{4}, []int64{0}, []int64{0}, 0},
	}
	for i, c := range cases {
		in := make([]int64, len(c.inVal))
		rest := DistributeBack(c.p, c.inVal, c.outVal, c.outTaint, in)
		if !slices.Equal(in, c.want) || rest != c.rest {
			t.Errorf("#%d %s/%s: got %v rest %d, want %v rest %d", i, c.name, c.p, in, rest, c.want, c.rest)
		}
		checkBackInvariants(t, c.p, c.inVal, c.outVal, c.outTaint, in, rest)
	}
}

func checkBackInvariants(t testing.TB, p Policy, inVal, outVal, outTaint, in []int64, rest int64) {
	t.Helper()
	checkFlow(t, p, outVal, outTaint, inVal, in, rest, backwardMsgs, p, inVal, outVal, outTaint)
	// When the inputs cover the outputs, everything is attributed.
	if p.Conserving() && sumOf(clampNeg(inVal)) >= sumOf(clampNeg(outVal)) && rest != 0 {
		t.Fatalf("%s in %v out %v taint %v: %d unattributed though inputs cover outputs", p, inVal, outVal, outTaint, rest)
	}
}

var backwardMsgs = flowMsgs{
	desc:   "%s in %v out %v taint %v",
	share:  "input %d gets %d",
	left:   "rest %d",
	sum:    "inputs %d + rest %d != %d tainted out",
	poison: "poison: input %d gets %d of %d",
}

// clampNeg counts unknown (negative) values as 0.
func clampNeg(vals []int64) []int64 {
	out := make([]int64, len(vals))
	for i, v := range vals {
		out[i] = max(v, 0)
	}
	return out
}

// naiveStreamBack is the FIFO/LIFO mirror one satoshi at a time: which
// input each tainted output sat sits over.
func naiveStreamBack(reverse bool, ins, outs, taint []int64) ([]int64, int64) {
	var owner []int
	for _, i := range streamOrder(len(ins), reverse) {
		for k := int64(0); k < ins[i]; k++ {
			owner = append(owner, i)
		}
	}
	in := make([]int64, len(ins))
	var rest int64
	pos := 0
	for j, v := range outs {
		for k := int64(0); k < v; k++ {
			if k < taint[j] {
				if pos < len(owner) {
					in[owner[pos]]++
				} else {
					rest++
				}
			}
			pos++
		}
	}
	return in, rest
}

// TestDistributeBackExhaustive tries every shape of up to 3 inputs and 3
// outputs with small values (outputs up to the inputs' total plus one, so
// unattributable taint is covered), every output taint and policy; FIFO
// and LIFO against the reference, and their duality with the forward
// direction: a wholly tainted output j gets from input i under backward
// exactly what a wholly tainted input i gives output j forward.
func TestDistributeBackExhaustive(t *testing.T) {
	shapes := smallShapes()
	count := 0
	for _, outs := range shapes {
		taints := everyTaint(outs)
		outSum := sumOf(outs)
		for _, ins := range shapes {
			inSum := sumOf(ins)
			if outSum > inSum+1 {
				continue
			}
			for _, tt := range taints {
				for _, p := range Policies {
					in := make([]int64, len(ins))
					rest := DistributeBack(p, ins, outs, tt, in)
					checkBackInvariants(t, p, ins, outs, tt, in, rest)
					if p == FIFO || p == LIFO {
						want, wrest := naiveStreamBack(p == LIFO, ins, outs, tt)
						if !slices.Equal(in, want) || rest != wrest {
							t.Fatalf("%s in %v out %v taint %v: got %v rest %d, reference %v rest %d", p, ins, outs, tt, in, rest, want, wrest)
						}
					}
					count++
				}
			}
			if outSum > inSum {
				continue
			}
			// Duality of the stream policies.
			for _, p := range []Policy{FIFO, LIFO} {
				for j := range outs {
					ot := make([]int64, len(outs))
					ot[j] = outs[j]
					back := make([]int64, len(ins))
					DistributeBack(p, ins, outs, ot, back)
					for i := range ins {
						it := make([]int64, len(ins))
						it[i] = ins[i]
						fwd := make([]int64, len(outs))
						Distribute(p, ins, it, outs, fwd)
						if fwd[j] != back[i] {
							t.Fatalf("%s in %v out %v: input %d → output %d forward %d, backward %d", p, ins, outs, i, j, fwd[j], back[i])
						}
					}
				}
			}
		}
	}
	t.Logf("%d cases", count)
}

func FuzzDistributeBack(f *testing.F) {
	f.Add(uint8(0), int64(100), int64(50), int64(70), int64(70), int64(0), int64(70), int64(0), int64(0))
	f.Add(uint8(1), int64(2_100_000_000_000_000), int64(1), int64(1_000_000_000_000_000), int64(999_999_999_999_999), int64(5), int64(1_000_000_000_000_000), int64(7), int64(5))
	f.Add(uint8(4), int64(-1), int64(10), int64(3), int64(20), int64(-4), int64(3), int64(20), int64(9))
	f.Fuzz(func(t *testing.T, p uint8, v0, v1, o0, o1, o2, t0, t1, t2 int64) {
		pol := Policies[int(p)%len(Policies)]
		clamp := func(x int64) int64 { return min(max(x, -1), 2_100_000_000_000_000) }
		ins := []int64{clamp(v0), clamp(v1)}
		outs := []int64{clamp(o0), clamp(o1), clamp(o2)}
		taint := []int64{t0, t1, t2}
		in := make([]int64, len(ins))
		rest := DistributeBack(pol, ins, outs, taint, in)
		checkBackInvariants(t, pol, ins, outs, taint, in, rest)
	})
}
