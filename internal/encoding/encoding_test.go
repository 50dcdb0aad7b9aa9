package encoding

import (
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var e Encbuf
	e.PutByte(7)
	e.PutBE32(0xdeadbeef)
	e.PutBE64(1 << 40)
	e.PutUvarint(300)
	e.PutVarint(-5)
	e.PutUvarintBytes([]byte("abc"))
	d := Decbuf{B: e.Get()}
	if d.Byte() != 7 || d.BE32() != 0xdeadbeef || d.BE64() != 1<<40 || d.Uvarint() != 300 || d.Varint() != -5 || string(d.UvarintBytes()) != "abc" {
		t.Fatalf("round trip mismatch")
	}
	if d.Err() != nil || d.Len() != 0 {
		t.Fatalf("err %v, %d left", d.Err(), d.Len())
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		read func(*Decbuf)
		want error
	}{
		{"short be32", []byte{1, 2}, func(d *Decbuf) { d.BE32() }, ErrInvalidSize},
		{"empty uvarint", nil, func(d *Decbuf) { d.Uvarint() }, ErrInvalidSize},
		{"non-canonical uvarint", []byte{0x80, 0x00}, func(d *Decbuf) { d.Uvarint() }, ErrNonCanonical},
		{"overflow uvarint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(d *Decbuf) { d.Uvarint() }, ErrNonCanonical},
		{"length past end", []byte{5, 1}, func(d *Decbuf) { d.UvarintBytes() }, ErrInvalidSize},
		{"sticky", []byte{}, func(d *Decbuf) { d.Byte(); d.BE64(); d.Uvarint() }, ErrInvalidSize},
	}
	for _, c := range cases {
		d := Decbuf{B: c.in}
		c.read(&d)
		if !errors.Is(d.Err(), c.want) {
			t.Errorf("%s: err %v, want %v", c.name, d.Err(), c.want)
		}
	}
}
