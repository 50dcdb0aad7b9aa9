package address

import (
	"bytes"
	"testing"
)

// push returns the canonical push of data.
func push(data []byte) []byte {
	switch n := len(data); {
	case n == 0:
		return []byte{0}
	case n <= 75:
		return append([]byte{byte(n)}, data...)
	case n <= 255:
		return append([]byte{opPushData1, byte(n)}, data...)
	default:
		return append([]byte{opPushData2, byte(n), byte(n >> 8)}, data...)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestInputKey(t *testing.T) {
	sig := mustHex(t, "3044 0220"+h32+" 0220"+h32+" 01") // 71 bytes
	comp := mustHex(t, compPub)
	uncomp := mustHex(t, halPub)
	hybrid := mustHex(t, "06"+halPub[2:])
	wpkh := mustHex(t, "0014"+h20)
	wsh := mustHex(t, "0020"+h32)
	redeem := mustHex(t, "52 21"+compPub+" 21"+compPub2+" 41"+halPub+" 53 ae")
	notMultisig := mustHex(t, "51 21"+compPub+" 52 ae")
	schnorr := bytes.Repeat([]byte{0xab}, 64)
	control := append([]byte{0xc0}, bytes.Repeat([]byte{0x11}, 32)...)

	type want struct {
		kind Type
		data []byte // hashed into the key
	}
	cases := []struct {
		name      string
		scriptSig []byte
		witness   [][]byte
		want      *want
	}{
		{"p2pkh compressed", cat(push(sig), push(comp)), nil, &want{P2PKH, comp}},
		{"p2pkh uncompressed", cat(push(sig), push(uncomp)), nil, &want{P2PKH, uncomp}},
		{"p2pkh empty witness slice", cat(push(sig), push(comp)), [][]byte{}, &want{P2PKH, comp}},
		{"p2pkh pushdata1 pubkey", cat(push(sig), []byte{opPushData1, 33}, comp), nil, &want{P2PKH, comp}},
		{"p2pkh 9-byte sig", cat(push(sig[:9]), push(comp)), nil, &want{P2PKH, comp}},
		{"p2pkh 73-byte sig", cat(push(append(sig, 0, 0)), push(comp)), nil, &want{P2PKH, comp}},
		{"p2pkh 74-byte sig", cat(push(append(sig, 0, 0, 0)), push(comp)), nil, nil},
		{"p2pkh 8-byte sig", cat(push(sig[:8]), push(comp)), nil, nil},
		{"p2pkh sig not DER", cat(push(append([]byte{0x31}, sig[1:]...)), push(comp)), nil, nil},
		{"p2pkh hybrid pubkey", cat(push(sig), push(hybrid)), nil, nil},
		{"p2pkh 32-byte pubkey", cat(push(sig), push(comp[:32])), nil, nil},
		{"p2pkh with witness", cat(push(sig), push(comp)), [][]byte{sig}, nil},
		{"p2pkh three pushes", cat(push(sig), push(comp), push(comp)), nil, nil},
		{"p2pkh OP_1 first", cat([]byte{op1}, push(sig), push(comp)), nil, nil},
		{"p2pkh trailing op", cat(push(sig), push(comp), []byte{0x75}), nil, nil},
		{"p2pkh truncated", cat(push(sig), push(comp))[:100], nil, nil},
		{"p2pk spend", push(sig), nil, nil},
		{"p2wpkh", nil, [][]byte{sig, comp}, &want{P2WPKH, comp}},
		{"p2wpkh uncompressed", nil, [][]byte{sig, uncomp}, nil},
		{"p2wpkh sig not DER", nil, [][]byte{schnorr, comp}, nil},
		{"p2wpkh three items", nil, [][]byte{sig, comp, comp}, nil},
		{"p2wpkh empty items", nil, [][]byte{nil, nil}, nil},
		{"p2tr key path", nil, [][]byte{schnorr}, nil},
		{"p2tr script path", nil, [][]byte{schnorr, mustHex(t, "20"+h32+"ac"), control}, nil},
		{"p2tr 2-item script path", nil, [][]byte{{0x51}, control}, nil},
		{"p2sh-p2wpkh", push(wpkh), [][]byte{sig, comp}, &want{P2SH, wpkh}},
		{"p2sh-p2wsh", push(wsh), [][]byte{{}, sig, redeem}, &want{P2SH, wsh}},
		{"p2sh-p2wpkh no witness", push(wpkh), nil, &want{P2SH, wpkh}},
		{"p2sh v0 16-byte program", push(wpkh[:18]), nil, nil},
		{"p2sh v1 program", push(mustHex(t, "5120"+h32)), nil, nil},
		{"p2sh-p2wpkh pushdata1", cat([]byte{opPushData1, 22}, wpkh), nil, &want{P2SH, wpkh}},
		{"p2sh multisig", cat([]byte{op0}, push(sig), push(sig), push(redeem)), nil, &want{P2SH, redeem}},
		{"p2sh multisig one sig", cat([]byte{op0}, push(sig), push(redeem)), nil, &want{P2SH, redeem}},
		{"p2sh multisig with witness", cat([]byte{op0}, push(sig), push(redeem)), [][]byte{sig}, nil},
		{"p2sh multisig no OP_0", cat(push(sig), push(sig), push(redeem)), nil, nil},
		{"p2sh not multisig", cat([]byte{op0}, push(sig), push(notMultisig)), nil, nil},
		{"p2sh multisig non-push", cat([]byte{op0}, push(sig), []byte{0x75}, push(redeem)), nil, nil},
		{"bare multisig spend", cat([]byte{op0}, push(sig), push(sig)), nil, nil},
		{"empty", nil, nil, nil},
		{"OP_0 only", []byte{op0}, nil, nil},
		{"truncated pushdata4", []byte{opPushData4, 0xff, 0xff, 0xff, 0xff}, nil, nil},
		{"coinbase-like", mustHex(t, "03f8c308 2f4254432e434f4d2f"), nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, ok := InputKey(c.scriptSig, c.witness)
			if c.want == nil {
				if ok || k.Len() != 0 {
					t.Fatalf("InputKey(%x, %x) = %v, true; want nothing revealed", c.scriptSig, c.witness, k)
				}
				return
			}
			if !ok {
				t.Fatalf("InputKey(%x, %x) revealed nothing, want %v", c.scriptSig, c.witness, c.want.kind)
			}
			if w := keyOf(c.want.kind, refHash160(c.want.data)); !bytes.Equal(k.Bytes(), w) {
				t.Fatalf("InputKey = %x, want %x", k.Bytes(), w)
			}
		})
	}
}
