package address

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
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
	WitnessUnknown Type = 9  // witness v1 with a non-32-byte program, v2..v16
	P2A            Type = 10 // pay-to-anchor: OP_1 <0x4e73>
)

// numTypes is one more than the largest Type.
const numTypes = 11

var typeNames = [numTypes]string{
	NonStandard:    "nonstandard",
	P2PK:           "p2pk",
	P2PKH:          "p2pkh",
	P2SH:           "p2sh",
	P2WPKH:         "p2wpkh",
	P2WSH:          "p2wsh",
	P2TR:           "p2tr",
	Multisig:       "multisig",
	OpReturn:       "op_return",
	WitnessUnknown: "witness_unknown",
	P2A:            "p2a",
}

// String returns p2pk, p2pkh, p2sh, p2wpkh, p2wsh, p2tr, multisig, op_return,
// nonstandard, witness_unknown or p2a.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ParseType is the inverse of String.
func ParseType(s string) (Type, error) {
	for i, name := range typeNames {
		if s == name {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("unknown script type %s", quote(s))
}

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

// String returns the key as kind:hex, for logs and test failures.
func (k Key) String() string {
	if k.n == 0 {
		return "none"
	}
	return fmt.Sprintf("%s:%x", k.Kind(), k.b[1:k.n])
}

// makeKey builds a Key of kind t whose payload is p. len(p) must be at
// most MaxKeyLen-1.
func makeKey(t Type, p []byte) Key {
	var k Key
	k.b[0] = byte(t)
	k.n = uint8(1 + copy(k.b[1:], p))
	return k
}

// hashKey builds a Key of kind t whose payload is HASH160(data).
func hashKey(t Type, data []byte) Key {
	var k Key
	k.b[0] = byte(t)
	hash160(k.b[1:21], data)
	k.n = 21
	return k
}

// KeyFromBytes rebuilds a Key from Bytes (as stored in the index). It accepts
// exactly the byte strings Classify, InputKey and Decode produce: empty input
// gives the zero Key (no address), anything else must have a known kind and
// that kind's length (see Key). Errors wrap ErrFormat or ErrLength.
func KeyFromBytes(b []byte) (Key, error) {
	if len(b) == 0 {
		return Key{}, nil
	}
	if len(b) > MaxKeyLen {
		return Key{}, fmt.Errorf("key of %d bytes: %w: longer than %d bytes", len(b), ErrLength, MaxKeyLen)
	}
	t := Type(b[0])
	want := 0
	switch t {
	case P2PKH, P2SH, P2WPKH, Multisig, NonStandard:
		want = 21
	case P2WSH, P2TR:
		want = 33
	case P2A:
		if len(b) != 3 {
			return Key{}, fmt.Errorf("%s key of %d bytes: %w: want 3", t, len(b), ErrLength)
		}
		if b[1] != anchorProgram[0] || b[2] != anchorProgram[1] {
			return Key{}, fmt.Errorf("p2a key: %w: program %x, want 4e73", ErrFormat, b[1:])
		}
		return makeKey(t, b[1:]), nil
	case WitnessUnknown:
		if len(b) < 4 {
			return Key{}, fmt.Errorf("%s key of %d bytes: %w: want 4 to %d", t, len(b), ErrLength, MaxKeyLen)
		}
		v, prog := b[1], b[2:]
		if v < 1 || v > 16 {
			return Key{}, fmt.Errorf("%s key: %w: witness version %d", t, ErrFormat, v)
		}
		if v == 1 && (len(prog) == 32 || isAnchorProgram(prog)) {
			return Key{}, fmt.Errorf("%s key: %w: witness v1 %d-byte program is not unknown", t, ErrFormat, len(prog))
		}
		return makeKey(t, b[1:]), nil
	default:
		return Key{}, fmt.Errorf("key: %w: kind %s has no key", ErrFormat, t)
	}
	if len(b) != want {
		return Key{}, fmt.Errorf("%s key of %d bytes: %w: want %d", t, len(b), ErrLength, want)
	}
	return makeKey(t, b[1:]), nil
}

// Sentinels for Decode errors.
var (
	ErrChecksum     = errors.New("bad checksum")
	ErrWrongNetwork = errors.New("wrong network")
	ErrLength       = errors.New("bad length")
	ErrFormat       = errors.New("malformed address")
)

// quote returns s quoted with strconv.Quote for an error message, cut on
// a rune boundary (and marked with "…" after the closing quote) so that the
// quoted form stays under about 80 bytes however s is escaped.
func quote(s string) string {
	const maxQuoted = 80
	t := s
	if len(t) > maxQuoted {
		t = cutRunes(t, maxQuoted)
	}
	q := strconv.Quote(t)
	for len(q) > maxQuoted {
		t = cutRunes(t, len(t)*3/4)
		q = strconv.Quote(t)
	}
	if len(t) < len(s) {
		q += "…"
	}
	return q
}

// cutRunes returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence.
func cutRunes(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
