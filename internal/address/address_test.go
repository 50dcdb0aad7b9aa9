package address

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// keyOf builds the expected Key bytes kind || payload.
func keyOf(t Type, payload []byte) []byte {
	return append([]byte{byte(t)}, payload...)
}

func TestTypeStringParse(t *testing.T) {
	want := map[Type]string{
		NonStandard: "nonstandard", P2PK: "p2pk", P2PKH: "p2pkh", P2SH: "p2sh",
		P2WPKH: "p2wpkh", P2WSH: "p2wsh", P2TR: "p2tr", Multisig: "multisig",
		OpReturn: "op_return", WitnessUnknown: "witness_unknown", P2A: "p2a",
	}
	for typ, name := range want {
		if got := typ.String(); got != name {
			t.Errorf("Type(%d).String() = %q, want %q", typ, got, name)
		}
		back, err := ParseType(name)
		if err != nil || back != typ {
			t.Errorf("ParseType(%q) = %v, %v; want %v", name, back, err, typ)
		}
	}
	if got := Type(200).String(); got != "type(200)" {
		t.Errorf("Type(200).String() = %q", got)
	}
	for _, bad := range []string{"", "P2PKH", "pubkeyhash", "p2pkh "} {
		if _, err := ParseType(bad); err == nil {
			t.Errorf("ParseType(%q) succeeded", bad)
		}
	}
}

// Public keys used below.
const (
	// Genesis coinbase output (block 0).
	genesisPub = "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f"
	// Block 170, tx f4184fc5…: 10 BTC to Hal Finney, 40 BTC back to Satoshi.
	halPub     = "04ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84c"
	satoshiPub = "0411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3"
	compPub    = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798" // generator G
	compPub2   = "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5" // 2G
	h20        = "751e76e8199196d454941c45d1b3a323f1433bd6"
	h32        = "1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"
)

func TestClassify(t *testing.T) {
	hashed := func(t Type, script string) func(tb testing.TB) []byte {
		return func(tb testing.TB) []byte { return keyOf(t, refHash160(mustHex(tb, script))) }
	}
	plain := func(t Type, payload string) func(tb testing.TB) []byte {
		return func(tb testing.TB) []byte { return keyOf(t, mustHex(tb, payload)) }
	}
	none := func(testing.TB) []byte { return nil }
	multisig2of3 := "52 21" + compPub + " 21" + compPub2 + " 41" + halPub + " 53 ae"
	cases := []struct {
		name   string
		script string
		typ    Type
		key    func(testing.TB) []byte
	}{
		{"p2pkh", "76a914" + h20 + "88ac", P2PKH, plain(P2PKH, h20)},
		{"p2sh", "a914" + h20 + "87", P2SH, plain(P2SH, h20)},
		{"p2wpkh", "0014" + h20, P2WPKH, plain(P2WPKH, h20)},
		{"p2wsh", "0020" + h32, P2WSH, plain(P2WSH, h32)},
		{"p2tr", "5120" + h32, P2TR, plain(P2TR, h32)},
		{"p2a", "51024e73", P2A, plain(P2A, "4e73")},
		{"p2pk uncompressed genesis", "41" + genesisPub + "ac", P2PK, func(tb testing.TB) []byte { return keyOf(P2PKH, refHash160(mustHex(tb, genesisPub))) }},
		{"p2pk compressed", "21" + compPub + "ac", P2PK, func(tb testing.TB) []byte { return keyOf(P2PKH, refHash160(mustHex(tb, compPub))) }},
		{"p2pk compressed 03", "21" + "03" + compPub[2:] + "ac", P2PK, func(tb testing.TB) []byte { return keyOf(P2PKH, refHash160(mustHex(tb, "03"+compPub[2:]))) }},
		{"p2pk hybrid 06", "41" + "06" + genesisPub[2:] + "ac", P2PK, func(tb testing.TB) []byte { return keyOf(P2PKH, refHash160(mustHex(tb, "06"+genesisPub[2:]))) }},
		{"p2pk hybrid 07", "41" + "07" + genesisPub[2:] + "ac", P2PK, func(tb testing.TB) []byte { return keyOf(P2PKH, refHash160(mustHex(tb, "07"+genesisPub[2:]))) }},
		{"p2pk 65 bytes prefix 05", "41" + "05" + genesisPub[2:] + "ac", NonStandard, hashed(NonStandard, "41"+"05"+genesisPub[2:]+"ac")},
		{"p2pk 33 bytes prefix 04", "21" + "04" + compPub[2:] + "ac", NonStandard, hashed(NonStandard, "21"+"04"+compPub[2:]+"ac")},
		{"p2pk pushdata1", "4c21" + compPub + "ac", NonStandard, hashed(NonStandard, "4c21"+compPub+"ac")},
		{"p2pk checksigverify", "21" + compPub + "ad", NonStandard, hashed(NonStandard, "21"+compPub+"ad")},
		{"v1 40-byte program", "5128" + h20 + h20, WitnessUnknown, plain(WitnessUnknown, "01"+h20+h20)},
		{"v1 31-byte program", "511f" + h32[:62], WitnessUnknown, plain(WitnessUnknown, "01"+h32[:62])},
		{"v1 2-byte non-anchor", "51024e74", WitnessUnknown, plain(WitnessUnknown, "014e74")},
		{"v2 16-byte BIP350", "5210751e76e8199196d454941c45d1b3a323", WitnessUnknown, plain(WitnessUnknown, "02751e76e8199196d454941c45d1b3a323")},
		{"v16 2-byte BIP350", "6002751e", WitnessUnknown, plain(WitnessUnknown, "10751e")},
		{"v0 16-byte program", "0010" + h32[:32], NonStandard, hashed(NonStandard, "0010"+h32[:32])},
		{"v0 40-byte program", "0028" + h20 + h20, NonStandard, hashed(NonStandard, "0028"+h20+h20)},
		{"v1 1-byte program", "510101", NonStandard, hashed(NonStandard, "510101")},
		{"v1 41-byte program", "5129" + h20 + h20 + "00", NonStandard, hashed(NonStandard, "5129"+h20+h20+"00")},
		{"v1 pushdata1 program", "514c20" + h32, NonStandard, hashed(NonStandard, "514c20"+h32)},
		{"OP_1NEGATE version", "4f20" + h32, NonStandard, hashed(NonStandard, "4f20"+h32)},
		{"p2tr trailing byte", "5120" + h32 + "00", NonStandard, hashed(NonStandard, "5120"+h32+"00")},
		{"p2a trailing byte", "51024e7300", NonStandard, hashed(NonStandard, "51024e7300")},
		{"p2pkh bad last op", "76a914" + h20 + "88ad", NonStandard, hashed(NonStandard, "76a914"+h20+"88ad")},
		{"p2sh 21-byte push", "a915" + h20 + "0087", NonStandard, hashed(NonStandard, "a915"+h20+"0087")},
		{"multisig 1-of-1", "51 21" + compPub + " 51 ae", Multisig, hashed(Multisig, "5121"+compPub+"51ae")},
		{"multisig 2-of-3 mixed sizes", multisig2of3, Multisig, hashed(Multisig, multisig2of3)},
		{"multisig hybrid key", "51 41" + "06" + genesisPub[2:] + " 51 ae", Multisig, hashed(Multisig, "5141"+"06"+genesisPub[2:]+"51ae")},
		{"multisig pushdata1 key", "51 4c21" + compPub + " 51 ae", Multisig, hashed(Multisig, "514c21"+compPub+"51ae")},
		{"multisig m > n", "52 21" + compPub + " 51 ae", NonStandard, hashed(NonStandard, "5221"+compPub+"51ae")},
		{"multisig m = 0", "00 21" + compPub + " 51 ae", NonStandard, hashed(NonStandard, "0021"+compPub+"51ae")},
		{"multisig n != keys", "51 21" + compPub + " 52 ae", NonStandard, hashed(NonStandard, "5121"+compPub+"52ae")},
		{"multisig bad key prefix", "51 21" + "05" + compPub[2:] + " 51 ae", NonStandard, hashed(NonStandard, "5121"+"05"+compPub[2:]+"51ae")},
		{"multisig 20-byte key", "51 14" + h20 + " 51 ae", NonStandard, hashed(NonStandard, "5114"+h20+"51ae")},
		{"multisig checkmultisigverify", "51 21" + compPub + " 51 af", NonStandard, hashed(NonStandard, "5121"+compPub+"51af")},
		{"multisig extra op", "51 21" + compPub + " 51 75 ae", NonStandard, hashed(NonStandard, "5121"+compPub+"5175ae")},
		{"multisig no keys", "51 51 ae", NonStandard, hashed(NonStandard, "5151ae")},
		{"multisig truncated key", "51 21" + compPub[:40] + " 51 ae", NonStandard, hashed(NonStandard, "5121"+compPub[:40]+"51ae")},
		{"op_return bare", "6a", OpReturn, none},
		{"op_return data", "6a04deadbeef", OpReturn, none},
		{"op_return non-push", "6a6a", OpReturn, none},
		{"op_return truncated push", "6a4c", OpReturn, none},
		{"op_return 81 bytes", "6a4c51" + strings.Repeat("ab", 81), OpReturn, none},
		{"empty", "", NonStandard, hashed(NonStandard, "")},
		{"single OP_TRUE", "51", NonStandard, hashed(NonStandard, "51")},
		{"truncated pushdata4", "4effffffff00", NonStandard, hashed(NonStandard, "4effffffff00")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := mustHex(t, c.script)
			typ, k := Classify(script)
			if typ != c.typ {
				t.Errorf("Classify(%x) type = %v, want %v", script, typ, c.typ)
			}
			if d := checkBtcdClass(t, script, typ); d != "" {
				t.Logf("differs from btcd by design: %s", d)
			}
			want := c.key(t)
			if !bytes.Equal(k.Bytes(), want) {
				t.Errorf("Classify(%x) key = %x, want %x", script, k.Bytes(), want)
			}
			back, err := KeyFromBytes(k.Bytes())
			if err != nil || back != k {
				t.Errorf("KeyFromBytes(%x) = %v, %v; want the key back", k.Bytes(), back, err)
			}
		})
	}
}

func TestKeyFromBytes(t *testing.T) {
	cases := []struct {
		name string
		in   string
		err  error
	}{
		{"empty is the zero key", "", nil},
		{"p2pkh", "02" + h20, nil},
		{"p2sh", "03" + h20, nil},
		{"p2wpkh", "04" + h20, nil},
		{"p2wsh", "05" + h32, nil},
		{"p2tr", "06" + h32, nil},
		{"multisig", "07" + h20, nil},
		{"nonstandard", "00" + h20, nil},
		{"p2a", "0a4e73", nil},
		{"witness unknown v2", "0902" + h20, nil},
		{"witness unknown v16 40 bytes", "0910" + h20 + h20, nil},
		{"witness unknown v1 31 bytes", "0901" + h32[:62], nil},
		{"p2pkh short", "02" + h20[:38], ErrLength},
		{"p2pkh long", "02" + h20 + "00", ErrLength},
		{"p2wsh 20 bytes", "05" + h20, ErrLength},
		{"p2a other program", "0a4e74", ErrFormat},
		{"p2a long", "0a4e7300", ErrLength},
		{"p2pk kind", "01" + h20, ErrFormat},
		{"op_return kind", "08" + h20, ErrFormat},
		{"unknown kind", "0b" + h20, ErrFormat},
		{"kind only", "02", ErrLength},
		{"witness unknown v0", "0900" + h20, ErrFormat},
		{"witness unknown v17", "0911" + h20, ErrFormat},
		{"witness unknown 1-byte program", "090201", ErrLength},
		{"witness unknown is p2tr", "0901" + h32, ErrFormat},
		{"witness unknown is p2a", "09014e73", ErrFormat},
		{"too long", "09" + strings.Repeat("00", 42), ErrLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := mustHex(t, c.in)
			k, err := KeyFromBytes(b)
			if c.err == nil {
				if err != nil {
					t.Fatalf("KeyFromBytes(%x): %v", b, err)
				}
				if !bytes.Equal(k.Bytes(), b) {
					t.Fatalf("KeyFromBytes(%x).Bytes() = %x", b, k.Bytes())
				}
				return
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("KeyFromBytes(%x) error = %v, want %v", b, err, c.err)
			}
		})
	}
}

// addrCase is a script and its address on a network.
type addrCase struct {
	name   string
	script string
	net    *btc.Network
	addr   string
}

var knownAddresses = []addrCase{
	{"genesis coinbase p2pk", "41" + genesisPub + "ac", btc.Mainnet, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
	{"block 170 to Hal (10 BTC)", "41" + halPub + "ac", btc.Mainnet, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"},
	{"block 170 change (40 BTC)", "41" + satoshiPub + "ac", btc.Mainnet, "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"},
	{"genesis key as p2pkh", "76a914" + "62e907b15cbf27d5425399ebf6f0fb50ebb88f18" + "88ac", btc.Mainnet, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
	{"genesis key on testnet3", "76a914" + "62e907b15cbf27d5425399ebf6f0fb50ebb88f18" + "88ac", btc.Testnet3, "mpXwg4jMtRhuSpVq4xS3HFHmCmWp9NyGKt"},
	{"p2sh BIP13-style", "a914" + "b472a266d0bd89c13706a4132ccfb16f7c3b9fcb" + "87", btc.Mainnet, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"},
	{"p2a mainnet", "51024e73", btc.Mainnet, "bc1pfeessrawgf"},
	{"p2a testnet3", "51024e73", btc.Testnet3, "tb1pfees9rn5nz"},
	{"p2a testnet4", "51024e73", btc.Testnet4, "tb1pfees9rn5nz"},
	{"p2a signet", "51024e73", btc.Signet, "tb1pfees9rn5nz"},
	{"p2a regtest", "51024e73", btc.Regtest, "bcrt1pfeesnyr2tx"},
	// BIP173 and BIP350 valid segwit addresses with their scriptPubKeys.
	{"BIP173 p2wpkh", "0014751e76e8199196d454941c45d1b3a323f1433bd6", btc.Mainnet, "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"},
	{"BIP173 p2wsh testnet", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", btc.Testnet3, "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7"},
	{"BIP350 v1 40-byte", "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6", btc.Mainnet, "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y"},
	{"BIP350 v16", "6002751e", btc.Mainnet, "BC1SW50QGDZ25J"},
	{"BIP350 v2", "5210751e76e8199196d454941c45d1b3a323", btc.Mainnet, "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs"},
	{"BIP173 p2wsh leading zeros", "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433", btc.Testnet3, "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy"},
	{"BIP350 p2tr testnet", "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433", btc.Testnet3, "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c"},
	{"BIP350 p2tr G", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", btc.Mainnet, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"},
	{"BIP173 p2wpkh testnet", "0014751e76e8199196d454941c45d1b3a323f1433bd6", btc.Testnet3, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"},
}

func TestKnownAddresses(t *testing.T) {
	for _, c := range knownAddresses {
		t.Run(c.name, func(t *testing.T) {
			script := mustHex(t, c.script)
			typ, k := Classify(script)
			got, ok := Encode(k, c.net)
			if !ok {
				t.Fatalf("Encode(%v [%v], %s) not ok", k, typ, c.net.Name)
			}
			if want := strings.ToLower(c.addr); !isBech32Like(c.addr) {
				want = c.addr
				if got != want {
					t.Errorf("Encode(%v, %s) = %s, want %s", k, c.net.Name, got, want)
				}
			} else if got != want {
				t.Errorf("Encode(%v, %s) = %s, want %s", k, c.net.Name, got, want)
			}
			back, err := Decode(c.addr, c.net)
			if err != nil {
				t.Fatalf("Decode(%s, %s): %v", c.addr, c.net.Name, err)
			}
			if back != k {
				t.Errorf("Decode(%s, %s) = %v, want %v (from the script)", c.addr, c.net.Name, back, k)
			}
		})
	}
}

func isBech32Like(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "bc1") || strings.HasPrefix(l, "tb1") || strings.HasPrefix(l, "bcrt1")
}

// The BIP173 and BIP350 invalid-address lists, each with the network whose
// HRP it carries (mainnet for an unknown one) and the sentinel Decode must
// wrap, plus a fragment of the message.
var invalidBIP = []struct {
	reason string
	addr   string
	net    *btc.Network
	err    error
	msg    string
}{
	// BIP173.
	{"invalid human-readable part", "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", btc.Mainnet, ErrFormat, `unknown human-readable part "tc"`},
	{"invalid checksum", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", btc.Mainnet, ErrChecksum, "bad checksum"},
	{"invalid witness version", "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", btc.Mainnet, ErrFormat, "invalid witness version 17"},
	// BIP173's v1+ vectors carry a bech32 checksum, which BIP350 rejects
	// before the program is looked at.
	{"invalid program length", "bc1rw5uspcuh", btc.Mainnet, ErrFormat, "witness v3 address must use bech32m"},
	{"invalid program length 41", "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90", btc.Mainnet, ErrFormat, "witness v15 address must use bech32m"},
	{"invalid v0 program length", "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", btc.Mainnet, ErrFormat, "witness v0 program of 16 bytes"},
	{"mixed case", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", btc.Testnet3, ErrFormat, "mixed case"},
	{"zero padding of more than 4 bits", "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", btc.Mainnet, ErrFormat, "witness v2 address must use bech32m"},
	{"non-zero padding", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", btc.Testnet3, ErrFormat, "non-zero padding"},
	{"empty data section", "bc1gmk9yu", btc.Mainnet, ErrFormat, "no witness version"},
	// BIP350.
	{"invalid human-readable part (m)", "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", btc.Mainnet, ErrFormat, `unknown human-readable part "tc"`},
	{"bech32 instead of bech32m v1", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", btc.Mainnet, ErrFormat, "witness v1 address must use bech32m"},
	{"bech32 instead of bech32m v2", "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", btc.Testnet3, ErrFormat, "witness v2 address must use bech32m"},
	{"bech32 instead of bech32m v16", "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", btc.Mainnet, ErrFormat, "witness v16 address must use bech32m"},
	{"bech32m instead of bech32 v0", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", btc.Mainnet, ErrFormat, "witness v0 address must use bech32"},
	{"bech32m instead of bech32 v0 testnet", "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", btc.Testnet3, ErrFormat, "witness v0 address must use bech32"},
	{"invalid character in checksum", "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", btc.Mainnet, ErrFormat, `invalid character 'o' at position 59`},
	{"invalid witness version (m)", "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", btc.Mainnet, ErrFormat, "invalid witness version 17"},
	{"invalid program length 1 byte", "bc1pw5dgrnzv", btc.Mainnet, ErrLength, "1-byte witness program"},
	{"invalid program length 41 bytes", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", btc.Mainnet, ErrLength, "41-byte witness program"},
	{"mixed case (m)", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", btc.Testnet3, ErrFormat, "mixed case"},
	{"zero padding of more than 4 bits (m)", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", btc.Mainnet, ErrFormat, "padding"},
	{"non-zero padding (m)", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", btc.Testnet3, ErrFormat, "non-zero padding"},
}

func TestDecodeInvalidBIP(t *testing.T) {
	for _, c := range invalidBIP {
		t.Run(c.reason, func(t *testing.T) {
			k, err := Decode(c.addr, c.net)
			if err == nil {
				t.Fatalf("Decode(%s, %s) = %v, want an error", c.addr, c.net.Name, k)
			}
			if !errors.Is(err, c.err) {
				t.Errorf("Decode(%s, %s) error %q does not wrap %q", c.addr, c.net.Name, err, c.err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("Decode(%s, %s) error %q does not say %q", c.addr, c.net.Name, err, c.msg)
			}
			if !strings.Contains(err.Error(), c.addr[:min(len(c.addr), 20)]) {
				t.Errorf("Decode(%s) error %q does not quote the input", c.addr, err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	// A base58check string with a 19-byte hash, built with btcd's encoder.
	short := base58.CheckEncode(mustHex(t, h20[:38]), 0x00)
	long := base58.CheckEncode(mustHex(t, h32), 0x05)
	unknownVersion := base58.CheckEncode(mustHex(t, h20), 0x30) // Litecoin P2PKH
	cases := []struct {
		name string
		addr string
		net  *btc.Network
		err  error
		msg  string
	}{
		{"empty", "", btc.Mainnet, ErrFormat, "empty"},
		{"testnet segwit on mainnet", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", btc.Mainnet, ErrWrongNetwork, "address is for testnet3/testnet4/signet, not mainnet"},
		{"mainnet segwit on signet", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", btc.Signet, ErrWrongNetwork, "address is for mainnet, not signet"},
		{"regtest p2a on testnet4", "bcrt1pfeesnyr2tx", btc.Testnet4, ErrWrongNetwork, "address is for regtest, not testnet4"},
		{"testnet p2a on regtest", "tb1pfees9rn5nz", btc.Regtest, ErrWrongNetwork, "address is for testnet3/testnet4/signet, not regtest"},
		{"testnet p2pkh on mainnet", "mpXwg4jMtRhuSpVq4xS3HFHmCmWp9NyGKt", btc.Mainnet, ErrWrongNetwork, "address is for testnet3/testnet4/signet/regtest, not mainnet"},
		{"mainnet p2pkh on regtest", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", btc.Regtest, ErrWrongNetwork, "address is for mainnet, not regtest"},
		{"mainnet p2sh on testnet3", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", btc.Testnet3, ErrWrongNetwork, "address is for mainnet, not testnet3"},
		{"base58 checksum", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", btc.Mainnet, ErrChecksum, "bad checksum"},
		{"base58 19-byte hash", short, btc.Mainnet, ErrLength, "bad length: 19-byte hash"},
		{"base58 32-byte hash", long, btc.Mainnet, ErrLength, "bad length: 32-byte hash"},
		{"base58 unknown version", unknownVersion, btc.Mainnet, ErrFormat, "unknown version byte 0x30"},
		{"base58 too short", "1111", btc.Mainnet, ErrLength, "4 bytes"},
		{"base58 bad character", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", btc.Mainnet, ErrFormat, "invalid base58 character '0' at position 33"},
		{"space", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa ", btc.Mainnet, ErrFormat, "invalid base58 character ' '"},
		{"bech32 checksum", "bc1pfeessrawgg", btc.Mainnet, ErrChecksum, "bad checksum"},
		{"bech32 too long", "bc1" + strings.Repeat("q", 90), btc.Mainnet, ErrFormat, "93 characters"},
		{"bech32 short checksum", "bc1qqqq", btc.Mainnet, ErrFormat, "too short for a checksum"},
		{"bech32 uppercase hrp only", "BC1pfeessrawgf", btc.Mainnet, ErrFormat, "mixed case"},
		{"bech32 invalid char b", "bc1bfeessrawgf", btc.Mainnet, ErrFormat, "invalid character 'b'"},
		{"bech32 non-ascii", "bc1pfeessraw\u00e9f", btc.Mainnet, ErrFormat, "invalid character"},
		{"litecoin segwit", "ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9", btc.Mainnet, ErrFormat, `unknown human-readable part "ltc"`},
		{"garbage", "hello world", btc.Mainnet, ErrFormat, "invalid base58 character"},
		{"nil network", "bc1pfeessrawgf", nil, ErrWrongNetwork, "no network"},
		{"long input is truncated", strings.Repeat("z", 5000), btc.Mainnet, ErrFormat, `zzzzzzzzzz"…: malformed address: 5000 characters`},
		{"escaped input is truncated", strings.Repeat("\xeb", 3000), btc.Mainnet, ErrFormat, `"\xeb\xeb`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := Decode(c.addr, c.net)
			if err == nil {
				t.Fatalf("Decode(%s) = %v, want an error", quote(c.addr), k)
			}
			if !errors.Is(err, c.err) {
				t.Errorf("Decode(%s) error %q does not wrap %q", quote(c.addr), err, c.err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("Decode(%s) error %q does not say %q", quote(c.addr), err, c.msg)
			}
			if len(err.Error()) > 300 {
				t.Errorf("Decode(%s) error is %d bytes long", quote(c.addr), len(err.Error()))
			}
			n := 0
			for _, s := range []error{ErrChecksum, ErrWrongNetwork, ErrLength, ErrFormat} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("Decode(%s) error %q wraps %d sentinels, want 1", quote(c.addr), err, n)
			}
		})
	}
}

func TestEncodeNoAddress(t *testing.T) {
	_, ms := Classify(mustHex(t, "5121"+compPub+"51ae"))
	_, ns := Classify(nil)
	_, ret := Classify([]byte{0x6a})
	_, p2pkh := Classify(mustHex(t, "76a914"+h20+"88ac"))
	cases := []struct {
		name string
		k    Key
		net  *btc.Network
	}{
		{"zero key", Key{}, btc.Mainnet},
		{"op_return", ret, btc.Mainnet},
		{"multisig", ms, btc.Mainnet},
		{"nonstandard", ns, btc.Mainnet},
		{"nil network", p2pkh, nil},
	}
	for _, c := range cases {
		if s, ok := Encode(c.k, c.net); ok || s != "" {
			t.Errorf("%s: Encode(%v) = %q, %v; want \"\", false", c.name, c.k, s, ok)
		}
	}
}

// Every address class round trips on every network, and is rejected as
// for the wrong network where the networks' prefixes differ.
func TestEncodeDecodeAllNetworks(t *testing.T) {
	scripts := []string{
		"76a914" + h20 + "88ac", "a914" + h20 + "87", "0014" + h20, "0020" + h32,
		"5120" + h32, "51024e73", "6002751e", "5128" + h20 + h20, "41" + genesisPub + "ac",
		"76a914" + "0000000000000000000000000000000000000000" + "88ac",
	}
	for _, sh := range scripts {
		_, k := Classify(mustHex(t, sh))
		for _, net := range btc.Networks {
			s, ok := Encode(k, net)
			if !ok {
				t.Fatalf("Encode(%v, %s) not ok", k, net.Name)
			}
			back, err := Decode(s, net)
			if err != nil || back != k {
				t.Fatalf("Decode(Encode(%v, %s) = %s) = %v, %v", k, net.Name, s, back, err)
			}
			if isBech32Like(s) {
				back, err = Decode(strings.ToUpper(s), net)
				if err != nil || back != k {
					t.Fatalf("Decode(upper %s) = %v, %v", s, back, err)
				}
			}
			for _, other := range btc.Networks {
				_, err := Decode(s, other)
				same := (isBech32Like(s) && other.HRP == net.HRP) ||
					(!isBech32Like(s) && other.PubKeyHashPrefix == net.PubKeyHashPrefix)
				if same && err != nil {
					t.Errorf("Decode(%s, %s): %v", s, other.Name, err)
				}
				if !same && !errors.Is(err, ErrWrongNetwork) {
					t.Errorf("Decode(%s, %s) error = %v, want wrong network", s, other.Name, err)
				}
			}
		}
	}
}

func TestAllocs(t *testing.T) {
	scripts := map[string][]byte{
		"p2pkh":       mustHex(t, "76a914"+h20+"88ac"),
		"p2wpkh":      mustHex(t, "0014"+h20),
		"p2tr":        mustHex(t, "5120"+h32),
		"p2pk":        mustHex(t, "41"+genesisPub+"ac"),
		"multisig":    mustHex(t, "5121"+compPub+"51ae"),
		"nonstandard": mustHex(t, "51"),
		"op_return":   mustHex(t, "6a04deadbeef"),
	}
	for name, s := range scripts {
		if n := testing.AllocsPerRun(100, func() { Classify(s) }); n != 0 {
			t.Errorf("Classify(%s) allocates %v times per call, want 0", name, n)
		}
	}
	sig := mustHex(t, "30440220"+h32+"0220"+h32+"01")
	pub := mustHex(t, compPub)
	scriptSig := append(append([]byte{byte(len(sig))}, sig...), append([]byte{byte(len(pub))}, pub...)...)
	if n := testing.AllocsPerRun(100, func() { InputKey(scriptSig, nil) }); n != 0 {
		t.Errorf("InputKey(p2pkh) allocates %v times per call, want 0", n)
	}
	w := [][]byte{sig, pub}
	if n := testing.AllocsPerRun(100, func() { InputKey(nil, w) }); n != 0 {
		t.Errorf("InputKey(p2wpkh) allocates %v times per call, want 0", n)
	}
	_, k := Classify(scripts["p2tr"])
	if n := testing.AllocsPerRun(100, func() { Encode(k, btc.Mainnet) }); n > 1 {
		t.Errorf("Encode(p2tr) allocates %v times per call, want at most 1 (the string)", n)
	}
	if n := testing.AllocsPerRun(100, func() { Decode("bc1pfeessrawgf", btc.Mainnet) }); n != 0 {
		t.Errorf("Decode(valid) allocates %v times per call, want 0", n)
	}
}
