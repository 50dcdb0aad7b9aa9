package coinjoin

import (
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// mixedIns returns one input per value from its own address, cycling
// through the script types given.
func mixedIns(types []address.Type, vals ...btc.Amount) []In {
	r := ins(address.P2WPKH, vals...)
	for i := range r {
		r[i].Type = types[i%len(types)]
	}
	return r
}

// issue10Round is the round that merged 1,941 addresses of unrelated users
// on an independently generated chain: 80 inputs from 80 owners, 95 equal
// 0.1 BTC outputs (some participants took several), 74 change and fee
// outputs, legacy and segwit scripts mixed.
func issue10Round() *Tx {
	in := mixedIns([]address.Type{address.P2PKH, address.P2WPKH, address.P2SH}, seq(15_000_000, 123_457, 80)...)
	out := outs(address.P2WPKH, cat(rep(10_000_000, 95), seq(1_234_567, 10_007, 74))...)
	return mk(in, out)
}

func TestGeneralRules(t *testing.T) {
	oneAddr := ins(address.P2WPKH, 30_000_000, 20_000_000, 10_000_000)
	for i := range oneAddr {
		oneAddr[i].Addr = 7
	}
	samePayee := outs(address.P2WPKH, 5_000_000, 5_000_000, 1_234_567, 7_654_321, 2_222_223)
	samePayee[1].Addr = samePayee[0].Addr
	cases := []struct {
		name     string
		tx       *Tx
		protocol Kind // with the protocol families only
		all      Verdict
	}{
		{"issue 10 round", issue10Round(), NotCoinJoin,
			Verdict{Kind: EqualOutputs, Denomination: 10_000_000, Participants: 95}},
		{"stonewall: 2 in, equal pair and two changes", mk(ins(address.P2WPKH, 9_000_000, 7_000_000),
			outs(address.P2WPKH, 4_000_000, 4_000_000, 4_990_000, 2_990_000)), Generic,
			Verdict{Kind: Generic, Denomination: 4_000_000, Participants: 2}},
		{"stonewall with a third change: not the generic formula", mk(ins(address.P2WPKH, 9_000_000, 7_000_000, 1_000_000),
			outs(address.P2WPKH, 4_000_000, 4_000_000, 4_990_000, 2_990_000, 990_000)), NotCoinJoin,
			Verdict{Kind: EqualOutputs, Denomination: 4_000_000, Participants: 2}},
		{"several values repeated, mixing levels", mk(ins(address.P2TR, seq(50_000_000, 1_000, 12)...),
			outs(address.P2TR, cat(rep(10_000_000, 6), rep(20_000_000, 4), rep(40_000_000, 2), seq(3_333_333, 7, 10))...)), NotCoinJoin,
			Verdict{Kind: EqualOutputs, Denomination: 10_000_000, Participants: 6}},
		{"small WabiSabi-like round, no repeated value", mk(ins(address.P2WPKH, seq(40_000_000, 1_000, 6)...),
			outs(address.P2WPKH, 1<<20, 1<<22, 531_441, 2*177_147, 1<<17, 3_300_001, 2_100_017)), NotCoinJoin,
			Verdict{Kind: Denominations, Denomination: 1 << 17, Participants: 5}},
		{"whirlpool tx0: one wallet's premix split", mk(ins(address.P2WPKH, 3_000_000, 2_500_000),
			append(outs(address.P2WPKH, cat(rep(1_000_170, 5), []btc.Amount{42_500, 400_000})...), Out{Type: address.OpReturn, Addr: btc.NoAddr})),
			NotCoinJoin, Verdict{}},
		{"tx0 shape without its OP_RETURN", mk(ins(address.P2WPKH, 3_000_000, 2_500_000, 1_000_000, 900_000),
			outs(address.P2WPKH, cat(rep(1_000_170, 5), []btc.Amount{42_500, 400_000})...)),
			NotCoinJoin, Verdict{Kind: EqualOutputs, Denomination: 1_000_170, Participants: 5}},
		{"payout split: 2 in, 6 equal (block 514485's 8e8a04dc)", mk(ins(address.P2PKH, 2_500_000, 1_600_000),
			outs(address.P2PKH, 500_000, 500_000, 999_078, 500_000, 500_000, 500_000, 500_000)), NotCoinJoin, Verdict{}},
		{"exchange sweep: 50 in, 1 out", mk(ins(address.P2WPKH, seq(1_000_000, 10_000, 50)...),
			outs(address.P2WPKH, 60_000_000)), NotCoinJoin, Verdict{}},
		{"batch withdrawal: 2 equal among 30", mk(ins(address.P2WPKH, 300_000_000, 200_000_000, 100_000_000),
			outs(address.P2WPKH, cat(rep(10_000_000, 2), seq(1_234_567, 100_003, 28))...)), NotCoinJoin, Verdict{}},
		{"payment with change", mk(ins(address.P2WPKH, 3_000_000, 2_000_000), outs(address.P2WPKH, 4_000_000, 990_000)), NotCoinJoin, Verdict{}},
		{"round decimal payments", mk(ins(address.P2WPKH, 30_000_000, 20_000_000, 10_000_000),
			outs(address.P2WPKH, 1_000_000, 2_000_000, 5_000_000, 51_990_000)), NotCoinJoin, Verdict{}},
		{"equal outputs from one input address", mk(oneAddr, outs(address.P2WPKH, 5_000_000, 5_000_000, 1_234_567)), NotCoinJoin, Verdict{}},
		{"equal outputs to one address", mk(ins(address.P2WPKH, 9_000_000, 7_000_000), samePayee), NotCoinJoin, Verdict{}},
		{"equal dust outputs", mk(ins(address.P2WPKH, 9_000_000, 7_000_000), outs(address.P2WPKH, 546, 546, 546, 15_990_000)), NotCoinJoin, Verdict{}},
	}
	for _, c := range cases {
		if got := Detect(c.tx); got.Kind != c.protocol {
			t.Errorf("%s: Detect = %+v, want kind %q", c.name, got, c.protocol)
		}
		if got := DetectWith(c.tx, AllFamilies); got != c.all {
			t.Errorf("%s: DetectWith(all) = %+v, want %+v", c.name, got, c.all)
		}
		if got := DetectWith(c.tx, AllFamilies&^GeneralFamilies); got.Kind != c.protocol {
			t.Errorf("%s: with the general families off = %+v, want kind %q", c.name, got, c.protocol)
		}
		if n := testing.AllocsPerRun(10, func() { DetectWith(c.tx, AllFamilies) }); n != 0 {
			t.Errorf("%s: %.1f allocations per DetectWith", c.name, n)
		}
	}
}

// TestFamiliesOff: a Wasabi 1 round is still refused as a merge when its
// protocol detector is switched off: the general tests catch it.
func TestFamiliesOff(t *testing.T) {
	for _, c := range detectCases() {
		v := Detect(c.tx)
		if v.Kind == NotCoinJoin || v.Kind == Generic {
			continue
		}
		off := AllFamilies &^ (FamWhirlpool | FamWasabi1 | FamWasabi2 | FamJoinMarket | FamGeneric)
		if w := DetectWith(c.tx, off); w.Kind == NotCoinJoin {
			t.Errorf("%s (%s): the general families alone miss it", c.name, v.Kind)
		}
	}
}

func TestJudge(t *testing.T) {
	r := InputRules{EstablishedSize: 2, MaxEstablished: 2, GuardSize: 100, MaxScripts: 2, FanEntities: 5}
	// Six participants' coins into six equal outputs and six changes; an
	// exchange paying a batch of distinct amounts from six deposits.
	round := mk(mixedIns([]address.Type{address.P2WPKH}, seq(20_000_000, 1_000, 6)...),
		outs(address.P2WPKH, cat(rep(10_000_000, 6), seq(1_234_567, 1_001, 6))...))
	batch := mk(mixedIns([]address.Type{address.P2WPKH}, seq(20_000_000, 1_000, 6)...),
		outs(address.P2WPKH, seq(1_234_567, 100_001, 12)...))
	sameCold := mk(mixedIns([]address.Type{address.P2WPKH}, seq(20_000_000, 1_000, 6)...),
		outs(address.P2WPKH, cat(rep(10_000_000, 6), seq(1_234_567, 1_001, 1))...))
	for i := range sameCold.Outs {
		sameCold.Outs[i].Addr = 99
	}
	legacy := mk(mixedIns([]address.Type{address.P2PKH}, 1, 2, 3), nil)
	three := mk(mixedIns([]address.Type{address.P2PKH, address.P2SH, address.P2WPKH}, 1, 2, 3), nil)
	nested := mk(mixedIns([]address.Type{address.P2WPKH, address.P2WSH, address.P2SH}, 1, 2, 3), nil)
	cases := []struct {
		name string
		tx   *Tx
		s    InputStructure
		on   Family
		want InputVerdict
	}{
		{"one wallet, singletons", legacy, InputStructure{Entities: 3}, AllFamilies, 0},
		{"two established entities", legacy, InputStructure{Entities: 3, Established: 2, Largest: 40, Second: 5}, AllFamilies, 0},
		{"three established entities", legacy, InputStructure{Entities: 3, Established: 3, Largest: 40, Second: 5}, AllFamilies, InputEntities},
		{"three established, family off", legacy, InputStructure{Entities: 3, Established: 3, Largest: 40, Second: 5}, AllFamilies &^ FamInputEntities, 0},
		{"two large entities", legacy, InputStructure{Entities: 2, Established: 2, Largest: 400, Second: 100}, AllFamilies, Guard},
		{"two large entities, guard off", legacy, InputStructure{Entities: 2, Established: 2, Largest: 400, Second: 100}, AllFamilies &^ FamGuard, 0},
		{"three script families", three, InputStructure{Entities: 3}, AllFamilies, ScriptMix},
		{"two script families (segwit v0 and nested)", nested, InputStructure{Entities: 3}, AllFamilies, 0},
		{"fan: six entities into equal outputs", round, InputStructure{Entities: 6}, AllFamilies, Fan},
		{"fan off", round, InputStructure{Entities: 6}, AllFamilies &^ FamFan, 0},
		{"fan: four entities", round, InputStructure{Entities: 4}, AllFamilies, 0},
		{"batch of distinct amounts from six deposits", batch, InputStructure{Entities: 6}, AllFamilies, 0},
		{"equal chunks to one cold address", sameCold, InputStructure{Entities: 6}, AllFamilies, 0},
	}
	for _, c := range cases {
		if got := r.Judge(c.tx, c.s, c.on); got != c.want {
			t.Errorf("%s: Judge = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseFamilies(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Family
		err  bool
	}{
		{"all", AllFamilies, false},
		{"protocol", ProtocolFamilies, false},
		{"wasabi1, guard", FamWasabi1 | FamGuard, false},
		{"", 0, false},
		{"coinjoin", 0, true},
	} {
		got, err := ParseFamilies(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseFamilies(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
	for _, f := range Families() {
		if g, err := ParseFamilies(f.String()); err != nil || g != f {
			t.Errorf("family %v does not round-trip: %v, %v", f, g, err)
		}
	}
	if ProtocolFamilies|GeneralFamilies != AllFamilies || ProtocolFamilies&GeneralFamilies != 0 {
		t.Errorf("protocol %v and general %v do not partition all families", ProtocolFamilies, GeneralFamilies)
	}
}
