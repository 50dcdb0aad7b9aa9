package sim

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// BenchmarkGenerate measures generation speed at Scale 3 (about 30,000
// transactions per run, files of 128 MiB).
func BenchmarkGenerate(b *testing.B) {
	out := b.TempDir()
	var txs int64
	for b.Loop() {
		sum, err := Run(context.Background(), Options{Out: out, Seed: 1, Scale: 3})
		if err != nil {
			b.Fatal(err)
		}
		txs += sum.Txs
	}
	b.ReportMetric(float64(txs)/b.Elapsed().Seconds(), "tx/s")
}

// TestGenerateLarge writes a large chain for measurements. It runs only when
// SIM_LARGE_OUT names an output directory (use the git-ignored gen/):
//
//	SIM_LARGE_OUT=$PWD/gen/sim-1m SIM_LARGE_SCALE=100 go test ./internal/sim -run TestGenerateLarge -v -timeout 1h
//
// SIM_LARGE_VERIFY=1 also checks the output with the independent reader.
func TestGenerateLarge(t *testing.T) {
	out := os.Getenv("SIM_LARGE_OUT")
	if out == "" {
		t.Skip("SIM_LARGE_OUT not set")
	}
	scale := 100.0
	if s := os.Getenv("SIM_LARGE_SCALE"); s != "" {
		var err error
		if scale, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := Run(context.Background(), Options{Out: out, Seed: 1, Scale: scale, XOR: os.Getenv("SIM_LARGE_XOR") != "",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(sum.String())
	if os.Getenv("SIM_LARGE_VERIFY") != "" {
		res := verifyOutput(t, out, paramsFor(btc.Mainnet), btc.Mainnet.Magic)
		t.Logf("verified: %d blocks, %d txs, %d stale, %d out of order", res.blocks, res.txs, res.stale, res.outOfOrder)
	}
}
