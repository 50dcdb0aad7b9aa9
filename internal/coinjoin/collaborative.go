package coinjoin

import (
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// General tests for collaborative transactions. The protocol detectors
// (detect.go) recognise the coordinators somebody catalogued; a chain also
// carries coordinators nobody catalogued, WabiSabi's arbitrary
// denominations, JoinMarket variants, PayJoins and collaborative batches.
// A multi-input merge through any of them joins unrelated owners, and the
// error spreads into every label, trace and exposure downstream. These
// tests therefore ask what a collaborative transaction cannot avoid
// showing, not what one coordinator habitually does:
//
//   - value structure (equalOutputs, denominations): a mix must give its
//     participants outputs that cannot be told apart, so it repeats values
//     or uses a published denomination schedule;
//   - input structure (InputStructure, applied by package cluster): inputs
//     from several entities that already exist, or from several script
//     families, are unlikely to be one wallet's.
//
// Each rule states its cost on legitimate spends; docs/ACCURACY.md
// measures it (false refusals) beside what it catches (false merges
// avoided).

const (
	// collabMinValue: outputs below it do not count as mixed outputs
	// (GraphSense heuristics_service STONEWALL_V_MIN and WASABI_20_V_MIN:
	// 5,000 sats; below it lie dust, anchors and fee-bumping outputs).
	collabMinValue = 5_000
	// equalShareDen: repeated-value outputs must be at least one in
	// equalShareDen of all outputs. A mix's equal outputs are its point
	// (JoinMarket n of 2n, Stonewall 2 of 3 or 4, a Wasabi round most of
	// them); an exchange batch that happens to pay two customers the same
	// amount has two equal outputs among dozens, and stays a payment.
	equalShareDen = 3
	// fanInputsPerOutput: the Fan test wants an output per this many
	// input entities.
	fanInputsPerOutput = 10
	// manyInputs: from this many distinct input addresses on, a
	// transaction is not one sender's split (equalOutputs, Fan).
	manyInputs = 5
	// denomMin: outputs at binary or ternary denominations needed by the
	// denominations rule.
	denomMin = 3
)

// equalOutputs is the value-structure rule, a generalisation of the
// equal-output rules of BlockSci (isCoinjoin), GraphSense (is_coinjoin,
// _joinmarket_heuristic, _is_stonewall) and Dumplings that drops what ties
// each to one coordinator: the participant-count formula (BlockSci's
// (outputs+1)/2 fails when a participant takes several equal outputs,
// as in the round of issue 10: 80 inputs, 95 equal outputs, 74 others), the
// requirement of at most one equal output per input address (GraphSense
// JoinMarket), fixed denominations and script types. It fires when:
//
//   - the inputs come from at least two distinct addresses (one address
//     cannot be several owners);
//   - some value of at least collabMinValue is paid to two or more
//     outputs, to distinct addresses (a mix pays every participant's
//     fresh address; GraphSense requires distinct output scripts);
//   - the outputs at repeated values are at least a third of all outputs
//     (see equalShareDen);
//   - unless the inputs come from at least manyInputs addresses, the
//     most repeated value has at most 3/2 outputs per distinct input
//     address: participants bring coins (the round of issue 10, where
//     some took several equal outputs, has 95 for 80 input addresses),
//     while one sender splitting a coin into many equal payouts (faucets,
//     pool payouts, a wallet's own split; four such transactions among
//     the real blocks of 2014–2018 pay 4 to 16 equal outputs from 2 or 3
//     addresses) is a payment. Wasabi 1 rounds, whose participants take
//     several mixing levels, have many more repeated outputs than inputs,
//     so the bound is on the most repeated value only.
//
// Denomination is the most repeated value (ties: the lowest) and
// Participants its count.
//
// Cost on legitimate spends: a multi-input wallet payment whose outputs
// repeat a value (paying two people the same amount beside change, or a
// wallet's own "fake CoinJoin" Stonewall) is refused as a merge: recall
// lost, never precision. Sweeps (many inputs, one or two outputs) and
// batch withdrawals (few equal amounts among many) do not fire.
func equalOutputs(tx *Tx, sorted []btc.Amount) (Verdict, bool) {
	var d btc.Amount
	n, repeated := 0, 0
	for i := 0; i < len(sorted); {
		j := runEnd(sorted, i)
		if c := j - i; c >= 2 && sorted[i] >= collabMinValue {
			repeated += c
			if c > n {
				d, n = sorted[i], c
			}
		}
		i = j
	}
	if n < 2 || repeated*equalShareDen < len(sorted) {
		return Verdict{}, false
	}
	// A split by few senders: more equal outputs than 3/2 per input
	// address, and fewer than manyInputs addresses.
	split := !distinctInputs(tx.Ins, manyInputs) && !distinctInputs(tx.Ins, (2*n+2)/3)
	if split || !distinctInputs(tx.Ins, 2) || !repeatedDistinct(tx.Outs, sorted) || whirlpoolTx0(tx, d, n) {
		return Verdict{}, false
	}
	return Verdict{Kind: EqualOutputs, Denomination: d, Participants: n}, true
}

const (
	// Whirlpool Tx0 shape (GraphSense _whirlpool_tx0_heuristic):
	// premix outputs of a pool denomination plus 100 to 110,000 sats, at
	// most 70 of them.
	tx0MinPremix  = 100
	tx0MaxOutputs = 70
)

// whirlpoolTx0 reports whether tx has the shape of a Samourai Whirlpool
// Tx0, a documented single-wallet transaction that splits one user's coins
// into equal premix outputs (GraphSense _whirlpool_tx0_heuristic): exactly
// one OP_RETURN output, the repeated value d (n times) within a pool
// denomination plus tx0MinPremix..whirlpoolMaxPremix sats, at most
// tx0MaxOutputs premix outputs, and at most two other outputs with an
// address (the coordinator fee and the change). Such a transaction is one
// owner's, and the equal-output rule leaves it to the multi-input
// heuristic. GraphSense also checks the fee output against each pool's
// fee; Detect sees no fee schedule and does not.
func whirlpoolTx0(tx *Tx, d btc.Amount, n int) bool {
	if n > tx0MaxOutputs {
		return false
	}
	inPool := false
	for _, p := range whirlpoolPools {
		if d >= p+tx0MinPremix && d <= p+whirlpoolMaxPremix {
			inPool = true
		}
	}
	if !inPool {
		return false
	}
	opReturns, others := 0, 0
	for i := range tx.Outs {
		switch o := &tx.Outs[i]; {
		case o.Type == address.OpReturn:
			opReturns++
		case o.Value != d && o.Addr != btc.NoAddr:
			others++
		}
	}
	return opReturns == 1 && others <= 2
}

// repeatedDistinct reports whether the outputs at repeated values pay
// distinct addresses. sorted holds the output values in ascending order.
func repeatedDistinct(outs []Out, sorted []btc.Amount) bool {
	var buf [smallSet]btc.AddrID
	s := idSet{ids: buf[:0]}
	for i := range outs {
		o := &outs[i]
		if o.Addr == btc.NoAddr || !isRepeated(sorted, o.Value) {
			continue
		}
		if s.full() {
			return true // more than smallSet repeated outputs: no rule needs to tell
		}
		if !s.add(o.Addr) {
			return false
		}
	}
	return true
}

// runEnd returns the end of the run of values equal to sorted[i].
func runEnd(sorted []btc.Amount, i int) int {
	j := i + 1
	for j < len(sorted) && sorted[j] == sorted[i] {
		j++
	}
	return j
}

// isRepeated reports whether v occurs at least twice in sorted.
func isRepeated(sorted []btc.Amount, v btc.Amount) bool {
	i, found := slices.BinarySearch(sorted, v)
	return found && i+1 < len(sorted) && sorted[i+1] == v
}

// oddDenoms are the denominations of WalletWasabi's schedule
// (DenominationBuilder.cs; see wasabi2Denoms) that a person paying an
// amount would not choose: powers of 2, powers of 3 and twice powers of 3,
// without the 1-2-5 decimal series (which are ordinary round payments).
var oddDenoms = makeOddDenoms()

func makeOddDenoms() []btc.Amount {
	var ds []btc.Amount
	for _, d := range wasabi2Denoms {
		if d >= collabMinValue && !isDecimalRound(d) {
			ds = append(ds, d)
		}
	}
	return ds
}

// isDecimalRound reports whether v is 1, 2 or 5 times a power of ten.
func isDecimalRound(v btc.Amount) bool {
	for v >= 10 && v%10 == 0 {
		v /= 10
	}
	return v == 1 || v == 2 || v == 5
}

// denominations is the schedule rule: WabiSabi clients decompose their
// coins into a published schedule of denominations (WalletWasabi
// DenominationBuilder.cs: powers of 2, powers of 3, twice powers of 3 and
// the 1-2-5 series), so a round's outputs sit on the schedule even where
// no value repeats (a small round, or participants of different sizes).
// Dumplings and GraphSense (_wasabi_20_heuristic) recognise the schedule
// only together with Wasabi's input count, ordering and script types; this
// rule keeps the schedule alone, and only its non-decimal part, because
// 0.01 or 0.05 BTC are ordinary payments. It fires when:
//
//   - the inputs come from at least two distinct addresses;
//   - at least denomMin outputs pay a binary or ternary denomination
//     (oddDenoms: 2^k, 3^k or 2·3^k sats, at least collabMinValue), and
//     they are at least a third of the outputs.
//
// Denomination is the most frequent such value (ties: the lowest) and
// Participants the number of outputs on the schedule.
//
// Cost on legitimate spends: a payment of exactly 2^k or 3^k sats is as
// likely as any other exact amount; three of them in one transaction do
// not happen by chance. Wallets that decompose amounts on a schedule for
// privacy are refused as merges, which is what their users asked for.
func denominations(tx *Tx, sorted []btc.Amount) (Verdict, bool) {
	var d btc.Amount
	n, dn := 0, 0
	for i := 0; i < len(sorted); {
		j := runEnd(sorted, i)
		if _, ok := slices.BinarySearch(oddDenoms, sorted[i]); ok {
			n += j - i
			if j-i > dn {
				d, dn = sorted[i], j-i
			}
		}
		i = j
	}
	if n < denomMin || n*equalShareDen < len(sorted) || !distinctInputs(tx.Ins, 2) {
		return Verdict{}, false
	}
	return Verdict{Kind: Denominations, Denomination: d, Participants: n}, true
}

// InputStructure is what the clustering knows of a transaction's inputs
// just before it: the entities they already belong to.
type InputStructure struct {
	// Entities is the number of distinct entities among inputs of known
	// address; Established how many of them have at least
	// InputRules.EstablishedSize addresses.
	Entities, Established int
	// Largest and Second are the sizes of the two largest of them.
	Largest, Second uint32
}

// InputRules are the thresholds of the input-structure tests.
type InputRules struct {
	// EstablishedSize: an entity with at least this many addresses has
	// spent together before (a singleton is just a received coin).
	EstablishedSize uint32
	// MaxEstablished: a transaction whose inputs come from more than this
	// many established entities is taken as collaborative.
	MaxEstablished int
	// GuardSize: a merge joining two entities both at least this large is
	// refused (the supercluster guard).
	GuardSize uint32
	// MaxScripts: inputs spending more than this many script families
	// (legacy, nested segwit, native segwit v0, taproot) are taken as
	// several wallets'.
	MaxScripts int
	// FanEntities: a transaction whose inputs come from at least this many
	// entities and that pays at least as many outputs is taken as
	// collaborative (Fan). Zero turns the test off.
	FanEntities int
}

// InputVerdict is the reason the input-structure tests give, or 0.
type InputVerdict uint8

const (
	// InputEntities: the inputs belong to more than MaxEstablished
	// established entities. Each participant of a collaborative
	// transaction brings coins from its own wallet, and wallets that spend
	// several coins at a time are established entities; one wallet
	// consolidating its own coins joins its own clusters, but rarely more
	// than a few at once. (GraphSense exposes input_cluster_ids in
	// TxCharacteristics for the same judgement; Harrigan and Fretter,
	// "The Unreasonable Effectiveness of Address Clustering", 2016, show
	// that a few collaborative transactions create superclusters.)
	InputEntities InputVerdict = 1
	// Guard: the merge would join two entities both at least GuardSize
	// large: the supercluster guard of the change links, applied to
	// co-spends (Harrigan and Fretter 2016).
	Guard InputVerdict = 2
	// ScriptMix: the inputs spend more than MaxScripts script families.
	// A wallet derives its addresses from one script template per
	// account, and Bitcoin Core's coin selection avoids mixing output
	// types (OutputType grouping, v23); participants of a collaborative
	// transaction each bring their own (Kappos et al., "How to Peel a
	// Million", 2022, use script-type consistency as a wallet
	// fingerprint).
	ScriptMix InputVerdict = 3
	// Fan: inputs from at least FanEntities entities, at least
	// FanEntities outputs and one per fanInputsPerOutput input entities
	// (participants bring up to 7 inputs to Wasabi 1, 10 to WabiSabi:
	// a round of 249 inputs from 58 participants pays 117 outputs), and
	// outputs at repeated values (of at least
	// 5,000 sats) at least a third of all. Each participant of a mix brings its own coins and
	// takes outputs back that others cannot be told from, so a mix fans in
	// from many entities and out to as many outputs, some of them equal;
	// a wallet consolidating coins it received at many addresses (an
	// exchange's sweep) pays one or two outputs. Möser and Böhme
	// ("Anonymous Alone?", 2017) and the Dumplings scanner look for
	// CoinJoin candidates among many-input, many-output transactions for
	// the same reason. It overlaps the equal-output rule on purpose, on
	// other evidence (entities rather than addresses, no split bound, no
	// Tx0 exemption), so that a coordinator that
	// evades one is caught by the other. Without the repeated values it
	// refused 38 exchange batch payouts (5 to 39 deposit coins, up to
	// 1,469 outputs) in the real blocks of 2013–2019; requiring one
	// repeated value still refused 6 (withdrawals of the same round
	// amount, 2 to 13 of 11 to 1,469 outputs); requiring a third, none.
	Fan InputVerdict = 4
)

func (v InputVerdict) String() string {
	switch v {
	case InputEntities:
		return "input_entities"
	case Guard:
		return "guard"
	case ScriptMix:
		return "script_mix"
	case Fan:
		return "fan"
	}
	return ""
}

// Judge applies the input-structure tests that on enables to what the
// clustering knows of tx's inputs. The cost of each on legitimate spends
// is a refused merge (recall), measured in docs/ACCURACY.md.
func (r *InputRules) Judge(tx *Tx, s InputStructure, on Family) InputVerdict {
	if on&FamInputEntities != 0 && s.Established > r.MaxEstablished {
		return InputEntities
	}
	if on&FamScriptMix != 0 && r.MaxScripts > 0 && scriptFamilies(tx) > r.MaxScripts {
		return ScriptMix
	}
	if on&FamFan != 0 && r.FanEntities > 0 && s.Entities >= r.FanEntities &&
		len(tx.Outs) >= r.FanEntities && len(tx.Outs)*fanInputsPerOutput >= s.Entities && repeatedShare(tx.Outs) {
		return Fan
	}
	if on&FamGuard != 0 && s.Second >= r.GuardSize {
		return Guard
	}
	return 0
}

// repeatedShare reports whether outputs at repeated values (of at least
// collabMinValue) are at least one in equalShareDen of all outputs, paid
// to distinct addresses (a wallet moving 18 × 6 BTC to one cold address
// in block 514485 is one owner). It
// allocates nothing: values are sorted in a copy on the stack
// (transactions of more than maxSorted outputs are judged by their first
// maxSorted).
func repeatedShare(outs []Out) bool {
	var buf [maxSorted]btc.Amount
	n := min(len(outs), maxSorted)
	for i := range n {
		buf[i] = outs[i].Value
	}
	v := buf[:n]
	slices.Sort(v)
	repeated := 0
	for i := 0; i < n; {
		j := runEnd(v, i)
		if j-i >= 2 && v[i] >= collabMinValue {
			repeated += j - i
		}
		i = j
	}
	return repeated >= 2 && repeated*equalShareDen >= n && repeatedDistinct(outs, v)
}

// scriptFamilies counts the script families among tx's inputs of known
// type: legacy (P2PK, P2PKH, bare multisig), P2SH (nested segwit and
// legacy multisig), native segwit v0 (P2WPKH, P2WSH) and taproot.
func scriptFamilies(tx *Tx) int {
	var seen uint8
	for i := range tx.Ins {
		switch tx.Ins[i].Type {
		case address.P2PK, address.P2PKH, address.Multisig:
			seen |= 1
		case address.P2SH:
			seen |= 2
		case address.P2WPKH, address.P2WSH:
			seen |= 4
		case address.P2TR:
			seen |= 8
		}
	}
	n := 0
	for ; seen != 0; seen &= seen - 1 {
		n++
	}
	return n
}
