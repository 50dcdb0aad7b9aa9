package address

import (
	"encoding/hex"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// blockScripts returns the output scripts of block 574200.
func blockScripts(b *testing.B) [][]byte {
	f := realFileNamed(b, "block-574200.raw")
	var scripts [][]byte
	for _, tx := range f.txs {
		for _, out := range tx.TxOut {
			scripts = append(scripts, out.PkScript)
		}
	}
	return scripts
}

// BenchmarkClassify classifies every output of block 574200 (8,150
// scripts) per iteration; ns/op divided by 8,150 is the cost per output.
func BenchmarkClassify(b *testing.B) {
	scripts := blockScripts(b)
	b.Run("impl=sleuth", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			for _, s := range scripts {
				typ, k := Classify(s)
				n += int(typ) + k.Len()
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(scripts)), "ns/output")
		_ = n
	})
	b.Run("impl=txscript", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			for _, s := range scripts {
				cls, addrs, _, _ := txscript.ExtractPkScriptAddrs(s, &chaincfg.MainNetParams)
				n += int(cls) + len(addrs)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(scripts)), "ns/output")
		_ = n
	})
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct{ name, script string }{
		{"p2pkh", "76a914" + h20 + "88ac"},
		{"p2sh", "a914" + h20 + "87"},
		{"p2wpkh", "0014" + h20},
		{"p2wsh", "0020" + h32},
		{"p2tr", "5120" + h32},
		{"p2a", "51024e73"},
		{"witness_unknown", "5210751e76e8199196d454941c45d1b3a323"},
	} {
		script, _ := hex.DecodeString(c.script)
		_, k := Classify(script)
		s, _ := Encode(k, btc.Mainnet)
		b.Run("type="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Encode(k, btc.Mainnet)
			}
		})
		b.Run("decode="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Decode(s, btc.Mainnet)
			}
		})
	}
}

// BenchmarkClassifyHashed measures the templates that hash: P2PK (HASH160
// of the pubkey) and multisig (HASH160 of the script).
func BenchmarkClassifyHashed(b *testing.B) {
	for _, c := range []struct{ name, script string }{
		{"p2pk", "41" + genesisPub + "ac"},
		{"multisig", "52 21" + compPub + " 21" + compPub2 + " 41" + halPub + " 53 ae"},
	} {
		script := mustHex(b, c.script)
		b.Run("type="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Classify(script)
			}
		})
	}
}

// BenchmarkInputKey attributes every input of block 574200 per iteration.
func BenchmarkInputKey(b *testing.B) {
	f := realFileNamed(b, "block-574200.raw")
	type in struct {
		sig []byte
		wit [][]byte
	}
	var ins []in
	for _, tx := range f.txs[1:] {
		for _, txin := range tx.TxIn {
			ins = append(ins, in{txin.SignatureScript, txin.Witness})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, x := range ins {
			InputKey(x.sig, x.wit)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ins)), "ns/input")
}
