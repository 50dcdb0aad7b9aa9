package coinjoin

import (
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Detect classifies tx. It returns the most specific protocol whose rule
// matches, checked in the order Whirlpool, Wasabi 2.0, Wasabi 1.x,
// JoinMarket (the order Dumplings and GraphSense use: Wasabi 2.0 before
// 1.x, because a WabiSabi round can hold ten or more 0.1 BTC outputs);
// otherwise Generic when the BlockSci/GraphSense equal-output rule matches;
// otherwise the zero Verdict (NotCoinJoin).
//
// A non-zero verdict always names an output value (Denomination) and the
// number of outputs of exactly that value (Participants).
//
// Every rule reads output values, output types and address ids. Input
// values and input script types are used only to reject: an input whose
// Value is btc.UnknownAmount or whose Type is address.NonStandard neither
// confirms nor refutes a rule. An input whose Addr is btc.NoAddr counts as
// an address of its own (see distinctInputs).
//
// Detect allocates nothing and does not modify tx. It looks at a
// transaction's output values in sorted order through a copy on its stack;
// transactions with more than maxSorted outputs (far more than any round of
// the four protocols) get only the generic rule, evaluated without sorting.
//
// Detect applies the protocol families only (ProtocolFamilies); DetectWith
// chooses the families, the general value-structure tests among them.
func Detect(tx *Tx) Verdict { return DetectWith(tx, ProtocolFamilies) }

// DetectWith is Detect with the families in on: protocol rules first, then
// the generic rule, then the general tests of value structure
// (collaborative.go: equal outputs, then denominations). Input-structure
// families in on are ignored here (InputRules.Judge applies them).
func DetectWith(tx *Tx, on Family) Verdict {
	nIn, nOut := len(tx.Ins), len(tx.Outs)
	// Every rule needs at least two inputs and three outputs (BlockSci's
	// first test; each protocol needs more).
	if nIn < 2 || nOut < 3 {
		return Verdict{}
	}
	for i := range tx.Ins {
		if tx.Ins[i].Coinbase {
			return Verdict{}
		}
	}
	switch {
	case nOut <= smallSorted:
		var buf [smallSorted]btc.Amount
		return detectSorted(tx, buf[:nOut], on)
	case nOut <= maxSorted:
		var buf [maxSorted]btc.Amount
		return detectSorted(tx, buf[:nOut], on)
	}
	return detectHuge(tx, on)
}

const (
	// smallSorted is the stack copy for ordinary transactions; maxSorted
	// the one for large rounds. Both live on Detect's stack.
	smallSorted = 64
	maxSorted   = 2048
)

// valueStats summarises a transaction's output values.
type valueStats struct {
	mode      btc.Amount // the most frequent output value; ties go to the lowest (GraphSense is_coinjoin)
	modeCount int        // how many outputs have value mode
	repeated  int        // distinct values that occur at least twice
	singles   int        // outputs whose value occurs exactly once
}

// summarize computes valueStats from sorted output values.
func summarize(sorted []btc.Amount) valueStats {
	var st valueStats
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		n := j - i
		if n > st.modeCount { // ascending order: the first value with the top count is the lowest
			st.mode, st.modeCount = sorted[i], n
		}
		if n >= 2 {
			st.repeated++
		} else {
			st.singles++
		}
		i = j
	}
	return st
}

// detectSorted runs every rule; buf has room for exactly len(tx.Outs) values.
func detectSorted(tx *Tx, buf []btc.Amount, on Family) Verdict {
	for i := range tx.Outs {
		buf[i] = tx.Outs[i].Value
	}
	slices.Sort(buf)
	st := summarize(buf)
	if on&FamWhirlpool != 0 {
		if v, ok := whirlpool(tx, &st); ok {
			return v
		}
	}
	if on&FamWasabi2 != 0 {
		if v, ok := wasabi2(tx, buf); ok {
			return v
		}
	}
	if on&FamWasabi1 != 0 {
		if v, ok := wasabi1(tx, buf, &st); ok {
			return v
		}
	}
	if on&FamJoinMarket != 0 {
		if v, ok := joinMarket(tx, &st); ok {
			return v
		}
	}
	if on&FamGeneric != 0 {
		if v, ok := generic(tx, st.mode, st.modeCount); ok {
			return v
		}
	}
	if on&FamEqualOutputs != 0 {
		if v, ok := equalOutputs(tx, buf); ok {
			return v
		}
	}
	if on&FamDenominations != 0 {
		if v, ok := denominations(tx, buf); ok {
			return v
		}
	}
	return Verdict{}
}

// detectHuge applies the generic rule (and, with FamEqualOutputs, a
// bounded form of the equal-output rule: the most common value alone must
// make a third of the outputs) to a transaction with more than maxSorted
// outputs. Its most common output value must occur
// (outputs+1)/2 times, more than a third of the outputs, so a Misra-Gries
// pass with two counters finds every candidate and a second pass counts
// them exactly. Values occurring at most a third of the time cannot meet
// the rule, so missing them changes nothing.
func detectHuge(tx *Tx, on Family) Verdict {
	var cand [2]btc.Amount
	var cnt [2]int
	for i := range tx.Outs {
		v := tx.Outs[i].Value
		switch {
		case cnt[0] > 0 && cand[0] == v:
			cnt[0]++
		case cnt[1] > 0 && cand[1] == v:
			cnt[1]++
		case cnt[0] == 0:
			cand[0], cnt[0] = v, 1
		case cnt[1] == 0:
			cand[1], cnt[1] = v, 1
		default:
			cnt[0]--
			cnt[1]--
		}
	}
	var exact [2]int
	for i := range tx.Outs {
		v := tx.Outs[i].Value
		for c := range cand {
			if cnt[c] > 0 && v == cand[c] {
				exact[c]++
			}
		}
	}
	mode, modeCount := cand[0], exact[0]
	if exact[1] > modeCount || (exact[1] == modeCount && exact[1] > 0 && cand[1] < mode) {
		mode, modeCount = cand[1], exact[1]
	}
	if on&FamGeneric != 0 {
		if v, ok := generic(tx, mode, modeCount); ok {
			return v
		}
	}
	if on&FamEqualOutputs != 0 && modeCount >= 2 && mode >= collabMinValue &&
		modeCount*equalShareDen >= len(tx.Outs) && distinctInputs(tx.Ins, 2) {
		return Verdict{Kind: EqualOutputs, Denomination: mode, Participants: modeCount}
	}
	return Verdict{}
}

// generic is BlockSci's isCoinjoin (src/heuristics/tx_identification.cpp,
// citp/BlockSci), ported to GraphSense as is_coinjoin
// (graphsense-lib src/graphsenselib/ingest/utxo.py), which GraphSense uses
// to keep CoinJoin inputs out of multi-input clustering:
//
//   - at least 2 inputs and 3 outputs (checked by Detect);
//   - "each participant contributes a spend and a change output", so
//     participants = (outputs+1)/2, which must not exceed the inputs nor
//     the distinct input addresses;
//   - the most common output value occurs exactly participants times;
//   - that value is not 546 or 2730 satoshis (dust, "unlikely to be
//     CoinJoin").
//
// BlockSci leaves ties for the most common value to hash-map order;
// GraphSense takes the lowest tied value, and so does Detect. An input
// whose address is unknown counts as a distinct address (distinctInputs).
func generic(tx *Tx, mode btc.Amount, modeCount int) (Verdict, bool) {
	p := (len(tx.Outs) + 1) / 2
	if p > len(tx.Ins) || modeCount != p || mode == 546 || mode == 2730 {
		return Verdict{}, false
	}
	if !distinctInputs(tx.Ins, p) {
		return Verdict{}, false
	}
	return Verdict{Kind: Generic, Denomination: mode, Participants: p}, true
}

// Whirlpool pool denominations (Samourai Whirlpool: 0.5, 0.05 and 0.01 BTC
// pools since the 2019 launch, 0.001 BTC since 2021; Dumplings
// Constants.SamouraiPools, GraphSense WHIRLPOOL_POOLS, PlanB Network's
// Whirlpool tutorial).
var whirlpoolPools = [...]btc.Amount{100_000, 1_000_000, 5_000_000, 50_000_000}

const (
	// whirlpoolMinSize and whirlpoolMaxSize bound a mix's inputs (equal to
	// its outputs): 5×5 from the 2019 launch; from 2023 the coordinator
	// also ran "surge cycles" of 6, 7 or 8 (PlanB Network's Whirlpool
	// tutorial; GraphSense _whirlpool_coinjoin_heuristic accepts 5-8).
	whirlpoolMinSize = 5
	whirlpoolMaxSize = 8
	// whirlpoolMaxPremix is the most a new entrant's premix input may
	// exceed the pool denomination: the miner-fee allowance added in tx0
	// (Stockinger et al., "Pinpointing and Measuring Wasabi and Samourai
	// CoinJoins in the Bitcoin Ecosystem", 2021: inputs between p and
	// p+0.0011 BTC; Dumplings and GraphSense use the same 110,000 sats).
	whirlpoolMaxPremix = 110_000
)

// whirlpool recognises a Samourai Whirlpool mix:
//
//   - as many inputs as outputs, 5 to 8 of each (see whirlpoolMinSize);
//   - every output pays exactly the pool denomination, one of
//     whirlpoolPools, to a P2WPKH (bech32) postmix address, all distinct;
//   - every input is a premix coin (denomination plus a miner-fee
//     allowance of at most 0.0011 BTC: a new entrant) or a postmix coin
//     (exactly the denomination: a remixer) from a P2WPKH output, no two
//     from the same address.
//
// Inputs whose value or type is unknown are not checked. When every input
// value is known, at least one input must be a remixer (Dumplings and
// GraphSense both require one) and at least one a new entrant (new
// entrants pay the miner fee; remixers mix for free).
func whirlpool(tx *Tx, st *valueStats) (Verdict, bool) {
	n := len(tx.Outs)
	if n < whirlpoolMinSize || n > whirlpoolMaxSize || len(tx.Ins) != n || st.modeCount != n {
		return Verdict{}, false
	}
	d := st.mode
	if !slices.Contains(whirlpoolPools[:], d) {
		return Verdict{}, false
	}
	for i := range tx.Outs {
		if tx.Outs[i].Type != address.P2WPKH {
			return Verdict{}, false
		}
	}
	if !distinctOutputs(tx.Outs) {
		return Verdict{}, false
	}
	remix, premix, known := 0, 0, 0
	for i := range tx.Ins {
		in := &tx.Ins[i]
		if in.Type != address.NonStandard && in.Type != address.P2WPKH {
			return Verdict{}, false
		}
		if in.Value == btc.UnknownAmount {
			continue
		}
		known++
		switch {
		case in.Value == d:
			remix++
		case in.Value > d && in.Value <= d+whirlpoolMaxPremix:
			premix++
		default:
			return Verdict{}, false
		}
	}
	if known == n && (remix == 0 || premix == 0) {
		return Verdict{}, false
	}
	if !distinctInputs(tx.Ins, n) {
		return Verdict{}, false
	}
	return Verdict{Kind: Whirlpool, Denomination: d, Participants: n}, true
}

const (
	// wasabi2MinInputs: WabiSabi rounds need many inputs. Dumplings uses
	// 20 ("50 was the minimum input count at the beginning of Wasabi 2");
	// WalletWasabi's AbsoluteMinInputCount is 21 today.
	wasabi2MinInputs = 20
	// Standard denominations lie in [wasabi2MinDenom, wasabi2MaxDenom]:
	// 5,000 sats is the coordinators' default MinAllowedOutputAmount; the
	// upper bound is Dumplings' (1,343.75 BTC).
	wasabi2MinDenom = 5_000
	wasabi2MaxDenom = 134_375_000_000
)

// wasabi2Denoms is WalletWasabi's set of standard denominations
// (WabiSabi/Client/CoinJoin/Client/Decomposer/DenominationBuilder.cs,
// reproduced in Dumplings' CreateWasabi2Denominations): powers of 2, powers
// of 3, 2×powers of 3, and the 1-2-5 series of powers of 10, within
// [wasabi2MinDenom, wasabi2MaxDenom], sorted ascending.
var wasabi2Denoms = makeWasabi2Denoms()

func makeWasabi2Denoms() []btc.Amount {
	var ds []btc.Amount
	add := func(base, mul btc.Amount) {
		for p := mul; p <= wasabi2MaxDenom; p *= base {
			if p >= wasabi2MinDenom {
				ds = append(ds, p)
			}
		}
	}
	add(2, 1)
	add(3, 1)
	add(3, 2)
	add(10, 1)
	add(10, 2)
	add(10, 5)
	slices.Sort(ds)
	return slices.Compact(ds)
}

// isWasabi2Denom reports whether v is a standard WabiSabi denomination.
func isWasabi2Denom(v btc.Amount) bool {
	_, ok := slices.BinarySearch(wasabi2Denoms, v)
	return ok
}

// wasabi2 recognises a Wasabi 2.0 (WabiSabi) round, following Dumplings
// (crocs-muni/Dumplings Scanner.cs), whose author wrote Wasabi:
//
//   - at least wasabi2MinInputs inputs, spending only P2WPKH or P2TR
//     outputs (the coordinator's AllowP2wpkhInputs/AllowP2trInputs);
//   - inputs and outputs ordered by value, largest first, as the
//     coordinator builds the transaction;
//   - more than 80% of the outputs at a standard denomination
//     (wasabi2Denoms); the rest are change and the coordinator fee.
//
// Output script types are not checked: coordinators may allow P2PKH, P2SH
// and P2WSH outputs (WabiSabiConfig AllowP2pkhOutputs and friends).
// Inputs of unknown type or value are skipped in those checks. Detect
// also requires some denomination to occur at least twice, so that the
// verdict names an equal-output set: Denomination is the most frequent
// standard denomination (ties: the lowest) and Participants its count.
func wasabi2(tx *Tx, sorted []btc.Amount) (Verdict, bool) {
	if len(tx.Ins) < wasabi2MinInputs {
		return Verdict{}, false
	}
	prev := btc.Amount(-1)
	for i := range tx.Ins {
		in := &tx.Ins[i]
		if in.Type != address.NonStandard && in.Type != address.P2WPKH && in.Type != address.P2TR {
			return Verdict{}, false
		}
		if in.Value == btc.UnknownAmount {
			continue
		}
		if prev >= 0 && in.Value > prev {
			return Verdict{}, false
		}
		prev = in.Value
	}
	for i := 1; i < len(tx.Outs); i++ {
		if tx.Outs[i].Value > tx.Outs[i-1].Value {
			return Verdict{}, false
		}
	}
	std := 0
	var denom btc.Amount
	denomCount := 0
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		if isWasabi2Denom(sorted[i]) {
			std += j - i
			if j-i > denomCount {
				denom, denomCount = sorted[i], j-i
			}
		}
		i = j
	}
	if std*5 <= len(sorted)*4 || denomCount < 2 {
		return Verdict{}, false
	}
	return Verdict{Kind: Wasabi2, Denomination: denom, Participants: denomCount}, true
}

const (
	// Wasabi 1.x base denomination window: 0.1 BTC ± 0.02 BTC (Dumplings
	// Constants.ApproximateWasabiBaseDenomination and
	// WasabiBaseDenominationPrecision). The coordinator adjusted the base
	// denomination around 0.1 BTC over time.
	wasabi1Base      = 10_000_000
	wasabi1Precision = 2_000_000
	// wasabi1MinEqual: "at least 10 equal outputs" (Dumplings).
	wasabi1MinEqual = 10
)

// wasabi1 recognises a Wasabi 1.x (ZeroLink) round, following Dumplings
// (nopara73/Dumplings and crocs-muni/Dumplings, Scanner.cs) and GraphSense
// (_wasabi_10_heuristic, _wasabi_11_heuristic):
//
//   - the base denomination d is the most frequent output value within
//     0.1 ± 0.02 BTC (GraphSense looks in the window; Dumplings takes the
//     most frequent value overall, which is the same on real rounds: the
//     coordinator gives every participant a base-denomination output and
//     Wasabi 1.1's mixing levels, at 2, 4, 8… times the denomination, only
//     to some of them; WalletWasabi CoordinatorRound.cs), and it occurs
//     n >= 10 times ("at least 10 equal outputs", Dumplings);
//   - at least n inputs (Dumplings) and n distinct input addresses
//     (GraphSense);
//   - native segwit only: every output P2WPKH, every input of known type
//     P2WPKH (Dumplings);
//   - at least two outputs of a value no other output has: the
//     coordinator fee and at least one change (crocs-muni Dumplings).
//
// Dumplings recognised the earliest rounds (before block 610,000) by the
// coordinator's fee address instead; Detect sees no address strings, so
// early rounds are recognised only when they have this shape.
func wasabi1(tx *Tx, sorted []btc.Amount, st *valueStats) (Verdict, bool) {
	if st.singles < 2 {
		return Verdict{}, false
	}
	var d btc.Amount
	n := 0
	lo, _ := slices.BinarySearch(sorted, wasabi1Base-wasabi1Precision)
	for i := lo; i < len(sorted) && sorted[i] <= wasabi1Base+wasabi1Precision; {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		if j-i > n {
			d, n = sorted[i], j-i
		}
		i = j
	}
	if n < wasabi1MinEqual || len(tx.Ins) < n {
		return Verdict{}, false
	}
	for i := range tx.Outs {
		if tx.Outs[i].Type != address.P2WPKH {
			return Verdict{}, false
		}
	}
	for i := range tx.Ins {
		if t := tx.Ins[i].Type; t != address.NonStandard && t != address.P2WPKH {
			return Verdict{}, false
		}
	}
	if !distinctInputs(tx.Ins, n) {
		return Verdict{}, false
	}
	return Verdict{Kind: Wasabi1, Denomination: d, Participants: n}, true
}

const (
	// joinMarketMinEqual: a taker and at least two makers (GraphSense
	// JOINMARKET_MIN_PARTICIPANTS; crocs-muni's JoinMarket analysis drops
	// candidates with only two equal outputs).
	joinMarketMinEqual = 3
	// joinMarketDust: equal outputs at or below it are not a CoinJoin
	// amount (GraphSense JOINMARKET_DUST_THRESHOLD).
	joinMarketDust = 2730
)

// joinMarket recognises a JoinMarket CoinJoin. A taker and n-1 makers each
// contribute one or more inputs and receive exactly one output of the
// CoinJoin amount plus at most one change output; the makers' change also
// carries their fee, and a taker who sweeps has no change (joinmarket-ng's
// description of the transaction). Following Dumplings' rule for such
// CoinJoins (Scanner.cs, "other" CoinJoins) and GraphSense's:
//
//   - the most frequent output value d occurs n >= 3 times and is above
//     2730 sats (GraphSense _joinmarket_heuristic);
//   - it is the only value that occurs more than once (Dumplings);
//   - there are 2n or 2n-1 outputs: everyone has change, or all but the
//     sweeping taker (Dumplings);
//   - no OP_RETURN output (crocs-muni's JoinMarket false-positive filter);
//   - output addresses are all distinct (GraphSense), and there are at
//     least n inputs and n distinct input addresses (Dumplings, GraphSense).
//
// Nothing is required of the CoinJoin amount itself: the taker chooses it
// (a sweep gives an odd amount, a payment may give a round one).
// Dumplings' further bound on the largest input is not applied: the
// taker's inputs also pay the makers' fees, which are not observable.
func joinMarket(tx *Tx, st *valueStats) (Verdict, bool) {
	d, n := st.mode, st.modeCount
	nOut := len(tx.Outs)
	if n < joinMarketMinEqual || d <= joinMarketDust || st.repeated != 1 ||
		(nOut != 2*n && nOut != 2*n-1) || len(tx.Ins) < n {
		return Verdict{}, false
	}
	for i := range tx.Outs {
		if tx.Outs[i].Type == address.OpReturn {
			return Verdict{}, false
		}
	}
	if !distinctOutputs(tx.Outs) || !distinctInputs(tx.Ins, n) {
		return Verdict{}, false
	}
	return Verdict{Kind: JoinMarket, Denomination: d, Participants: n}, true
}
