package sim

import (
	"bytes"
	"math"
	"slices"
)

// entityKind is the entity_type column of the answer key.
type entityKind uint8

const (
	ekRetail entityKind = iota
	ekMerchant
	ekExchange
	ekPool
	ekProcessor
	ekGambling
	ekSwap
	ekCoordinator
	ekAttacker
	ekRansomware
	numEntityKinds
)

var entityKindNames = [...]string{"retail", "merchant", "exchange", "mining_pool", "payment_processor",
	"gambling", "swap_service", "coinjoin_coordinator", "attacker", "ransomware"}

func (k entityKind) String() string { return entityKindNames[k] }

// software is the wallet software of a retail user; it fixes change
// position, nLockTime, nSequence and version habits.
type software uint8

const (
	swService software = iota
	swCore
	swElectrum
	swMobile
	swWasabi
	swSamourai
	swJoinMarket
)

var softwareNames = [...]string{"service", "bitcoin_core", "electrum", "mobile", "wasabi", "samourai", "joinmarket"}

func (s software) String() string { return softwareNames[s] }

// addrRole is the role column of truth/addresses.csv.
type addrRole uint8

const (
	roleReceive addrRole = iota
	roleChange
	roleDeposit
	roleHot
	roleCold
	roleCoinbase
	rolePayout
	roleInvoice
	roleGame
	roleSwapDeposit
	roleSwapHot
	roleCoordinator
	rolePremix
	rolePostmix
	roleMixOut
	roleTheft
	roleLaunder
	rolePeel
	roleRansom
	numRoles
)

var roleNames = [...]string{"receive", "change", "deposit", "hot", "cold", "coinbase", "payout", "invoice",
	"game", "swap_deposit", "swap_hot", "coordinator_fee", "premix", "postmix", "coinjoin_out", "theft",
	"launder", "peel", "ransom"}

func (r addrRole) String() string { return roleNames[r] }

// txKind is the kind column of truth/txs.csv and the key of Summary.Counts.
type txKind uint8

const (
	kGenesis txKind = iota
	kCoinbase
	kDistribution
	kPoolPayout
	kPayment
	kMerchantPayment
	kInvoicePayment
	kSettlement
	kMerchantCashout
	kDeposit
	kWithdrawal
	kSweep
	kHotToCold
	kColdToHot
	kColdMigration
	kConsolidation
	kBet
	kBetPayout
	kSwapDeposit
	kSwapPayout
	kSwapSell
	kWasabi
	kWhirlpoolTx0
	kWhirlpoolMix
	kJoinMarket
	kTheft
	kLaunderSplit
	kLaunderHop
	kPeel
	kLaunderDeposit
	kRansomPayment
	kRansomConsolidation
	kRansomSplit
	kRansomCashout
	kCoinjoinUnknown
	kPayjoin
	kCollabBatch
	numTxKinds
)

var txKindNames = [...]string{"genesis", "coinbase", "distribution", "pool_payout", "payment", "merchant_payment",
	"invoice_payment", "processor_settlement", "merchant_cashout", "exchange_deposit", "exchange_withdrawal",
	"exchange_sweep", "hot_to_cold", "cold_to_hot", "cold_migration", "consolidation", "bet", "bet_payout", "swap_deposit",
	"swap_payout", "swap_sell", "coinjoin_wasabi", "whirlpool_tx0", "coinjoin_whirlpool", "coinjoin_joinmarket",
	"theft", "launder_split", "launder_hop", "peel", "launder_deposit", "ransom_payment",
	"ransom_consolidation", "ransom_split", "ransom_cashout", "coinjoin_unknown", "payjoin", "collab_batch"}

func (k txKind) String() string { return txKindNames[k] }

// entity is an owner of addresses.
type entity struct {
	kind    entityKind
	soft    software
	name    string
	country string
	tag     []byte  // coinbase tag (pools)
	private bool    // unknown to investigators: none of its addresses is tagged
	wallets []int32 // wallet ids; [0] is the main wallet
}

// wallet is a pool of UTXOs with the habits of its owner.
type wallet struct {
	utxos []utxo
	fixed []addr // reused addresses (hot wallets, coinbase, game, reusers' receive)
	bal   int64
	ent   int32
	kind  entityKind
	role  addrRole // role of fresh receive addresses
	st    scriptType
	soft  software
	year  int16 // year st was last re-drawn
	reuse bool  // receives to fixed[0] and sends change there
	home  int16 // home exchange (index into world.exch); -1 none
	dep   addr  // deposit address at the home exchange (owned by the exchange)
}

// credit adds u to wallet wid.
func (s *sim) credit(wid int32, u utxo) {
	w := &s.wallets[wid]
	w.utxos = append(w.utxos, u)
	w.bal += u.value
	s.kindBal[w.kind] += u.value
}

// debit removes the UTXOs at the given indices (any order) from wallet wid
// and appends them to t as inputs of participant src.
func (s *sim) debit(wid int32, idx []int, t *txb, src int16) {
	w := &s.wallets[wid]
	slices.Sort(idx)
	for _, i := range idx {
		t.ins = append(t.ins, inSpec{u: w.utxos[i], src: src})
	}
	for j := len(idx) - 1; j >= 0; j-- {
		i := idx[j]
		v := w.utxos[i].value
		w.bal -= v
		s.kindBal[w.kind] -= v
		last := len(w.utxos) - 1
		w.utxos[i] = w.utxos[last]
		w.utxos = w.utxos[:last]
	}
	if cap(w.utxos) > 64 && len(w.utxos) < cap(w.utxos)/4 {
		w.utxos = append(make([]utxo, 0, 2*len(w.utxos)), w.utxos...) // give memory back
	}
}

// spendable reports whether u may be chosen by ordinary coin selection.
func (s *sim) spendable(u *utxo) bool {
	if u.flags&fCoinbase != 0 && s.height-u.height < 100 {
		return false
	}
	return u.flags&fPremix == 0
}

// spendableBal is the wallet balance ordinary coin selection can use.
func (s *sim) spendableBal(wid int32) int64 {
	w := &s.wallets[wid]
	var v int64
	for i := range w.utxos {
		if s.spendable(&w.utxos[i]) {
			v += w.utxos[i].value
		}
	}
	return v
}

// newWallet adds a wallet owned by entity ent.
func (s *sim) newWallet(ent int32, role addrRole, st scriptType) int32 {
	e := &s.entities[ent]
	id := int32(len(s.wallets))
	s.wallets = append(s.wallets, wallet{ent: ent, kind: e.kind, role: role, st: st, soft: e.soft, home: -1, year: -1})
	e.wallets = append(e.wallets, id)
	return id
}

func (s *sim) newEntity(kind entityKind, soft software, name, country string) int32 {
	s.entities = append(s.entities, entity{kind: kind, soft: soft, name: name, country: country})
	return int32(len(s.entities) - 1)
}

// freshAddr derives and registers a new address of type st for wallet wid
// (owner: the wallet's entity). cust is the customer entity of a deposit
// address, -1 otherwise.
func (s *sim) freshAddr(st scriptType, wid int32, role addrRole, cust int32) addr {
	var a addr
	switch st {
	case stP2SHMulti, stP2WSHMulti:
		var keys [3][33]byte
		for i := range keys {
			keys[i] = s.keys.next().pub
		}
		script := multisigScript(&keys)
		a = addr{st: st, ms: uint32(len(s.multisig)), pub: keys[0], prog: multisigProg(s.h, st, script)}
		s.multisig = append(s.multisig, script)
	case stOpReturn:
		a = addr{st: stOpReturn}
		for i := 0; i < 32; i += 8 {
			v := s.sig.Uint64()
			for j := 0; j < 8; j++ {
				a.prog[i+j] = byte(v >> (8 * j))
			}
		}
		return a
	default:
		a = newAddr(s.keys.next(), s.h, st)
	}
	ent := int32(-1)
	if wid >= 0 {
		ent = s.wallets[wid].ent
	}
	s.truth.addrs = append(s.truth.addrs, addrRow{a: a, ent: ent, cust: cust, role: role, height: s.height})
	s.naddr++
	return a
}

// fixedAddr creates a reused address for wallet wid and returns its index
// in the wallet's fixed list.
func (s *sim) fixedAddr(wid int32, st scriptType, role addrRole) int {
	a := s.freshAddr(st, wid, role, -1)
	w := &s.wallets[wid]
	w.fixed = append(w.fixed, a)
	return len(w.fixed) - 1
}

// eraMix returns the probabilities of P2PKH, P2SH-P2WPKH, P2WPKH and P2TR
// for a new retail address at time t.
func eraMix(t int64) [4]float64 {
	switch {
	case t < segwitDate:
		return [4]float64{1, 0, 0, 0}
	case t < date(2019, 1, 1):
		return [4]float64{0.70, 0.22, 0.08, 0}
	case t < date(2021, 1, 1):
		return [4]float64{0.50, 0.28, 0.22, 0}
	case t < taprootDate:
		return [4]float64{0.35, 0.25, 0.40, 0}
	case t < date(2023, 1, 1):
		return [4]float64{0.25, 0.20, 0.50, 0.05}
	}
	return [4]float64{0.20, 0.17, 0.50, 0.13}
}

var eraTypes = [4]scriptType{stP2PKH, stP2SHP2WPKH, stP2WPKH, stP2TR}

// walletType returns the type of the next fresh address of wallet wid,
// re-drawing a retail wallet's type once a year with probability 1/2 (users
// upgrade their wallets over time).
func (s *sim) walletType(wid int32) scriptType {
	w := &s.wallets[wid]
	switch w.soft {
	case swWasabi, swSamourai:
		if s.now >= segwitDate {
			return stP2WPKH
		}
	case swJoinMarket:
		if s.now >= jmNativeDate {
			return stP2WPKH
		}
		if s.now >= segwitDate {
			return stP2SHP2WPKH
		}
	}
	if w.kind != ekRetail && w.kind != ekMerchant {
		return w.st
	}
	y := int16(yearIndex(s.now))
	if w.year != y {
		if w.year < 0 || s.r.chance(0.5) {
			mix := eraMix(s.now)
			w.st = eraTypes[s.r.pickWeighted(mix[:])]
		}
		w.year = y
	}
	return w.st
}

// recvOut returns an output paying v to wallet wid's receive address: its
// reused address, or a fresh one of the wallet's current type.
func (s *sim) recvOut(wid int32, v int64) outSpec {
	w := &s.wallets[wid]
	if w.reuse && len(w.fixed) > 0 {
		return outSpec{a: w.fixed[0], v: v, w: wid}
	}
	return outSpec{gen: s.walletType(wid), role: w.role, v: v, w: wid}
}

// depositOut returns an output paying v into the home-exchange deposit
// address of wallet wid (created on first use).
func (s *sim) depositOut(wid int32, v int64) outSpec {
	w := &s.wallets[wid]
	if w.home < 0 {
		w.home = int16(s.pickExchange())
	}
	ex := &s.w.exch[w.home]
	if w.dep.st == stNone {
		w.dep = s.freshAddr(s.exchDepositType(), ex.dep, roleDeposit, w.ent)
	}
	return outSpec{a: w.dep, v: v, w: ex.dep}
}

// orderPolicy is where a wallet puts its outputs.
type orderPolicy uint8

const (
	ordRandom     orderPolicy = iota // Bitcoin Core: change at a random position
	ordBIP69                         // BIP69 lexicographic order (Electrum, Samourai)
	ordChangeLast                    // simple wallets and most services
	ordChangeFirst
)

// habits returns the order policy, version, nLockTime and nSequence of a
// wallet's software at the current time.
func (s *sim) habits(soft software) (orderPolicy, int32, uint32, uint32) {
	tip := uint32(s.height - 1)
	switch soft {
	case swCore:
		seq := uint32(0xfffffffe)
		if s.now >= date(2022, 12, 1) {
			seq = 0xfffffffd
		}
		return ordRandom, 2, tip, seq
	case swElectrum:
		return ordBIP69, 2, tip, 0xfffffffd
	case swSamourai:
		return ordBIP69, 2, tip, 0xfffffffd
	case swWasabi:
		return ordRandom, 1, 0, 0xffffffff
	case swJoinMarket:
		return ordRandom, 2, tip, 0xfffffffe
	case swMobile:
		v := int32(1)
		if s.now >= date(2019, 1, 1) {
			v = 2
		}
		return ordChangeLast, v, 0, 0xffffffff
	}
	return ordChangeLast, 1, 0, 0xffffffff
}

// spendOpts tune spend.
type spendOpts struct {
	maxIn      int
	fr         float64 // fee rate, sat/vB
	change     *addr   // change address (nil: fresh, of the first input's type)
	sendMax    bool    // no change: the last output gets everything left
	order      orderPolicy
	useHab     bool // take order, version, lock and sequence from the wallet's software
	minIn      int  // select at least this many inputs (consolidations)
	smallFirst bool
}

// spend funds the outputs already in t from wallet wid, adds change and
// emits t. It returns false, leaving the wallet untouched, when the wallet
// cannot pay.
func (s *sim) spend(wid int32, t *txb, o spendOpts) ([32]byte, bool) {
	w := &s.wallets[wid]
	if o.maxIn == 0 {
		o.maxIn = 10
	}
	if o.fr == 0 {
		o.fr = s.r.feeRate(s.now)
	}
	need := t.outSum()
	if o.sendMax {
		need -= t.outs[len(t.outs)-1].v
	}
	baseW := t.weight()
	chType := stNone
	if o.change != nil {
		chType = o.change.st
	}
	feeFor := func(nInW int, withChange bool, ct scriptType) int64 {
		wgt := baseW + nInW
		if withChange {
			wgt += outWeight(ct)
		}
		return int64(math.Ceil(o.fr*float64(wgt)/4)) + 1
	}
	sel := s.sel[:0]
	var sum int64
	inW := 0
	// Pass 1: the smallest single coin that pays everything (Core's
	// knapsack often ends there), unless a consolidation is asked for.
	if !o.sendMax && o.minIn <= 1 {
		best := -1
		for i := range w.utxos {
			u := &w.utxos[i]
			if !s.spendable(u) {
				continue
			}
			ct := chType
			if ct == stNone {
				ct = u.st
			}
			if u.value >= need+feeFor(inWeight(u.st), true, ct)+dustLimit(ct) && (best < 0 || u.value < w.utxos[best].value) {
				best = i
			}
		}
		if best >= 0 {
			sel = append(sel, best)
			sum = w.utxos[best].value
			inW = inWeight(w.utxos[best].st)
		}
	}
	// Pass 2: largest first (smallest first for consolidations).
	if len(sel) == 0 {
		cand := s.cand[:0]
		for i := range w.utxos {
			if s.spendable(&w.utxos[i]) {
				cand = append(cand, i)
			}
		}
		if o.smallFirst {
			slices.SortFunc(cand, func(a, b int) int { return cmpInt64(w.utxos[a].value, w.utxos[b].value) })
		} else {
			slices.SortFunc(cand, func(a, b int) int { return cmpInt64(w.utxos[b].value, w.utxos[a].value) })
		}
		s.cand = cand
		for _, pick := range cand {
			if len(sel) == o.maxIn {
				break
			}
			sel = append(sel, pick)
			sum += w.utxos[pick].value
			inW += inWeight(w.utxos[pick].st)
			if o.sendMax || len(sel) < o.minIn {
				continue
			}
			ct := chType
			if ct == stNone {
				ct = w.utxos[sel[0]].st
			}
			if sum >= need+feeFor(inW, false, ct) {
				break
			}
		}
	}
	s.sel = sel
	if len(sel) == 0 {
		return [32]byte{}, false
	}
	ct := chType
	if ct == stNone {
		ct = w.utxos[sel[0]].st
		if ct == stP2SHMulti || ct == stP2WSHMulti {
			ct = s.walletType(wid)
		}
	}
	if o.sendMax {
		fee := feeFor(inW, false, ct)
		last := &t.outs[len(t.outs)-1]
		last.v = sum - need - fee
		dl := dustLimit(last.a.st)
		if last.gen != stNone {
			dl = dustLimit(last.gen)
		}
		if last.v < dl {
			return [32]byte{}, false
		}
	} else {
		feeNoChange := feeFor(inW, false, ct)
		if sum < need+feeNoChange {
			return [32]byte{}, false
		}
		change := sum - need - feeFor(inW, true, ct)
		if change >= dustLimit(ct)*4 {
			co := outSpec{v: change, w: wid, change: true, role: roleChange}
			if o.change != nil {
				co.a = *o.change
			} else if w.reuse && len(w.fixed) > 0 {
				co.a = w.fixed[0]
			} else {
				co.gen = ct
			}
			t.outs = append(t.outs, co)
		}
	}
	s.debit(wid, sel, t, 0)
	t.spender = w.ent
	order := o.order
	if o.useHab {
		order, t.version, t.lock, t.seq = s.habits(w.soft)
	}
	s.order(t, order)
	return s.emit(t), true
}

// materialize derives the fresh addresses of t's outputs.
func (s *sim) materialize(t *txb) {
	for i := range t.outs {
		o := &t.outs[i]
		if o.gen != stNone {
			o.a = s.freshAddr(o.gen, o.w, o.role, -1)
			o.gen = stNone
		}
	}
}

// order arranges t's inputs and outputs by policy p.
func (s *sim) order(t *txb, p orderPolicy) {
	switch p {
	case ordRandom:
		s.r.Shuffle(len(t.outs), func(i, j int) { t.outs[i], t.outs[j] = t.outs[j], t.outs[i] })
	case ordBIP69:
		s.materialize(t)
		slices.SortFunc(t.ins, func(a, b inSpec) int {
			for i := 31; i >= 0; i-- { // txids compare in their displayed (reversed) order
				if a.u.txid[i] != b.u.txid[i] {
					return int(a.u.txid[i]) - int(b.u.txid[i])
				}
			}
			return int(a.u.vout) - int(b.u.vout)
		})
		var sa, sb [64]byte
		slices.SortStableFunc(t.outs, func(a, b outSpec) int {
			if a.v != b.v {
				if a.v < b.v {
					return -1
				}
				return 1
			}
			return bytes.Compare(appendOutScript(sa[:0], &a.a), appendOutScript(sb[:0], &b.a))
		})
	case ordChangeFirst:
		if n := len(t.outs); n > 1 && t.outs[n-1].change {
			c := t.outs[n-1]
			copy(t.outs[1:], t.outs[:n-1])
			t.outs[0] = c
		}
	}
}
