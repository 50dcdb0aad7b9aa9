package encoding

import (
	"encoding/binary"
	"errors"
)

// Sentinels for decoding failures.
var (
	// ErrInvalidSize means a read ran past the end of the buffer or a
	// length was out of range.
	ErrInvalidSize = errors.New("invalid size")
	// ErrNonCanonical means a varint was encoded in more bytes than needed
	// or overflowed 64 bits.
	ErrNonCanonical = errors.New("non-canonical varint")
)

// Encbuf appends encoded values to B.
type Encbuf struct{ B []byte }

// Reset empties the buffer, keeping its capacity.
func (e *Encbuf) Reset() { e.B = e.B[:0] }

// Len returns the number of bytes written.
func (e *Encbuf) Len() int { return len(e.B) }

// Get returns the encoded bytes.
func (e *Encbuf) Get() []byte { return e.B }

func (e *Encbuf) PutByte(c byte)      { e.B = append(e.B, c) }
func (e *Encbuf) PutBytes(b []byte)   { e.B = append(e.B, b...) }
func (e *Encbuf) PutBE32(x uint32)    { e.B = binary.BigEndian.AppendUint32(e.B, x) }
func (e *Encbuf) PutBE64(x uint64)    { e.B = binary.BigEndian.AppendUint64(e.B, x) }
func (e *Encbuf) PutUvarint(x uint64) { e.B = binary.AppendUvarint(e.B, x) }
func (e *Encbuf) PutVarint(x int64)   { e.B = binary.AppendVarint(e.B, x) }

// PutUvarintBytes writes a uvarint length followed by b.
func (e *Encbuf) PutUvarintBytes(b []byte) {
	e.PutUvarint(uint64(len(b)))
	e.PutBytes(b)
}

// Decbuf reads values from B, remembering the first error.
type Decbuf struct {
	B []byte
	E error
}

// Err returns the first error met, or nil.
func (d *Decbuf) Err() error { return d.E }

// Len returns the number of unread bytes.
func (d *Decbuf) Len() int { return len(d.B) }

func (d *Decbuf) Byte() byte {
	if d.E != nil {
		return 0
	}
	if len(d.B) < 1 {
		d.E = ErrInvalidSize
		return 0
	}
	c := d.B[0]
	d.B = d.B[1:]
	return c
}

// Bytes returns the next n bytes, aliasing the buffer.
func (d *Decbuf) Bytes(n int) []byte {
	if d.E != nil {
		return nil
	}
	if n < 0 || len(d.B) < n {
		d.E = ErrInvalidSize
		return nil
	}
	b := d.B[:n:n]
	d.B = d.B[n:]
	return b
}

func (d *Decbuf) BE32() uint32 {
	b := d.Bytes(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (d *Decbuf) BE64() uint64 {
	b := d.Bytes(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (d *Decbuf) Uvarint() uint64 {
	if d.E != nil {
		return 0
	}
	x, n := binary.Uvarint(d.B)
	if n <= 0 {
		if n == 0 {
			d.E = ErrInvalidSize
		} else {
			d.E = ErrNonCanonical
		}
		return 0
	}
	if n > 1 && d.B[n-1] == 0 {
		d.E = ErrNonCanonical
		return 0
	}
	d.B = d.B[n:]
	return x
}

func (d *Decbuf) Varint() int64 {
	u := d.Uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// UvarintBytes reads a uvarint length and that many bytes.
func (d *Decbuf) UvarintBytes() []byte {
	n := d.Uvarint()
	if d.E != nil {
		return nil
	}
	if n > uint64(len(d.B)) {
		d.E = ErrInvalidSize
		return nil
	}
	return d.Bytes(int(n))
}
