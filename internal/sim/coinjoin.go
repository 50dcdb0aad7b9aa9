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

// wasabiDenom is the Wasabi 1.x base denomination (about 0.1 BTC).
const wasabiDenom = 10_000_000

// wasabiRound builds one Wasabi 1.x (ZeroLink / Chaumian) CoinJoin: native
// segwit inputs, equal outputs at the base denomination or a power-of-two
// multiple of it, change for every participant, and a coordinator fee of
// 0.003% × anonymity set per mixed output paid to a reused address. extra
// participants (the launderer) join the users. It returns the txid and
// whether the round happened.
func (s *sim) wasabiRound(extra []cjPart) ([32]byte, bool) {
	fr := s.r.feeRate(s.now)
	target := s.r.between(8, min(max(s.plan.perBlock/3, 8), 100))
	parts := append([]cjPart(nil), extra...)
	for tries := 0; len(parts) < target && tries < target*4; tries++ {
		wid := s.privacyUser(s.w.wasabi)
		if slices.ContainsFunc(parts, func(p cjPart) bool { return p.wid == wid }) {
			continue
		}
		idx, _ := s.pickCoins(wid, stP2WPKH, wasabiDenom+200_000, 3)
		if idx == nil {
			continue
		}
		parts = append(parts, cjPart{wid: wid, idx: idx})
	}
	if len(parts)-len(extra) < 4 {
		return [32]byte{}, false
	}
	n := int64(len(parts))
	t := &s.tb
	t.reset(kWasabi)
	t.nsrc = len(parts)
	t.version, t.lock = 1, 0
	coordFunds := make([]fund, 0, len(parts))
	var coordTotal int64
	equal := 0
	for p := range parts {
		pt := &parts[p]
		w := &s.wallets[pt.wid]
		var in int64
		wgt := 0
		for _, i := range pt.idx {
			in += w.utxos[i].value
			wgt += inWeight(w.utxos[i].st)
		}
		wgt += 2*outWeight(stP2WPKH) + wTxOverhead/int(n)
		fee := int64(math.Ceil(fr*float64(wgt)/4)) + 1
		level := int64(wasabiDenom)
		for level*2+fee+level*2*3*n/100_000 <= in && level < 8*wasabiDenom {
			level *= 2
		}
		cfee := level * 3 * n / 100_000
		if in < level+fee+cfee {
			continue // the wallet's coins shrank below the denomination
		}
		s.debit(pt.wid, pt.idx, t, int16(p))
		t.outs = append(t.outs, outSpec{gen: stP2WPKH, role: roleMixOut, v: level, w: pt.wid, src: int16(p)})
		if level == wasabiDenom {
			equal++
		}
		if ch := in - level - fee - cfee; ch >= dustLimit(stP2WPKH)*2 {
			t.outs = append(t.outs, outSpec{gen: stP2WPKH, role: roleChange, v: ch, w: pt.wid, src: int16(p), change: true})
		}
		coordFunds = append(coordFunds, fund{src: int16(p), amount: cfee})
		coordTotal += cfee
	}
	if len(t.ins) == 0 {
		return [32]byte{}, false
	}
	t.outs = append(t.outs, outSpec{a: s.wallets[s.w.wasabiFee].fixed[0], v: coordTotal, w: s.w.wasabiFee, src: -1, funds: coordFunds})
	s.r.Shuffle(len(t.ins), func(i, j int) { t.ins[i], t.ins[j] = t.ins[j], t.ins[i] })
	s.materialize(t)
	slices.SortStableFunc(t.outs, func(a, b outSpec) int { return cmpInt64(b.v, a.v) })
	txid := s.emit(t)
	s.truth.cjs = append(s.truth.cjs, cjRow{txid: txid, height: s.height, kind: kWasabi, denom: wasabiDenom,
		participants: int32(len(parts)), nin: int32(len(t.ins)), nout: int32(len(t.outs)), equal: int32(equal)})
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

// whirlMix runs one 5-input, 5-output mix in pool p: one to three premix
// coins (which pay the miner fee from their allowance) and remixing postmix
// coins (which mix for free).
func (s *sim) whirlMix(p int) bool {
	st := &s.w.whirl[p]
	d := whirlDenoms[p]
	nPre := s.r.between(1, 3)
	var parts []cjPart
	used := func(wid int32) bool {
		return slices.ContainsFunc(parts, func(c cjPart) bool { return c.wid == wid })
	}
	find := func(wid int32, flag uint8) int {
		for i := range s.wallets[wid].utxos {
			u := &s.wallets[wid].utxos[i]
			if u.flags&flag != 0 && u.pool == uint8(p) && (flag == fPremix || u.value == d) {
				return i
			}
		}
		return -1
	}
	// takePremix moves premix coins of distinct wallets from the queue
	// (oldest first) into the mix until it has n participants.
	takePremix := func(n int) {
		kept := st.premix[:0]
		for _, wid := range st.premix {
			if len(parts) < n && !used(wid) {
				if i := find(wid, fPremix); i >= 0 {
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
	for tries := 0; len(parts) < 5 && len(st.postmix) > 0 && tries < 20; tries++ {
		j := s.r.IntN(len(st.postmix))
		wid := st.postmix[j]
		if used(wid) {
			continue
		}
		st.postmix[j] = st.postmix[len(st.postmix)-1]
		st.postmix = st.postmix[:len(st.postmix)-1]
		if i := find(wid, fPostmix); i >= 0 {
			parts = append(parts, cjPart{wid: wid, idx: []int{i}})
		}
	}
	takePremix(5)
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
		if s.r.chance(0.8) {
			st.postmix = appendCapped(st.postmix, c.wid)
		}
	}
	s.truth.cjs = append(s.truth.cjs, cjRow{txid: txid, height: s.height, kind: kWhirlpoolMix, denom: d,
		participants: 5, nin: 5, nout: 5, equal: 5})
	return true
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
