package btc

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// HashSize is the size of a Bitcoin hash in bytes.
const HashSize = 32

// Hash is a double-SHA256 (txid, block hash, Merkle root) in the byte order
// it has on the wire. Its String form is reversed, as block explorers and
// Bitcoin Core print it.
type Hash [HashSize]byte

// ErrHashLength and ErrHashHex classify why ParseHash failed.
var (
	ErrHashLength = errors.New("hash must be 64 hex characters")
	ErrHashHex    = errors.New("hash is not hexadecimal")
)

// String returns the reversed hex form of h.
func (h Hash) String() string {
	var buf [HashSize * 2]byte
	const digits = "0123456789abcdef"
	for i := 0; i < HashSize; i++ {
		b := h[HashSize-1-i]
		buf[2*i] = digits[b>>4]
		buf[2*i+1] = digits[b&0x0f]
	}
	return string(buf[:])
}

// IsZero reports whether h is all zeros (the null prev-hash of a genesis
// block or the prevout of a coinbase input).
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash parses the reversed hex form printed by String.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != HashSize*2 {
		return h, fmt.Errorf("%w: got %d characters", ErrHashLength, len(s))
	}
	var raw [HashSize]byte
	if _, err := hex.Decode(raw[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: %v", ErrHashHex, err)
	}
	for i := 0; i < HashSize; i++ {
		h[i] = raw[HashSize-1-i]
	}
	return h, nil
}

// MustParseHash is ParseHash for constants; it panics on a malformed string.
func MustParseHash(s string) Hash {
	h, err := ParseHash(s)
	if err != nil {
		panic(fmt.Sprintf("btc: MustParseHash(%q): %v", s, err))
	}
	return h
}
