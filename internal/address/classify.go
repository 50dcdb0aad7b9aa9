package address

// Opcodes this package needs.
const (
	op0             = 0x00
	opPushData1     = 0x4c
	opPushData2     = 0x4d
	opPushData4     = 0x4e
	op1             = 0x51
	op16            = 0x60
	opReturn        = 0x6a
	opDup           = 0x76
	opEqual         = 0x87
	opEqualVerify   = 0x88
	opHash160       = 0xa9
	opCheckSig      = 0xac
	opCheckMultisig = 0xae
)

// anchorProgram is the witness v1 program of a pay-to-anchor output.
var anchorProgram = [2]byte{0x4e, 0x73}

func isAnchorProgram(p []byte) bool {
	return len(p) == 2 && p[0] == anchorProgram[0] && p[1] == anchorProgram[1]
}

// Classify returns the class of an output script and its Key. It allocates
// nothing and never fails: anything unrecognised is NonStandard.
//
// The templates are Bitcoin Core's Solver (script/solver.cpp) with one
// difference: every script whose first byte is OP_RETURN is OpReturn, where
// Core also wants push-only data after it.
func Classify(s []byte) (Type, Key) {
	n := len(s)
	switch n {
	case 25: // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
		if s[0] == opDup && s[1] == opHash160 && s[2] == 20 && s[23] == opEqualVerify && s[24] == opCheckSig {
			return P2PKH, makeKey(P2PKH, s[3:23])
		}
	case 23: // OP_HASH160 <20> OP_EQUAL
		if s[0] == opHash160 && s[1] == 20 && s[22] == opEqual {
			return P2SH, makeKey(P2SH, s[2:22])
		}
	case 22: // OP_0 <20>
		if s[0] == op0 && s[1] == 20 {
			return P2WPKH, makeKey(P2WPKH, s[2:])
		}
	case 34: // OP_0 <32>, OP_1 <32>
		if s[1] == 32 {
			switch s[0] {
			case op0:
				return P2WSH, makeKey(P2WSH, s[2:])
			case op1:
				return P2TR, makeKey(P2TR, s[2:])
			}
		}
	case 35: // <33-byte pubkey> OP_CHECKSIG
		if s[0] == 33 && s[34] == opCheckSig && (s[1] == 0x02 || s[1] == 0x03) {
			return P2PK, hashKey(P2PKH, s[1:34])
		}
	case 67: // <65-byte pubkey> OP_CHECKSIG
		if s[0] == 65 && s[66] == opCheckSig && (s[1] == 0x04 || s[1] == 0x06 || s[1] == 0x07) {
			return P2PK, hashKey(P2PKH, s[1:66])
		}
	}
	if n > 0 && s[0] == opReturn {
		return OpReturn, Key{}
	}
	// Witness program (Core's CScript::IsWitnessProgram): OP_0..OP_16 then
	// one direct push of 2..40 bytes that ends the script. v0 20/32 and v1 32
	// matched above; other v0 lengths are NonStandard.
	if n >= 4 && n <= 42 && s[0] >= op1 && s[0] <= op16 && int(s[1])+2 == n {
		if s[0] == op1 && n == 4 && isAnchorProgram(s[2:]) {
			return P2A, makeKey(P2A, s[2:])
		}
		var k Key
		k.b[0] = byte(WitnessUnknown)
		k.b[1] = s[0] - op1 + 1
		k.n = uint8(2 + copy(k.b[2:], s[2:]))
		return WitnessUnknown, k
	}
	if isMultisig(s) {
		return Multisig, hashKey(Multisig, s)
	}
	return NonStandard, hashKey(NonStandard, s)
}

// isMultisig reports whether s is OP_m <pubkey>... OP_n OP_CHECKMULTISIG with
// 1 <= m <= n <= 16, n pubkeys each of a valid size for its first byte
// (33 bytes for 02/03, 65 for 04/06/07), as Core's MatchMultisig.
func isMultisig(s []byte) bool {
	n := len(s)
	if n < 3+34 || s[n-1] != opCheckMultisig || s[0] < op1 || s[0] > op16 {
		return false
	}
	m := int(s[0] - op1 + 1)
	keys := 0
	i := 1
	for {
		data, next, ok := nextPush(s, i)
		if !ok || !validPubKeySize(data) {
			break
		}
		keys++
		i = next
	}
	// s[i] must be OP_n with m <= n == keys, and be the next-to-last byte.
	if i != n-2 || s[i] < op1 || s[i] > op16 {
		return false
	}
	nk := int(s[i] - op1 + 1)
	return nk >= m && nk == keys
}

// validPubKeySize is Core's CPubKey::ValidSize: the length the first byte
// promises.
func validPubKeySize(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	switch p[0] {
	case 0x02, 0x03:
		return len(p) == 33
	case 0x04, 0x06, 0x07:
		return len(p) == 65
	}
	return false
}

// nextPush parses the data push at s[i:]: OP_0, a direct push of 1..75
// bytes, or OP_PUSHDATA1/2/4. ok is false at the end of s, for any other
// opcode and for a push that runs past the end of s.
func nextPush(s []byte, i int) (data []byte, next int, ok bool) {
	if i >= len(s) {
		return nil, i, false
	}
	op := s[i]
	i++
	var size int
	switch {
	case op < opPushData1:
		size = int(op)
	case op == opPushData1:
		if len(s)-i < 1 {
			return nil, i, false
		}
		size = int(s[i])
		i++
	case op == opPushData2:
		if len(s)-i < 2 {
			return nil, i, false
		}
		size = int(s[i]) | int(s[i+1])<<8
		i += 2
	case op == opPushData4:
		if len(s)-i < 4 {
			return nil, i, false
		}
		size64 := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24
		i += 4
		if size64 > uint64(len(s)-i) {
			return nil, i, false
		}
		size = int(size64)
	default:
		return nil, i, false
	}
	if size > len(s)-i {
		return nil, i, false
	}
	return s[i : i+size], i + size, true
}
