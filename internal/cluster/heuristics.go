package cluster

import (
	"fmt"
	"math"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// Heuristic names why two addresses were merged. The numeric values are
// stored in merge records: never reorder.
type Heuristic uint8

const (
	// MultiInput: the addresses were spent together as inputs of one
	// transaction that is not a CoinJoin (the co-spend heuristic).
	MultiInput Heuristic = 1
	// Change: an output was judged to be the spender's change; the evidence
	// bits say which change heuristics agreed.
	Change Heuristic = 2
)

func (h Heuristic) String() string {
	switch h {
	case MultiInput:
		return "multi_input"
	case Change:
		return "change"
	case Manual:
		return "manual"
	}
	return fmt.Sprintf("heuristic(%d)", uint8(h))
}

// Evidence is a set of change heuristics, one bit each. The bit values are
// stored in merge records: never reorder.
type Evidence uint8

const (
	// ScriptType: the output is the only one whose script class equals
	// that of every input (BlockSci address_type; GraphSense one_time_change).
	ScriptType Evidence = 1 << iota
	// Fresh: the output is the only one whose address appears on chain for
	// the first time (BlockSci client_change_address_behavior).
	Fresh
	// Optimal: the output is the only one smaller than every input; a
	// wallet would not have added an input larger than a payment
	// (BlockSci optimal_change).
	Optimal
	// Round: the output is the only one whose value is not round (at most
	// three significant decimal digits) while the others are: people pay
	// round amounts, change is what is left (BlockSci power_of_ten_value).
	Round
	// Fingerprint: the transaction that later spends the output has the
	// same version and locktime style as the one that created it: the same
	// wallet software spent it (BlockSci locktime; Kappos et al. 2022).
	Fingerprint
	// Peel: the output is the larger of two, and it is spent alone by
	// another two-output transaction: the remainder of a peel chain
	// (BlockSci peeling_chain; Meiklejohn et al. 2013).
	Peel
	numEvidence = 6
)

var evidenceNames = [numEvidence]string{"script_type", "fresh", "optimal", "round", "fingerprint", "peel"}

// AllEvidence lists the change heuristics in bit order.
var AllEvidence = []Evidence{ScriptType, Fresh, Optimal, Round, Fingerprint, Peel}

// String returns the names of the set bits joined by "+".
func (e Evidence) String() string {
	var parts []string
	for i := 0; i < numEvidence; i++ {
		if e&(1<<i) != 0 {
			parts = append(parts, evidenceNames[i])
		}
	}
	return strings.Join(parts, "+")
}

// ParseEvidence reads one change heuristic name.
func ParseEvidence(s string) (Evidence, error) {
	for i, n := range evidenceNames {
		if s == n {
			return 1 << i, nil
		}
	}
	return 0, fmt.Errorf("unknown change heuristic %q (want one of %s)", s, strings.Join(evidenceNames[:], ", "))
}

// Config chooses the heuristics. It is stored with the clustering; a store
// built with another Config must be rebuilt (reproducibility: BlockSci
// #373).
type Config struct {
	// Change enables change heuristics (each bit one heuristic). Zero, the
	// default, is multi-input clustering only.
	Change Evidence
	// Confidence of each change heuristic, 0..1, by bit index. A change
	// link merges when 1 − Π(1 − confidence) over the agreeing heuristics
	// reaches Threshold, and no enabled heuristic names another output.
	Confidence [numEvidence]float64
	// Threshold for a change link. Default 0.9.
	Threshold float64
	// GuardSize: a link (change, or co-spend when the guard family is on)
	// that would join two entities both at least this large is refused
	// and recorded for review (the supercluster guard). Default 100.
	GuardSize uint32
	// Off switches detector families off (coinjoin.Family): zero, the
	// default, runs them all. Evaluation switches each off in turn to
	// measure the rest on shapes they do not know.
	Off coinjoin.Family
	// EstablishedSize and MaxEstablished are the input-entities test: a
	// co-spend whose inputs come from more than MaxEstablished entities
	// of at least EstablishedSize addresses is refused. Defaults 2 and 2.
	EstablishedSize uint32
	MaxEstablished  int
	// MaxScripts: a co-spend whose inputs spend more than this many script
	// families is refused. Default 3 (all four families at once): at 2 the
	// test refused 41 single-owner co-spends of wallets that had migrated
	// across script types on a scale-1 chain and caught nothing the other
	// tests missed (docs/ACCURACY.md).
	MaxScripts int
	// FanEntities: a co-spend whose inputs come from at least this many
	// entities and that pays at least as many outputs is refused (the fan
	// test). Default 5.
	FanEntities int
}

// on returns the families that run.
func (c *Config) on() coinjoin.Family { return coinjoin.AllFamilies &^ c.Off }

// inputRules returns the thresholds of the input-structure tests.
func (c *Config) inputRules() coinjoin.InputRules {
	return coinjoin.InputRules{EstablishedSize: c.EstablishedSize, MaxEstablished: c.MaxEstablished,
		GuardSize: c.GuardSize, MaxScripts: c.MaxScripts, FanEntities: c.FanEntities}
}

// DefaultConfidence is each change heuristic's default confidence, chosen
// from the precision each reaches alone on simulated chains
// (docs/ACCURACY.md).
var DefaultConfidence = [numEvidence]float64{
	0.55, // script_type
	0.4,  // fresh
	0.85, // optimal
	0.5,  // round
	0.3,  // fingerprint
	0.3,  // peel
}

// EnsureDefaults fills zero fields.
func (c *Config) EnsureDefaults() *Config {
	for i := range c.Confidence {
		if c.Confidence[i] == 0 {
			c.Confidence[i] = DefaultConfidence[i]
		}
	}
	if c.Threshold == 0 {
		c.Threshold = 0.9
	}
	if c.GuardSize == 0 {
		c.GuardSize = 100
	}
	if c.EstablishedSize == 0 {
		c.EstablishedSize = 2
	}
	if c.MaxEstablished == 0 {
		c.MaxEstablished = 2
	}
	if c.MaxScripts == 0 {
		c.MaxScripts = 3
	}
	if c.FanEntities == 0 {
		c.FanEntities = 5
	}
	return c
}

// String describes the config; it is what the store records.
func (c *Config) String() string {
	var b strings.Builder
	b.WriteString("multi_input")
	if c.Off != 0 {
		fmt.Fprintf(&b, ",off=%s", c.Off)
	}
	d := Config{}
	d.EnsureDefaults()
	if c.EstablishedSize != d.EstablishedSize || c.MaxEstablished != d.MaxEstablished || c.MaxScripts != d.MaxScripts || c.FanEntities != d.FanEntities {
		fmt.Fprintf(&b, ",established=%d,max_established=%d,max_scripts=%d,fan=%d", c.EstablishedSize, c.MaxEstablished, c.MaxScripts, c.FanEntities)
	}
	if c.Change == 0 {
		if c.GuardSize != d.GuardSize {
			fmt.Fprintf(&b, ",guard=%d", c.GuardSize)
		}
		return b.String()
	}
	for i := 0; i < numEvidence; i++ {
		if c.Change&(1<<i) != 0 {
			fmt.Fprintf(&b, ",%s=%.2f", evidenceNames[i], c.Confidence[i])
		}
	}
	fmt.Fprintf(&b, ",threshold=%.2f,guard=%d", c.Threshold, c.GuardSize)
	return b.String()
}

// score combines the confidences of the evidence bits.
func (c *Config) score(e Evidence) float64 {
	miss := 1.0
	for i := 0; i < numEvidence; i++ {
		if e&(1<<i) != 0 {
			miss *= 1 - c.Confidence[i]
		}
	}
	return 1 - miss
}

// isRound reports whether v has at most three significant decimal digits
// (0.05 BTC, 0.0125 BTC, 1.2 mBTC): a value a person chose.
func isRound(v btc.Amount) bool {
	if v < 1000 {
		return false
	}
	for v%10 == 0 {
		v /= 10
	}
	return v < 1000
}

// fingerprint is a wallet-software fingerprint of a transaction: version
// and locktime style.
type fingerprint struct {
	version uint32
	lock    uint8 // 0: zero, 1: a recent height (anti-fee-sniping), 2: other height, 3: a time
}

func fingerprintOf(tx *coinjoin.Tx) fingerprint {
	f := fingerprint{version: tx.Version}
	switch lt := tx.LockTime; {
	case lt == 0:
	case lt >= 500_000_000:
		f.lock = 3
	case uint32(tx.Height) >= lt && uint32(tx.Height)-lt <= 100:
		f.lock = 1
	default:
		f.lock = 2
	}
	return f
}

// candidate is what the creation of a transaction says about its change:
// which output the creation-time heuristics name, with which evidence, and
// what the later spend needs to add its own.
type candidate struct {
	vout     uint32
	evidence Evidence // creation-time bits
	fp       fingerprint
	twoOut   bool // the tx had exactly two outputs and vout is the larger (a peel remainder)
	input    btc.AddrID
}

// changeCandidate applies the creation-time change heuristics (script type,
// fresh, optimal, round) to tx. fresh reports whether an address id is new
// in tx. ok is false when the tx cannot have a change link: a coinbase, a
// CoinJoin, a single output, an input without address or value, or
// heuristics that name different outputs.
func (c *Config) changeCandidate(tx *coinjoin.Tx, fresh func(btc.AddrID) bool) (cand candidate, ok bool) {
	if len(tx.Outs) < 2 || len(tx.Ins) == 0 || len(tx.Outs) > 64 {
		return cand, false
	}
	minIn := btc.Amount(math.MaxInt64)
	inType := tx.Ins[0].Type
	sameType := true
	for i := range tx.Ins {
		in := &tx.Ins[i]
		if in.Coinbase || in.Addr == btc.NoAddr || in.Value == btc.UnknownAmount {
			return cand, false
		}
		minIn = min(minIn, in.Value)
		if in.Type != inType {
			sameType = false
		}
		for j := range tx.Outs {
			if tx.Outs[j].Addr == in.Addr {
				return cand, false // address reuse: the change (if any) merges nothing new
			}
		}
	}
	for j := range tx.Outs {
		if tx.Outs[j].Addr == btc.NoAddr {
			return cand, false
		}
	}
	// Each heuristic names the unique output that satisfies it, or nothing.
	named := [numEvidence]int{-1, -1, -1, -1, -1, -1}
	unique := func(bit int, pred func(o *coinjoin.Out) bool) {
		n := -1
		for j := range tx.Outs {
			if pred(&tx.Outs[j]) {
				if n >= 0 {
					return
				}
				n = j
			}
		}
		named[bit] = n
	}
	if c.Change&ScriptType != 0 && sameType {
		unique(0, func(o *coinjoin.Out) bool { return o.Type == inType })
	}
	if c.Change&Fresh != 0 && fresh != nil {
		unique(1, func(o *coinjoin.Out) bool { return fresh(o.Addr) })
	}
	if c.Change&Optimal != 0 {
		unique(2, func(o *coinjoin.Out) bool { return o.Value < minIn })
	}
	if c.Change&Round != 0 {
		unique(3, func(o *coinjoin.Out) bool { return !isRound(o.Value) })
	}
	vout := -1
	var ev Evidence
	for bit, j := range named {
		if j < 0 {
			continue
		}
		if vout >= 0 && j != vout {
			return cand, false // heuristics disagree: no change link
		}
		vout = j
		ev |= 1 << bit
	}
	twoOut := len(tx.Outs) == 2 && len(tx.Ins) <= 2
	if vout < 0 {
		if !twoOut || c.Change&Peel == 0 {
			return cand, false
		}
		// Only the spend can tell; the peel remainder is the larger output.
		vout = 0
		if tx.Outs[1].Value > tx.Outs[0].Value {
			vout = 1
		}
	}
	if twoOut {
		larger := 0
		if tx.Outs[1].Value > tx.Outs[0].Value {
			larger = 1
		}
		twoOut = larger == vout
	}
	return candidate{vout: uint32(vout), evidence: ev, fp: fingerprintOf(tx), twoOut: twoOut, input: tx.Ins[0].Addr}, true
}

// spendEvidence adds the evidence of the transaction spend that spends the
// candidate output: fingerprint consistency and the peel shape.
func (c *Config) spendEvidence(cand *candidate, spend *coinjoin.Tx) Evidence {
	ev := cand.evidence
	if c.Change&Fingerprint != 0 && fingerprintOf(spend) == cand.fp {
		ev |= Fingerprint
	}
	if c.Change&Peel != 0 && cand.twoOut && len(spend.Ins) == 1 && len(spend.Outs) == 2 {
		ev |= Peel
	}
	return ev
}

// encode stores the config: <1b change><6× uvarint confidence ‰><uvarint threshold ‰><uvarint guard>
// <uvarint off><uvarint established><uvarint max established><uvarint max scripts><uvarint fan>.
func (c *Config) encode() []byte {
	var e encoding.Encbuf
	e.PutByte(byte(c.Change))
	for _, x := range c.Confidence {
		e.PutUvarint(uint64(math.Round(x * 1000)))
	}
	e.PutUvarint(uint64(math.Round(c.Threshold * 1000)))
	e.PutUvarint(uint64(c.GuardSize))
	e.PutUvarint(uint64(c.Off))
	e.PutUvarint(uint64(c.EstablishedSize))
	e.PutUvarint(uint64(c.MaxEstablished))
	e.PutUvarint(uint64(c.MaxScripts))
	e.PutUvarint(uint64(c.FanEntities))
	return e.Get()
}

func (c *Config) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	c.Change = Evidence(d.Byte())
	for i := range c.Confidence {
		c.Confidence[i] = float64(d.Uvarint()) / 1000
	}
	c.Threshold = float64(d.Uvarint()) / 1000
	c.GuardSize = uint32(d.Uvarint())
	if d.Err() == nil && d.Len() == 0 {
		// A clustering built before the general tests existed: it ran
		// the protocol families only, and says so.
		c.Off = coinjoin.GeneralFamilies
		return nil
	}
	c.Off = coinjoin.Family(d.Uvarint())
	c.EstablishedSize = uint32(d.Uvarint())
	c.MaxEstablished = int(d.Uvarint())
	c.MaxScripts = int(d.Uvarint())
	if d.Len() > 0 { // absent: built before the fan test, which did not run
		c.FanEntities = int(d.Uvarint())
	}
	if d.Err() != nil {
		return corrupt("config", d.Err())
	}
	return nil
}
