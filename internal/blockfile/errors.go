package blockfile

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors; every decoding or framing error this package returns wraps
// one of them (see invariant F6).
var (
	ErrTruncated      = errors.New("truncated")
	ErrNonCanonical   = errors.New("non-canonical varint")
	ErrTooLarge       = errors.New("count or length exceeds consensus limit")
	ErrTrailingBytes  = errors.New("trailing bytes after block")
	ErrMerkleMismatch = errors.New("merkle root mismatch")
	ErrBadMagic       = errors.New("wrong magic")
	ErrBadLength      = errors.New("absurd record length")
	ErrNoTxs          = errors.New("block has no transactions")
	// ErrBadWitness reports a segwit flag other than 1, or a segwit marker
	// on a transaction without any witness data.
	ErrBadWitness = errors.New("bad witness encoding")
	// ErrBadXORKey reports an xor.dat that is not 8 bytes long.
	ErrBadXORKey = errors.New("bad xor key")
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

// Error formats e as "FILE: offset N: block H tx I: cause", leaving out the
// parts that are unknown (an empty File, a negative Offset, Height or
// TxIndex).
func (e *Error) Error() string {
	b := make([]byte, 0, 64)
	if e.File != "" {
		b = append(b, e.File...)
		b = append(b, ": "...)
	}
	if e.Offset >= 0 {
		b = append(b, "offset "...)
		b = strconv.AppendInt(b, e.Offset, 10)
		b = append(b, ": "...)
	}
	if e.Height >= 0 || e.TxIndex >= 0 {
		if e.Height >= 0 {
			b = append(b, "block "...)
			b = strconv.AppendInt(b, e.Height, 10)
			if e.TxIndex >= 0 {
				b = append(b, ' ')
			}
		}
		if e.TxIndex >= 0 {
			b = append(b, "tx "...)
			b = strconv.AppendInt(b, int64(e.TxIndex), 10)
		}
		b = append(b, ": "...)
	}
	if e.Err != nil {
		b = append(b, e.Err.Error()...)
	} else {
		b = append(b, "unknown error"...)
	}
	return string(b)
}

func (e *Error) Unwrap() error { return e.Err }

// Locate completes the location of err, typically an error from Parse (whose
// offsets are relative to the block start and which does not know the file
// or height): the result's File is file when err has none, its Offset is
// err's offset plus base, and its Height is height when err has none. An
// error that is not an *Error is wrapped in one at offset base. Locate
// returns nil for a nil err.
func Locate(err error, file string, base, height int64) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return &Error{File: file, Offset: base, Height: height, TxIndex: -1, Err: err}
	}
	c := *e
	if c.File == "" {
		c.File = file
	}
	if c.Offset < 0 {
		c.Offset = base
	} else {
		c.Offset += base
	}
	if c.Height < 0 {
		c.Height = height
	}
	return &c
}

// errAt returns an *Error at offset off (relative to the block or tx start)
// of transaction tx (-1 for none).
func errAt(off int, tx int, err error) *Error {
	return &Error{Offset: int64(off), Height: -1, TxIndex: tx, Err: err}
}

// truncated describes a field that needs more bytes than remain.
func truncated(what string, need uint64, have int) error {
	return fmt.Errorf("%w: %s needs %d bytes, %d left", ErrTruncated, what, need, have)
}

// tooLarge describes a count or length above its consensus ceiling.
func tooLarge(what string, n, max uint64) error {
	return fmt.Errorf("%w: %s %d > %d", ErrTooLarge, what, n, max)
}
