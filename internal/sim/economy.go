package sim

import "math"

// exchange is a custodial exchange: one deposit address per customer, a hot
// wallet of a few reused addresses, 2-of-3 multisig cold storage.
type exchange struct {
	ent            int32
	dep, hot, cold int32 // wallet ids
	batching       bool
	migrate        int32 // height of the move of cold storage to P2WSH
	order          orderPolicy
	version        int32
	asian          bool
}

// world holds the cast of the simulation.
type world struct {
	pools         []int32 // entity ids
	poolShare     []float64
	poolNative    []bool // pool moved its coinbase to P2WPKH
	exch          []exchange
	exchWeight    []float64
	users         []int32 // wallet ids of retail users
	merchants     []int32
	wasabi        []int32 // retail users by privacy software
	samourai      []int32
	joinmarket    []int32
	processor     int32 // wallet ids of services
	gambling      int32
	swap          int32
	wasabiFee     int32
	whirlFee      int32
	whirlLiq      int32 // the Whirlpool coordinator's liquidity (remixing coins)
	distEnd       int32 // last height of the bootstrap distribution
	victimFunding int64 // what the bootstrap distribution gives the victim exchange first
	whirl         [4]whirlState
}

var exchangeSpecs = []struct {
	name, country string
	weight        float64
	batching      bool
	order         orderPolicy
	asian         bool
}{
	{"Hanbit Exchange", "KR", 0.22, false, ordChangeLast, true}, // the theft victim
	{"Seoul Coin", "KR", 0.14, true, ordChangeLast, true},
	{"Tokyo BitEx", "JP", 0.14, true, ordChangeFirst, true},
	{"Lion City Exchange", "SG", 0.10, true, ordRandom, true},
	{"Harbour Exchange", "HK", 0.10, false, ordChangeLast, true},
	{"Atlantic Exchange", "US", 0.17, true, ordChangeLast, false},
	{"Euro Exchange", "EU", 0.13, true, ordRandom, false},
}

const victimExchange = 0

var poolSpecs = []struct {
	name   string
	share  float64
	native bool
}{
	{"Alpha Pool", 0.24, true}, {"Bravo Pool", 0.20, false}, {"Charlie Pool", 0.17, true},
	{"Delta Pool", 0.15, false}, {"Echo Pool", 0.13, true}, {"Foxtrot Pool", 0.11, false},
}

// initWorld creates every entity and its fixed addresses.
func (s *sim) initWorld() {
	p := s.plan
	nUsers := p.users()
	nMerchants := min(max(nUsers/40, 3), 3000)
	w := &s.w

	for _, ps := range poolSpecs {
		e := s.newEntity(ekPool, swService, ps.name, "")
		s.entities[e].tag = []byte("/" + ps.name + "/")
		wid := s.newWallet(e, rolePayout, stP2PKH)
		s.fixedAddr(wid, stP2PKH, roleCoinbase)
		s.fixedAddr(wid, stP2WPKH, roleCoinbase)
		w.pools = append(w.pools, e)
		w.poolShare = append(w.poolShare, ps.share)
		w.poolNative = append(w.poolNative, ps.native)
	}
	for _, es := range exchangeSpecs {
		e := s.newEntity(ekExchange, swService, es.name, es.country)
		ex := exchange{ent: e, batching: es.batching, order: es.order, asian: es.asian, version: 1}
		if es.batching {
			ex.version = 2
		}
		ex.dep = s.newWallet(e, roleDeposit, stP2PKH)
		ex.hot = s.newWallet(e, roleHot, stP2PKH)
		for i := 0; i < 3; i++ {
			s.fixedAddr(ex.hot, stP2PKH, roleHot)
		}
		s.fixedAddr(ex.hot, stP2WPKH, roleHot)
		ex.migrate = s.heightAt(coldWSHDate + s.r.Int64N(180*86400))
		ex.cold = s.newWallet(e, roleCold, stP2SHMulti)
		s.fixedAddr(ex.cold, stP2SHMulti, roleCold)
		s.fixedAddr(ex.cold, stP2WSHMulti, roleCold)
		w.exch = append(w.exch, ex)
		w.exchWeight = append(w.exchWeight, es.weight)
	}
	e := s.newEntity(ekProcessor, swService, "PayGate", "US")
	w.processor = s.newWallet(e, roleInvoice, stP2PKH)
	s.fixedAddr(w.processor, stP2PKH, roleHot)
	e = s.newEntity(ekGambling, swService, "DiceRoll", "")
	w.gambling = s.newWallet(e, roleGame, stP2PKH)
	for i := 0; i < 5; i++ {
		s.fixedAddr(w.gambling, stP2PKH, roleGame)
	}
	s.fixedAddr(w.gambling, stP2PKH, roleHot)
	e = s.newEntity(ekSwap, swService, "ShiftSwap", "CH")
	w.swap = s.newWallet(e, roleSwapDeposit, stP2PKH)
	s.fixedAddr(w.swap, stP2PKH, roleSwapHot)
	e = s.newEntity(ekCoordinator, swService, "Wasabi coordinator", "")
	w.wasabiFee = s.newWallet(e, roleCoordinator, stP2WPKH)
	s.fixedAddr(w.wasabiFee, stP2WPKH, roleCoordinator)
	e = s.newEntity(ekCoordinator, swService, "Whirlpool coordinator", "")
	w.whirlFee = s.newWallet(e, roleCoordinator, stP2WPKH)
	for i := 0; i < 3; i++ {
		s.fixedAddr(w.whirlFee, stP2WPKH, roleCoordinator)
	}
	w.whirlLiq = s.newWallet(e, rolePostmix, stP2WPKH)
	s.initCrime()

	for i := 0; i < nMerchants; i++ {
		e := s.newEntity(ekMerchant, swService, "", "")
		wid := s.newWallet(e, roleReceive, stP2PKH)
		s.wallets[wid].year = -1
		if s.r.chance(0.3) {
			s.wallets[wid].reuse = true
			s.fixedAddr(wid, stP2PKH, roleReceive)
		}
		s.wallets[wid].home = int16(s.pickExchange())
		w.merchants = append(w.merchants, wid)
	}
	softMix := []float64{0, 0.25, 0.20, 0.38, 0.06, 0.06, 0.05}
	for i := 0; i < nUsers; i++ {
		soft := software(s.r.pickWeighted(softMix))
		e := s.newEntity(ekRetail, soft, "", "")
		wid := s.newWallet(e, roleReceive, stP2PKH)
		wl := &s.wallets[wid]
		wl.home = int16(s.pickExchange())
		if soft != swWasabi && soft != swSamourai && s.r.chance(0.15) {
			wl.reuse = true
			s.fixedAddr(wid, stP2PKH, roleReceive)
		}
		w.users = append(w.users, wid)
		switch soft {
		case swWasabi:
			w.wasabi = append(w.wasabi, wid)
		case swSamourai:
			w.samourai = append(w.samourai, wid)
		case swJoinMarket:
			w.joinmarket = append(w.joinmarket, wid)
		}
	}
	w.distEnd = p.bootstrap + max(2, p.regular/20)
	var supply int64
	for h := int32(1); h <= p.bootstrap-100; h++ {
		supply += s.subsidy(h)
	}
	w.victimFunding = min(5500e8, supply*35/100)
	s.initCollab()
	ents := make([]entInfo, len(s.entities))
	for i, e := range s.entities {
		ents[i] = entInfo{kind: e.kind, name: e.name, private: e.private}
	}
	s.truth.ents = ents
}

func (s *sim) pickExchange() int { return s.r.pickWeighted(s.w.exchWeight) }

func (s *sim) pickPool() int32 { return s.w.pools[s.r.pickWeighted(s.w.poolShare)] }

func (s *sim) otherPool(p int32) int32 {
	for {
		if q := s.pickPool(); q != p {
			return q
		}
	}
}

func (s *sim) poolIndex(ent int32) int { return int(ent - s.w.pools[0]) }

// poolAddr is the coinbase address pool ent uses at the current time.
func (s *sim) poolAddr(ent int32) addr {
	wl := &s.wallets[s.entities[ent].wallets[0]]
	if s.w.poolNative[s.poolIndex(ent)] && s.now >= exchNativeDate {
		return wl.fixed[1]
	}
	return wl.fixed[0]
}

// poolVersion is the block version pool ent sets: BIP9 with the segwit bit
// while it was signalled, and version-rolling (overt ASICBoost) bits later.
func (s *sim) poolVersion(ent int32) int32 {
	v := int32(0x20000000)
	switch {
	case s.now >= date(2016, 11, 15) && s.now < segwitDate+30*86400 && s.poolIndex(ent)%3 != 1:
		v |= 2
	case s.now >= date(2018, 6, 1) && s.poolIndex(ent)%2 == 0:
		v |= int32(s.sig.Uint32() & 0x1fffe000)
	}
	return v
}

// exchDepositType is the type of new exchange deposit addresses.
func (s *sim) exchDepositType() scriptType {
	switch {
	case s.now >= exchNativeDate:
		return stP2WPKH
	case s.now >= exchSegwitDate:
		return stP2SHP2WPKH
	}
	return stP2PKH
}

// serviceType is the type of new service (processor, swap) addresses.
func (s *sim) serviceType() scriptType { return s.exchDepositType() }

func (s *sim) hotAddr(e int) *addr {
	wl := &s.wallets[s.w.exch[e].hot]
	if s.now >= exchNativeDate {
		return &wl.fixed[3]
	}
	return &wl.fixed[s.r.IntN(3)]
}

func (s *sim) coldAddr(e int) *addr {
	wl := &s.wallets[s.w.exch[e].cold]
	if s.now >= coldWSHDate {
		return &wl.fixed[1]
	}
	return &wl.fixed[0]
}

// usdAmount draws a dollar amount with the given median and turns it into
// sats; with probability pRound the BTC amount is rounded to two
// significant digits.
func (s *sim) usdAmount(median, sigma, pRound float64) int64 {
	v := usdToSats(s.r.logNormal(median, sigma), s.now)
	if s.r.chance(pRound) {
		v = roundSats(v)
	}
	return max(v, 5000)
}

// fundedUser returns a random retail user whose spendable balance is at
// least minSats.
func (s *sim) fundedUser(minSats int64) (int32, bool) {
	for i := 0; i < 12; i++ {
		wid := s.w.users[s.r.IntN(len(s.w.users))]
		if s.wallets[wid].bal >= minSats && s.spendableBal(wid) >= minSats {
			return wid, true
		}
	}
	return -1, false
}

func (s *sim) randomUser() int32 { return s.w.users[s.r.IntN(len(s.w.users))] }

// fillBlock runs scheduled and periodic behaviours, then retail actions
// until the block has its share of transactions.
func (s *sim) fillBlock() {
	s.runTasks()
	s.maintenance()
	fails := 0
	for len(s.blk.txids) < s.plan.perBlock && s.blk.weight < maxBlockWeight && fails < 64 {
		if s.action() {
			fails = 0
		} else {
			fails++
		}
	}
}

// action performs one retail action chosen by weight.
func (s *sim) action() bool {
	users := float64(s.kindBal[ekRetail])
	exch := float64(s.kindBal[ekExchange])
	share := users / math.Max(users+exch, 1)
	adj := math.Max(0.2, math.Min(3, share/0.4))
	weights := [...]float64{
		0.22,       // payment
		0.07,       // merchant payment
		0.08,       // invoice
		0.13 * adj, // deposit
		0.06 / adj, // withdrawal batch
		0.06,       // bet
		0.02,       // swap in
		0.015,      // swap out
		0.02,       // consolidation
	}
	switch s.r.pickWeighted(weights[:]) {
	case 0:
		return s.actPayment()
	case 1:
		return s.actMerchant()
	case 2:
		return s.actInvoice()
	case 3:
		return s.actDeposit()
	case 4:
		return s.withdrawBatch(s.pickExchange(), -1, 0)
	case 5:
		return s.actBet()
	case 6:
		return s.actSwapIn()
	case 7:
		return s.actSwapOut()
	default:
		return s.actConsolidate()
	}
}

// userPay pays amount from user u to out (already appended to s.tb).
func (s *sim) userPay(u int32, t *txb) bool {
	bal := s.spendableBal(u)
	if t.outs[0].v > bal*9/10 {
		if s.r.chance(0.3) {
			_, ok := s.spend(u, t, spendOpts{sendMax: true, useHab: true, maxIn: 20})
			return ok
		}
		t.outs[0].v = max(bal/2, 5000)
	}
	_, ok := s.spend(u, t, spendOpts{useHab: true})
	return ok
}

func (s *sim) actPayment() bool {
	amt := s.usdAmount(40, 1.3, 0.25)
	u, ok := s.fundedUser(amt / 2)
	if !ok {
		return false
	}
	v := s.randomUser()
	if v == u {
		return false
	}
	t := &s.tb
	t.reset(kPayment)
	t.outs = append(t.outs, s.recvOut(v, amt))
	return s.userPay(u, t)
}

func (s *sim) actMerchant() bool {
	amt := usdToSats(math.Round(s.r.logNormal(60, 1.0)*100)/100, s.now)
	u, ok := s.fundedUser(amt)
	if !ok {
		return false
	}
	m := s.w.merchants[s.r.IntN(len(s.w.merchants))]
	t := &s.tb
	t.reset(kMerchantPayment)
	t.outs = append(t.outs, s.recvOut(m, amt))
	return s.userPay(u, t)
}

func (s *sim) actInvoice() bool {
	amt := usdToSats(math.Round(s.r.logNormal(70, 1.0)*100)/100, s.now)
	u, ok := s.fundedUser(amt)
	if !ok {
		return false
	}
	t := &s.tb
	t.reset(kInvoicePayment)
	t.outs = append(t.outs, outSpec{gen: s.serviceType(), role: roleInvoice, v: amt, w: s.w.processor})
	_, ok = s.spend(u, t, spendOpts{useHab: true})
	return ok
}

func (s *sim) actDeposit() bool {
	amt := s.usdAmount(250, 1.3, 0.5)
	u, ok := s.fundedUser(amt / 4)
	if !ok {
		return false
	}
	t := &s.tb
	t.reset(kDeposit)
	t.outs = append(t.outs, s.depositOut(u, amt))
	if s.r.chance(0.3) || amt > s.spendableBal(u) {
		_, ok = s.spend(u, t, spendOpts{sendMax: true, useHab: true, maxIn: 20})
		return ok
	}
	_, ok = s.spend(u, t, spendOpts{useHab: true})
	return ok
}

// withdrawBatch pays a batch of customers of exchange e from its hot wallet.
// If extra >= 0, wallet extra is one of the recipients and gets extraAmt.
func (s *sim) withdrawBatch(e int, extra int32, extraAmt int64) bool {
	return s.withdrawOut(e, extra, extraAmt, 0, 0)
}

// withdrawOut is withdrawBatch with the extra output carrying utxo flags
// and a Whirlpool pool (the Whirlpool coordinator's liquidity coins).
func (s *sim) withdrawOut(e int, extra int32, extraAmt int64, flags, pool uint8) bool {
	ex := &s.w.exch[e]
	k := 1
	if ex.batching {
		k = s.r.between(2, min(max(s.plan.perBlock/10, 3), 80))
	}
	t := &s.tb
	t.reset(kWithdrawal)
	if extra >= 0 {
		o := s.recvOut(extra, extraAmt)
		o.flags, o.pool = flags, pool
		t.outs = append(t.outs, o)
		k--
	}
	for i := 0; i < k; i++ {
		t.outs = append(t.outs, s.recvOut(s.randomUser(), s.usdAmount(300, 1.2, 0.4)))
	}
	if t.outs[0].v <= 0 {
		return false
	}
	need := t.outSum() + 1_000_000
	if s.spendableBal(ex.hot) < need {
		s.coldToHot(e, need)
	}
	hot := s.hotAddr(e)
	t.version = ex.version
	_, ok := s.spend(ex.hot, t, spendOpts{change: hot, order: ex.order, maxIn: 50})
	return ok
}

// coldToHot moves enough from cold storage to cover need plus a float.
func (s *sim) coldToHot(e int, need int64) bool {
	ex := &s.w.exch[e]
	cold := s.wallets[ex.cold].bal
	if cold <= 0 {
		return false
	}
	amt := min(need+cold/5, cold*9/10)
	if amt < 100_000 {
		return false
	}
	t := &s.tb2
	t.reset(kColdToHot)
	t.outs = append(t.outs, outSpec{a: *s.hotAddr(e), v: amt, w: ex.hot})
	_, ok := s.spend(ex.cold, t, spendOpts{change: s.coldAddr(e), order: ordChangeLast, maxIn: 200})
	return ok
}

func (s *sim) actBet() bool {
	amt := s.usdAmount(15, 1.2, 0.6)
	u, ok := s.fundedUser(amt)
	if !ok {
		return false
	}
	g := &s.wallets[s.w.gambling]
	t := &s.tb
	t.reset(kBet)
	t.outs = append(t.outs, outSpec{a: g.fixed[s.r.IntN(5)], v: amt, w: s.w.gambling})
	if !s.userPay(u, t) {
		return false
	}
	bettor := t.ins[0].u.addr(s.h, s)
	bet := t.outs[0].v
	for i := range t.outs {
		if t.outs[i].w == s.w.gambling {
			bet = t.outs[i].v
		}
	}
	if !s.r.chance(0.485) {
		return true
	}
	// Winnings go back to the address the bet came from (SatoshiDice did so).
	p := &s.tb
	p.reset(kBetPayout)
	p.outs = append(p.outs, outSpec{a: bettor, v: bet * 198 / 100, w: u})
	s.spend(s.w.gambling, p, spendOpts{change: &g.fixed[5], order: ordChangeLast, maxIn: 20})
	return true
}

var swapChains = []string{"ETH", "XMR", "LTC", "ZEC", "BCH", "DASH"}

func (s *sim) actSwapIn() bool {
	amt := s.usdAmount(200, 1.2, 0.3)
	u, ok := s.fundedUser(amt)
	if !ok {
		return false
	}
	t := &s.tb
	t.reset(kSwapDeposit)
	t.outs = append(t.outs, outSpec{gen: s.serviceType(), role: roleSwapDeposit, v: amt, w: s.w.swap})
	txid, ok := s.spend(u, t, spendOpts{useHab: true})
	if ok {
		s.recordSwap(t, txid, swapChains[s.r.IntN(len(swapChains))])
	}
	return ok
}

// recordSwap notes every output of t paid to the swap service in
// truth/swaps.csv.
func (s *sim) recordSwap(t *txb, txid [32]byte, chain string) {
	for i := range t.outs {
		if t.outs[i].w == s.w.swap {
			s.truth.swaps = append(s.truth.swaps, swapRow{txid: txid, vout: uint32(i), value: t.outs[i].v,
				payer: t.spender, chain: chain, height: s.height})
		}
	}
}

func (s *sim) actSwapOut() bool {
	amt := s.usdAmount(200, 1.2, 0.3)
	if s.spendableBal(s.w.swap) < amt*2 {
		return false
	}
	t := &s.tb
	t.reset(kSwapPayout)
	t.outs = append(t.outs, s.recvOut(s.randomUser(), amt))
	_, ok := s.spend(s.w.swap, t, spendOpts{change: &s.wallets[s.w.swap].fixed[0], order: ordChangeLast})
	return ok
}

func (s *sim) actConsolidate() bool {
	for i := 0; i < 8; i++ {
		u := s.randomUser()
		if len(s.wallets[u].utxos) >= 8 {
			return s.consolidate(u, kConsolidation, 30, nil)
		}
	}
	return false
}

// consolidate merges up to maxIn of wallet wid's smallest coins into dst, or
// into a receive address of the wallet when dst is nil.
func (s *sim) consolidate(wid int32, kind txKind, maxIn int, dst *addr) bool {
	w := &s.wallets[wid]
	n := min(len(w.utxos), maxIn)
	if n < 2 {
		return false
	}
	t := &s.tb
	t.reset(kind)
	o := s.recvOut(wid, 0)
	if dst != nil {
		o = outSpec{a: *dst, w: wid}
	}
	t.outs = append(t.outs, o)
	_, t.version, t.lock, t.seq = s.habits(w.soft)
	_, ok := s.spend(wid, t, spendOpts{sendMax: true, minIn: n, maxIn: n, smallFirst: true, fr: math.Max(1.01, s.r.feeRate(s.now)/3)})
	return ok
}

// maintenance runs the periodic behaviours of services and miners.
func (s *sim) maintenance() {
	s.distribute()
	s.poolPayouts()
	for e := range s.w.exch {
		s.exchangeHousekeeping(e)
	}
	s.serviceHousekeeping()
	s.coinjoins()
	s.collaborative()
	// Users whose wallets hold many coins consolidate them when fees are
	// low (the wallet "consolidate" feature, Core's -consolidatefeerate).
	for i := 0; i < 1+s.plan.perBlock/25; i++ {
		if u := s.randomUser(); len(s.wallets[u].utxos) > 12 {
			s.consolidate(u, kConsolidation, 50, nil)
		}
	}
}

// distribute spends the bootstrap coinbases ("the economy that already
// existed") over the first regular blocks.
func (s *sim) distribute() {
	if s.height > s.w.distEnd {
		return
	}
	left := s.w.distEnd - s.height + 1
	for _, pe := range s.w.pools {
		pw := s.entities[pe].wallets[0]
		var mature []int
		for i := range s.wallets[pw].utxos {
			u := &s.wallets[pw].utxos[i]
			if u.flags&fCoinbase != 0 && u.height <= s.plan.bootstrap && s.spendable(u) {
				mature = append(mature, i)
			}
		}
		n := (len(mature) + int(left) - 1) / int(left)
		for i := 0; i < n && i < len(mature); i++ {
			// indices shift as coins leave: re-find a bootstrap coin each time
			idx := -1
			for j := range s.wallets[pw].utxos {
				u := &s.wallets[pw].utxos[j]
				if u.flags&fCoinbase != 0 && u.height <= s.plan.bootstrap && s.spendable(u) {
					idx = j
					break
				}
			}
			if idx < 0 {
				break
			}
			s.distributeCoin(pe, pw, idx)
		}
	}
}

// distributeCoin pays one bootstrap coinbase to exchanges, services and
// users.
func (s *sim) distributeCoin(pe, pw int32, idx int) {
	t := &s.tb
	t.reset(kDistribution)
	v := s.wallets[pw].utxos[idx].value
	s.debit(pw, []int{idx}, t, 0)
	t.spender = pe
	x := s.r.Float64()
	vx := &s.w.exch[victimExchange]
	switch {
	case s.wallets[vx.cold].bal+s.wallets[vx.hot].bal < s.w.victimFunding:
		// The victim is a large exchange: it is funded first, up to
		// 5,500 BTC or 35% of the bootstrap supply.
		t.outs = append(t.outs, outSpec{a: *s.coldAddr(victimExchange), v: v - 20_000, w: vx.cold})
	case x < 0.45: // exchange cold storage
		e := s.victimOr(0.25)
		t.outs = append(t.outs, outSpec{a: *s.coldAddr(e), v: v - 20_000, w: s.w.exch[e].cold})
	case x < 0.60:
		e := s.victimOr(0.25)
		t.outs = append(t.outs, outSpec{a: *s.hotAddr(e), v: v - 20_000, w: s.w.exch[e].hot})
	case x < 0.68:
		svc := []int32{s.w.gambling, s.w.swap, s.w.processor}[s.r.IntN(3)]
		t.outs = append(t.outs, outSpec{a: s.wallets[svc].fixed[len(s.wallets[svc].fixed)-1], v: v - 20_000, w: svc})
	default:
		n := s.r.between(5, 40)
		rest := v - 20_000 - int64(n)*600
		for i := 0; i < n; i++ {
			part := rest / int64(n-i)
			if i < n-1 {
				part = int64(float64(part) * (0.3 + 1.4*s.r.Float64()))
			}
			rest -= part
			t.outs = append(t.outs, s.recvOut(s.randomUser(), part))
		}
	}
	s.emit(t)
}

func (s *sim) victimOr(p float64) int {
	if s.r.chance(p) {
		return victimExchange
	}
	return 1 + s.r.IntN(len(s.w.exch)-1)
}

// poolPayouts: each pool pays its members from mature coinbases.
func (s *sim) poolPayouts() {
	for _, pe := range s.w.pools {
		pw := s.entities[pe].wallets[0]
		if !s.r.chance(0.6) {
			continue
		}
		idx := -1
		for i := range s.wallets[pw].utxos {
			u := &s.wallets[pw].utxos[i]
			if u.flags&fCoinbase != 0 && (u.height > s.plan.bootstrap || s.height > s.w.distEnd) && s.spendable(u) {
				idx = i
				break
			}
		}
		if idx < 0 {
			continue
		}
		v := s.wallets[pw].utxos[idx].value
		n := s.r.between(3, min(max(s.plan.perBlock/8, 4), 120))
		t := &s.tb
		t.reset(kPoolPayout)
		budget := v * 97 / 100
		for i := 0; i < n; i++ {
			part := budget / int64(n-i)
			if i < n-1 {
				part = int64(float64(part) * (0.2 + 1.6*s.r.Float64()))
			}
			if part < 10_000 {
				break
			}
			budget -= part
			u := s.randomUser()
			if s.r.chance(0.2) {
				t.outs = append(t.outs, s.depositOut(u, part))
			} else {
				t.outs = append(t.outs, s.recvOut(u, part))
			}
		}
		if len(t.outs) == 0 {
			continue
		}
		// The payout also sweeps up the pool's change from earlier payouts.
		coins := append(s.cand[:0], idx)
		for i := range s.wallets[pw].utxos {
			if s.wallets[pw].utxos[i].flags&fCoinbase == 0 && len(coins) < 20 {
				coins = append(coins, i)
			}
		}
		s.cand = coins
		ca := s.poolAddr(pe)
		s.spendIdx(pw, coins, t, &ca, ordChangeLast)
	}
}

// spendIdx spends exactly the given coins of wallet wid to t's outputs with
// change to change.
func (s *sim) spendIdx(wid int32, idx []int, t *txb, change *addr, order orderPolicy) ([32]byte, bool) {
	w := &s.wallets[wid]
	var sum int64
	for _, i := range idx {
		sum += w.utxos[i].value
	}
	fr := s.r.feeRate(s.now)
	wgt := t.weight() + outWeight(change.st)
	for _, i := range idx {
		wgt += inWeight(w.utxos[i].st)
	}
	fee := int64(math.Ceil(fr*float64(wgt)/4)) + 1
	ch := sum - t.outSum() - fee
	if ch < 0 {
		return [32]byte{}, false
	}
	if ch >= dustLimit(change.st) {
		t.outs = append(t.outs, outSpec{a: *change, v: ch, w: wid, change: true})
	}
	s.debit(wid, append(s.sel[:0], idx...), t, 0)
	t.spender = w.ent
	s.order(t, order)
	return s.emit(t), true
}

// exchangeHousekeeping sweeps deposits and balances hot and cold storage.
func (s *sim) exchangeHousekeeping(e int) {
	ex := &s.w.exch[e]
	if e == victimExchange && s.crime.victimFrozen(s) {
		return
	}
	dep := &s.wallets[ex.dep]
	sweepMin := min(max(s.plan.perBlock/25, 2), 60)
	if len(dep.utxos) >= sweepMin && s.r.chance(0.7) {
		t := &s.tb
		t.reset(kSweep)
		dst, w := s.hotAddr(e), ex.hot
		if s.r.chance(0.2) {
			dst, w = s.coldAddr(e), ex.cold
		}
		t.outs = append(t.outs, outSpec{a: *dst, w: w})
		t.version = ex.version
		n := min(len(dep.utxos), 150)
		s.spend(ex.dep, t, spendOpts{sendMax: true, minIn: n, maxIn: n, fr: math.Max(1.01, s.r.feeRate(s.now)/2)})
	}
	if s.height == ex.migrate {
		s.migrateCold(e)
	}
	hot, cold := s.wallets[ex.hot].bal, s.wallets[ex.cold].bal
	total := hot + cold
	switch {
	case total > 0 && hot > total*2/5 && s.r.chance(0.3):
		t := &s.tb
		t.reset(kHotToCold)
		t.outs = append(t.outs, outSpec{a: *s.coldAddr(e), v: hot / 2, w: ex.cold})
		t.version = ex.version
		s.spend(ex.hot, t, spendOpts{change: s.hotAddr(e), order: ordChangeLast, maxIn: 50})
	case total > 0 && hot < total*15/100 && s.r.chance(0.5):
		s.coldToHot(e, total/4-hot)
	case cold > 0 && s.r.chance(0.04): // routine top-up
		s.coldToHot(e, total/10)
	}
	if len(s.wallets[ex.hot].utxos) > 150 {
		s.consolidate(ex.hot, kConsolidation, 100, s.hotAddr(e))
	}
}

// serviceHousekeeping settles the processor's invoices, lets merchants cash
// out, and keeps the gambling and swap wallets tidy.
func (s *sim) serviceHousekeeping() {
	proc := &s.wallets[s.w.processor]
	for round := 0; round < 3; round++ {
		n := len(proc.utxos)
		if n < min(max(s.plan.perBlock/15, 3), 100) || (round > 0 && n < 300) || (n <= 300 && !s.r.chance(0.5)) {
			break
		}
		// Settlement: up to 200 invoice payments, paid out to 1-10
		// merchants (or their exchange accounts) less a 1% fee that stays
		// with the processor.
		idx := s.cand[:0]
		var sum int64
		for i := 0; i < min(n, 200); i++ {
			idx = append(idx, i)
			sum += proc.utxos[i].value
		}
		s.cand = idx
		t := &s.tb
		t.reset(kSettlement)
		k := s.r.between(1, min(10, len(s.w.merchants)))
		budget := sum * 95 / 100
		for i := 0; i < k && budget > 100_000; i++ {
			part := budget / int64(k-i)
			if i < k-1 {
				part = int64(float64(part) * (0.5 + s.r.Float64()))
			}
			budget -= part
			m := s.w.merchants[s.r.IntN(len(s.w.merchants))]
			if s.r.chance(0.5) {
				t.outs = append(t.outs, s.depositOut(m, part))
			} else {
				t.outs = append(t.outs, s.recvOut(m, part))
			}
		}
		t.outs = append(t.outs, outSpec{a: proc.fixed[0], w: s.w.processor, change: true})
		s.spendAll(s.w.processor, idx, t, swService)
	}
	for i := 0; i < 1+s.plan.perBlock/200; i++ {
		m := s.w.merchants[s.r.IntN(len(s.w.merchants))]
		if len(s.wallets[m].utxos) >= 5 {
			t := &s.tb
			t.reset(kMerchantCashout)
			t.outs = append(t.outs, s.depositOut(m, 0))
			n := min(len(s.wallets[m].utxos), 40)
			s.spend(m, t, spendOpts{sendMax: true, minIn: n, maxIn: n, useHab: true})
		}
	}
	for i := 0; i < 4 && len(s.wallets[s.w.gambling].utxos) > 120; i++ {
		s.consolidate(s.w.gambling, kConsolidation, 200, &s.wallets[s.w.gambling].fixed[5])
	}
	sw := &s.wallets[s.w.swap]
	if len(sw.utxos) >= 25 && (len(sw.utxos) > 100 || s.r.chance(0.5)) {
		// The swap service sells half of what it holds at an exchange,
		// consolidating its small deposits as it goes.
		t := &s.tb
		t.reset(kSwapSell)
		n := min(len(sw.utxos), 200)
		t.outs = append(t.outs, s.depositOut(s.w.swap, sw.bal/2))
		if _, ok := s.spend(s.w.swap, t, spendOpts{change: &sw.fixed[0], order: ordChangeLast, minIn: n, maxIn: n, smallFirst: true}); !ok {
			t.reset(kConsolidation)
			t.outs = append(t.outs, outSpec{a: sw.fixed[0], w: s.w.swap})
			s.spend(s.w.swap, t, spendOpts{sendMax: true, minIn: n, maxIn: n, smallFirst: true})
		}
	} else if sw.bal < 5e8 && s.r.chance(0.05) {
		// The swap service buys BTC at an exchange.
		s.withdrawBatch(s.pickExchange(), s.w.swap, 10e8)
	}
}

// migrateCold moves an exchange's P2SH multisig cold coins to its new P2WSH
// cold address.
func (s *sim) migrateCold(e int) {
	ex := &s.w.exch[e]
	cw := &s.wallets[ex.cold]
	var idx []int
	for i := range cw.utxos {
		if cw.utxos[i].st == stP2SHMulti && len(idx) < 200 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	t := &s.tb
	t.reset(kColdMigration)
	t.outs = append(t.outs, outSpec{a: cw.fixed[1], w: ex.cold})
	t.version = ex.version
	s.spendAll(ex.cold, idx, t, swService)
}
