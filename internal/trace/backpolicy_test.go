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
	var tOut, sum int64
	for j := range outVal {
		_, tj := clampIn(outVal[j], outTaint[j])
		tOut += tj
	}
	for i := range in {
		if in[i] < 0 || in[i] > max(inVal[i], 0) {
			t.Fatalf("%s in %v out %v taint %v: input %d gets %d", p, inVal, outVal, outTaint, i, in[i])
		}
		sum += in[i]
	}
	if rest < 0 {
		t.Fatalf("%s in %v out %v taint %v: rest %d", p, inVal, outVal, outTaint, rest)
	}
	if p.Conserving() && sum+rest != tOut {
		t.Fatalf("%s in %v out %v taint %v: inputs %d + rest %d != %d tainted out", p, inVal, outVal, outTaint, sum, rest, tOut)
	}
	var vIn, vOut int64
	for _, v := range inVal {
		vIn += max(v, 0)
	}
	for _, v := range outVal {
		vOut += max(v, 0)
	}
	// When the inputs cover the outputs, everything is attributed.
	if p.Conserving() && vIn >= vOut && rest != 0 {
		t.Fatalf("%s in %v out %v taint %v: %d unattributed though inputs cover outputs", p, inVal, outVal, outTaint, rest)
	}
	if !p.Conserving() && tOut > 0 {
		for i := range in {
			if in[i] != max(inVal[i], 0) {
				t.Fatalf("poison: input %d gets %d of %d", i, in[i], inVal[i])
			}
		}
	}
}

// naiveStreamBack is the FIFO/LIFO mirror one satoshi at a time: which
// input each tainted output sat sits over.
func naiveStreamBack(reverse bool, ins, outs, taint []int64) ([]int64, int64) {
	var owner []int
	order := make([]int, len(ins))
	for i := range order {
		order[i] = i
	}
	if reverse {
		slices.Reverse(order)
	}
	for _, i := range order {
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
	count := 0
	for _, outs := range shapes {
		taints := [][]int64{{}}
		for _, v := range outs {
			var next [][]int64
			for _, tt := range taints {
				for x := int64(0); x <= v; x++ {
					next = append(next, append(slices.Clone(tt), x))
				}
			}
			taints = next
		}
		var outSum int64
		for _, v := range outs {
			outSum += v
		}
		for _, ins := range shapes {
			var inSum int64
			for _, v := range ins {
				inSum += v
			}
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
