package coinjoin

import (
	"fmt"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Helpers that build transactions. Inputs get address ids from 1 up,
// outputs from outAddr0 up, so no output pays an input's address unless a
// case says so.

const outAddr0 btc.AddrID = 1_000_000

const unk = btc.UnknownAmount

// ins returns one input per value, of script type typ, each from its own
// address.
func ins(typ address.Type, vals ...btc.Amount) []In {
	r := make([]In, len(vals))
	for i, v := range vals {
		r[i] = In{Resolved: v != unk, Value: v, Addr: btc.AddrID(i + 1), Type: typ}
	}
	return r
}

// outs returns one output per value, of script type typ, each to its own
// address.
func outs(typ address.Type, vals ...btc.Amount) []Out {
	r := make([]Out, len(vals))
	for i, v := range vals {
		r[i] = Out{Value: v, Type: typ, Addr: outAddr0 + btc.AddrID(i)}
	}
	return r
}

// rep returns n copies of v.
func rep(v btc.Amount, n int) []btc.Amount {
	r := make([]btc.Amount, n)
	for i := range r {
		r[i] = v
	}
	return r
}

// cat concatenates value lists.
func cat(lists ...[]btc.Amount) []btc.Amount {
	var r []btc.Amount
	for _, l := range lists {
		r = append(r, l...)
	}
	return r
}

// seq returns n distinct values from start, step apart.
func seq(start, step btc.Amount, n int) []btc.Amount {
	r := make([]btc.Amount, n)
	for i := range r {
		r[i] = start + btc.Amount(i)*step
	}
	return r
}

// interleave returns vals reordered so that it is not sorted either way
// (deterministically: a stride permutation).
func interleave(vals []btc.Amount) []btc.Amount {
	r := make([]btc.Amount, 0, len(vals))
	const stride = 7
	for s := 0; s < stride; s++ {
		for i := s; i < len(vals); i += stride {
			r = append(r, vals[i])
		}
	}
	return r
}

func mk(in []In, out []Out) *Tx { return &Tx{Version: 1, Ins: in, Outs: out} }

// with applies f to a built transaction and returns it.
func with(tx *Tx, f func(*Tx)) *Tx { f(tx); return tx }

// wasabi2Outs is a WabiSabi-like output list, largest first: standard
// denominations (57 outputs, 200,000 sats the most frequent with 10),
// three change outputs and a coordinator fee.
func wasabi2Outs() []btc.Amount {
	return cat(
		rep(20_000_000, 3), rep(14_348_907, 2), rep(10_000_000, 4), rep(8_388_608, 3),
		[]btc.Amount{7_654_321}, rep(5_000_000, 6), rep(2_097_152, 5), []btc.Amount{1_234_567},
		rep(1_000_000, 8), rep(531_441, 4), []btc.Amount{345_678}, rep(200_000, 10), rep(100_000, 7),
		[]btc.Amount{87_654}, rep(50_000, 5))
}

// wasabi1Outs is a Wasabi 1.1 round in mixed order: 35 outputs at a base
// denomination near 0.1 BTC, mixing levels at 2× and 4×, 38 change
// outputs and the coordinator fee.
func wasabi1Outs(base btc.Amount, nBase int) []btc.Amount {
	return interleave(cat(rep(base, nBase), rep(2*base, 6), rep(4*base, 2), seq(1_311_017, 97_531, 38), []btc.Amount{1_057_329}))
}

type detectCase struct {
	name string
	tx   *Tx
	want Verdict
}

func detectCases() []detectCase {
	const pool01 = 1_000_000
	jmAmount := btc.Amount(27_183_117)
	return []detectCase{
		// Whirlpool.
		{"whirlpool 5x5 0.01 pool, 3 remixers 2 new entrants",
			mk(ins(address.P2WPKH, pool01, pool01, pool01, pool01+4_500, pool01+4_500), outs(address.P2WPKH, rep(pool01, 5)...)),
			Verdict{Whirlpool, pool01, 5}},
		{"whirlpool surge 8x8 0.05 pool, inputs unresolved",
			mk(ins(address.NonStandard, rep(unk, 8)...), outs(address.P2WPKH, rep(5_000_000, 8)...)),
			Verdict{Whirlpool, 5_000_000, 8}},
		{"whirlpool 6x6 0.001 pool, some inputs unresolved",
			mk(ins(address.P2WPKH, 100_000, unk, 103_000, unk, 100_000, 103_000), outs(address.P2WPKH, rep(100_000, 6)...)),
			Verdict{Whirlpool, 100_000, 6}},
		{"whirlpool 5x5 0.5 pool",
			mk(ins(address.P2WPKH, 50_000_000, 50_000_000, 50_000_000, 50_010_000, 50_010_000), outs(address.P2WPKH, rep(50_000_000, 5)...)),
			Verdict{Whirlpool, 50_000_000, 5}},
		{"near miss: whirlpool shape, value 0.02 BTC is no pool",
			mk(ins(address.P2WPKH, rep(unk, 5)...), outs(address.P2WPKH, rep(2_000_000, 5)...)),
			Verdict{}},
		{"near miss: whirlpool shape, premix input 0.002 BTC above the pool",
			mk(ins(address.P2WPKH, pool01, pool01, pool01, pool01+200_000, pool01+4_500), outs(address.P2WPKH, rep(pool01, 5)...)),
			Verdict{}},
		{"near miss: whirlpool shape, nobody pays the miner fee",
			mk(ins(address.P2WPKH, rep(pool01, 5)...), outs(address.P2WPKH, rep(pool01, 5)...)),
			Verdict{}},
		{"near miss: whirlpool shape, no remixer",
			mk(ins(address.P2WPKH, rep(pool01+4_500, 5)...), outs(address.P2WPKH, rep(pool01, 5)...)),
			Verdict{}},
		{"near miss: whirlpool shape, P2PKH outputs",
			mk(ins(address.P2WPKH, rep(unk, 5)...), outs(address.P2PKH, rep(pool01, 5)...)),
			Verdict{}},
		{"near miss: whirlpool shape, a P2PKH input",
			mk(with(mk(ins(address.P2WPKH, rep(unk, 5)...), nil), func(tx *Tx) { tx.Ins[2].Type = address.P2PKH }).Ins,
				outs(address.P2WPKH, rep(pool01, 5)...)),
			Verdict{}},
		{"near miss: whirlpool shape, 9x9",
			mk(ins(address.P2WPKH, rep(unk, 9)...), outs(address.P2WPKH, rep(pool01, 9)...)),
			Verdict{}},
		{"near miss: whirlpool shape, 4x4",
			mk(ins(address.P2WPKH, rep(unk, 4)...), outs(address.P2WPKH, rep(pool01, 4)...)),
			Verdict{}},
		{"near miss: whirlpool shape, two outputs to one address",
			with(mk(ins(address.P2WPKH, rep(unk, 5)...), outs(address.P2WPKH, rep(pool01, 5)...)),
				func(tx *Tx) { tx.Outs[4].Addr = tx.Outs[0].Addr }),
			Verdict{}},

		// Wasabi 1.x.
		{"wasabi 1.1 round, base 0.10024313 BTC with 2x and 4x levels",
			mk(ins(address.P2WPKH, rep(unk, 60)...), outs(address.P2WPKH, wasabi1Outs(10_024_313, 35)...)),
			Verdict{Wasabi1, 10_024_313, 35}},
		{"wasabi 1 round, inputs of unknown type",
			mk(ins(address.NonStandard, rep(unk, 40)...), outs(address.P2WPKH, wasabi1Outs(9_500_000, 12)...)),
			Verdict{Wasabi1, 9_500_000, 12}},
		{"near miss: wasabi 1 shape with a P2SH output",
			with(mk(ins(address.P2WPKH, rep(unk, 60)...), outs(address.P2WPKH, wasabi1Outs(10_024_313, 35)...)),
				func(tx *Tx) { tx.Outs[3].Type = address.P2SH }),
			Verdict{}},
		{"near miss: wasabi 1 shape at 0.15 BTC",
			mk(ins(address.P2WPKH, rep(unk, 60)...), outs(address.P2WPKH, wasabi1Outs(15_000_000, 35)...)),
			Verdict{}},
		{"near miss: wasabi 1 shape with 9 equal outputs",
			mk(ins(address.P2WPKH, rep(unk, 30)...), outs(address.P2WPKH, wasabi1Outs(10_024_313, 9)...)),
			Verdict{}},
		{"near miss: wasabi 1 shape without coordinator fee or change",
			mk(ins(address.P2WPKH, rep(unk, 20)...), outs(address.P2WPKH, cat(rep(10_024_313, 12), rep(20_048_626, 2), rep(3_000_000, 2))...)),
			Verdict{}},
		{"near miss: wasabi 1 shape with fewer inputs than equal outputs",
			mk(ins(address.P2WPKH, rep(unk, 30)...), outs(address.P2WPKH, wasabi1Outs(10_024_313, 35)...)),
			Verdict{}},

		// Wasabi 2.0.
		{"wasabi 2 round, inputs unresolved",
			mk(ins(address.NonStandard, rep(unk, 50)...), outs(address.P2WPKH, wasabi2Outs()...)),
			Verdict{Wasabi2, 200_000, 10}},
		{"wasabi 2 round, P2TR and P2WPKH, input values descending",
			with(mk(ins(address.P2WPKH, seq(90_000_000, -1_000_000, 30)...), outs(address.P2TR, wasabi2Outs()...)),
				func(tx *Tx) {
					for i := 0; i < len(tx.Ins); i += 3 {
						tx.Ins[i].Type = address.P2TR
						tx.Outs[i].Type = address.P2WPKH
					}
				}),
			Verdict{Wasabi2, 200_000, 10}},
		{"near miss: wasabi 2 shape, outputs not ordered",
			mk(ins(address.NonStandard, rep(unk, 50)...), outs(address.P2WPKH, interleave(wasabi2Outs())...)),
			Verdict{}},
		{"near miss: wasabi 2 shape, 19 inputs",
			mk(ins(address.NonStandard, rep(unk, 19)...), outs(address.P2WPKH, wasabi2Outs()...)),
			Verdict{}},
		{"near miss: wasabi 2 shape, input values ascending",
			mk(ins(address.P2WPKH, seq(1_000_000, 1_000_000, 30)...), outs(address.P2WPKH, wasabi2Outs()...)),
			Verdict{}},
		{"near miss: wasabi 2 shape, a P2PKH input",
			with(mk(ins(address.NonStandard, rep(unk, 50)...), outs(address.P2WPKH, wasabi2Outs()...)),
				func(tx *Tx) { tx.Ins[7].Type = address.P2PKH }),
			Verdict{}},
		{"near miss: wasabi 2 shape, a third of outputs off the denominations",
			mk(ins(address.NonStandard, rep(unk, 50)...), outs(address.P2WPKH,
				cat(seq(90_000_001, -1_000_000, 30), rep(200_000, 10), rep(100_000, 20), rep(50_000, 10))...)),
			Verdict{}},

		{"near miss: wasabi 2 shape, 75% of outputs at denominations",
			mk(ins(address.NonStandard, rep(unk, 50)...), outs(address.P2WPKH,
				cat(seq(90_000_001, -1_000_000, 15), rep(200_000, 20), rep(100_000, 15), rep(50_000, 10))...)),
			Verdict{}},

		// JoinMarket.
		{"joinmarket taker and 4 makers",
			mk(ins(address.P2SH, rep(unk, 7)...), outs(address.P2SH, interleave(cat(rep(jmAmount, 5),
				[]btc.Amount{3_351_002, 81_220_871, 12_500_413, 913_551, 44_712_090}))...)),
			Verdict{JoinMarket, jmAmount, 5}},
		{"joinmarket sweep, taker without change",
			mk(ins(address.P2WPKH, rep(unk, 6)...), outs(address.P2WPKH,
				4_869_950, 1_000_312, 4_869_950, 2_231_877, 4_869_950, 15_003_921, 4_869_950)),
			Verdict{JoinMarket, 4_869_950, 4}},
		{"near miss: joinmarket shape with one output too many (2n+1)",
			mk(ins(address.P2WPKH, rep(unk, 5)...), outs(address.P2WPKH, 1_234_000, 1_234_000, 1_234_000, 555_555, 777_777, 888_888, 999_999)),
			Verdict{}},
		{"joinmarket, input addresses unknown count as distinct",
			with(mk(ins(address.P2WPKH, rep(unk, 3)...), outs(address.P2WPKH, 1_234_000, 1_234_000, 1_234_000, 555_555, 777_777)),
				func(tx *Tx) {
					for i := range tx.Ins {
						tx.Ins[i].Addr = btc.NoAddr
					}
				}),
			Verdict{JoinMarket, 1_234_000, 3}},
		{"joinmarket shape with OP_RETURN: generic only",
			with(mk(ins(address.P2WPKH, rep(unk, 4)...), outs(address.P2WPKH, 2_000_001, 2_000_001, 2_000_001, 555_555, 777_777, 0)),
				func(tx *Tx) { tx.Outs[5].Type, tx.Outs[5].Addr = address.OpReturn, btc.NoAddr }),
			Verdict{Generic, 2_000_001, 3}},
		{"joinmarket shape paying one address twice: generic only",
			with(mk(ins(address.P2WPKH, rep(unk, 4)...), outs(address.P2WPKH, 2_000_001, 2_000_001, 2_000_001, 555_555, 777_777)),
				func(tx *Tx) { tx.Outs[4].Addr = tx.Outs[3].Addr }),
			Verdict{Generic, 2_000_001, 3}},

		// Generic (BlockSci isCoinjoin).
		{"generic: two parties, 2 in 3 out",
			mk(ins(address.P2PKH, unk, unk), outs(address.P2PKH, 5_000_000, 1_234_567, 5_000_000)),
			Verdict{Generic, 5_000_000, 2}},
		{"generic: 4 equal outputs, two change outputs equal too",
			mk(ins(address.P2PKH, rep(unk, 4)...), outs(address.P2PKH, cat(rep(3_000_000, 4), []btc.Amount{700_000, 700_000, 123_456})...)),
			Verdict{Generic, 3_000_000, 4}},
		{"generic: tie goes to the lowest value (GraphSense)",
			mk(ins(address.P2PKH, unk, unk), outs(address.P2PKH, 2_000, 2_000, 1_000, 1_000)),
			Verdict{Generic, 1_000, 2}},
		{"near miss: dust 546 equal outputs",
			mk(ins(address.P2PKH, rep(unk, 3)...), outs(address.P2PKH, 546, 546, 546, 10_000, 20_000)),
			Verdict{}},
		{"near miss: dust 2730 equal outputs",
			mk(ins(address.P2PKH, rep(unk, 3)...), outs(address.P2PKH, 2730, 20_000, 2730, 10_000, 2730)),
			Verdict{}},
		{"near miss: tie with dust 546 as the lowest value",
			mk(ins(address.P2PKH, unk, unk), outs(address.P2PKH, 546, 3_000, 546, 3_000)),
			Verdict{}},
		{"near miss: equal outputs, all inputs from one address",
			with(mk(ins(address.P2PKH, rep(unk, 3)...), outs(address.P2PKH, 1_000_000, 1_000_000, 1_000_000, 10_000, 20_000)),
				func(tx *Tx) {
					for i := range tx.Ins {
						tx.Ins[i].Addr = 42
					}
				}),
			Verdict{}},
		{"near miss: coinbase",
			with(mk(ins(address.NonStandard, unk, unk), outs(address.P2PKH, 5_000_000, 1_234_567, 5_000_000)),
				func(tx *Tx) { tx.Ins[0].Coinbase = true }),
			Verdict{}},

		// Ordinary transactions.
		{"near miss: payment, 1 in 2 out",
			mk(ins(address.P2PKH, 10_000_000), outs(address.P2PKH, 3_000_000, 6_990_000)),
			Verdict{}},
		{"near miss: consolidation, 50 in 1 out",
			mk(ins(address.P2WPKH, seq(100_000, 1_000, 50)...), outs(address.P2WPKH, 6_000_000)),
			Verdict{}},
		{"near miss: batch payout, 2 in 30 distinct out",
			mk(ins(address.P2SH, unk, unk), outs(address.P2SH, seq(150_000, 12_345, 30)...)),
			Verdict{}},
		{"near miss: exchange batch with 2 equal outputs of 8",
			mk(ins(address.P2SH, unk, unk), outs(address.P2SH, 1_000_000, 250_000, 1_000_000, 3_456_789, 77_000, 410_000, 5_500_000, 91_234_567)),
			Verdict{}},
		{"near miss: 2 in 2 out with equal outputs",
			mk(ins(address.P2WPKH, unk, unk), outs(address.P2WPKH, 1_000_000, 1_000_000)),
			Verdict{}},
		{"near miss: no inputs", mk(nil, outs(address.P2WPKH, 1, 1, 1)), Verdict{}},
		{"near miss: no outputs", mk(ins(address.P2WPKH, 1, 1), nil), Verdict{}},

		// Beyond maxSorted outputs: the generic rule without sorting.
		{"generic, 2049 outputs",
			mk(ins(address.P2PKH, rep(unk, 1025)...), outs(address.P2PKH, interleave(cat(rep(100_000, 1025), seq(200_000, 1, 1024)))...)),
			Verdict{Generic, 100_000, 1025}},
		{"generic, 5000 outputs, more participants than maxSet",
			mk(ins(address.P2PKH, rep(unk, 2500)...), outs(address.P2PKH, cat(seq(200_000, 1, 2500), rep(100_000, 2500))...)),
			Verdict{Generic, 100_000, 2500}},
		{"generic, 2050 outputs, two tied values (the lower wins)",
			mk(ins(address.P2PKH, rep(unk, 1025)...), outs(address.P2PKH, interleave(cat(rep(300_000, 1025), rep(100_000, 1025)))...)),
			Verdict{Generic, 100_000, 1025}},
		{"near miss: batch payout, 3000 distinct outputs",
			mk(ins(address.P2PKH, rep(unk, 1500)...), outs(address.P2PKH, seq(10_000, 3, 3000)...)),
			Verdict{}},
		{"near miss: 3000 outputs, half equal, too few inputs",
			mk(ins(address.P2PKH, rep(unk, 1000)...), outs(address.P2PKH, cat(rep(100_000, 1500), seq(200_000, 1, 1500))...)),
			Verdict{}},
		{"near miss: 3000 outputs, half equal, inputs from 1499 addresses",
			with(mk(ins(address.P2PKH, rep(unk, 1500)...), outs(address.P2PKH, cat(rep(100_000, 1500), seq(200_000, 1, 1500))...)),
				func(tx *Tx) { tx.Ins[1].Addr = tx.Ins[0].Addr }),
			Verdict{}},
	}
}

func TestDetect(t *testing.T) {
	for _, c := range detectCases() {
		if got := Detect(c.tx); got != c.want {
			t.Errorf("%s: Detect = %+v (%s), want %+v (%s)", c.name, got, got.Kind, c.want, c.want.Kind)
		}
	}
}

// TestDetectZeroAllocs checks that Detect allocates nothing on any case,
// including those that take the large-round and huge-transaction paths.
func TestDetectZeroAllocs(t *testing.T) {
	for _, c := range detectCases() {
		if n := testing.AllocsPerRun(20, func() { Detect(c.tx) }); n != 0 {
			t.Errorf("%s: %.1f allocations per Detect, want 0", c.name, n)
		}
	}
}

// TestWasabi2Denoms pins the standard denomination set against values
// worked out by hand from DenominationBuilder's series.
func TestWasabi2Denoms(t *testing.T) {
	if wasabi2Denoms[0] != 5_000 {
		t.Errorf("smallest denomination %d, want 5000 (5·10^3)", wasabi2Denoms[0])
	}
	in := []btc.Amount{5_000, 6_561, 8_192, 10_000, 13_122, 20_000, 50_000, 100_000, 200_000, 531_441,
		1_000_000, 2_097_152, 10_000_000, 14_348_907, 68_719_476_736, 100_000_000_000, 94_143_178_827}
	out := []btc.Amount{4_096, 4_374, 30_000, 300_000, 1_234_567, 9_999_999, 137_438_953_472, 200_000_000_000}
	for _, v := range in {
		if !isWasabi2Denom(v) {
			t.Errorf("%d should be a standard denomination", v)
		}
	}
	for _, v := range out {
		if isWasabi2Denom(v) {
			t.Errorf("%d should not be a standard denomination", v)
		}
	}
	for i := 1; i < len(wasabi2Denoms); i++ {
		if wasabi2Denoms[i] <= wasabi2Denoms[i-1] {
			t.Fatalf("denominations not strictly ascending at %d", i)
		}
	}
	t.Logf("%d standard denominations from %d to %d sats", len(wasabi2Denoms), wasabi2Denoms[0], wasabi2Denoms[len(wasabi2Denoms)-1])
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{NotCoinJoin: "", Generic: "generic", Wasabi1: "wasabi1", Wasabi2: "wasabi2",
		Whirlpool: "whirlpool", JoinMarket: "joinmarket", EqualOutputs: "equal_outputs", Denominations: "denominations", 8: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// ExampleDetect recognises a Whirlpool mix in the 0.01 BTC pool.
func ExampleDetect() {
	tx := &Tx{
		Ins: []In{
			{Value: 1_000_000, Addr: 1, Type: address.P2WPKH},
			{Value: 1_000_000, Addr: 2, Type: address.P2WPKH},
			{Value: 1_000_000, Addr: 3, Type: address.P2WPKH},
			{Value: 1_004_500, Addr: 4, Type: address.P2WPKH},
			{Value: btc.UnknownAmount, Addr: btc.NoAddr, Type: address.NonStandard},
		},
	}
	for i := 0; i < 5; i++ {
		tx.Outs = append(tx.Outs, Out{Value: 1_000_000, Type: address.P2WPKH, Addr: btc.AddrID(10 + i)})
	}
	v := Detect(tx)
	fmt.Println(v.Kind, v.Denomination, v.Participants)
	// Output: whirlpool 1000000 5
}
