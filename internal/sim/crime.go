package sim

import (
	"math"
	"slices"
)

// The two cases of the answer key.
const (
	caseTheft  = 0
	caseRansom = 1
)

var caseNames = [2]string{"theft", "ransomware"}

func caseOfFlag(f uint8) int {
	if f&fTheft != 0 {
		return caseTheft
	}
	return caseRansom
}

var caseFlags = [2]uint8{fTheft, fRansom}

// Roles of rows in truth/taint.csv.
const (
	trStolen   uint8 = iota // a victim output taken by the theft
	trOrigin                // an output where taint starts (a ransom payment)
	trHeld                  // a perpetrator output carrying taint
	trReceived              // taint reaching another entity: tracking stops
	trFee                   // taint paid to miners
)

var taintRoleNames = [...]string{"stolen", "origin", "held", "received", "fee"}

// task is a scheduled step of a crime flow.
type task struct {
	at int32
	fn func()
}

// outpoint names a coin across wallet reshuffles.
type outpoint struct {
	txid [32]byte
	vout uint32
}

type crimeState struct {
	attacker, ransomEnt int32 // entity ids
	aw, rw              int32 // wallet ids
	origin, fees        [2]int64
	received            [2]map[int32]int64 // case -> receiving entity -> tainted sats
	perpDep             [2]map[int][]addr  // case -> exchange -> perpetrator's deposit addresses
	theftTxids          [][32]byte
	theftHeight         int32
	theftTime           int64
	frozenUntil         int32
	chains              int // peel chains started
	victims             int
	launderEnd          int32
}

func (c *crimeState) victimFrozen(s *sim) bool {
	return c.frozenUntil > 0 && s.height <= c.frozenUntil
}

// isPerp reports whether wallet wid belongs to the perpetrator of the case
// flagged by f.
func (s *sim) isPerp(wid int32, f uint8) bool {
	k := s.wallets[wid].kind
	return (k == ekAttacker && f == fTheft) || (k == ekRansomware && f == fRansom)
}

func (s *sim) initCrime() {
	c := &s.crime
	c.attacker = s.newEntity(ekAttacker, swService, "Attacker (state-backed group)", "KP")
	c.aw = s.newWallet(c.attacker, roleLaunder, stP2PKH)
	c.ransomEnt = s.newEntity(ekRansomware, swService, "Ransomware operator", "")
	c.rw = s.newWallet(c.ransomEnt, roleRansom, stP2PKH)
	for i := 0; i < 3; i++ {
		s.fixedAddr(c.rw, stP2PKH, roleRansom)
	}
	for i := range c.received {
		c.received[i] = map[int32]int64{}
		c.perpDep[i] = map[int][]addr{}
	}
	c.launderEnd = s.heightAt(launderEnd)
	s.schedule(s.heightAt(theftDate), s.theft)
	nV := int(min(max(math.Round(0.003*float64(s.plan.target)), 5), 3000))
	for i := 0; i < nV; i++ {
		t := ransomStart + s.r.Int64N(ransomPayEnd-ransomStart)
		s.schedule(s.heightAt(t), s.ransomVictim)
	}
	s.schedule(s.heightAt(ransomCashout), s.ransomCashout)
}

func (s *sim) schedule(at int32, fn func()) { s.tasks = append(s.tasks, task{at: at, fn: fn}) }

// runTasks runs every task due at the current height, in scheduling order,
// including tasks that due tasks schedule for the current height.
func (s *sim) runTasks() {
	for i := 0; i < len(s.tasks); {
		if s.tasks[i].at > s.height {
			i++
			continue
		}
		fn := s.tasks[i].fn
		s.tasks = slices.Delete(s.tasks, i, i+1)
		fn()
	}
}

// perpType is the script type of the perpetrators' fresh addresses.
func (s *sim) perpAddrType() scriptType {
	if s.now >= date(2019, 1, 1) {
		return stP2WPKH
	}
	return stP2PKH
}

func (s *sim) findCoin(wid int32, op outpoint) int {
	for i := range s.wallets[wid].utxos {
		u := &s.wallets[wid].utxos[i]
		if u.vout == op.vout && u.txid == op.txid {
			return i
		}
	}
	return -1
}

// perpDeposit returns an output paying v to one of the perpetrator's
// deposit addresses ("mule accounts") at exchange e.
func (s *sim) perpDeposit(cs int, e int, v int64) outSpec {
	c := &s.crime
	ent := c.attacker
	if cs == caseRansom {
		ent = c.ransomEnt
	}
	ex := &s.w.exch[e]
	deps := c.perpDep[cs][e]
	if len(deps) < 2 && (len(deps) == 0 || s.r.chance(0.3)) {
		deps = append(deps, s.freshAddr(s.exchDepositType(), ex.dep, roleDeposit, ent))
		c.perpDep[cs][e] = deps
	}
	return outSpec{a: deps[s.r.IntN(len(deps))], v: v, w: ex.dep}
}

// cashoutExchange picks where the launderers deposit: mostly Asian
// exchanges other than the victim.
func (s *sim) cashoutExchange() int {
	if s.r.chance(0.8) {
		return 1 + s.r.IntN(4)
	}
	return 5 + s.r.IntN(2)
}

// spendAll spends exactly the coins at idx of wallet wid into t's outputs
// with the habits of soft; the last output gets what is left after the fee.
// It returns the txid and the vouts paid back to wid.
func (s *sim) spendAll(wid int32, idx []int, t *txb, soft software) ([32]byte, []uint32, bool) {
	w := &s.wallets[wid]
	var sum int64
	wgt := t.weight()
	for _, i := range idx {
		sum += w.utxos[i].value
		wgt += inWeight(w.utxos[i].st)
	}
	fee := int64(math.Ceil(s.r.feeRate(s.now)*float64(wgt)/4)) + 1
	last := &t.outs[len(t.outs)-1]
	last.v = sum - (t.outSum() - last.v) - fee
	if last.v < 5*dustLimit(stP2PKH) {
		return [32]byte{}, nil, false
	}
	s.debit(wid, idx, t, 0)
	if t.spender < 0 {
		t.spender = w.ent
	}
	var order orderPolicy
	order, t.version, t.lock, t.seq = s.habits(soft)
	s.order(t, order)
	txid := s.emit(t)
	var mine []uint32
	for i := range t.outs {
		if t.outs[i].w == wid {
			mine = append(mine, uint32(i))
		}
	}
	return txid, mine, true
}

// theft drains the victim exchange's hot wallet (about 3,800 BTC, capped at
// three quarters of the exchange's holdings) into attacker addresses.
func (s *sim) theft() {
	c := &s.crime
	ex := &s.w.exch[victimExchange]
	total := s.wallets[ex.hot].bal + s.wallets[ex.cold].bal
	target := min(3800e8, total*3/4)
	s.opts.Logger.Debug("theft", "height", s.height, "hot", s.wallets[ex.hot].bal, "cold", s.wallets[ex.cold].bal, "target", target)
	if target < 1e8 {
		s.opts.Logger.Warn("sim: victim exchange too poor for the theft", "sats", total)
		return
	}
	if hot := s.spendableBal(ex.hot); hot < target*21/20 {
		s.coldToHot(victimExchange, target*21/20-hot)
	}
	hw := &s.wallets[ex.hot]
	order := make([]int, 0, len(hw.utxos))
	for i := range hw.utxos {
		if s.spendable(&hw.utxos[i]) {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return cmpInt64(hw.utxos[b].value, hw.utxos[a].value) })
	// Largest coins first while they fit under the target, then the
	// smallest coin that reaches it.
	var sum int64
	var take []int
	for _, i := range order {
		if v := hw.utxos[i].value; sum+v <= target*101/100 {
			take = append(take, i)
			sum += v
		}
	}
	if gap := target - sum; gap > target/100 {
		// The hot wallet's coins do not add up to the target: the exchange
		// had just topped it up from cold storage by the missing amount.
		t := &s.tb
		t.reset(kColdToHot)
		t.outs = append(t.outs, outSpec{a: *s.hotAddr(victimExchange), v: gap, w: ex.hot})
		if txid, ok := s.spend(ex.cold, t, spendOpts{change: s.coldAddr(victimExchange), order: ordChangeLast, maxIn: 200}); ok {
			for vout := range t.outs {
				if t.outs[vout].w == ex.hot {
					take = append(take, s.findCoin(ex.hot, outpoint{txid, uint32(vout)}))
				}
			}
		}
	}
	groups := min(s.r.between(3, 6), len(take))
	ops := make([][]outpoint, groups)
	for j, i := range take {
		u := &hw.utxos[i]
		ops[j%groups] = append(ops[j%groups], outpoint{u.txid, u.vout})
	}
	c.theftHeight, c.theftTime = s.height, s.now
	c.frozenUntil = s.height + 2
	s.wallets[c.aw].st = s.perpAddrType()
	for _, g := range ops {
		// Split a group in chunks of at most 200 inputs.
		for len(g) > 0 {
			k := min(len(g), 200)
			var idx []int
			for _, op := range g[:k] {
				idx = append(idx, s.findCoin(ex.hot, op))
			}
			g = g[k:]
			t := &s.tb
			t.reset(kTheft)
			t.spender = ex.ent
			nOut := s.r.between(1, 2)
			for i := 0; i < nOut; i++ {
				t.outs = append(t.outs, outSpec{gen: s.perpAddrType(), role: roleTheft, w: c.aw})
			}
			if nOut == 2 {
				var v int64
				for _, i := range idx {
					v += hw.utxos[i].value
				}
				t.outs[0].v = v * int64(s.r.between(30, 70)) / 100
			}
			// Mark the victim's coins as stolen before spending them: the
			// taint of the case starts at the theft's inputs.
			rows := len(s.truth.taint)
			mark := func(stolen bool) {
				for _, i := range idx {
					u := &hw.utxos[i]
					if stolen {
						c.origin[caseTheft] += u.value
						s.truth.taint = append(s.truth.taint, taintRow{cs: caseTheft, txid: u.txid, vout: int32(u.vout),
							a: u.addr(s.h, s), ent: ex.ent, value: u.value, tainted: u.value, role: trStolen, height: u.height})
						u.flags |= fTheft
						u.taint = u.value
					} else {
						c.origin[caseTheft] -= u.value
						u.flags &^= fTheft
						u.taint = 0
					}
				}
				if !stolen {
					s.truth.taint = s.truth.taint[:rows]
				}
			}
			mark(true)
			txid, _, ok := s.spendAll(ex.hot, idx, t, swCore)
			if !ok && len(t.outs) == 2 {
				// The split left the second output below dust once the
				// fee was paid: take the group in one output.
				t.outs = t.outs[:1]
				txid, _, ok = s.spendAll(ex.hot, idx, t, swCore)
			}
			if !ok {
				// Coins too small to pay their own fee: the attacker leaves
				// them (and they are not stolen).
				mark(false)
				continue
			}
			c.theftTxids = append(c.theftTxids, txid)
		}
	}
	s.schedule(s.height, s.launderSplit)
}

// launderSplit splits each stolen coin into chunks and sends every chunk
// down a laundering route.
func (s *sim) launderSplit() {
	c := &s.crime
	var coins []outpoint
	for _, u := range s.wallets[c.aw].utxos {
		coins = append(coins, outpoint{u.txid, u.vout})
	}
	for _, op := range coins {
		idx := s.findCoin(c.aw, op)
		if idx < 0 {
			continue
		}
		k := s.r.between(4, 10)
		t := &s.tb
		t.reset(kLaunderSplit)
		v := s.wallets[c.aw].utxos[idx].value
		for i := 0; i < k; i++ {
			t.outs = append(t.outs, outSpec{gen: s.perpAddrType(), role: roleLaunder, w: c.aw,
				v: int64(float64(v) / float64(k) * (0.4 + 1.2*s.r.Float64()) * 0.9)})
		}
		txid, mine, ok := s.spendAll(c.aw, []int{idx}, t, swCore)
		if !ok {
			continue
		}
		for _, vout := range mine {
			s.route(caseTheft, outpoint{txid, vout})
		}
	}
}

// waveHeight is a random height in the first laundering wave.
func (s *sim) waveHeight() int32 {
	lo, hi := s.height, max(s.height, s.crime.launderEnd)
	return lo + int32(s.r.IntN(int(hi-lo)+1))
}

// route sends a stolen chunk down one laundering route.
func (s *sim) route(cs int, op outpoint) {
	x := s.r.Float64()
	switch {
	case x < 0.45:
		chain := s.crime.chains
		s.crime.chains++
		hops := s.r.between(5, min(10+int(s.opts.Scale), 40))
		s.schedule(s.height, func() { s.peelHop(cs, chain, 0, op, hops) })
	case x < 0.55:
		s.schedule(s.waveHeight(), func() { s.launderJoinMarket(cs, op) })
	case x < 0.70:
		s.schedule(s.waveHeight(), func() { s.swapDeposits(cs, op) })
	case x < 0.85:
		s.schedule(s.waveHeight(), func() { s.hopThenDeposit(cs, op, s.r.between(1, 3)) })
	case x < 0.97:
		at := s.heightAt(lateMixStart + s.r.Int64N(lateMixEnd-lateMixStart))
		s.schedule(at, func() { s.lateWasabi(cs, op) })
	default:
		// dormant: left unspent to the end of the chain
	}
}

func (s *sim) perpWallet(cs int) int32 {
	if cs == caseRansom {
		return s.crime.rw
	}
	return s.crime.aw
}

// peelHop is one hop of a peel chain: a small "peel" to an exchange deposit
// or the swap service, the rest to a fresh address of the launderer.
func (s *sim) peelHop(cs, chain, hop int, op outpoint, left int) {
	wid := s.perpWallet(cs)
	idx := s.findCoin(wid, op)
	if idx < 0 {
		return
	}
	v := s.wallets[wid].utxos[idx].value
	if left == 0 || v < 20_000_000 {
		s.depositCoin(cs, op)
		return
	}
	peel := int64(float64(v) * (0.03 + 0.12*s.r.Float64()))
	if s.r.chance(0.4) {
		peel = roundSats(peel)
	}
	t := &s.tb
	t.reset(kPeel)
	toSwap := s.r.chance(0.25)
	if toSwap {
		t.outs = append(t.outs, outSpec{gen: s.serviceType(), role: roleSwapDeposit, v: peel, w: s.w.swap})
	} else {
		t.outs = append(t.outs, s.perpDeposit(cs, s.cashoutExchange(), peel))
	}
	t.outs = append(t.outs, outSpec{gen: s.perpAddrType(), role: rolePeel, w: wid})
	txid, mine, ok := s.spendAll(wid, []int{idx}, t, swCore)
	if !ok || len(mine) != 1 {
		return
	}
	if toSwap {
		s.recordSwap(t, txid, "XMR")
	}
	peelVout := uint32(0)
	if mine[0] == 0 {
		peelVout = 1
	}
	s.truth.peels = append(s.truth.peels, peelRow{cs: uint8(cs), chain: int32(chain), hop: int32(hop), txid: txid,
		peel: int32(peelVout), rest: int32(mine[0]), height: s.height})
	next := outpoint{txid, mine[0]}
	gap := 0
	if end := s.crime.launderEnd; end > s.height {
		gap = s.r.IntN(int(end-s.height)/left + 1)
	}
	s.schedule(s.height+int32(gap), func() { s.peelHop(cs, chain, hop+1, next, left-1) })
}

// depositCoin sends a whole coin to one of the perpetrator's exchange
// deposit addresses.
func (s *sim) depositCoin(cs int, op outpoint) {
	wid := s.perpWallet(cs)
	idx := s.findCoin(wid, op)
	if idx < 0 {
		return
	}
	t := &s.tb
	t.reset(kLaunderDeposit)
	if cs == caseRansom {
		t.kind = kRansomCashout
	}
	t.outs = append(t.outs, s.perpDeposit(cs, s.cashoutExchange(), 0))
	s.spendAll(wid, []int{idx}, t, swCore)
}

// hopThenDeposit moves a coin through n fresh addresses, then deposits it.
func (s *sim) hopThenDeposit(cs int, op outpoint, n int) {
	if n == 0 {
		s.depositCoin(cs, op)
		return
	}
	wid := s.perpWallet(cs)
	idx := s.findCoin(wid, op)
	if idx < 0 {
		return
	}
	t := &s.tb
	t.reset(kLaunderHop)
	t.outs = append(t.outs, outSpec{gen: s.perpAddrType(), role: roleLaunder, w: wid})
	txid, mine, ok := s.spendAll(wid, []int{idx}, t, swCore)
	if !ok {
		return
	}
	next := outpoint{txid, mine[0]}
	s.schedule(s.height+int32(s.r.IntN(3)), func() { s.hopThenDeposit(cs, next, n-1) })
}

// swapDeposits splits a coin into 2-4 orders at the swap service (paid out
// on another chain).
func (s *sim) swapDeposits(cs int, op outpoint) {
	wid := s.perpWallet(cs)
	idx := s.findCoin(wid, op)
	if idx < 0 {
		return
	}
	v := s.wallets[wid].utxos[idx].value
	k := s.r.between(2, 4)
	t := &s.tb
	t.reset(kLaunderDeposit)
	if cs == caseRansom {
		t.kind = kRansomCashout
	}
	for i := 0; i < k; i++ {
		t.outs = append(t.outs, outSpec{gen: s.serviceType(), role: roleSwapDeposit, v: v / int64(k), w: s.w.swap})
	}
	txid, _, ok := s.spendAll(wid, []int{idx}, t, swCore)
	if ok {
		s.recordSwap(t, txid, "XMR")
	}
}

// launderJoinMarket has the launderer take a JoinMarket CoinJoin with the
// coin, then deposit the mixed output.
func (s *sim) launderJoinMarket(cs int, op outpoint) {
	wid := s.perpWallet(cs)
	idx := s.findCoin(wid, op)
	if idx < 0 {
		return
	}
	// JoinMarket needs every input of one script type: first move the coin
	// to the round's type.
	st := stP2PKH
	if s.now >= jmNativeDate {
		st = stP2WPKH
	} else if s.now >= segwitDate {
		st = stP2SHP2WPKH
	}
	if s.wallets[wid].utxos[idx].st != st {
		t := &s.tb
		t.reset(kLaunderHop)
		t.outs = append(t.outs, outSpec{gen: st, role: roleLaunder, w: wid})
		txid, mine, ok := s.spendAll(wid, []int{idx}, t, swCore)
		if !ok {
			return
		}
		op = outpoint{txid, mine[0]}
		idx = s.findCoin(wid, op)
	}
	v := s.wallets[wid].utxos[idx].value
	amount := int64(0) // sweep
	if s.r.chance(0.5) {
		amount = v * int64(s.r.between(50, 90)) / 100
	}
	saved := s.wallets[wid].st
	s.wallets[wid].st = st
	txid, ok := s.joinmarketRound(cjPart{wid: wid, idx: []int{idx}}, amount)
	s.wallets[wid].st = saved
	if !ok {
		s.depositCoin(cs, op)
		return
	}
	s.depositMine(cs, txid, s.r.between(1, 6))
}

// depositMine schedules the deposit of every coin of the perpetrator made
// by transaction txid (read from the current builder) after a delay.
func (s *sim) depositMine(cs int, txid [32]byte, delay int) {
	wid := s.perpWallet(cs)
	for i := range s.tb.outs {
		if s.tb.outs[i].w == wid {
			op := outpoint{txid, uint32(i)}
			s.schedule(s.height+int32(s.r.IntN(delay+1)), func() { s.depositCoin(cs, op) })
		}
	}
}

// lateWasabi brings a dormant coin into a Wasabi CoinJoin in 2019-2020,
// then deposits the mixed coins.
func (s *sim) lateWasabi(cs int, op outpoint) {
	wid := s.perpWallet(cs)
	idx := s.findCoin(wid, op)
	if idx < 0 {
		return
	}
	if s.r.chance(0.15) {
		return // stays dormant
	}
	if s.wallets[wid].utxos[idx].st != stP2WPKH {
		t := &s.tb
		t.reset(kLaunderHop)
		t.outs = append(t.outs, outSpec{gen: stP2WPKH, role: roleLaunder, w: wid})
		txid, mine, ok := s.spendAll(wid, []int{idx}, t, swCore)
		if !ok {
			return
		}
		op = outpoint{txid, mine[0]}
	}
	s.joinWasabi(cs, op, 5)
}

// joinWasabi registers a P2WPKH coin of the perpetrator in a Wasabi round,
// then deposits the mixed coins. A round needs enough other participants
// (wasabiRound), which a small world does not always have: the
// perpetrator tries again a few blocks later, tries times in all, then
// deposits the coin unmixed.
func (s *sim) joinWasabi(cs int, op outpoint, tries int) {
	wid := s.perpWallet(cs)
	idx := s.findCoin(wid, op)
	if idx < 0 {
		return
	}
	txid, ok := s.wasabiRound([]cjPart{{wid: wid, idx: []int{idx}}})
	switch {
	case ok:
		s.depositMine(cs, txid, 10)
	case tries > 1:
		s.schedule(s.height+int32(s.r.between(1, 5)), func() { s.joinWasabi(cs, op, tries-1) })
	default:
		s.depositCoin(cs, op)
	}
}

// ransomVictim: a user buys bitcoin at an exchange and pays the ransom.
func (s *sim) ransomVictim() {
	c := &s.crime
	v := s.randomUser()
	ransom := int64(s.r.logUniform(0.1, 1)*1e4) * 1e4
	need := ransom + 2_000_000
	if s.spendableBal(v) < need {
		amt := roundSats(need + need/10)
		if !s.withdrawBatch(s.cashoutExchange(), v, amt) {
			return
		}
	}
	rw := &s.wallets[c.rw]
	i := s.r.IntN(len(rw.fixed))
	t := &s.tb
	t.reset(kRansomPayment)
	t.outs = append(t.outs, outSpec{a: rw.fixed[i], v: ransom, w: c.rw, origin: fRansom})
	if txid, ok := s.spend(v, t, spendOpts{useHab: true}); ok {
		c.victims++
		s.truth.victims = append(s.truth.victims, victimRow{ent: s.wallets[v].ent, txid: txid, addr: int32(i), value: ransom, height: s.height})
	}
}

// originTaint starts the taint of a ransom payment at its output.
func (s *sim) originTaint(t *txb, o *outSpec, u *utxo, txid [32]byte, vout int) {
	cs := caseOfFlag(o.origin)
	u.taint = o.v
	u.flags |= o.origin
	s.crime.origin[cs] += o.v
	s.truth.taint = append(s.truth.taint, taintRow{cs: uint8(cs), txid: txid, vout: int32(vout), a: o.a,
		ent: s.wallets[o.w].ent, value: o.v, tainted: o.v, role: trOrigin, height: s.height})
}

// ransomCashout empties the ransom addresses months later: one
// consolidation per address, a split, then the swap service and exchanges.
func (s *sim) ransomCashout() {
	c := &s.crime
	rw := &s.wallets[c.rw]
	var made []outpoint
	for ai := range rw.fixed {
		a := rw.fixed[ai]
		for {
			var idx []int
			for i := range rw.utxos {
				if rw.utxos[i].pub == a.pub && len(idx) < 300 {
					idx = append(idx, i)
				}
			}
			if len(idx) == 0 {
				break
			}
			t := &s.tb
			t.reset(kRansomConsolidation)
			t.outs = append(t.outs, outSpec{gen: stP2PKH, role: roleLaunder, w: c.rw})
			txid, mine, ok := s.spendAll(c.rw, idx, t, swCore)
			if !ok {
				break
			}
			made = append(made, outpoint{txid, mine[0]})
		}
	}
	for _, op := range made {
		s.schedule(s.height+int32(s.r.IntN(2)), func() { s.ransomSplit(op) })
	}
}

func (s *sim) ransomSplit(op outpoint) {
	c := &s.crime
	idx := s.findCoin(c.rw, op)
	if idx < 0 {
		return
	}
	v := s.wallets[c.rw].utxos[idx].value
	k := s.r.between(5, 12)
	t := &s.tb
	t.reset(kRansomSplit)
	for i := 0; i < k; i++ {
		t.outs = append(t.outs, outSpec{gen: stP2PKH, role: roleLaunder, w: c.rw,
			v: int64(float64(v) / float64(k) * (0.5 + s.r.Float64()) * 0.9)})
	}
	txid, mine, ok := s.spendAll(c.rw, []int{idx}, t, swCore)
	if !ok {
		return
	}
	for _, vout := range mine {
		op := outpoint{txid, vout}
		at := s.height + int32(s.r.IntN(4))
		switch x := s.r.Float64(); {
		case x < 0.6:
			s.schedule(at, func() { s.swapDeposits(caseRansom, op) })
		case x < 0.85:
			s.schedule(at, func() { s.hopThenDeposit(caseRansom, op, s.r.between(0, 2)) })
		}
	}
}

// propagateTaint computes the tainted sats of every output of t by the
// per-participant FIFO policy (SIMULATOR.md, "Taint"): each participant's
// inputs form a stream, tainted sats of each input first; its outputs, in
// output order, take from that stream; a part of an output funded by another
// participant takes from that one's stream; what is left pays the miner fee.
// It records taint rows and per-entity receipts and returns the tainted sats
// of each output and the case flag.
func (s *sim) propagateTaint(t *txb, txid [32]byte, fee int64) ([]int64, uint8) {
	type stream struct {
		segs []int64 // alternating tainted, clean amounts
		pos  int
	}
	var cf uint8
	streams := make([]stream, t.nsrc)
	for i := range t.ins {
		u := &t.ins[i].u
		if u.flags&(fTheft|fRansom) != 0 {
			cf = u.flags & (fTheft | fRansom)
		}
		st := &streams[t.ins[i].src]
		st.segs = append(st.segs, u.taint, u.value-u.taint)
	}
	cs := caseOfFlag(cf)
	take := func(src int16, v int64) (tainted int64) {
		st := &streams[src]
		for v > 0 && st.pos < len(st.segs) {
			n := min(v, st.segs[st.pos])
			if st.pos%2 == 0 {
				tainted += n
			}
			st.segs[st.pos] -= n
			v -= n
			if st.segs[st.pos] == 0 {
				st.pos++
			}
		}
		if v > 0 {
			panic("sim: taint stream overdrawn")
		}
		return tainted
	}
	taints := make([]int64, len(t.outs))
	for i := range t.outs {
		o := &t.outs[i]
		if o.funds != nil {
			for _, f := range o.funds {
				taints[i] += take(f.src, f.amount)
			}
		} else {
			taints[i] = take(o.src, o.v)
		}
		if taints[i] == 0 {
			continue
		}
		role := trReceived
		ent := int32(-1)
		if o.w >= 0 {
			ent = s.wallets[o.w].ent
			if s.isPerp(o.w, cf) {
				role = trHeld
			}
		}
		if role == trReceived {
			s.crime.received[cs][ent] += taints[i]
		}
		s.truth.taint = append(s.truth.taint, taintRow{cs: uint8(cs), txid: txid, vout: int32(i), a: o.a, ent: ent,
			value: o.v, tainted: taints[i], role: role, height: s.height})
	}
	var feeTaint, feeLeft int64
	for p := range streams {
		st := &streams[p]
		for j := st.pos; j < len(st.segs); j++ {
			if j%2 == 0 {
				feeTaint += st.segs[j]
			}
			feeLeft += st.segs[j]
		}
	}
	if feeLeft != fee {
		panic("sim: taint streams do not balance the fee")
	}
	if feeTaint > 0 {
		s.crime.fees[cs] += feeTaint
		s.truth.taint = append(s.truth.taint, taintRow{cs: uint8(cs), txid: txid, vout: -1, ent: -1,
			value: fee, tainted: feeTaint, role: trFee, height: s.height})
	}
	return taints, cf
}

// heldTaint sums the tainted sats still held, unspent, by the perpetrator
// of case cs.
func (s *sim) heldTaint(cs int) int64 {
	var v int64
	for _, u := range s.wallets[s.perpWallet(cs)].utxos {
		if u.flags&caseFlags[cs] != 0 {
			v += u.taint
		}
	}
	return v
}
