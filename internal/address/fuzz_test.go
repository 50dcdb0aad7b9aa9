package address

import (
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	btcdaddr "github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// sampleTxs returns the transactions of block 574200 for fuzz seeds, or
// nothing when the corpus is absent (fuzzing then starts from the tables).
func sampleTxs() []*wire.MsgTx {
	txs, err := readRawBlock(filepath.Join(dataDir, "block-574200.raw"))
	if err != nil {
		return nil
	}
	return txs
}

// Seed scripts beyond knownAddresses: edge cases of every template.
var seedScripts = []string{
	"", "6a", "6a04deadbeef", "6a6a", "51", "00", "0014", "51024e73", "51024e7300",
	"0010" + h32[:32], "5129" + h20 + h20 + "00", "514c20" + h32, "6002751e",
	"5121" + compPub + "51ae", "5221" + compPub + "51ae", "0021" + compPub + "51ae",
	"5114" + h20 + "51ae", "514c21" + compPub + "51ae", "4effffffff00",
	"21" + compPub + "ac", "41" + "06" + genesisPub[2:] + "ac", "41" + "05" + genesisPub[2:] + "ac",
}

func FuzzClassify(f *testing.F) {
	for _, s := range seedScripts {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	for _, c := range knownAddresses {
		b, _ := hex.DecodeString(c.script)
		f.Add(b)
	}
	// One real script of each class and kind of shape seen.
	seen := map[Type]int{}
	for _, tx := range sampleTxs() {
		for _, out := range tx.TxOut {
			typ, _ := Classify(out.PkScript)
			if seen[typ] < 8 {
				seen[typ]++
				f.Add(out.PkScript)
			}
		}
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		typ, k := Classify(script)
		if typ >= numTypes {
			t.Fatalf("Classify(%x) = type %d", script, typ)
		}
		switch {
		case typ == OpReturn:
			if k.Len() != 0 {
				t.Fatalf("Classify(%x) = op_return with key %v", script, k)
			}
		case typ == P2PK && k.Kind() != P2PKH, typ != P2PK && k.Kind() != typ:
			t.Fatalf("Classify(%x) = %v with key kind %v", script, typ, k.Kind())
		}
		if typ != OpReturn {
			back, err := KeyFromBytes(k.Bytes())
			if err != nil || back != k {
				t.Fatalf("KeyFromBytes(%x) = %v, %v; want %v", k.Bytes(), back, err, k)
			}
		}
		s, ok := Encode(k, btc.Mainnet)
		hasAddr := typ != OpReturn && typ != Multisig && typ != NonStandard
		if ok != hasAddr {
			t.Fatalf("Encode(%v) of %v = %q, %v", k, typ, s, ok)
		}
		if ok {
			back, err := Decode(s, btc.Mainnet)
			if err != nil || back != k {
				t.Fatalf("Decode(Encode(%v) = %s) = %v, %v", k, s, back, err)
			}
		}
		checkBtcdClass(t, script, typ)
	})
}

func FuzzDecode(f *testing.F) {
	for _, c := range knownAddresses {
		f.Add(c.addr, uint8(0))
		f.Add(c.addr, uint8(1))
		f.Add(c.addr, uint8(4))
	}
	for _, c := range invalidBIP {
		f.Add(c.addr, uint8(0))
	}
	for _, s := range []string{"", "1", "bc1", "BC1", "11111", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa ", "bcrt1pfeesnyr2tx",
		"ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9", "mpXwg4jMtRhuSpVq4xS3HFHmCmWp9NyGKt", "\xff1qqqqqq", "bc1\x00pfeessrawgf"} {
		f.Add(s, uint8(0))
	}
	n := 0
	for _, tx := range sampleTxs() {
		for _, out := range tx.TxOut {
			_, k := Classify(out.PkScript)
			if s, ok := Encode(k, btc.Mainnet); ok && n < 64 {
				n++
				f.Add(s, uint8(n))
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string, netIdx uint8) {
		net := btc.Networks[int(netIdx)%len(btc.Networks)]
		k, err := Decode(s, net)
		if err != nil {
			if k != (Key{}) {
				t.Fatalf("Decode(%q) = %v and error %v", s, k, err)
			}
			n := 0
			for _, e := range []error{ErrChecksum, ErrWrongNetwork, ErrLength, ErrFormat} {
				if errors.Is(err, e) {
					n++
				}
			}
			if n != 1 || !strings.HasPrefix(err.Error(), "decode ") || len(err.Error()) > 400 {
				t.Fatalf("Decode(%q) error %q: wraps %d sentinels", s, err, n)
			}
		} else {
			if back, err := KeyFromBytes(k.Bytes()); err != nil || back != k {
				t.Fatalf("KeyFromBytes(%x) = %v, %v", k.Bytes(), back, err)
			}
			enc, ok := Encode(k, net)
			if !ok || (enc != s && enc != strings.ToLower(s)) {
				t.Fatalf("Encode(Decode(%q, %s) = %v) = %q, %v", s, net.Name, k, enc, ok)
			}
		}
		if net != btc.Mainnet {
			return
		}
		// btcd's DecodeAddress must agree on validity, except that it has no
		// witness v2+ (or v1 non-taproot, non-anchor) addresses and reads
		// 66/130 hex digits as a public key.
		ba, berr := btcdaddr.DecodeAddress(s, &chaincfg.MainNetParams)
		switch {
		case err == nil && k.Kind() == WitnessUnknown:
		case err == nil && berr != nil:
			t.Fatalf("Decode(%q) = %v, btcd: %v", s, k, berr)
		case err == nil:
			if enc, _ := Encode(k, net); ba.EncodeAddress() != enc {
				t.Fatalf("Decode(%q) = %v, btcd %s", s, k, ba.EncodeAddress())
			}
		case berr == nil && ba.IsForNet(&chaincfg.MainNetParams):
			if _, isPK := ba.(*btcdaddr.AddressPubKey); !isPK {
				t.Fatalf("Decode(%q): %v, btcd decodes %T %s", s, err, ba, ba.EncodeAddress())
			}
		}
	})
}

// splitWitness turns fuzz bytes into witness items: each item is a length
// byte and that many bytes (short at the end).
func splitWitness(b []byte) [][]byte {
	var w [][]byte
	for len(b) > 0 {
		n := min(int(b[0]), len(b)-1)
		w = append(w, b[1:1+n])
		b = b[1+n:]
	}
	return w
}

func joinWitness(w [][]byte) []byte {
	var b []byte
	for _, item := range w {
		if len(item) > 255 {
			return b
		}
		b = append(b, byte(len(item)))
		b = append(b, item...)
	}
	return b
}

func FuzzInputKey(f *testing.F) {
	sig, _ := hex.DecodeString("30440220" + h32 + "0220" + h32 + "01")
	comp, _ := hex.DecodeString(compPub)
	wpkh, _ := hex.DecodeString("0014" + h20)
	redeem, _ := hex.DecodeString("5221" + compPub + "21" + compPub2 + "52ae")
	f.Add(cat(push(sig), push(comp)), []byte(nil))
	f.Add([]byte(nil), joinWitness([][]byte{sig, comp}))
	f.Add(push(wpkh), joinWitness([][]byte{sig, comp}))
	f.Add(cat([]byte{op0}, push(sig), push(redeem)), []byte(nil))
	f.Add([]byte{opPushData4, 0xff, 0xff, 0xff, 0xff}, []byte{0xff})
	n := 0
	for _, tx := range sampleTxs() {
		for _, in := range tx.TxIn {
			if n++; n%50 == 0 && len(in.SignatureScript) < 1000 {
				f.Add(in.SignatureScript, joinWitness(in.Witness))
			}
		}
	}
	f.Fuzz(func(t *testing.T, scriptSig, wb []byte) {
		witness := splitWitness(wb)
		k, ok := InputKey(scriptSig, witness)
		if !ok {
			if k != (Key{}) {
				t.Fatalf("InputKey(%x, %x) = %v, false", scriptSig, witness, k)
			}
			return
		}
		switch k.Kind() {
		case P2PKH, P2SH:
			if _, err := txscript.PushedData(scriptSig); err != nil || !txscript.IsPushOnlyScript(scriptSig) {
				t.Fatalf("InputKey(%x) = %v from a scriptSig btcd does not see as push-only: %v", scriptSig, k, err)
			}
		case P2WPKH:
			if len(scriptSig) != 0 || len(witness) != 2 {
				t.Fatalf("InputKey(%x, %x) = %v", scriptSig, witness, k)
			}
		default:
			t.Fatalf("InputKey(%x, %x) = key of kind %v", scriptSig, witness, k.Kind())
		}
		if back, err := KeyFromBytes(k.Bytes()); err != nil || back != k || k.Len() != 21 {
			t.Fatalf("KeyFromBytes(%x) = %v, %v", k.Bytes(), back, err)
		}
		if k.Kind() == P2PKH && len(witness) != 0 {
			t.Fatalf("p2pkh with witness")
		}
	})
}
