package address

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // deprecated, but the reference here
)

// refHash160 is RIPEMD160(SHA256(b)) from the standard and x/crypto
// packages, the reference hash160 is checked against.
func refHash160(b []byte) []byte {
	s := sha256.Sum256(b)
	h := ripemd160.New()
	h.Write(s[:])
	return h.Sum(nil)
}

// ripemd160Sum is RIPEMD-160 of an arbitrary message built on ripemdBlock,
// to check it against golang.org/x/crypto/ripemd160.
func ripemd160Sum(msg []byte) [20]byte {
	h := ripemdInit
	var block [64]byte
	n := len(msg)
	for len(msg) >= 64 {
		copy(block[:], msg[:64])
		ripemdBlock(&h, &block)
		msg = msg[64:]
	}
	block = [64]byte{}
	copy(block[:], msg)
	block[len(msg)] = 0x80
	if len(msg) >= 56 {
		ripemdBlock(&h, &block)
		block = [64]byte{}
	}
	binary.LittleEndian.PutUint64(block[56:], uint64(n)*8)
	ripemdBlock(&h, &block)
	var out [20]byte
	for i, v := range h {
		binary.LittleEndian.PutUint32(out[4*i:], v)
	}
	return out
}

func TestRIPEMD160(t *testing.T) {
	known := []struct{ in, want string }{
		{"", "9c1185a5c5e9fc54612808977ee8f548b2258d31"},
		{"a", "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe"},
		{"abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"},
		{"message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36"},
		{"abcdefghijklmnopqrstuvwxyz", "f71c27109c692c1b56bbdceb5b9d2865b3708dbc"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "12a053384a9c0c88e405a06c27dcf49ada62eb2b"},
		{strings.Repeat("1234567890", 8), "9b752e45573d4b39f4dbd3323cab82bf63326bfb"},
	}
	for _, c := range known {
		got := ripemd160Sum([]byte(c.in))
		if hex.EncodeToString(got[:]) != c.want {
			t.Errorf("ripemd160(%q) = %x, want %s", c.in, got, c.want)
		}
	}
	// Every length up to three blocks and random longer ones, against x/crypto.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		n := i
		if i >= 200 {
			n = rng.IntN(5000)
		}
		msg := make([]byte, n)
		for j := range msg {
			msg[j] = byte(rng.Uint32())
		}
		got := ripemd160Sum(msg)
		h := ripemd160.New()
		h.Write(msg)
		if want := h.Sum(nil); !bytes.Equal(got[:], want) {
			t.Fatalf("ripemd160 of %d random bytes (case %d) = %x, want %x", n, i, got, want)
		}
		var h160 [20]byte
		hash160(h160[:], msg)
		if want := refHash160(msg); !bytes.Equal(h160[:], want) {
			t.Fatalf("hash160 of %d random bytes (case %d) = %x, want %x", n, i, h160, want)
		}
	}
}

// TestXCryptoRIPEMD160Allocates records why hash.go has its own RIPEMD-160:
// x/crypto's New returns a heap-allocated digest behind hash.Hash.
func TestXCryptoRIPEMD160Allocates(t *testing.T) {
	var in [32]byte
	var out [20]byte
	n := testing.AllocsPerRun(100, func() {
		h := ripemd160.New()
		h.Write(in[:])
		h.Sum(out[:0])
	})
	t.Logf("x/crypto ripemd160 New+Write+Sum: %v allocations per call; hash160 here: %v",
		n, testing.AllocsPerRun(100, func() { hash160(out[:], in[:]) }))
}
