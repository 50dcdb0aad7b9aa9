package sim

import (
	"crypto/sha256"
	"fmt"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/address/v2/bech32"
	"github.com/btcsuite/btcd/chaincfg/v2"
)

// scriptType is the kind of output a simulated wallet receives to.
type scriptType uint8

const (
	stNone       scriptType = iota
	stP2PKH                 // pay to pubkey hash (legacy)
	stP2SHP2WPKH            // P2WPKH nested in P2SH (BIP141/BIP49)
	stP2WPKH                // native segwit v0 (BIP84)
	stP2TR                  // taproot key path (BIP86, no script tree)
	stP2SHMulti             // 2-of-3 bare multisig redeem script in P2SH
	stP2WSHMulti            // 2-of-3 multisig witness script in P2WSH
	stOpReturn              // OP_RETURN data carrier (no address)
)

var scriptTypeNames = [...]string{"none", "p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr", "p2sh-multisig", "p2wsh-multisig", "op_return"}

func (t scriptType) String() string {
	if int(t) < len(scriptTypeNames) {
		return scriptTypeNames[t]
	}
	return fmt.Sprintf("scriptType(%d)", t)
}

// segwit reports whether spending an output of type t uses the witness.
func (t scriptType) segwit() bool {
	return t == stP2SHP2WPKH || t == stP2WPKH || t == stP2TR || t == stP2WSHMulti
}

// addr is a simulated address: its type, the key material needed to spend it
// and the program its output script commits to.
type addr struct {
	st   scriptType
	ms   uint32   // multisig: index into sim.multisig
	pub  [33]byte // compressed public key (P2TR: 02 || x-only output key)
	prog [32]byte // 20-byte hash (P2PKH, P2SH, P2WPKH) or 32-byte program
}

// outScriptLen is the length of the output script of t.
func outScriptLen(t scriptType) int {
	switch t {
	case stP2PKH:
		return 25
	case stP2SHP2WPKH, stP2SHMulti:
		return 23
	case stP2WPKH:
		return 22
	case stP2TR, stP2WSHMulti:
		return 34
	case stOpReturn:
		return 2 + 32
	}
	return 0
}

// appendOutScript appends a's output script.
func appendOutScript(dst []byte, a *addr) []byte {
	switch a.st {
	case stP2PKH:
		dst = append(dst, 0x76, 0xa9, 0x14)
		dst = append(dst, a.prog[:20]...)
		return append(dst, 0x88, 0xac)
	case stP2SHP2WPKH, stP2SHMulti:
		dst = append(dst, 0xa9, 0x14)
		dst = append(dst, a.prog[:20]...)
		return append(dst, 0x87)
	case stP2WPKH:
		dst = append(dst, 0x00, 0x14)
		return append(dst, a.prog[:20]...)
	case stP2WSHMulti:
		dst = append(dst, 0x00, 0x20)
		return append(dst, a.prog[:32]...)
	case stP2TR:
		dst = append(dst, 0x51, 0x20)
		return append(dst, a.prog[:32]...)
	case stOpReturn:
		dst = append(dst, 0x6a, 0x20)
		return append(dst, a.prog[:32]...)
	}
	panic(fmt.Sprintf("sim: no output script for %v", a.st))
}

// Virtual sizes in weight units, with 72-byte DER signatures (+ sighash).
const (
	wTxOverhead     = 4*(4+1+1+4) + 2 // version, counts, locktime; +2 segwit marker
	wInP2PKH        = 4 * (32 + 4 + 1 + 107 + 4)
	wInP2SHP2WPKH   = 4*(32+4+1+23+4) + 1 + 1 + 73 + 1 + 33
	wInP2WPKH       = 4*(32+4+1+4) + 1 + 1 + 73 + 1 + 33
	wInP2TR         = 4*(32+4+1+4) + 1 + 1 + 64
	wInP2SHMulti    = 4 * (32 + 4 + 3 + 254 + 4)
	wInP2WSHMulti   = 4*(32+4+1+4) + 1 + 1 + 2*74 + 1 + 105
	multisigScriptN = 105
)

func inWeight(t scriptType) int {
	switch t {
	case stP2PKH:
		return wInP2PKH
	case stP2SHP2WPKH:
		return wInP2SHP2WPKH
	case stP2WPKH:
		return wInP2WPKH
	case stP2TR:
		return wInP2TR
	case stP2SHMulti:
		return wInP2SHMulti
	case stP2WSHMulti:
		return wInP2WSHMulti
	}
	return wInP2PKH
}

func outWeight(t scriptType) int { return 4 * (8 + 1 + outScriptLen(t)) }

// dustLimit is the value below which an output of type t is not worth
// creating (Bitcoin Core's dust rule at 3 sat/vB, rounded).
func dustLimit(t scriptType) int64 {
	switch t {
	case stP2PKH:
		return 546
	case stP2SHP2WPKH, stP2SHMulti:
		return 540
	case stP2TR, stP2WSHMulti:
		return 330
	}
	return 294
}

// newAddr derives a fresh address of type t from key k. Multisig types are
// made by sim.freshAddr.
func newAddr(k *keyRec, h *hasher, t scriptType) addr {
	a := addr{st: t, pub: k.pub}
	switch t {
	case stP2PKH, stP2WPKH:
		copy(a.prog[:], k.h160[:])
	case stP2SHP2WPKH:
		var redeem [22]byte
		redeem[0], redeem[1] = 0x00, 0x14
		copy(redeem[2:], k.h160[:])
		sh := h.hash160(redeem[:])
		copy(a.prog[:], sh[:])
	case stP2TR:
		// BIP86-style output key without the taptweak: the output key is
		// the x-only internal key (see SIMULATOR.md, "Keys").
		a.pub[0] = 0x02
		copy(a.prog[:], a.pub[1:])
	default:
		panic(fmt.Sprintf("sim: newAddr(%v)", t))
	}
	return a
}

// multisigScript builds OP_2 <k1> <k2> <k3> OP_3 OP_CHECKMULTISIG.
func multisigScript(keys *[3][33]byte) []byte {
	s := make([]byte, 0, multisigScriptN)
	s = append(s, 0x52)
	for i := range keys {
		s = append(s, 33)
		s = append(s, keys[i][:]...)
	}
	return append(s, 0x53, 0xae)
}

// multisigProg returns the program of a multisig script for type t.
func multisigProg(h *hasher, t scriptType, script []byte) (p [32]byte) {
	if t == stP2SHMulti {
		h160 := h.hash160(script)
		copy(p[:], h160[:])
		return p
	}
	return sha256.Sum256(script)
}

// encodeAddress renders a as an address string for params with btcd's
// codecs. Segwit addresses go straight through btcd's bech32 package:
// address/v2's EncodeAddress decodes every string it makes again to check
// it, which doubles the cost (a test compares both paths).
func encodeAddress(a *addr, params *chaincfg.Params) (string, error) {
	var (
		ad  address.Address
		err error
	)
	switch a.st {
	case stP2PKH:
		ad, err = address.NewAddressPubKeyHash(a.prog[:20], params)
	case stP2SHP2WPKH, stP2SHMulti:
		ad, err = address.NewAddressScriptHashFromHash(a.prog[:20], params)
	case stP2WPKH:
		return encodeSegwit(params.Bech32HRPSegwit, 0, a.prog[:20])
	case stP2WSHMulti:
		return encodeSegwit(params.Bech32HRPSegwit, 0, a.prog[:32])
	case stP2TR:
		return encodeSegwit(params.Bech32HRPSegwit, 1, a.prog[:32])
	default:
		return "", fmt.Errorf("encode address: type %v has no address", a.st)
	}
	if err != nil {
		return "", fmt.Errorf("encode %v address: %w", a.st, err)
	}
	return ad.EncodeAddress(), nil
}

func encodeSegwit(hrp string, version byte, prog []byte) (string, error) {
	conv, err := bech32.ConvertBits(prog, 8, 5, true)
	if err != nil {
		return "", fmt.Errorf("encode segwit address: %w", err)
	}
	data := append([]byte{version}, conv...)
	var s string
	if version == 0 {
		s, err = bech32.Encode(hrp, data)
	} else {
		s, err = bech32.EncodeM(hrp, data)
	}
	if err != nil {
		return "", fmt.Errorf("encode segwit address: %w", err)
	}
	return s, nil
}
