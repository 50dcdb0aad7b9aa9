package main

import (
	"math"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index"
)

// TestSampleRates: rates between samples, in transactions and in inputs
// plus outputs, from the start of the connect phase; ranges the samples do
// not span give zeros.
func TestSampleRates(t *testing.T) {
	s := []benchSample{{Seconds: 1}, {Txs: 100, InOuts: 400, Seconds: 2}, {Txs: 300, InOuts: 1200, Seconds: 4}, {Txs: 400, InOuts: 2200, Seconds: 6}}
	for _, tc := range []struct {
		lo, hi      uint64
		tx, io, per float64
	}{
		{0, 300, 100, 400, 4},
		{300, 400, 50, 500, 10},
		{0, 50, 0, 0, 0},
		{500, 600, 0, 0, 0},
	} {
		tx, io, per := sampleRates(s, tc.lo, tc.hi)
		if tx != tc.tx || io != tc.io || per != tc.per {
			t.Errorf("sampleRates(%d, %d) = %v %v %v, want %v %v %v", tc.lo, tc.hi, tx, io, per, tc.tx, tc.io, tc.per)
		}
	}
}

// TestProject: samples whose cost per transaction grows logarithmically
// project to what integrating that cost gives, and derive is added in
// proportion to its measured cost per transaction.
func TestProject(t *testing.T) {
	var s []benchSample
	sec := 0.0
	for n := uint64(0); n <= 10_000_000; n += 250_000 {
		if n > 0 {
			mid := float64(n) - 125_000
			sec += 250_000 * (10e-6 + 1e-6*math.Log(mid))
		}
		s = append(s, benchSample{Txs: n, Seconds: sec})
	}
	p := project(s, index.DeriveStats{Txs: 10_000_000, Elapsed: 50 * time.Second}, 10_000_000)
	if p == nil {
		t.Fatal("no projection")
	}
	// ∫ 10e-6 + 1e-6 ln n dn over [0, 1.3e9], in hours
	want := (10e-6*mainnetTxs + 1e-6*(mainnetTxs*math.Log(mainnetTxs)-mainnetTxs)) / 3600
	if math.Abs(p.ConnectHours-want)/want > 0.02 && math.Abs(p.OtherHours-want)/want > 0.02 {
		t.Fatalf("projection %.2f / %.2f h, want %.2f h from one of the fits", p.ConnectHours, p.OtherHours, want)
	}
	if d := 50.0 / 10e6 * mainnetTxs / 3600; math.Abs(p.DeriveHours-d) > 1e-9 || p.Hours != p.ConnectHours+p.DeriveHours {
		t.Fatalf("derive %.3f h (want %.3f), total %.3f", p.DeriveHours, d, p.Hours)
	}
}
