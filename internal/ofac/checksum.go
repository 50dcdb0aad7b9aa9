package ofac

import (
	"crypto/sha256"
	"strings"
)

// intactForeign reports whether s, which is not a Bitcoin mainnet address,
// is still an intact address of some chain or network: a base58check string
// whose checksum verifies over a payload of 21 to 100 bytes (a version and a
// hash at least), or a bech32/bech32m string (BIP173/BIP350) whose checksum
// verifies, whatever the version byte or human-readable part. Such a string
// was copied whole; it was published under the wrong currency.
//
// internal/address verifies checksums only on the way to a mainnet Key and
// does not say whether a failure came before or after the checksum, so the
// two checks are repeated here, for the rejected strings only.
func intactForeign(s string) bool {
	return base58CheckOK(s) || bech32OK(s)
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58CheckOK reports whether s is base58 with a valid 4-byte
// double-SHA-256 checksum over a payload of 21..100 bytes.
func base58CheckOK(s string) bool {
	if len(s) < 26 || len(s) > 140 {
		return false
	}
	// Big-endian base-256 accumulator; at most len(s) bytes are needed.
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base58Alphabet, s[i])
		if d < 0 {
			return false
		}
		carry := d
		for j := len(out) - 1; j >= 0; j-- {
			carry += int(out[j]) * 58
			out[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			out = append([]byte{byte(carry)}, out...)
			carry >>= 8
		}
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	raw := append(make([]byte, zeros), out...)
	n := len(raw) - 4
	if n < 21 || n > 100 {
		return false
	}
	h := sha256.Sum256(raw[:n])
	h = sha256.Sum256(h[:])
	return h[0] == raw[n] && h[1] == raw[n+1] && h[2] == raw[n+2] && h[3] == raw[n+3]
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// bech32OK reports whether s is a bech32 or bech32m string (one case, a
// human-readable part, '1', at least one data character and six checksum
// characters) whose checksum verifies.
func bech32OK(s string) bool {
	if len(s) > 90 {
		return false
	}
	lower, upper := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			return false
		}
		lower = lower || ('a' <= c && c <= 'z')
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if lower && upper {
		return false
	}
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || len(s)-sep-1 < 7 {
		return false
	}
	hrp, data := s[:sep], s[sep+1:]
	chk := uint32(1)
	for i := 0; i < len(hrp); i++ {
		chk = polymod(chk, hrp[i]>>5)
	}
	chk = polymod(chk, 0)
	for i := 0; i < len(hrp); i++ {
		chk = polymod(chk, hrp[i]&31)
	}
	for i := 0; i < len(data); i++ {
		d := strings.IndexByte(bech32Charset, data[i])
		if d < 0 {
			return false
		}
		chk = polymod(chk, byte(d))
	}
	return chk == 1 || chk == 0x2bc830a3
}

func polymod(chk uint32, v byte) uint32 {
	b := chk >> 25
	chk = (chk&0x1ffffff)<<5 ^ uint32(v)
	for i, g := range [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3} {
		if (b>>i)&1 == 1 {
			chk ^= g
		}
	}
	return chk
}
