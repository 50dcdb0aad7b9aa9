package address

import "crypto/sha256"

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58Index maps an ASCII byte to its base58 digit, or 0xff.
var base58Index = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base58Alphabet); i++ {
		t[base58Alphabet[i]] = byte(i)
	}
	return t
}()

// base58Payload is the version byte plus 20-byte hash of a P2PKH or P2SH
// address; with the 4-byte checksum it is 25 bytes, at most 34 characters.
const (
	base58Payload = 21
	base58MaxIn   = 128 // longest string Decode feeds to base58Decode
	base58MaxNum  = 96  // 58^128 < 256^96
)

// base58CheckEncode appends the base58check encoding of version || payload
// to dst. len(payload) must be at most 20.
func base58CheckEncode(dst []byte, version byte, payload []byte) []byte {
	var raw [base58Payload + 4]byte
	raw[0] = version
	n := 1 + copy(raw[1:base58Payload], payload)
	sum := doubleSHA256(raw[:n])
	n += copy(raw[n:], sum[:4])
	return base58Encode(dst, raw[:n])
}

// base58Encode appends the base58 encoding of in (at most 25 bytes) to dst.
func base58Encode(dst []byte, in []byte) []byte {
	zeros := 0
	for zeros < len(in) && in[zeros] == 0 {
		zeros++
	}
	// Digits in base 58, little-endian; 25 bytes need at most 35 digits.
	var digits [40]byte
	nd := 0
	for _, b := range in[zeros:] {
		carry := int(b)
		for j := 0; j < nd; j++ {
			carry += int(digits[j]) << 8
			digits[j] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits[nd] = byte(carry % 58)
			nd++
			carry /= 58
		}
	}
	for i := 0; i < zeros; i++ {
		dst = append(dst, '1')
	}
	for j := nd - 1; j >= 0; j-- {
		dst = append(dst, base58Alphabet[digits[j]])
	}
	return dst
}

// base58Decode decodes s (at most base58MaxIn characters) into out and
// returns the decoded length, or the index of the first byte that is not a
// base58 digit (bad is -1 when there is none). Each leading '1' is a zero
// byte, so the result is never longer than s.
func base58Decode(out *[base58MaxIn]byte, s string) (n int, bad int) {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// Bytes in base 256, little-endian.
	var num [base58MaxNum]byte
	nb := 0
	for i := zeros; i < len(s); i++ {
		d := base58Index[s[i]]
		if d == 0xff {
			return 0, i
		}
		carry := int(d)
		for j := 0; j < nb; j++ {
			carry += int(num[j]) * 58
			num[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			num[nb] = byte(carry)
			nb++
			carry >>= 8
		}
	}
	n = zeros + nb
	for i := 0; i < zeros; i++ {
		out[i] = 0
	}
	for j := 0; j < nb; j++ {
		out[zeros+j] = num[nb-1-j]
	}
	return n, -1
}

func doubleSHA256(b []byte) [32]byte {
	h := sha256.Sum256(b)
	return sha256.Sum256(h[:])
}
