package sim

import (
	"math"
	"slices"
)

// cjPart is a CoinJoin participant: a wallet and the indices of the coins
// it brings.
type cjPart struct {
	wid int32
	idx []int
}

// poissonish returns floor(x) plus one more with probability frac(x).
func (s *sim) poissonish(x float64) int {
	n := int(x)
	if s.r.chance(x - float64(n)) {
		n++
	}
	return n
}

// coinjoins runs the CoinJoin rounds of the block.
func (s *sim) coinjoins() {
	rate := float64(s.plan.perBlock)
	if s.now >= wasabiDate {
		for i := s.poissonish(max(rate*0.002, 0.25)); i > 0; i-- {
			s.wasabiRound(nil)
		}
	}
	if s.now >= whirlpoolDate {
		s.whirlpoolActivity(rate)
	}
	for i := s.poissonish(max(rate*0.0015, 0.2)); i > 0; i-- {
		s.joinmarketRound(cjPart{wid: -1}, 0)
	}
}

// privacyUser draws a user of a CoinJoin wallet; in small worlds, where
// such users are few, any user may take their place.
func (s *sim) privacyUser(list []int32) int32 {
	if len(list) >= 20 && s.r.chance(0.9) {
		return list[s.r.IntN(len(list))]
	}
	return s.randomUser()
}

// pickCoins chooses up to maxN spendable coins of wallet wid (of type st
// when st != stNone) worth at least need, largest first.
func (s *sim) pickCoins(wid int32, st scriptType, need int64, maxN int) ([]int, int64) {
	w := &s.wallets[wid]
	var idx []int
	var sum int64
	for len(idx) < maxN && sum < need {
		pick := -1
		for i := range w.utxos {
			u := &w.utxos[i]
			if !s.spendable(u) || u.flags&(fTheft|fRansom) != 0 || (st != stNone && u.st != st) || slices.Contains(idx, i) {
				continue
			}
			if pick < 0 || u.value > w.utxos[pick].value {
				pick = i
			}
		}
		if pick < 0 {
			break
		}
		idx = append(idx, pick)
		sum += w.utxos[pick].value
	}
	if sum < need {
		return nil, 0
	}
	return idx, sum
}

// Wasabi 1.x (ZeroLink) coordinator parameters, from WalletWasabi's
// CoordinatorRoundConfig defaults, CoordinatorRound.cs and the inputs
// request of its Chaumian CoinJoin API.
const (
	// wasabiDenom is the base denomination (about 0.1 BTC); mixing level
	// k pays wasabiDenom << k.
	wasabiDenom = 10_000_000
	// wasabiLevels is MaximumMixingLevelCount (default 11).
	wasabiLevels = 11
	// wasabiMaxInputs: "Maximum 7 inputs can be registered" per participant.
	wasabiMaxInputs = 7
	// wasabiMinParts and wasabiMaxParts bound a round's participants.
	// Real rounds aimed at anonymity sets of about 50 to 100; a round needs
	// at least wasabiMinParts, so a small world has fewer rounds rather
	// than smaller ones (see wasabiRound).
	wasabiMinParts = 10
	wasabiMaxParts = 100
	// wasabiMinCoordFee: a coordinator fee of at most 0.0003 BTC is left to
	// the miners instead of paying an output.
	wasabiMinCoordFee = 30_000
	// Change below max(wasabiMinChange, 0.7% of the base denomination)
	// goes to the coordinator.
	wasabiMinChange = 10_000
)

// wasabiCoordFee is the coordinator fee per output of value denom on a
// level with count outputs: 0.003% times the level's anonymity set.
func wasabiCoordFee(denom int64, count int) int64 { return denom * 3 * int64(count) / 100_000 }

// wasabiRound builds one Wasabi 1.x (ZeroLink / Chaumian) CoinJoin as the
// coordinator did (WalletWasabi CoordinatorRound.cs): native segwit inputs
// (at most 7 per participant); every participant gets one output at the
// base denomination, plus one at each further mixing level k (base × 2^k)
// it can afford, consecutive levels only, a level counting only when at
// least two participants reach it; then its change, unless that is below
// max(0.0001 BTC, 0.7% of the base), which goes to the coordinator. The
// coordinator fee is 0.003% × the level's anonymity set per mixed output,
// paid as one output to a reused address when above 0.0003 BTC. Inputs
// and outputs are shuffled, then sorted by value, smallest first.
//
// Participants are privacy users (any user in small worlds). The target is
// drawn in [max(10, hi/2), hi] with hi = min(max(perBlock/3, 10), 100); a
// round that does not gather wasabiMinParts participants able to pay for
// the base level does not happen (the coordinator waited for its anonymity
// set; a small world gets fewer rounds, not smaller ones). extra
// participants (the launderer) join the users; the round fails if one of
// them cannot pay for the base level. It returns the txid and whether the
// round happened.
func (s *sim) wasabiRound(extra []cjPart) ([32]byte, bool) {
	fr := s.r.feeRate(s.now)
	hi := min(max(s.plan.perBlock/3, wasabiMinParts), wasabiMaxParts)
	target := s.r.between(max(hi/2, wasabiMinParts), hi)
	parts := append([]cjPart(nil), extra...)
	for tries := 0; len(parts) < target && tries < target*8; tries++ {
		wid := s.privacyUser(s.w.wasabi)
		if slices.ContainsFunc(parts, func(p cjPart) bool { return p.wid == wid }) {
			continue
		}
		idx, _ := s.pickCoins(wid, stP2WPKH, wasabiDenom+200_000, wasabiMaxInputs)
		if idx == nil {
			continue
		}
		parts = append(parts, cjPart{wid: wid, idx: idx})
	}
	if len(parts) < wasabiMinParts {
		return [32]byte{}, false
	}
	// What each participant brings, and how many levels it can pay for
	// when every level has the whole round in it (the most the coordinator
	// fee can be, so the levels kept below are always affordable).
	n := len(parts)
	outW := outWeight(stP2WPKH)
	in := make([]int64, n)
	wgt := make([]int, n)
	levels := make([]int, n)
	netFee := func(p, outs int) int64 {
		return int64(math.Ceil(fr*float64(wgt[p]+outs*outW+wTxOverhead/n)/4)) + 1
	}
	kept := parts[:0]
	for p := range parts {
		w := &s.wallets[parts[p].wid]
		var v int64
		wg := 0
		for _, i := range parts[p].idx {
			v += w.utxos[i].value
			wg += inWeight(w.utxos[i].st)
		}
		k := len(kept)
		in[k], wgt[k] = v, wg
		var cost int64
		l := 0
		for ; l < wasabiLevels; l++ {
			d := int64(wasabiDenom) << l
			c := cost + d + wasabiCoordFee(d, n)
			if c+netFee(k, l+2) > v { // l+1 mixed outputs and a change
				break
			}
			cost = c
		}
		if l == 0 {
			if p < len(extra) {
				return [32]byte{}, false // the launderer's coin is too small
			}
			continue // the wallet's coins shrank below the denomination
		}
		levels[k] = l
		kept = append(kept, parts[p])
	}
	parts = kept
	m := len(parts)
	if m < wasabiMinParts {
		return [32]byte{}, false
	}
	// count[k]: outputs on level k. Levels above the first one reached by
	// fewer than two participants are dropped.
	var count [wasabiLevels]int
	for p := 0; p < m; p++ {
		for k := 0; k < levels[p]; k++ {
			count[k]++
		}
	}
	top := wasabiLevels
	for k := 1; k < wasabiLevels; k++ {
		if count[k] <= 1 {
			top = k
			break
		}
	}
	t := &s.tb
	t.reset(kWasabi)
	t.nsrc = m
	t.version, t.lock = 1, 0
	coordFunds := make([]fund, 0, m)
	var coordTotal int64
	minChange := max(int64(wasabiMinChange), wasabiDenom*7/1000)
	for p := 0; p < m; p++ {
		pt := &parts[p]
		src := int16(p)
		s.debit(pt.wid, pt.idx, t, src)
		l := min(levels[p], top)
		var mixed, cfee int64
		for k := 0; k < l; k++ {
			d := int64(wasabiDenom) << k
			t.outs = append(t.outs, outSpec{gen: stP2WPKH, role: roleMixOut, v: d, w: pt.wid, src: src})
			mixed += d
			cfee += wasabiCoordFee(d, count[k])
		}
		ch := in[p] - mixed - cfee - netFee(p, l+1)
		if ch >= minChange {
			t.outs = append(t.outs, outSpec{gen: stP2WPKH, role: roleChange, v: ch, w: pt.wid, src: src, change: true})
		} else {
			cfee += ch
		}
		coordFunds = append(coordFunds, fund{src: src, amount: cfee})
		coordTotal += cfee
	}
	if coordTotal > wasabiMinCoordFee {
		t.outs = append(t.outs, outSpec{a: s.wallets[s.w.wasabiFee].fixed[0], v: coordTotal, w: s.w.wasabiFee, src: -1, funds: coordFunds})
	}
	s.r.Shuffle(len(t.ins), func(i, j int) { t.ins[i], t.ins[j] = t.ins[j], t.ins[i] })
	slices.SortStableFunc(t.ins, func(a, b inSpec) int { return cmpInt64(a.u.value, b.u.value) })
	s.materialize(t)
	s.r.Shuffle(len(t.outs), func(i, j int) { t.outs[i], t.outs[j] = t.outs[j], t.outs[i] })
	slices.SortStableFunc(t.outs, func(a, b outSpec) int { return cmpInt64(a.v, b.v) })
	txid := s.emit(t)
	s.truth.cjs = append(s.truth.cjs, cjRow{txid: txid, height: s.height, kind: kWasabi, denom: wasabiDenom,
		participants: int32(m), nin: int32(len(t.ins)), nout: int32(len(t.outs)), equal: int32(count[0])})
	return txid, true
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Whirlpool pools: denomination and the coordinator's entry fee (modelled
// as 5% of the denomination).
var whirlDenoms = [4]int64{1_000_000, 5_000_000, 50_000_000, 100_000}

type whirlState struct {
	premix  []int32 // wallets holding a premix coin of this pool
	postmix []int32 // wallets holding a postmix coin of this pool
}

func (s *sim) whirlPoolsOpen() int {
	if s.now >= whirlpool001 {
		return 4
	}
	return 3
}

// whirlpoolActivity makes a few tx0s and runs mixes in pools that have
// enough coins waiting.
func (s *sim) whirlpoolActivity(rate float64) {
	for i := s.poissonish(max(rate*0.001, 0.4)); i > 0; i-- {
		s.tx0(s.privacyUser(s.w.samourai))
	}
	for p := 0; p < s.whirlPoolsOpen(); p++ {
		for i := s.poissonish(max(rate*0.0015, 0.3)); i > 0; i-- {
			if !s.whirlMix(p) {
				break
			}
		}
	}
}

// tx0 is Whirlpool's premix transaction: equal premix outputs (denomination
// plus a miner-fee allowance for the mix), the coordinator fee, an OP_RETURN
// carrying the (here random) fee payload, and the "doxxic" change.
func (s *sim) tx0(wid int32) bool {
	bal := s.spendableBal(wid)
	fr := s.r.feeRate(s.now)
	allowance := int64(math.Ceil(fr * 180))
	// Join the affordable pool with the most coins waiting (ties: the
	// largest denomination).
	pool := -1
	for p := s.whirlPoolsOpen() - 1; p >= 0; p-- {
		d := whirlDenoms[p]
		if bal < 2*(d+allowance)+d/20+100_000 {
			continue
		}
		if pool < 0 || len(s.w.whirl[p].premix) > len(s.w.whirl[pool].premix) ||
			(len(s.w.whirl[p].premix) == len(s.w.whirl[pool].premix) && d > whirlDenoms[pool]) {
			pool = p
		}
	}
	if pool < 0 {
		return false
	}
	d := whirlDenoms[pool]
	k := int(min((bal*8/10)/(d+allowance), 10))
	if k < 1 {
		return false
	}
	t := &s.tb
	t.reset(kWhirlpoolTx0)
	for i := 0; i < k; i++ {
		t.outs = append(t.outs, outSpec{gen: stP2WPKH, role: rolePremix, v: d + allowance, w: wid, flags: fPremix, pool: uint8(pool)})
	}
	fw := &s.wallets[s.w.whirlFee]
	t.outs = append(t.outs, outSpec{a: fw.fixed[s.r.IntN(len(fw.fixed))], v: d / 20, w: s.w.whirlFee})
	t.outs = append(t.outs, outSpec{gen: stOpReturn, v: 0, w: -1})
	_, ok := s.spend(wid, t, spendOpts{fr: fr, order: ordBIP69, maxIn: 10})
	if ok {
		st := &s.w.whirl[pool]
		for i := 0; i < k; i++ {
			st.premix = appendCapped(st.premix, wid)
		}
	}
	return ok
}

// appendCapped appends v, dropping the oldest entries beyond 20,000.
func appendCapped(q []int32, v int32) []int32 {
	if len(q) >= 20_000 {
		q = append(q[:0], q[len(q)-10_000:]...)
	}
	return append(q, v)
}

// whirlMix runs one 5-input, 5-output mix in pool p, as the coordinator
// (whirlpool-server: anonymity-set 5, must-mix-min 1, liquidity-min 1)
// builds them: at least one new entrant (a premix coin, which pays the
// miner fee from its allowance) and at least one remixer (a postmix coin,
// which mixes for free). It draws one to three new entrants, fills with
// remixers, then with more new entrants (at most four) if remixers are
// short. A pool whose postmix queue is empty gets its remixer from the
// coordinator's liquidity (whirlLiquidity): that is how a pool's first mix
// happens, and how a pool whose postmix coins have all been spent goes on.
func (s *sim) whirlMix(p int) bool {
	st := &s.w.whirl[p]
	d := whirlDenoms[p]
	nPre := s.r.between(1, 3)
	var parts []cjPart
	used := func(wid int32) bool {
		return slices.ContainsFunc(parts, func(c cjPart) bool { return c.wid == wid })
	}
	// takePremix moves premix coins of distinct wallets from the queue
	// (oldest first) into the mix until it has n participants.
	takePremix := func(n int) {
		kept := st.premix[:0]
		for _, wid := range st.premix {
			if len(parts) < n && !used(wid) {
				if i := s.whirlCoin(wid, p, fPremix); i >= 0 {
					parts = append(parts, cjPart{wid: wid, idx: []int{i}})
				}
				continue // taken, or its coin is gone
			}
			kept = append(kept, wid)
		}
		st.premix = kept
	}
	takePremix(nPre)
	if len(parts) == 0 {
		return false
	}
	pre := len(parts)
	for tries := 0; len(parts) < 5 && len(st.postmix) > 0 && tries < 20; tries++ {
		j := s.r.IntN(len(st.postmix))
		wid := st.postmix[j]
		if used(wid) {
			continue
		}
		st.postmix[j] = st.postmix[len(st.postmix)-1]
		st.postmix = st.postmix[:len(st.postmix)-1]
		if i := s.whirlCoin(wid, p, fPostmix); i >= 0 {
			parts = append(parts, cjPart{wid: wid, idx: []int{i}})
		}
	}
	if len(parts) == pre && len(st.postmix) == 0 {
		if liq := s.w.whirlLiq; !used(liq) {
			if i := s.whirlLiquidity(p); i >= 0 {
				parts = append(parts, cjPart{wid: liq, idx: []int{i}})
			}
		}
	}
	if len(parts) > pre {
		takePremix(5)
	}
	if len(parts) < 5 {
		// Not enough coins: put the premix coins back in the queue.
		for _, c := range parts {
			u := &s.wallets[c.wid].utxos[c.idx[0]]
			if u.flags&fPremix != 0 {
				st.premix = append([]int32{c.wid}, st.premix...)
			} else {
				st.postmix = append(st.postmix, c.wid)
			}
		}
		return false
	}
	t := &s.tb
	t.reset(kWhirlpoolMix)
	t.nsrc = 5
	t.version, t.lock = 1, 0
	for i, c := range parts {
		s.debit(c.wid, c.idx, t, int16(i))
		t.outs = append(t.outs, outSpec{gen: stP2WPKH, role: rolePostmix, v: d, w: c.wid, src: int16(i), flags: fPostmix, pool: uint8(p)})
	}
	s.order(t, ordBIP69)
	txid := s.emit(t)
	for _, c := range parts {
		// Users remix 80% of their postmix coins; the coordinator's
		// liquidity always stays in the pool.
		if c.wid == s.w.whirlLiq || s.r.chance(0.8) {
			st.postmix = appendCapped(st.postmix, c.wid)
		}
	}
	s.truth.cjs = append(s.truth.cjs, cjRow{txid: txid, height: s.height, kind: kWhirlpoolMix, denom: d,
		participants: 5, nin: 5, nout: 5, equal: 5})
	return true
}

// whirlCoin returns the index of a coin of wallet wid waiting in pool p
// (flag fPremix: a premix coin; fPostmix: a postmix coin of exactly the
// denomination), or -1.
func (s *sim) whirlCoin(wid int32, p int, flag uint8) int {
	d := whirlDenoms[p]
	for i := range s.wallets[wid].utxos {
		u := &s.wallets[wid].utxos[i]
		if u.flags&flag != 0 && u.pool == uint8(p) && (flag == fPremix || u.value == d) {
			return i
		}
	}
	return -1
}

// whirlLiquidity returns the index of a coin of the coordinator's
// liquidity wallet that can remix in pool p, buying one first (an exchange
// withdrawal of exactly the denomination to a fresh P2WPKH address) when
// it has none; -1 when the purchase fails. whirlpool-server accepts
// liquidity inputs of exactly the denomination and requires at least one
// per mix (liquidity-min 1), so a new pool could only start once such a
// coin existed; the coordinator's liquidity coins then remix like anyone's.
func (s *sim) whirlLiquidity(p int) int {
	liq := s.w.whirlLiq
	if i := s.whirlCoin(liq, p, fPostmix); i >= 0 {
		return i
	}
	if !s.withdrawOut(s.pickExchange(), liq, whirlDenoms[p], fPostmix, uint8(p)) {
		return -1
	}
	return s.whirlCoin(liq, p, fPostmix)
}

// joinmarketRound builds a JoinMarket CoinJoin: a taker and 3-8 makers each
// put in coins of the same script type and get one output of the CoinJoin
// amount; makers get change plus their fee from the taker; the taker pays
// the miner fee. If taker.wid >= 0 it is the taker (the launderer) and
// amount (if > 0) is its CoinJoin amount; otherwise a JoinMarket user is.
func (s *sim) joinmarketRound(taker cjPart, amount int64) ([32]byte, bool) {
	fr := s.r.feeRate(s.now)
	st := stP2PKH
	if s.now >= jmNativeDate {
		st = stP2WPKH
	} else if s.now >= segwitDate {
		st = stP2SHP2WPKH
	}
	var takerIn int64
	sweep := false
	if taker.wid < 0 {
		wid := s.privacyUser(s.w.joinmarket)
		idx, sum := s.pickCoins(wid, st, 2_000_000, 4)
		if idx == nil {
			return [32]byte{}, false
		}
		taker = cjPart{wid: wid, idx: idx}
		takerIn = sum
		sweep = s.r.chance(0.3)
		if !sweep {
			amount = int64(float64(sum) * (0.3 + 0.6*s.r.Float64()))
		}
	} else {
		for _, i := range taker.idx {
			takerIn += s.wallets[taker.wid].utxos[i].value
		}
		sweep = amount <= 0
	}
	nMakers := s.r.between(3, 8)
	if sweep {
		amount = takerIn * 97 / 100 // provisional, for choosing makers
	}
	makers := make([]cjPart, 0, nMakers)
	var makerIn []int64
	for tries := 0; len(makers) < nMakers && tries < nMakers*6; tries++ {
		wid := s.privacyUser(s.w.joinmarket)
		if wid == taker.wid || slices.ContainsFunc(makers, func(c cjPart) bool { return c.wid == wid }) {
			continue
		}
		idx, sum := s.pickCoins(wid, st, amount+50_000, 3)
		if idx == nil {
			continue
		}
		makers = append(makers, cjPart{wid: wid, idx: idx})
		makerIn = append(makerIn, sum)
	}
	if len(makers) < 2 {
		return [32]byte{}, false
	}
	cjfees := make([]int64, len(makers))
	var cjTotal int64
	for i := range makers {
		if s.r.chance(0.5) {
			cjfees[i] = int64(s.r.between(250, 3000))
		} else {
			cjfees[i] = max(int64(float64(amount)*s.r.logUniform(0.00001, 0.0003)), 1)
		}
		cjTotal += cjfees[i]
	}
	takerW := &s.wallets[taker.wid]
	wgt := wTxOverhead
	for _, i := range taker.idx {
		wgt += inWeight(takerW.utxos[i].st)
	}
	for m := range makers {
		for _, i := range makers[m].idx {
			wgt += inWeight(s.wallets[makers[m].wid].utxos[i].st)
		}
	}
	wgt += (2*len(makers) + 2) * outWeight(st)
	minerFee := int64(math.Ceil(fr*float64(wgt)/4)) + 1
	if sweep {
		amount = takerIn - cjTotal - minerFee
	}
	takerChange := takerIn - amount - cjTotal - minerFee
	if amount < 100_000 || takerChange < 0 || (takerChange > 0 && takerChange < dustLimit(st)*2 && !sweep) {
		return [32]byte{}, false
	}
	for m := range makers {
		if makerIn[m] < amount+dustLimit(st) {
			return [32]byte{}, false
		}
	}
	t := &s.tb
	t.reset(kJoinMarket)
	t.nsrc = len(makers) + 1
	_, t.version, t.lock, t.seq = s.habits(swJoinMarket)
	s.debit(taker.wid, taker.idx, t, 0)
	t.outs = append(t.outs, outSpec{gen: s.perpType(taker.wid, st), role: roleMixOut, v: amount, w: taker.wid, src: 0})
	if takerChange >= dustLimit(st)*2 {
		t.outs = append(t.outs, outSpec{gen: s.perpType(taker.wid, st), role: roleChange, v: takerChange, w: taker.wid, src: 0, change: true})
	} else {
		// Sweep: a dust-sized remainder goes to the miners.
		takerChange = 0
	}
	for m := range makers {
		src := int16(m + 1)
		s.debit(makers[m].wid, makers[m].idx, t, src)
		t.outs = append(t.outs, outSpec{gen: st, role: roleMixOut, v: amount, w: makers[m].wid, src: src})
		t.outs = append(t.outs, outSpec{gen: st, role: roleChange, v: makerIn[m] - amount + cjfees[m], w: makers[m].wid,
			change: true, funds: []fund{{src: src, amount: makerIn[m] - amount}, {src: 0, amount: cjfees[m]}}})
	}
	s.r.Shuffle(len(t.ins), func(i, j int) { t.ins[i], t.ins[j] = t.ins[j], t.ins[i] })
	s.r.Shuffle(len(t.outs), func(i, j int) { t.outs[i], t.outs[j] = t.outs[j], t.outs[i] })
	txid := s.emit(t)
	s.truth.cjs = append(s.truth.cjs, cjRow{txid: txid, height: s.height, kind: kJoinMarket, denom: amount,
		participants: int32(len(makers) + 1), nin: int32(len(t.ins)), nout: int32(len(t.outs)), equal: int32(len(makers) + 1)})
	return txid, true
}

// perpType is the type a CoinJoin participant receives to: the round's type
// for users, the launderer's current type for perpetrators.
func (s *sim) perpType(wid int32, st scriptType) scriptType {
	if k := s.wallets[wid].kind; k == ekAttacker || k == ekRansomware {
		return s.wallets[wid].st
	}
	return st
}
