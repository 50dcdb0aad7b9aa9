package address

// InputKey derives the address an input spends from when its scriptSig or
// witness reveals it without the spent output: P2PKH (scriptSig <sig>
// <pubkey>), P2WPKH (empty scriptSig, witness <sig> <pubkey>), P2SH-P2WPKH
// and P2SH-P2WSH (scriptSig one push of the v0 witness program), and
// P2SH multisig (scriptSig OP_0 <sigs…> <multisig redeem script>).
// ok is false when the spend does not reveal it (P2PK, P2TR, …).
//
// The rules are deliberately narrow; a wrong address is worse than none:
//
//   - P2PKH: empty witness; scriptSig exactly two pushes, a DER signature
//     plus sighash byte (0x30…, 9..73 bytes) then a pubkey (33 bytes 02/03 or
//     65 bytes 04).
//   - P2WPKH: empty scriptSig; witness exactly two items, a DER signature
//     then a 33-byte compressed pubkey.
//   - P2SH-P2WPKH / P2SH-P2WSH: scriptSig exactly one push of 00 14 <20> or
//     00 20 <32>.
//   - P2SH multisig: empty witness; scriptSig OP_0 then only pushes, the last
//     of which is a Multisig script (see Classify).
//
// A scriptSig containing any opcode other than OP_0, OP_PUSHBYTES_1..75 and
// OP_PUSHDATA1/2/4 reveals nothing. InputKey does not allocate.
func InputKey(scriptSig []byte, witness [][]byte) (k Key, ok bool) {
	if len(scriptSig) == 0 {
		// P2WPKH.
		if len(witness) == 2 && isSig(witness[0]) && isCompressedPubKey(witness[1]) {
			return hashKey(P2WPKH, witness[1]), true
		}
		return Key{}, false
	}
	// Walk the pushes: count them, keep the first, second and last.
	var first, second, last []byte
	pushes := 0
	for i := 0; i < len(scriptSig); {
		data, next, ok := nextPush(scriptSig, i)
		if !ok {
			return Key{}, false
		}
		switch pushes {
		case 0:
			first = data
		case 1:
			second = data
		}
		last = data
		pushes++
		i = next
	}
	switch {
	case pushes == 1:
		// P2SH-wrapped witness program.
		if (len(first) == 22 && first[0] == op0 && first[1] == 20) ||
			(len(first) == 34 && first[0] == op0 && first[1] == 32) {
			return hashKey(P2SH, first), true
		}
	case pushes == 2 && len(witness) == 0 && isSig(first) && isPubKey(second):
		return hashKey(P2PKH, second), true
	}
	if pushes >= 2 && scriptSig[0] == op0 && len(witness) == 0 && isMultisig(last) {
		return hashKey(P2SH, last), true
	}
	return Key{}, false
}

// isSig reports whether p looks like a DER-encoded ECDSA signature followed
// by a sighash byte.
func isSig(p []byte) bool {
	return len(p) >= 9 && len(p) <= 73 && p[0] == 0x30
}

func isCompressedPubKey(p []byte) bool {
	return len(p) == 33 && (p[0] == 0x02 || p[0] == 0x03)
}

// isPubKey reports whether p is a compressed (02/03) or uncompressed (04)
// public key by size and prefix.
func isPubKey(p []byte) bool {
	return isCompressedPubKey(p) || (len(p) == 65 && p[0] == 0x04)
}
