package sim

import (
	"math"
	"slices"
	"time"
)

// Collaborative transactions beyond the three known CoinJoin protocols:
// rounds of coordinators that no detector was written for, PayJoins
// (BIP78) and collaborative batches. Their parameters are drawn once per
// run from the seed (drawCollab), so that each seed is a different world;
// truth/coordinators.json records what was drawn. They are designed from
// public protocol descriptions and from randomisation, not from what any
// detector tests (docs/SIMULATOR.md, "Collaborative transactions").

// How an unknown coordinator chooses output amounts (its
// denomination_policy in coordinators.json).
const (
	dpSingle    = "single"    // one fixed denomination
	dpSet       = "set"       // a fixed set of 2-4 denominations
	dpStandard  = "standard"  // WabiSabi-like standard denominations (series)
	dpArbitrary = "arbitrary" // a new arbitrary amount every round
)

var denomPolicies = []string{dpSingle, dpSet, dpStandard, dpArbitrary}

// How a collaborative transaction orders its inputs or outputs.
const (
	coRandom     = "random"
	coAscending  = "ascending"
	coDescending = "descending"
	coBIP69      = "bip69"
)

var collabOrders = []string{coRandom, coAscending, coDescending, coBIP69}

// Bounds of the drawn parameters.
const (
	collabMinParts = 5   // smallest round size any coordinator allows
	collabMaxParts = 400 // largest
	// collabMaxWeight stops a round from taking more participants once its
	// weight reaches it (MAX_STANDARD_TX_WEIGHT is 400,000).
	collabMaxWeight = 380_000
	// collabBlockRoom: a collaborative transaction is only built while the
	// block has room for one more of the largest.
	collabBlockRoom = 4_000_000 - collabMaxWeight - 20_000
	// collabRefSize is the mean round size at which a coordinator runs
	// RoundsPerTx rounds per transaction; larger rounds are rarer.
	collabRefSize = 50
	// stdDenomMin is the smallest WabiSabi standard denomination (5,000 sats).
	stdDenomMin = 5_000
)

// Dates from which the behaviours exist: PSBT (BIP174, 2017) for pooled
// batches; BIP78 PayJoin shipped in BTCPay Server and Wasabi in spring 2020.
var (
	collabBatchDate = date(2017, 8, 1)
	payjoinDate     = date(2020, 4, 1)
)

// unknownCoord is one coordinator no detector knows, with its drawn
// parameters. Exported fields are written to truth/coordinators.json.
type unknownCoord struct {
	ID            int      `json:"coord"`
	Name          string   `json:"name"`
	EntityID      int32    `json:"entity_id"`
	Start         string   `json:"start"`
	End           string   `json:"end"`
	RoundsPerTx   float64  `json:"rounds_per_tx"` // rounds attempted per block = this × transactions per block, while active
	Policy        string   `json:"denomination_policy"`
	Denoms        []int64  `json:"denominations,omitempty"` // single and set policies
	Series        []string `json:"standard_series,omitempty"`
	ArbitraryLo   int64    `json:"arbitrary_min,omitempty"`
	ArbitraryHi   int64    `json:"arbitrary_max,omitempty"`
	MinParts      int      `json:"min_participants"`
	MaxParts      int      `json:"max_participants"`
	MaxInputs     int      `json:"max_inputs_per_participant"`
	MaxPerDenom   int      `json:"max_equal_outputs_per_participant"`
	MaxOuts       int      `json:"max_mixed_outputs_per_participant"`
	MultiLevel    bool     `json:"several_denominations_per_participant"`
	FeeOutput     bool     `json:"fee_output"`
	FeeRate       float64  `json:"fee_rate,omitempty"` // fraction of each participant's mixed amount
	FeeAddrReused bool     `json:"fee_address_reused,omitempty"`
	MinChange     int64    `json:"min_change"`
	InputType     string   `json:"input_type"`  // "mixed" or a script type
	OutputType    string   `json:"output_type"` // "mixed" (each participant's own) or a script type
	InputOrder    string   `json:"input_order"`
	OutputOrder   string   `json:"output_order"`
	Version       int32    `json:"version"`
	Sequence      uint32   `json:"sequence"`

	start, end int64
	std        []int64 // standard denominations, descending
	inType     scriptType
	outType    scriptType
	feeWallet  int32
}

// collabWorld holds the run's collaborative behaviours.
type collabWorld struct {
	Coords  []unknownCoord `json:"coordinators"`
	Payjoin struct {
		Start           string  `json:"start"`
		PerTx           float64 `json:"per_tx"`                         // attempts per block = this × transactions per block
		SenderPaysInput float64 `json:"sender_pays_receiver_input_fee"` // probability (BIP78 additionalfeeoutputindex)
		MerchantShare   float64 `json:"merchant_receiver_share"`
	} `json:"payjoin"`
	Batch struct {
		Start     string  `json:"start"`
		PerTx     float64 `json:"per_tx"` // attempts per block = this × transactions per block
		MaxPayers int     `json:"max_payers"`
		MaxPays   int     `json:"max_payments_per_payer"`
		BIP69     float64 `json:"bip69_share"`
	} `json:"collab_batch"`
}

func dateString(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02") }

// drawCollab draws the collaborative world of a run from its own random
// stream, so the parameters depend on the seed alone.
func drawCollab(seed int64) collabWorld {
	r := newRNG(seed, 3)
	var cw collabWorld
	n := r.between(1, 3)
	for i := 0; i < n; i++ {
		cw.Coords = append(cw.Coords, drawCoord(r, i))
	}
	pj := &cw.Payjoin
	pj.Start = dateString(payjoinDate)
	pj.PerTx = r.logUniform(0.01, 0.02)
	pj.SenderPaysInput = 0.3 + 0.6*r.Float64()
	pj.MerchantShare = 0.4 + 0.5*r.Float64()
	b := &cw.Batch
	b.Start = dateString(collabBatchDate)
	b.PerTx = r.logUniform(0.004, 0.01)
	b.MaxPayers = r.between(3, 8)
	b.MaxPays = r.between(1, 4)
	b.BIP69 = r.Float64()
	return cw
}

// standardSeries are the families WabiSabi's standard denominations are
// drawn from (powers of 2, of 3, 2 × powers of 3, and the 1-2-5 series).
var standardSeries = []string{"pow2", "pow3", "2pow3", "1-2-5"}

// standardDenoms lists the values of the named series between stdDenomMin
// and 100 BTC, largest first.
func standardDenoms(series []string) []int64 {
	var v []int64
	add := func(base, mul int64) {
		for x := mul; x <= 100e8; x *= base {
			if x >= stdDenomMin {
				v = append(v, x)
			}
		}
	}
	for _, s := range series {
		switch s {
		case "pow2":
			add(2, 1)
		case "pow3":
			add(3, 1)
		case "2pow3":
			add(3, 2)
		case "1-2-5":
			add(10, 1)
			add(10, 2)
			add(10, 5)
		}
	}
	slices.Sort(v)
	v = slices.Compact(v)
	slices.Reverse(v)
	return v
}

// roundDenomChoices are the denominations single and set policies draw
// from (sats), besides non-round amounts.
var roundDenomChoices = []int64{100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000, 100_000_000}

func drawCoord(r rng, id int) unknownCoord {
	c := unknownCoord{ID: id}
	c.Policy = denomPolicies[r.IntN(len(denomPolicies))]
	switch c.Policy {
	case dpSingle:
		if r.chance(0.6) {
			c.Denoms = []int64{roundDenomChoices[r.IntN(7)]} // up to 0.1 BTC
		} else {
			c.Denoms = []int64{int64(r.logUniform(200_000, 20_000_000))}
		}
	case dpSet:
		k := r.between(2, 4)
		for len(c.Denoms) < k {
			d := roundDenomChoices[r.IntN(len(roundDenomChoices))]
			if r.chance(0.3) {
				d = int64(r.logUniform(100_000, 100_000_000))
			}
			if !slices.Contains(c.Denoms, d) {
				c.Denoms = append(c.Denoms, d)
			}
		}
		slices.Sort(c.Denoms)
		slices.Reverse(c.Denoms)
		c.MultiLevel = r.chance(0.5)
	case dpStandard:
		for len(c.Series) == 0 {
			for _, s := range standardSeries {
				if r.chance(0.5) {
					c.Series = append(c.Series, s)
				}
			}
		}
		c.std = standardDenoms(c.Series)
		c.MultiLevel = true
	case dpArbitrary:
		c.ArbitraryLo = int64(r.logUniform(100_000, 2_000_000))
		c.ArbitraryHi = c.ArbitraryLo * int64(r.between(3, 30))
	}
	// Round sizes: somewhere in 5..400, small or large.
	c.MinParts = int(r.logUniform(collabMinParts, 80))
	c.MaxParts = min(collabMaxParts, c.MinParts+int(r.logUniform(5, collabMaxParts)))
	c.MaxInputs = r.between(1, 8)
	c.MaxPerDenom = 1
	if r.chance(0.5) {
		c.MaxPerDenom = r.between(2, 6)
	}
	c.MaxOuts = c.MaxPerDenom
	if c.MultiLevel {
		c.MaxOuts = r.between(max(2, c.MaxPerDenom), 10)
	}
	c.FeeOutput = r.chance(0.6)
	if c.FeeOutput {
		c.FeeRate = r.logUniform(0.0001, 0.005)
		c.FeeAddrReused = r.chance(0.5)
	}
	c.MinChange = int64(r.between(546, 20_000))
	// Script types and dates: a coordinator requiring native segwit inputs
	// starts when such coins are common; P2TR outputs only after taproot.
	earliest := date(2016, 3, 1)
	c.inType, c.outType = stNone, stNone
	if r.chance(0.5) {
		c.inType = stP2WPKH
		earliest = date(2019, 1, 1)
	}
	switch x := r.Float64(); {
	case x < 0.3:
		c.outType = stP2WPKH
		earliest = max(earliest, segwitDate)
	case x < 0.45:
		c.outType = stP2TR
		earliest = max(earliest, taprootDate)
	}
	c.InputType, c.OutputType = "mixed", "mixed"
	if c.inType != stNone {
		c.InputType = c.inType.String()
	}
	if c.outType != stNone {
		c.OutputType = c.outType.String()
	}
	latest := max(earliest, date(2021, 6, 1))
	c.start = earliest + r.Int64N(latest-earliest+1)
	c.end = calEnd
	if r.chance(0.4) {
		c.end = min(calEnd, c.start+int64(r.between(2*365, 4*365))*86400)
	}
	c.Start, c.End = dateString(c.start), dateString(c.end)
	c.RoundsPerTx = r.logUniform(0.0015, 0.004)
	c.OutputOrder = collabOrders[r.IntN(len(collabOrders))]
	c.InputOrder = collabOrders[r.IntN(len(collabOrders))]
	if c.OutputOrder == coBIP69 {
		c.InputOrder = coBIP69 // BIP69 orders both
	} else if c.InputOrder == coBIP69 {
		c.InputOrder = coRandom
	}
	c.Version = int32(r.between(1, 2))
	c.Sequence = []uint32{0xffffffff, 0xfffffffe, 0xfffffffd}[r.IntN(3)]
	return c
}

// initCollab draws the collaborative world and creates the unknown
// coordinators' entities and fee addresses.
func (s *sim) initCollab() {
	s.collab = drawCollab(s.opts.Seed)
	for i := range s.collab.Coords {
		c := &s.collab.Coords[i]
		c.Name = "Unknown coordinator " + string(rune('A'+i))
		e := s.newEntity(ekCoordinator, swService, c.Name, "")
		s.entities[e].private = true // no detector or label knows it
		c.EntityID = e
		st := c.outType
		if st == stNone {
			st = stP2WPKH
		}
		c.feeWallet = s.newWallet(e, roleCoordinator, st)
		if c.FeeAddrReused {
			s.fixedAddr(c.feeWallet, st, roleCoordinator)
		}
	}
}

// collaborative runs the block's rounds of unknown coordinators, PayJoins
// and collaborative batches.
func (s *sim) collaborative() {
	rate := float64(s.plan.perBlock)
	for i := range s.collab.Coords {
		c := &s.collab.Coords[i]
		if s.now < c.start || s.now >= c.end {
			continue
		}
		// The rate is in seats: in large worlds, where rounds can be
		// larger, there are fewer of them, so that coordinators take the
		// same share of user activity at every scale.
		lo, hi := c.roundSize(len(s.w.users))
		seats := math.Min(1, collabRefSize/(float64(lo+hi)/2))
		for n := s.poissonish(rate * c.RoundsPerTx * seats); n > 0 && s.blk.weight < collabBlockRoom; n-- {
			s.unknownRound(c)
		}
	}
	if s.now >= payjoinDate {
		pj := &s.collab.Payjoin
		for n := s.poissonish(rate * pj.PerTx); n > 0 && s.blk.weight < collabBlockRoom; n-- {
			s.payjoin()
		}
	}
	if s.now >= collabBatchDate {
		b := &s.collab.Batch
		for n := s.poissonish(rate * b.PerTx); n > 0 && s.blk.weight < collabBlockRoom; n-- {
			s.collabBatch()
		}
	}
}

// collabUser draws an ordinary retail user or merchant who has not yet
// joined the transaction being built (marked with s.markGen).
func (s *sim) collabUser(merchantShare float64) (int32, bool) {
	wid := s.randomUser()
	if s.r.chance(merchantShare) {
		wid = s.w.merchants[s.r.IntN(len(s.w.merchants))]
	}
	if s.mark[wid] == s.markGen {
		return -1, false
	}
	s.mark[wid] = s.markGen
	return wid, true
}

// newMark starts a new set of participants for collabUser.
func (s *sim) newMark() {
	s.markGen++
	if len(s.mark) < len(s.wallets) {
		s.mark = append(s.mark, make([]uint32, len(s.wallets)-len(s.mark))...)
	}
}

// collabCoins chooses k random spendable coins of wallet wid (of type st
// unless stNone); when they are worth less than need it falls back to the
// largest coins (pickCoins, at most maxN).
func (s *sim) collabCoins(wid int32, st scriptType, k, maxN int, need int64) ([]int, int64) {
	w := &s.wallets[wid]
	cand := s.cand[:0]
	for i := range w.utxos {
		u := &w.utxos[i]
		if s.spendable(u) && u.flags&(fTheft|fRansom) == 0 && (st == stNone || u.st == st) {
			cand = append(cand, i)
		}
	}
	s.cand = cand
	if len(cand) == 0 {
		return nil, 0
	}
	k = min(k, len(cand))
	idx := make([]int, 0, k)
	var sum int64
	for j := 0; j < k; j++ {
		p := j + s.r.IntN(len(cand)-j)
		cand[j], cand[p] = cand[p], cand[j]
		idx = append(idx, cand[j])
		sum += w.utxos[cand[j]].value
	}
	if sum >= need {
		return idx, sum
	}
	return s.pickCoins(wid, st, need, maxN)
}

// coinsValue sums the values and input weights of coins idx of wallet wid.
func (s *sim) coinsValue(wid int32, idx []int) (v int64, wgt int) {
	w := &s.wallets[wid]
	for _, i := range idx {
		v += w.utxos[i].value
		wgt += inWeight(w.utxos[i].st)
	}
	return v, wgt
}

// feeFor is the miner fee for weight wgt at fee rate fr (sat/vB), rounded up.
func feeFor(fr float64, wgt int) int64 { return int64(math.Ceil(fr*float64(wgt)/4)) + 1 }

// collabPart is a participant of an unknown coordinator's round: its coins
// and the mixed outputs it takes.
type collabPart struct {
	wid  int32
	idx  []int
	in   int64
	inW  int
	outs []int64
}

// roundSize bounds a round's participants in a world of users retail
// users: the drawn range, scaled down in small worlds (the minimum to at
// most a tenth of the users, the maximum to a third) so that a coordinator
// still runs rounds there.
func (c *unknownCoord) roundSize(users int) (lo, hi int) {
	lo = max(collabMinParts, min(c.MinParts, users/10))
	hi = max(lo, min(c.MaxParts, users/3))
	return lo, hi
}

// roundDenoms returns the denominations of one round, largest first.
func (s *sim) roundDenoms(c *unknownCoord) []int64 {
	switch c.Policy {
	case dpStandard:
		return c.std
	case dpArbitrary:
		return []int64{int64(s.r.logUniform(float64(c.ArbitraryLo), float64(c.ArbitraryHi)))}
	}
	return c.Denoms
}

// takeOutputs chooses the mixed outputs a participant with budget sats
// takes in a round with denominations denoms (largest first).
func (s *sim) takeOutputs(c *unknownCoord, denoms []int64, budget int64, dst []int64) []int64 {
	dst = dst[:0]
	switch {
	case c.Policy == dpStandard:
		// Greedy decomposition into standard denominations, as WabiSabi
		// clients do; at most MaxPerDenom of one value.
		rem := budget
		for _, d := range denoms {
			for k := 0; k < c.MaxPerDenom && d <= rem && len(dst) < c.MaxOuts; k++ {
				dst = append(dst, d)
				rem -= d
			}
		}
	case c.MultiLevel:
		// Several denominations: from the largest affordable down, a random
		// number of each.
		rem := budget
		for _, d := range denoms {
			m := min(int(rem/d), c.MaxPerDenom, c.MaxOuts-len(dst))
			if m <= 0 {
				continue
			}
			for k := s.r.between(1, m); k > 0; k-- {
				dst = append(dst, d)
				rem -= d
			}
		}
	default:
		// One denomination: the largest affordable, one or several times.
		for _, d := range denoms {
			if m := min(int(budget/d), c.MaxPerDenom); m > 0 {
				for k := s.r.between(1, m); k > 0; k-- {
					dst = append(dst, d)
				}
				break
			}
		}
	}
	return dst
}

// unknownRound builds one round of coordinator c: participants drawn from
// ordinary users and merchants, each bringing 1..MaxInputs coins and taking
// equal-valued outputs by the coordinator's policy, its change when above
// MinChange, and paying the coordinator fee (as one output) when the
// coordinator charges one. The round does not happen unless MinParts
// participants can pay for an output.
func (s *sim) unknownRound(c *unknownCoord) bool {
	fr := s.r.feeRate(s.now)
	lo, hi := c.roundSize(len(s.w.users))
	target := s.r.between(lo, hi)
	denoms := s.roundDenoms(c)
	minDenom := denoms[len(denoms)-1]
	outT := c.outType
	outW := outWeight(stP2TR) // the largest a participant's own type can be
	if outT != stNone {
		outW = outWeight(outT)
	}
	s.newMark()
	var parts []collabPart
	wgt := wTxOverhead + outW // the coordinator fee output
	for tries := 0; len(parts) < target && tries < target*4 && wgt < collabMaxWeight; tries++ {
		wid, ok := s.collabUser(0.15)
		if !ok {
			continue
		}
		reserve := feeFor(fr, c.MaxInputs*inWeight(stP2PKH)+(c.MaxOuts+1)*outW)
		idx, in := s.collabCoins(wid, c.inType, s.r.between(1, c.MaxInputs), c.MaxInputs, minDenom+minDenom/50+reserve)
		if idx == nil {
			continue
		}
		_, inW := s.coinsValue(wid, idx)
		// Budget for mixed outputs after the miner fee for this
		// participant's inputs and outputs and the coordinator's fee.
		budget := in - feeFor(fr, inW+(c.MaxOuts+1)*outW+wTxOverhead+outW)
		budget = int64(float64(budget) / (1 + c.FeeRate))
		p := collabPart{wid: wid, idx: idx, in: in, inW: inW}
		p.outs = s.takeOutputs(c, denoms, budget, nil)
		if len(p.outs) == 0 {
			continue
		}
		parts = append(parts, p)
		wgt += inW + (len(p.outs)+1)*outW
	}
	if len(parts) < lo {
		return false // the coordinator waits for more participants
	}
	t := &s.tb
	t.reset(kCoinjoinUnknown)
	t.nsrc = len(parts)
	t.version, t.lock, t.seq = c.Version, 0, c.Sequence
	share := (wTxOverhead + outW) / len(parts)
	var coordFunds []fund
	var coordTotal int64
	for i := range parts {
		p := &parts[i]
		src := int16(i)
		ot := outT
		if ot == stNone {
			ot = s.walletType(p.wid)
		}
		s.debit(p.wid, p.idx, t, src)
		var mixed int64
		for _, v := range p.outs {
			t.outs = append(t.outs, outSpec{gen: ot, role: roleMixOut, v: v, w: p.wid, src: src})
			mixed += v
		}
		cfee := int64(float64(mixed) * c.FeeRate)
		ch := p.in - mixed - cfee - feeFor(fr, p.inW+(len(p.outs)+1)*outWeight(ot)+share)
		switch {
		case ch >= max(c.MinChange, dustLimit(ot)):
			t.outs = append(t.outs, outSpec{gen: ot, role: roleChange, v: ch, w: p.wid, src: src, change: true})
		case c.FeeOutput:
			cfee += ch // small change goes to the coordinator
		}
		if c.FeeOutput && cfee > 0 {
			coordFunds = append(coordFunds, fund{src: src, amount: cfee})
			coordTotal += cfee
		}
	}
	if c.FeeOutput && coordTotal >= dustLimit(stP2TR)*2 {
		o := outSpec{v: coordTotal, w: c.feeWallet, src: -1, funds: coordFunds}
		if c.FeeAddrReused {
			o.a = s.wallets[c.feeWallet].fixed[0]
		} else {
			o.gen, o.role = s.wallets[c.feeWallet].st, roleCoordinator
		}
		t.outs = append(t.outs, o)
	}
	s.collabOrder(t, c.InputOrder, c.OutputOrder)
	txid := s.emit(t)
	s.recordCollab(t, txid, int32(c.ID), len(parts))
	return true
}

// collabOrder arranges t's inputs and outputs.
func (s *sim) collabOrder(t *txb, in, out string) {
	if out == coBIP69 {
		s.order(t, ordBIP69) // inputs and outputs
		return
	}
	s.r.Shuffle(len(t.ins), func(i, j int) { t.ins[i], t.ins[j] = t.ins[j], t.ins[i] })
	switch in {
	case coAscending:
		slices.SortStableFunc(t.ins, func(a, b inSpec) int { return cmpInt64(a.u.value, b.u.value) })
	case coDescending:
		slices.SortStableFunc(t.ins, func(a, b inSpec) int { return cmpInt64(b.u.value, a.u.value) })
	}
	s.r.Shuffle(len(t.outs), func(i, j int) { t.outs[i], t.outs[j] = t.outs[j], t.outs[i] })
	switch out {
	case coAscending:
		slices.SortStableFunc(t.outs, func(a, b outSpec) int { return cmpInt64(a.v, b.v) })
	case coDescending:
		slices.SortStableFunc(t.outs, func(a, b outSpec) int { return cmpInt64(b.v, a.v) })
	}
}

// recordCollab adds t to coinjoins.csv with its most common output value
// as denomination and that value's count as n_equal (0 and 0 when no two
// outputs are equal).
func (s *sim) recordCollab(t *txb, txid [32]byte, coord int32, parts int) {
	vals := s.vals[:0]
	for i := range t.outs {
		vals = append(vals, t.outs[i].v)
	}
	slices.Sort(vals)
	s.vals = vals
	var denom int64
	best := 0
	for i := 0; i < len(vals); {
		j := i
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		if j-i > best || (j-i == best && vals[i] > denom) {
			best, denom = j-i, vals[i]
		}
		i = j
	}
	if best < 2 {
		best, denom = 0, 0
	}
	s.truth.cjs = append(s.truth.cjs, cjRow{txid: txid, height: s.height, kind: t.kind, denom: denom, coord: coord,
		participants: int32(parts), nin: int32(len(t.ins)), nout: int32(len(t.outs)), equal: int32(best)})
}

// payjoin builds a BIP78 PayJoin: a user pays a merchant or another user;
// the sender's original transaction spends coins of one segwit type to the
// payment and its change; the receiver adds one coin of the same type at a
// random input position and its payment output absorbs that coin. The fee
// for the added input comes out of the sender's change (the sender allowed
// it with additionalfeeoutputindex/maxadditionalfeecontribution) or out of
// the receiver's contribution. Output order is the sender's.
func (s *sim) payjoin() bool {
	pj := &s.collab.Payjoin
	amt := s.usdAmount(120, 1.1, 0.3)
	snd, ok := s.fundedUser(amt * 2)
	if !ok {
		return false
	}
	// BIP78 senders spend segwit coins; the sender pays from coins of the
	// type of its largest segwit coin.
	st := stNone
	var big int64
	for i := range s.wallets[snd].utxos {
		if u := &s.wallets[snd].utxos[i]; u.st.segwit() && u.st != stP2WSHMulti && u.value > big && s.spendable(u) {
			st, big = u.st, u.value
		}
	}
	if st == stNone {
		return false
	}
	fr := s.r.feeRate(s.now)
	sIdx, sIn := s.pickCoins(snd, st, amt+feeFor(fr, 4*inWeight(st)+3*outWeight(st))+dustLimit(st)*4, 4)
	if sIdx == nil {
		return false
	}
	// The receiver (its wallet must support PayJoin) adds one coin of the
	// sender's input type.
	s.newMark()
	s.mark[snd] = s.markGen
	rcv := int32(-1)
	var rIdx []int
	var rIn int64
	for tries := 0; tries < 6 && rIdx == nil; tries++ {
		if w, ok := s.collabUser(pj.MerchantShare); ok {
			rcv = w
			rIdx, rIn = s.collabCoins(w, st, 1, 1, 1)
		}
	}
	if rIdx == nil {
		return false
	}
	_, sInW := s.coinsValue(snd, sIdx)
	rInW := inWeight(st)
	pay := s.recvOut(rcv, amt)
	payT := pay.a.st
	if pay.gen != stNone {
		payT = pay.gen
	}
	origFee := feeFor(fr, wTxOverhead+sInW+outWeight(payT)+outWeight(st))
	addFee := feeFor(fr, rInW)
	ch := sIn - amt - origFee
	recv := amt + rIn
	if s.r.chance(pj.SenderPaysInput) {
		ch -= addFee
	} else {
		recv -= addFee
	}
	if ch < dustLimit(st)*4 || recv < dustLimit(payT) {
		return false
	}
	t := &s.tb
	t.reset(kPayjoin)
	t.nsrc = 2
	var order orderPolicy
	order, t.version, t.lock, t.seq = s.habits(s.wallets[snd].soft)
	pay.v, pay.src = recv, 0
	pay.funds = []fund{{src: 0, amount: amt}, {src: 1, amount: recv - amt}}
	if recv < amt {
		pay.funds = []fund{{src: 0, amount: recv}}
	}
	t.outs = append(t.outs, pay)
	t.outs = append(t.outs, outSpec{gen: st, role: roleChange, v: ch, w: snd, src: 0, change: true})
	s.debit(snd, sIdx, t, 0)
	s.order(t, order)
	s.debit(rcv, rIdx, t, 1)
	// The receiver's input goes to a random position.
	p := s.r.IntN(len(t.ins))
	last := t.ins[len(t.ins)-1]
	copy(t.ins[p+1:], t.ins[p:len(t.ins)-1])
	t.ins[p] = last
	txid := s.emit(t)
	s.recordCollab(t, txid, -1, 2)
	return true
}

// collabBatch builds a collaborative batch: 2..MaxPayers unrelated users
// pool their inputs (as PSBT, BIP174, lets several signers do) into one
// transaction paying 1..MaxPays recipients each, plus one change per payer.
// Each payer pays the miner fee for its own inputs and outputs.
func (s *sim) collabBatch() bool {
	b := &s.collab.Batch
	fr := s.r.feeRate(s.now)
	n := s.r.between(2, b.MaxPayers)
	s.newMark()
	t := &s.tb
	t.reset(kCollabBatch)
	var payers []cjPart
	share := wTxOverhead / n
	for tries := 0; len(payers) < n && tries < n*4; tries++ {
		wid, ok := s.collabUser(0.1)
		if !ok {
			continue
		}
		src := int16(len(payers))
		k := s.r.between(1, b.MaxPays)
		first := len(t.outs)
		var need int64
		for j := 0; j < k; j++ {
			v := s.usdAmount(150, 1.2, 0.4)
			var o outSpec
			switch x := s.r.Float64(); {
			case x < 0.5:
				to := s.randomUser()
				if to == wid {
					continue
				}
				o = s.recvOut(to, v)
			case x < 0.75:
				o = s.recvOut(s.w.merchants[s.r.IntN(len(s.w.merchants))], v)
			default:
				o = s.depositOut(s.randomUser(), v)
			}
			o.src = src
			t.outs = append(t.outs, o)
			need += v
		}
		if len(t.outs) == first {
			continue
		}
		ct := s.walletType(wid)
		outW := outWeight(ct) * (len(t.outs) - first + 1)
		idx, in := s.pickCoins(wid, stNone, need+feeFor(fr, 6*inWeight(stP2PKH)+outW+share)+dustLimit(ct)*4, 6)
		if idx == nil {
			t.outs = t.outs[:first]
			continue
		}
		_, inW := s.coinsValue(wid, idx)
		ch := in - need - feeFor(fr, inW+outW+share)
		if ch < dustLimit(ct)*4 {
			t.outs = t.outs[:first]
			continue
		}
		t.outs = append(t.outs, outSpec{gen: ct, role: roleChange, v: ch, w: wid, src: src, change: true})
		payers = append(payers, cjPart{wid: wid, idx: idx})
	}
	if len(payers) < 2 {
		return false // nothing was taken from any wallet
	}
	// Coins are taken only now: each payer's coins were chosen from its
	// own wallet, so earlier choices stay valid.
	for i, p := range payers {
		s.debit(p.wid, p.idx, t, int16(i))
	}
	t.nsrc = len(payers)
	_, t.version, t.lock, t.seq = s.habits(swCore)
	if s.r.chance(b.BIP69) {
		s.order(t, ordBIP69)
	} else {
		s.collabOrder(t, coRandom, coRandom)
	}
	txid := s.emit(t)
	s.recordCollab(t, txid, -1, len(payers))
	return true
}
