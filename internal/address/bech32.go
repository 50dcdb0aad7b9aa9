package address

// BIP173 (bech32) and BIP350 (bech32m) for segwit addresses.

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// bech32Index maps a lower-case ASCII byte to its 5-bit value, or 0xff.
var bech32Index = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(bech32Charset); i++ {
		t[bech32Charset[i]] = byte(i)
	}
	return t
}()

// Checksum constants: the polymod of a valid string.
const (
	bech32Const  uint32 = 1
	bech32mConst uint32 = 0x2bc830a3
)

// bech32MaxLen is BIP173's limit on a whole segwit address.
const bech32MaxLen = 90

var bech32Gen = [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}

func polymodStep(chk uint32, v byte) uint32 {
	top := chk >> 25
	chk = (chk&0x1ffffff)<<5 ^ uint32(v)
	for i, g := range bech32Gen {
		if (top>>i)&1 == 1 {
			chk ^= g
		}
	}
	return chk
}

// hrpPolymod is the checksum state after the expanded lower-case hrp.
func hrpPolymod(hrp string) uint32 {
	chk := uint32(1)
	for i := 0; i < len(hrp); i++ {
		chk = polymodStep(chk, lower(hrp[i])>>5)
	}
	chk = polymodStep(chk, 0)
	for i := 0; i < len(hrp); i++ {
		chk = polymodStep(chk, lower(hrp[i])&31)
	}
	return chk
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// segwitEncode appends the segwit address of version and program to dst,
// with checksum constant cst (bech32Const for v0, bech32mConst for v1+).
func segwitEncode(dst []byte, hrp string, version byte, program []byte, cst uint32) []byte {
	chk := hrpPolymod(hrp)
	dst = append(dst, hrp...)
	dst = append(dst, '1')
	put := func(v byte) {
		chk = polymodStep(chk, v)
		dst = append(dst, bech32Charset[v])
	}
	put(version)
	// Regroup 8-bit bytes into 5-bit groups, padding the last with zeros.
	acc, nbits := uint32(0), uint(0)
	for _, b := range program {
		acc = acc<<8 | uint32(b)
		nbits += 8
		for nbits >= 5 {
			nbits -= 5
			put(byte(acc>>nbits) & 31)
		}
	}
	if nbits > 0 {
		put(byte(acc<<(5-nbits)) & 31)
	}
	for i := 0; i < 6; i++ {
		chk = polymodStep(chk, 0)
	}
	chk ^= cst
	for i := 0; i < 6; i++ {
		dst = append(dst, bech32Charset[(chk>>(5*(5-i)))&31])
	}
	return dst
}
