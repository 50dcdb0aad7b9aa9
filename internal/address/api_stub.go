package address

// THIS FILE IS THE CONTRACT the rest of sleuth codes against. The helper
// implementing this package replaces the panics with real code (and may move
// declarations into other files) but must keep every exported name and
// signature below.

import (
	"errors"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Type is the class of an output script.
type Type uint8

// Output script classes. The numeric values are stored on disk: never reorder.
const (
	NonStandard    Type = 0
	P2PK           Type = 1
	P2PKH          Type = 2
	P2SH           Type = 3
	P2WPKH         Type = 4
	P2WSH          Type = 5
	P2TR           Type = 6
	Multisig       Type = 7
	OpReturn       Type = 8
	WitnessUnknown Type = 9 // witness v1 with a non-32-byte program, v2..v16
	P2A            Type = 10 // pay-to-anchor: OP_1 <0x4e73>
)

// String returns p2pk, p2pkh, p2sh, p2wpkh, p2wsh, p2tr, multisig, op_return,
// nonstandard, witness_unknown or p2a.
func (t Type) String() string { panic("unimplemented") }

// ParseType is the inverse of String.
func ParseType(s string) (Type, error) { panic("unimplemented") }

// MaxKeyLen is the longest Key: kind byte, witness version byte, 40-byte program.
const MaxKeyLen = 42

// Key is the compact binary identity of an address, the bytes the index keys
// on: a kind byte (a Type) followed by the hash or witness program.
//
//	P2PKH, P2SH, P2WPKH: kind + 20-byte hash
//	P2WSH, P2TR:        kind + 32-byte program
//	WitnessUnknown:     kind + version byte (1..16) + 2..40-byte program
//	P2A:                kind + 2-byte program (0x4e 0x73)
//	Multisig, NonStandard: kind + HASH160 of the whole script (no address string)
//
// A P2PK output's Key is the P2PKH key of HASH160(pubkey), as block explorers
// show it. OP_RETURN outputs have no Key (the zero Key, Len()==0).
// A Key is a value type; Classify allocates nothing.
type Key struct {
	b [MaxKeyLen]byte
	n uint8
}

// Bytes returns the key's bytes (aliasing k).
func (k *Key) Bytes() []byte { return k.b[:k.n] }

// Len is the key's length; 0 means no address.
func (k Key) Len() int { return int(k.n) }

// Kind is the first byte of the key as a Type.
func (k Key) Kind() Type { return Type(k.b[0]) }

// KeyFromBytes rebuilds a Key from Bytes (as stored in the index).
func KeyFromBytes(b []byte) (Key, error) { panic("unimplemented") }

// Classify returns the class of an output script and its Key. It allocates
// nothing and never fails: anything unrecognised is NonStandard.
func Classify(script []byte) (Type, Key) { panic("unimplemented") }

// InputKey derives the address an input spends from when its scriptSig or
// witness reveals it without the spent output: P2PKH (scriptSig <sig>
// <pubkey>), P2WPKH (empty scriptSig, witness <sig> <pubkey>), P2SH-P2WPKH
// and P2SH-P2WSH (scriptSig one push of the v0 witness program), and
// P2SH multisig (scriptSig OP_0 <sigs…> <multisig redeem script>).
// ok is false when the spend does not reveal it (P2PK, P2TR, …).
func InputKey(scriptSig []byte, witness [][]byte) (k Key, ok bool) { panic("unimplemented") }

// Encode returns the address string of k on net: base58check for P2PKH and
// P2SH, bech32 for witness v0, bech32m for v1+. ok is false for keys with no
// address string (Multisig, NonStandard, no key).
func Encode(k Key, net *btc.Network) (s string, ok bool) { panic("unimplemented") }

// Decode parses an address string for net. Errors wrap one of the sentinels
// below and say what is wrong, e.g. "bad checksum", "address is for testnet3,
// not mainnet", "bad length: 19-byte hash".
func Decode(s string, net *btc.Network) (Key, error) { panic("unimplemented") }

// Sentinels for Decode errors.
var (
	ErrChecksum     = errors.New("bad checksum")
	ErrWrongNetwork = errors.New("wrong network")
	ErrLength       = errors.New("bad length")
	ErrFormat       = errors.New("malformed address")
)
