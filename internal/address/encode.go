package address

import (
	"fmt"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Encode returns the address string of k on net: base58check for P2PKH and
// P2SH, bech32 for witness v0, bech32m for v1+. ok is false for keys with no
// address string (Multisig, NonStandard, no key) and for a nil net.
func Encode(k Key, net *btc.Network) (s string, ok bool) {
	if net == nil {
		return "", false
	}
	var buf [96]byte
	var out []byte
	n := int(k.n)
	switch k.Kind() {
	case P2PKH, P2SH:
		if n != 21 {
			return "", false
		}
		version := net.PubKeyHashPrefix
		if k.Kind() == P2SH {
			version = net.ScriptHashPrefix
		}
		out = base58CheckEncode(buf[:0], version, k.b[1:21])
	case P2WPKH:
		if n != 21 {
			return "", false
		}
		out = segwitEncode(buf[:0], net.HRP, 0, k.b[1:n], bech32Const)
	case P2WSH:
		if n != 33 {
			return "", false
		}
		out = segwitEncode(buf[:0], net.HRP, 0, k.b[1:n], bech32Const)
	case P2TR:
		if n != 33 {
			return "", false
		}
		out = segwitEncode(buf[:0], net.HRP, 1, k.b[1:n], bech32mConst)
	case P2A:
		if n != 3 {
			return "", false
		}
		out = segwitEncode(buf[:0], net.HRP, 1, k.b[1:n], bech32mConst)
	case WitnessUnknown:
		if n < 4 || k.b[1] < 1 || k.b[1] > 16 {
			return "", false
		}
		out = segwitEncode(buf[:0], net.HRP, k.b[1], k.b[2:n], bech32mConst)
	default:
		return "", false
	}
	return string(out), true
}

// Decode parses an address string for net. Errors wrap one of the sentinels
// below and say what is wrong, e.g. "bad checksum", "address is for testnet3,
// not mainnet", "bad length: 19-byte hash".
//
// A string whose part before its last '1' is a known human-readable part
// (any case) is read as bech32/bech32m; so is a string that is not base58
// but has the shape of bech32 (to report its unknown human-readable part);
// anything else is read as base58check.
func Decode(s string, net *btc.Network) (Key, error) {
	if net == nil {
		return Key{}, fmt.Errorf("decode %s: %w: no network given", quote(s), ErrWrongNetwork)
	}
	if s == "" {
		return Key{}, fmt.Errorf("decode %s: %w: empty string", quote(s), ErrFormat)
	}
	sep := strings.LastIndexByte(s, '1')
	if sep >= 1 && knownHRP(s[:sep]) {
		return decodeSegwit(s, sep, net)
	}
	if sep >= 1 && !isBase58(s) && looksBech32(s, sep) {
		return decodeSegwit(s, sep, net)
	}
	return decodeBase58(s, net)
}

// looksBech32 reports whether s, with an unknown human-readable part, is
// still shaped like bech32: one case throughout and at least six
// bech32 characters after the separator.
func looksBech32(s string, sep int) bool {
	hasLower, hasUpper := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		hasLower = hasLower || ('a' <= c && c <= 'z')
		hasUpper = hasUpper || ('A' <= c && c <= 'Z')
		if i > sep && bech32Index[lower(c)] == 0xff {
			return false
		}
	}
	return !(hasLower && hasUpper) && len(s)-sep-1 >= 6
}

func isBase58(s string) bool {
	for i := 0; i < len(s); i++ {
		if base58Index[s[i]] == 0xff {
			return false
		}
	}
	return true
}

// decodeErr formats a Decode error: decode "<input>": <sentinel>: <detail>.
func decodeErr(s string, sentinel error, format string, args ...any) error {
	return fmt.Errorf("decode %s: %w: %s", quote(s), sentinel, fmt.Sprintf(format, args...))
}

// knownHRP reports whether hrp (any case) is some network's HRP.
func knownHRP(hrp string) bool {
	for _, n := range btc.Networks {
		if strings.EqualFold(n.HRP, hrp) {
			return true
		}
	}
	return false
}

// hrpNetworks names the networks whose HRP is hrp (any case), joined by "/".
func hrpNetworks(hrp string) string {
	var names []string
	for _, n := range btc.Networks {
		if strings.EqualFold(n.HRP, hrp) {
			names = append(names, n.Name)
		}
	}
	return strings.Join(names, "/")
}

// prefixNetworks names the networks with a base58 version byte v, joined by
// "/".
func prefixNetworks(v byte) string {
	var names []string
	for _, n := range btc.Networks {
		if n.PubKeyHashPrefix == v || n.ScriptHashPrefix == v {
			names = append(names, n.Name)
		}
	}
	return strings.Join(names, "/")
}

func decodeBase58(s string, net *btc.Network) (Key, error) {
	if len(s) > base58MaxIn {
		return Key{}, decodeErr(s, ErrFormat, "%d characters, too long for an address", len(s))
	}
	var raw [base58MaxIn]byte
	n, bad := base58Decode(&raw, s)
	if bad >= 0 {
		return Key{}, decodeErr(s, ErrFormat, "invalid base58 character %q at position %d", s[bad], bad)
	}
	if n < 5 {
		return Key{}, decodeErr(s, ErrLength, "%d bytes, too short for base58check", n)
	}
	sum := doubleSHA256(raw[:n-4])
	if sum[0] != raw[n-4] || sum[1] != raw[n-3] || sum[2] != raw[n-2] || sum[3] != raw[n-1] {
		return Key{}, decodeErr(s, ErrChecksum, "base58check")
	}
	version, hash := raw[0], raw[1:n-4]
	if len(hash) != 20 {
		return Key{}, decodeErr(s, ErrLength, "%d-byte hash", len(hash))
	}
	switch version {
	case net.PubKeyHashPrefix:
		return makeKey(P2PKH, hash), nil
	case net.ScriptHashPrefix:
		return makeKey(P2SH, hash), nil
	}
	if others := prefixNetworks(version); others != "" {
		return Key{}, decodeErr(s, ErrWrongNetwork, "address is for %s, not %s", others, net.Name)
	}
	return Key{}, decodeErr(s, ErrFormat, "unknown version byte 0x%02x", version)
}

func decodeSegwit(s string, sep int, net *btc.Network) (Key, error) {
	if len(s) > bech32MaxLen {
		return Key{}, decodeErr(s, ErrFormat, "%d characters, longer than %d", len(s), bech32MaxLen)
	}
	hasLower, hasUpper := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 33 || c > 126:
			return Key{}, decodeErr(s, ErrFormat, "invalid character %q at position %d", c, i)
		case 'a' <= c && c <= 'z':
			hasLower = true
		case 'A' <= c && c <= 'Z':
			hasUpper = true
		}
	}
	if hasLower && hasUpper {
		return Key{}, decodeErr(s, ErrFormat, "mixed case")
	}
	hrp, rest := s[:sep], s[sep+1:]
	if len(rest) < 6 {
		return Key{}, decodeErr(s, ErrFormat, "%d characters after the separator, too short for a checksum", len(rest))
	}
	var data [bech32MaxLen]byte
	chk := hrpPolymod(hrp)
	for i := 0; i < len(rest); i++ {
		v := bech32Index[lower(rest[i])]
		if v == 0xff {
			return Key{}, decodeErr(s, ErrFormat, "invalid character %q at position %d", rest[i], sep+1+i)
		}
		data[i] = v
		chk = polymodStep(chk, v)
	}
	if chk != bech32Const && chk != bech32mConst {
		return Key{}, decodeErr(s, ErrChecksum, "bech32")
	}
	if !strings.EqualFold(hrp, net.HRP) {
		if others := hrpNetworks(hrp); others != "" {
			return Key{}, decodeErr(s, ErrWrongNetwork, "address is for %s, not %s", others, net.Name)
		}
		return Key{}, decodeErr(s, ErrFormat, "unknown human-readable part %s", quote(hrp))
	}
	words := data[:len(rest)-6]
	if len(words) == 0 {
		return Key{}, decodeErr(s, ErrFormat, "no witness version")
	}
	version := words[0]
	if version > 16 {
		return Key{}, decodeErr(s, ErrFormat, "invalid witness version %d", version)
	}
	if version == 0 && chk != bech32Const {
		return Key{}, decodeErr(s, ErrFormat, "witness v0 address must use bech32, not bech32m")
	}
	if version != 0 && chk != bech32mConst {
		return Key{}, decodeErr(s, ErrFormat, "witness v%d address must use bech32m, not bech32", version)
	}
	// Regroup 5-bit groups into bytes; BIP173 allows at most 4 bits of
	// zero padding.
	var prog [bech32MaxLen]byte
	np := 0
	acc, nbits := uint32(0), uint(0)
	for _, w := range words[1:] {
		acc = acc<<5 | uint32(w)
		nbits += 5
		if nbits >= 8 {
			nbits -= 8
			prog[np] = byte(acc >> nbits)
			np++
		}
	}
	if nbits >= 5 {
		return Key{}, decodeErr(s, ErrFormat, "%d bits of padding, more than 4", nbits)
	}
	if acc&(1<<nbits-1) != 0 {
		return Key{}, decodeErr(s, ErrFormat, "non-zero padding")
	}
	p := prog[:np]
	if np < 2 || np > 40 {
		return Key{}, decodeErr(s, ErrLength, "%d-byte witness program, want 2 to 40", np)
	}
	switch {
	case version == 0 && np == 20:
		return makeKey(P2WPKH, p), nil
	case version == 0 && np == 32:
		return makeKey(P2WSH, p), nil
	case version == 0:
		return Key{}, decodeErr(s, ErrFormat, "witness v0 program of %d bytes, want 20 or 32", np)
	case version == 1 && np == 32:
		return makeKey(P2TR, p), nil
	case version == 1 && isAnchorProgram(p):
		return makeKey(P2A, p), nil
	}
	var k Key
	k.b[0] = byte(WitnessUnknown)
	k.b[1] = version
	k.n = uint8(2 + copy(k.b[2:], p))
	return k, nil
}
