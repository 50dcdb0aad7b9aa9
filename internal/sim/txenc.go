package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// utxo flags.
const (
	fCoinbase uint8 = 1 << iota // coinbase output: spendable after 100 blocks
	fPremix                     // Whirlpool premix output waiting for a mix
	fPostmix                    // Whirlpool postmix output (may remix)
	fTheft                      // taint carries stolen sats
	fRansom                     // taint carries ransom sats
)

// utxo is an unspent output held by a wallet. It holds everything needed to
// spend it; it has no pointers so large pools cost the GC nothing.
type utxo struct {
	txid   [32]byte
	pub    [33]byte
	st     scriptType
	flags  uint8
	pool   uint8 // Whirlpool pool index for fPremix/fPostmix
	vout   uint32
	height int32
	ms     uint32
	value  int64
	taint  int64 // tainted sats (case in flags); only in perpetrator wallets
}

func (u *utxo) addr(h *hasher, s *sim) addr {
	a := addr{st: u.st, pub: u.pub, ms: u.ms}
	switch u.st {
	case stP2PKH, stP2WPKH:
		p := h.hash160(u.pub[:])
		copy(a.prog[:], p[:])
	case stP2SHP2WPKH:
		p := h.hash160(u.pub[:])
		var redeem [22]byte
		redeem[1] = 0x14
		copy(redeem[2:], p[:])
		sh := h.hash160(redeem[:])
		copy(a.prog[:], sh[:])
	case stP2TR:
		copy(a.prog[:], u.pub[1:])
	case stP2SHMulti, stP2WSHMulti:
		a.prog = multisigProg(h, u.st, s.multisig[u.ms])
	}
	return a
}

// fund says that amount sats of an output come from participant src.
type fund struct {
	src    int16
	amount int64
}

// inSpec is an input: the output it spends and the participant spending it.
type inSpec struct {
	u   utxo
	src int16
}

// outSpec is an output to create.
type outSpec struct {
	a      addr       // the address, unless gen is set
	gen    scriptType // derive a fresh address of this type at emit time
	role   addrRole   // role recorded for a fresh address
	v      int64
	w      int32  // wallet receiving the output; -1 for none (OP_RETURN)
	src    int16  // participant funding it (ignored when funds is set)
	funds  []fund // several funders (CoinJoin coordinator fees, maker fees)
	flags  uint8  // utxo flags (fPremix, fPostmix)
	pool   uint8
	change bool
	origin uint8 // fTheft/fRansom: this output is where taint starts
}

// txb is a transaction under construction.
type txb struct {
	ins     []inSpec
	outs    []outSpec
	version int32
	lock    uint32
	seq     uint32
	kind    txKind
	spender int32 // entity spending (-1: several)
	nsrc    int   // number of participants (>= 1)
}

func (t *txb) reset(kind txKind) {
	t.ins = t.ins[:0]
	for i := range t.outs {
		t.outs[i].funds = nil
	}
	t.outs = t.outs[:0]
	t.version, t.lock, t.seq = 2, 0, 0xffffffff
	t.kind = kind
	t.spender = -1
	t.nsrc = 1
}

func (t *txb) inSum() (v int64) {
	for i := range t.ins {
		v += t.ins[i].u.value
	}
	return v
}

func (t *txb) outSum() (v int64) {
	for i := range t.outs {
		v += t.outs[i].v
	}
	return v
}

// weight estimates the transaction weight.
func (t *txb) weight() int {
	w := wTxOverhead
	for i := range t.ins {
		w += inWeight(t.ins[i].u.st)
	}
	for i := range t.outs {
		st := t.outs[i].a.st
		if t.outs[i].gen != stNone {
			st = t.outs[i].gen
		}
		w += outWeight(st)
	}
	return w
}

func appendVarInt(b []byte, n uint64) []byte {
	switch {
	case n < 0xfd:
		return append(b, byte(n))
	case n <= 0xffff:
		return append(b, 0xfd, byte(n), byte(n>>8))
	case n <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(n))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xff), n)
}

// appendSig appends a random ECDSA signature of DER shape with a low S
// value and SIGHASH_ALL: 71 or 72 bytes, pushed with its length byte.
func (s *sim) appendSig(b []byte) []byte {
	var rs [64]byte
	for i := 0; i < 64; i += 8 {
		binary.LittleEndian.PutUint64(rs[i:], s.sig.Uint64())
	}
	r, sv := rs[:32], rs[32:]
	if r[0] == 0 {
		r[0] = 1
	}
	sv[0] &= 0x7f
	if sv[0] == 0 {
		sv[0] = 1
	}
	rl := 32
	if r[0] >= 0x80 {
		rl = 33
	}
	der := 4 + rl + 32
	b = append(b, byte(2+der+1), 0x30, byte(der), 0x02, byte(rl))
	if rl == 33 {
		b = append(b, 0)
	}
	b = append(b, r...)
	b = append(b, 0x02, 32)
	b = append(b, sv...)
	return append(b, 0x01)
}

// appendSchnorr appends a pushed random 64-byte BIP340 signature
// (SIGHASH_DEFAULT, so no sighash byte).
func (s *sim) appendSchnorr(b []byte) []byte {
	b = append(b, 64)
	for i := 0; i < 8; i++ {
		b = binary.LittleEndian.AppendUint64(b, s.sig.Uint64())
	}
	return b
}

// appendTx serializes t (whose fresh addresses are already derived) to dst
// and returns the txid.
func (s *sim) appendTx(dst []byte, t *txb) ([]byte, [32]byte, int) {
	start := len(dst)
	segwit := false
	for i := range t.ins {
		if t.ins[i].u.st.segwit() {
			segwit = true
			break
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(t.version))
	if segwit {
		dst = append(dst, 0x00, 0x01)
	}
	dst = appendVarInt(dst, uint64(len(t.ins)))
	for i := range t.ins {
		u := &t.ins[i].u
		dst = append(dst, u.txid[:]...)
		dst = binary.LittleEndian.AppendUint32(dst, u.vout)
		switch u.st {
		case stP2PKH:
			lenAt := len(dst)
			dst = append(dst, 0)
			dst = s.appendSig(dst)
			dst = append(dst, 33)
			dst = append(dst, u.pub[:]...)
			dst[lenAt] = byte(len(dst) - lenAt - 1)
		case stP2SHP2WPKH:
			h := s.h.hash160(u.pub[:])
			dst = append(dst, 23, 22, 0x00, 0x14)
			dst = append(dst, h[:]...)
		case stP2SHMulti:
			ss := append(s.ssBuf[:0], 0x00)
			ss = s.appendSig(ss)
			ss = s.appendSig(ss)
			ms := s.multisig[u.ms]
			ss = append(ss, 0x4c, byte(len(ms)))
			ss = append(ss, ms...)
			s.ssBuf = ss
			dst = appendVarInt(dst, uint64(len(ss)))
			dst = append(dst, ss...)
		default: // native segwit: empty scriptSig
			dst = append(dst, 0)
		}
		seq := t.seq
		dst = binary.LittleEndian.AppendUint32(dst, seq)
	}
	dst = appendVarInt(dst, uint64(len(t.outs)))
	for i := range t.outs {
		o := &t.outs[i]
		dst = binary.LittleEndian.AppendUint64(dst, uint64(o.v))
		dst = append(dst, byte(outScriptLen(o.a.st)))
		dst = appendOutScript(dst, &o.a)
	}
	witStart := len(dst)
	if segwit {
		for i := range t.ins {
			u := &t.ins[i].u
			switch u.st {
			case stP2SHP2WPKH, stP2WPKH:
				dst = append(dst, 2)
				dst = s.appendSig(dst)
				dst = append(dst, 33)
				dst = append(dst, u.pub[:]...)
			case stP2TR:
				dst = append(dst, 1)
				dst = s.appendSchnorr(dst)
			case stP2WSHMulti:
				dst = append(dst, 4, 0)
				dst = s.appendSig(dst)
				dst = s.appendSig(dst)
				ms := s.multisig[u.ms]
				dst = append(dst, byte(len(ms)))
				dst = append(dst, ms...)
			default:
				dst = append(dst, 0)
			}
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, t.lock)
	var txid [32]byte
	witLen := 0
	if segwit {
		txid = s.strippedTxid(dst[start:], witStart-start)
		witLen = len(dst) - 4 - witStart
	} else {
		txid = sha256d(dst[start:])
	}
	return dst, txid, witLen
}

// strippedTxid hashes a segwit serialization without its marker, flag and
// witnesses: version || ins || outs || locktime.
func (s *sim) strippedTxid(tx []byte, witStart int) [32]byte {
	s.sha.Reset()
	s.sha.Write(tx[:4])
	s.sha.Write(tx[6:witStart])
	s.sha.Write(tx[len(tx)-4:])
	var first [32]byte
	s.sha.Sum(first[:0])
	return sha256.Sum256(first[:])
}

func sha256d(b []byte) [32]byte {
	h := sha256.Sum256(b)
	return sha256.Sum256(h[:])
}

// emit derives the fresh addresses of t, appends it to the current block,
// moves its outputs into their wallets and records it in the answer key.
// The inputs must already be removed from their wallets.
func (s *sim) emit(t *txb) [32]byte {
	in, out := t.inSum(), t.outSum()
	if len(t.ins) == 0 || len(t.outs) == 0 || out >= in {
		panic(fmt.Sprintf("sim: bad %v tx at height %d: %d ins (%d sats), %d outs (%d sats)",
			t.kind, s.height, len(t.ins), in, len(t.outs), out))
	}
	for i := range t.outs {
		o := &t.outs[i]
		if o.gen != stNone {
			o.a = s.freshAddr(o.gen, o.w, o.role, -1)
			o.gen = stNone
		}
		if o.v <= 0 && o.a.st != stOpReturn {
			panic(fmt.Sprintf("sim: %v tx at height %d: output %d has value %d", t.kind, s.height, i, o.v))
		}
	}
	b := &s.blk
	start := len(b.body)
	var txid [32]byte
	var witLen int
	b.body, txid, witLen = s.appendTx(b.body, t)
	b.offs = append(b.offs, int32(len(b.body)))
	b.txids = append(b.txids, txid)
	b.fees = append(b.fees, in-out)
	b.segwit = append(b.segwit, witLen > 0)
	b.totalFees += in - out
	size := len(b.body) - start
	stripped := size
	if witLen > 0 {
		stripped = size - 2 - witLen
	}
	b.weight += 3*stripped + size
	b.strip = append(b.strip, int32(stripped))

	tainted := false
	for i := range t.ins {
		if t.ins[i].u.flags&(fTheft|fRansom) != 0 {
			tainted = true
		}
	}
	var taints []int64
	var caseFlag uint8
	if tainted {
		taints, caseFlag = s.propagateTaint(t, txid, in-out)
	}
	change := int32(-1)
	for i := range t.outs {
		o := &t.outs[i]
		if o.change && change < 0 {
			change = int32(i)
		}
		if o.w < 0 {
			continue
		}
		u := utxo{txid: txid, pub: o.a.pub, st: o.a.st, ms: o.a.ms, vout: uint32(i),
			height: s.height, value: o.v, flags: o.flags, pool: o.pool}
		if o.origin != 0 {
			s.originTaint(t, o, &u, txid, i)
		} else if taints != nil && taints[i] > 0 && s.isPerp(o.w, caseFlag) {
			u.taint = taints[i]
			u.flags |= caseFlag
		}
		s.credit(o.w, u)
	}
	s.truth.txs = append(s.truth.txs, txRow{txid: txid, height: s.height, index: int32(len(b.txids)),
		kind: t.kind, spender: t.spender, change: change, nin: int32(len(t.ins)), nout: int32(len(t.outs)), fee: in - out})
	s.counts[t.kind]++
	s.ntx++
	return txid
}

func varIntLen(n int) int {
	switch {
	case n < 0xfd:
		return 1
	case n <= 0xffff:
		return 3
	}
	return 5
}
