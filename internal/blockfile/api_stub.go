package blockfile

// THIS FILE IS THE CONTRACT the rest of sleuth codes against. The helper
// implementing this package replaces the panics with real code (and may move
// declarations into other files) but must keep every exported name and
// signature below.

import (
	"context"
	"errors"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// HeaderSize is the size of a serialized block header.
const HeaderSize = 80

// Header is a decoded block header.
type Header struct {
	Version    int32
	Prev       btc.Hash
	MerkleRoot btc.Hash
	Time       uint32
	Bits       uint32
	Nonce      uint32
}

// ParseHeader decodes an 80-byte header.
func ParseHeader(b []byte) (Header, error) { panic("unimplemented") }

// HeaderHash returns the double-SHA256 of the first 80 bytes of b.
func HeaderHash(b []byte) btc.Hash { panic("unimplemented") }

// Block is a decoded block. Slices alias the raw bytes given to Parse and the
// Block's own reusable storage: they are valid until the next Parse into the
// same Block.
type Block struct {
	Header       Header
	Hash         btc.Hash
	Txs          []Tx
	Size         int // serialized size with witness data
	StrippedSize int // serialized size without witness data
	Weight       int // StrippedSize*3 + Size
}

// Parse decodes raw (one whole block, no framing) into b, reusing b's storage,
// and computes the block hash and every txid. Trailing bytes are an error.
// It does not check the Merkle root: see CheckMerkle.
func (b *Block) Parse(raw []byte) error { panic("unimplemented") }

// CheckMerkle returns an error wrapping ErrMerkleMismatch when the header's
// Merkle root is not the root of the txids (including the CVE-2012-2459
// duplicate-last-pair malleation check).
func (b *Block) CheckMerkle() error { panic("unimplemented") }

// Tx is a decoded transaction.
type Tx struct {
	TxID       btc.Hash
	Version    int32
	LockTime   uint32
	Ins        []TxIn
	Outs       []TxOut
	Size       int // bytes with witness
	BaseSize   int // bytes without witness
	HasWitness bool
}

// Weight is BaseSize*3 + Size.
func (t *Tx) Weight() int { return t.BaseSize*3 + t.Size }

// VSize is the virtual size, Weight/4 rounded up.
func (t *Tx) VSize() int { return (t.Weight() + 3) / 4 }

// IsCoinbase reports whether t has a single input with a null prevout.
func (t *Tx) IsCoinbase() bool {
	return len(t.Ins) == 1 && t.Ins[0].PrevVout == 0xffffffff && t.Ins[0].PrevTxID.IsZero()
}

// TxIn is a transaction input.
type TxIn struct {
	PrevTxID  btc.Hash
	PrevVout  uint32
	ScriptSig []byte
	Sequence  uint32
	Witness   [][]byte
}

// TxOut is a transaction output.
type TxOut struct {
	Value  int64
	Script []byte
}

// ParseTx decodes one transaction from the start of raw into tx and returns
// the number of bytes it used. tx's slices alias raw and tx's storage.
func ParseTx(raw []byte, tx *Tx) (int, error) { panic("unimplemented") }

// Sentinel errors; every error this package returns wraps one of them.
var (
	ErrTruncated      = errors.New("truncated")
	ErrNonCanonical   = errors.New("non-canonical varint")
	ErrTooLarge       = errors.New("count or length exceeds consensus limit")
	ErrTrailingBytes  = errors.New("trailing bytes after block")
	ErrMerkleMismatch = errors.New("merkle root mismatch")
	ErrBadMagic       = errors.New("wrong magic")
	ErrBadLength      = errors.New("absurd record length")
	ErrNoTxs          = errors.New("block has no transactions")
)

// Error locates a failure: which file, which byte offset in it, and what.
// Height and TxIndex are -1 when unknown.
type Error struct {
	File    string // path of the blk file, or of a raw block file
	Offset  int64  // byte offset in File where the bad record or field starts
	Height  int64
	TxIndex int
	Err     error
}

func (e *Error) Error() string { panic("unimplemented") }
func (e *Error) Unwrap() error { return e.Err }

// Record is one framed block in a blk*.dat file.
type Record struct {
	File   string           // path of the file
	Offset int64            // offset of the block's first byte (after magic and length)
	Size   uint32           // length of the block in bytes
	Header [HeaderSize]byte // the block's header, de-obfuscated
}

// XORKey is Bitcoin Core 28+'s block-file obfuscation key; byte i of a file
// is stored XORed with key[i%8]. The zero key means no obfuscation.
type XORKey [8]byte

// ReadXORKey reads dir/xor.dat. A missing file yields the zero key.
func ReadXORKey(dir string) (XORKey, error) { panic("unimplemented") }

// ListFiles returns the blk?????.dat files of dir in numeric order.
func ListFiles(dir string) ([]string, error) { panic("unimplemented") }

// ScanOptions configure Scan.
type ScanOptions struct {
	Magic [4]byte
	XOR   XORKey
	// SkipBad makes Scan report a corrupt record to OnBad and resynchronise
	// at the next occurrence of Magic instead of returning the error.
	SkipBad bool
	OnBad   func(err *Error)
}

// Scan reads the records of the blk file at path starting at byte offset
// start and calls fn for each one with its header (reading only the 8-byte
// frame and the 80-byte header, then seeking past the body). It stops at end
// of file or at zero padding (a zero magic), and returns the offset just past
// the last complete record, from which a later Scan can resume.
func Scan(ctx context.Context, path string, start int64, opts ScanOptions, fn func(Record) error) (end int64, err error) {
	panic("unimplemented")
}

// Reader reads whole records by location. It keeps files open and is not safe
// for concurrent use.
type Reader struct{}

// NewReader returns a Reader that de-obfuscates with key.
func NewReader(key XORKey) *Reader { panic("unimplemented") }

// ReadBlock returns the size bytes at offset in path, de-obfuscated, in buf
// (grown if needed).
func (r *Reader) ReadBlock(path string, offset int64, size uint32, buf []byte) ([]byte, error) {
	panic("unimplemented")
}

// Close closes the files the Reader opened.
func (r *Reader) Close() error { panic("unimplemented") }
