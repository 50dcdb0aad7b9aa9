package blockfile

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// HeaderSize is the size of a serialized block header.
const HeaderSize = 80

// MaxBlockSize is the largest possible serialized block, witness included
// (the 4,000,000 weight-unit limit of BIP141 bounds the size too). Counts and
// lengths are checked against it before anything is allocated.
const MaxBlockSize = 4_000_000

// Header is a decoded block header.
type Header struct {
	Version    int32
	Prev       btc.Hash
	MerkleRoot btc.Hash
	Time       uint32
	Bits       uint32
	Nonce      uint32
}

// ParseHeader decodes an 80-byte header. Bytes after the first 80 are
// ignored.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, errAt(0, -1, truncated("header", HeaderSize, len(b)))
	}
	return decodeHeader(b), nil
}

// decodeHeader decodes b[:80]; b must hold at least 80 bytes.
func decodeHeader(b []byte) Header {
	b = b[:HeaderSize]
	return Header{
		Version:    int32(binary.LittleEndian.Uint32(b[0:4])),
		Prev:       btc.Hash(b[4:36]),
		MerkleRoot: btc.Hash(b[36:68]),
		Time:       binary.LittleEndian.Uint32(b[68:72]),
		Bits:       binary.LittleEndian.Uint32(b[72:76]),
		Nonce:      binary.LittleEndian.Uint32(b[76:80]),
	}
}

// HeaderHash returns the double-SHA256 of the first 80 bytes of b. b must
// hold at least 80 bytes; HeaderHash panics otherwise, like a slice
// expression out of range.
func HeaderHash(b []byte) btc.Hash { return doubleSHA256(b[:HeaderSize]) }

// doubleSHA256 returns SHA256(SHA256(b)).
func doubleSHA256(b []byte) btc.Hash {
	h := sha256.Sum256(b)
	return sha256.Sum256(h[:])
}
