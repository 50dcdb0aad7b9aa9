package blockfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// XORKey is Bitcoin Core 28+'s block-file obfuscation key; byte i of a file
// is stored XORed with key[i%8]. The zero key means no obfuscation.
type XORKey [8]byte

// IsZero reports whether k is the zero key (no obfuscation).
func (k XORKey) IsZero() bool { return k == XORKey{} }

// Apply XORs b in place with the key, b being the bytes at absolute offset
// off of a file. Applying it twice restores b, so it both obfuscates and
// de-obfuscates.
func (k XORKey) Apply(b []byte, off int64) {
	if k.IsZero() {
		return
	}
	var rk [8]byte // the key rotated so that rk[0] applies to b[0]
	s := int(uint64(off) % 8)
	for i := range rk {
		rk[i] = k[(s+i)%8]
	}
	w := binary.LittleEndian.Uint64(rk[:])
	i := 0
	for ; len(b)-i >= 8; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^w)
	}
	for ; i < len(b); i++ {
		b[i] ^= rk[i%8]
	}
}

// XORFileName is the name of the key file in Bitcoin Core's blocks directory.
const XORFileName = "xor.dat"

// ReadXORKey reads dir/xor.dat. A missing file yields the zero key.
func ReadXORKey(dir string) (XORKey, error) {
	var k XORKey
	path := filepath.Join(dir, XORFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return k, &Error{File: path, Offset: -1, Height: -1, TxIndex: -1, Err: err}
	}
	if len(b) != len(k) {
		return k, &Error{File: path, Offset: -1, Height: -1, TxIndex: -1,
			Err: fmt.Errorf("%w: %d bytes, want %d", ErrBadXORKey, len(b), len(k))}
	}
	copy(k[:], b)
	return k, nil
}
