package blockfile

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// BenchmarkParseBlock compares Parse with btcd's wire.MsgBlock.Deserialize
// on the same bytes.
//
//	impl=sleuth          Parse, as callers use it (txids included)
//	impl=sleuth-notxid   the decoding alone, txids not computed
//	impl=btcdwire        MsgBlock.Deserialize (computes no txids)
//	impl=sleuth+txid     Parse, reading every txid
//	impl=btcdwire+txhash Deserialize plus TxHash of every transaction
//
// block=blk0-14131 parses all 14,132 blocks of blk_0_to_14131 per op.
// allocs/tx is heap allocations per transaction over the whole run.
func BenchmarkParseBlock(b *testing.B) {
	needData(b)
	type input struct {
		name   string
		blocks [][]byte
	}
	inputs := []input{
		{"574200", [][]byte{realBlockByName(b, "574200")}},
		{"540107", [][]byte{realBlockByName(b, "540107")}},
		{"blk0-14131", blk0(b)},
	}
	impls := []struct {
		name string
		// run parses blocks once and returns how many txs they hold. It
		// is made once per benchmark, so a Block is reused across ops as
		// callers reuse it.
		run func() func(b *testing.B, blocks [][]byte) int
	}{
		{"sleuth", func() func(*testing.B, [][]byte) int {
			var blk Block
			return func(b *testing.B, blocks [][]byte) int {
				txs := 0
				for _, raw := range blocks {
					if err := blk.Parse(raw); err != nil {
						b.Fatal(err)
					}
					txs += len(blk.Txs)
				}
				return txs
			}
		}},
		{"sleuth-notxid", func() func(*testing.B, [][]byte) int {
			var blk Block
			return func(b *testing.B, blocks [][]byte) int {
				txs := 0
				for _, raw := range blocks {
					if err := blk.parse(raw, false); err != nil {
						b.Fatal(err)
					}
					txs += len(blk.Txs)
				}
				return txs
			}
		}},
		{"btcdwire", func() func(*testing.B, [][]byte) int {
			return func(b *testing.B, blocks [][]byte) int {
				txs := 0
				for _, raw := range blocks {
					var msg wire.MsgBlock
					if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
						b.Fatal(err)
					}
					txs += len(msg.Transactions)
				}
				return txs
			}
		}},
		{"sleuth+txid", func() func(*testing.B, [][]byte) int {
			var blk Block
			return func(b *testing.B, blocks [][]byte) int {
				txs := 0
				var x byte
				for _, raw := range blocks {
					if err := blk.Parse(raw); err != nil {
						b.Fatal(err)
					}
					for i := range blk.Txs {
						x ^= blk.Txs[i].TxID[0]
					}
					txs += len(blk.Txs)
				}
				sink = x
				return txs
			}
		}},
		{"btcdwire+txhash", func() func(*testing.B, [][]byte) int {
			return func(b *testing.B, blocks [][]byte) int {
				txs := 0
				var x byte
				for _, raw := range blocks {
					var msg wire.MsgBlock
					if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
						b.Fatal(err)
					}
					for _, tx := range msg.Transactions {
						h := tx.TxHash()
						x ^= h[0]
					}
					txs += len(msg.Transactions)
				}
				sink = x
				return txs
			}
		}},
	}
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			for _, in := range inputs {
				b.Run("block="+in.name, func(b *testing.B) {
					size := 0
					for _, raw := range in.blocks {
						size += len(raw)
					}
					b.SetBytes(int64(size))
					b.ReportAllocs()
					var before, after runtime.MemStats
					run := impl.run()
					run(b, in.blocks) // warm up reusable storage
					txs, ops := 0, 0
					runtime.ReadMemStats(&before)
					for b.Loop() {
						txs = run(b, in.blocks)
						ops++
					}
					runtime.ReadMemStats(&after)
					b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(txs*ops), "allocs/tx")
				})
			}
		})
	}
}

var sink byte

// BenchmarkScan measures framing alone: 14,132 records of a 16 MiB file.
func BenchmarkScan(b *testing.B) {
	data := loadData(b, blk0Name)
	path := writeTemp(b, b.TempDir(), "blk00000.dat", data)
	b.SetBytes(blk0DataSize)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := Scan(b.Context(), path, 0, ScanOptions{Magic: btc.Mainnet.Magic}, func(Record) error {
			n++
			return nil
		}); err != nil || n != blk0Records {
			b.Fatalf("%d records, %v", n, err)
		}
	}
}

// BenchmarkMerkle measures CheckMerkle on 574200 (3,315 txids).
func BenchmarkMerkle(b *testing.B) {
	var blk Block
	if err := blk.Parse(realBlockByName(b, "574200")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := blk.CheckMerkle(); err != nil {
			b.Fatal(err)
		}
	}
}
