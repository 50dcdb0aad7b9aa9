package coinjoin

import (
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// benchShapes are the transaction shapes BenchmarkDetect measures, from
// the common (a payment) to the rare (a 3,000-output batch).
func benchShapes() []struct {
	name string
	tx   *Tx
} {
	return []struct {
		name string
		tx   *Tx
	}{
		{"payment-1x2", mk(ins(address.P2WPKH, 10_000_000), outs(address.P2WPKH, 3_000_000, 6_990_000))},
		{"payment-2x2", mk(ins(address.P2WPKH, unk, unk), outs(address.P2WPKH, 3_000_000, 6_990_000))},
		{"batch-2x30", mk(ins(address.P2SH, unk, unk), outs(address.P2SH, seq(150_000, 12_345, 30)...))},
		{"consolidation-50x1", mk(ins(address.P2WPKH, rep(unk, 50)...), outs(address.P2WPKH, 6_000_000))},
		{"whirlpool-5x5", mk(ins(address.P2WPKH, 1_000_000, 1_000_000, 1_000_000, 1_004_500, 1_004_500), outs(address.P2WPKH, rep(1_000_000, 5)...))},
		{"joinmarket-7x10", mk(ins(address.P2WPKH, rep(unk, 7)...), outs(address.P2WPKH, interleave(cat(rep(27_183_117, 5),
			[]btc.Amount{3_351_002, 81_220_871, 12_500_413, 913_551, 44_712_090}))...))},
		{"wasabi1-60x82", mk(ins(address.P2WPKH, rep(unk, 60)...), outs(address.P2WPKH, wasabi1Outs(10_024_313, 35)...))},
		{"wasabi2-50x61", mk(ins(address.NonStandard, rep(unk, 50)...), outs(address.P2WPKH, wasabi2Outs()...))},
		{"batch-100x300", mk(ins(address.P2SH, rep(unk, 100)...), outs(address.P2SH, seq(10_000, 7, 300)...))},
		{"batch-1500x3000", mk(ins(address.P2PKH, rep(unk, 1500)...), outs(address.P2PKH, seq(10_000, 3, 3000)...))},
	}
}

// BenchmarkDetect measures Detect per shape (shape=…) and over the whole
// mix (shape=mix, one Detect per shape per iteration; ns/op covers all
// ten).
func BenchmarkDetect(b *testing.B) {
	shapes := benchShapes()
	for _, s := range shapes {
		b.Run("shape="+s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Detect(s.tx)
			}
		})
	}
	b.Run("shape=mix", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, s := range shapes {
				Detect(s.tx)
			}
		}
	})
}
