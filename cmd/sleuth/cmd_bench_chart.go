package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/chart"
	"github.com/sleuth-forensics/sleuth/internal/growth"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// mainnetTxs is the projection's target: about mainnet's transaction count
// at the end of 2026.
const mainnetTxs = 1.3e9

// benchProjection is `bench ingest`'s projection to mainnet.
type benchProjection struct {
	Txs          float64 `json:"txs"`
	Model        string  `json:"model"` // the more pessimistic fit of the connect phase
	ConnectHours float64 `json:"connect_hours"`
	OtherModel   string  `json:"other_model"`
	OtherHours   float64 `json:"other_hours"`
	DeriveHours  float64 `json:"derive_hours"` // linear in txs from this run: an external sort's merge passes grow only with log(n / run size)
	Hours        float64 `json:"hours"`
}

func newSample(prev []benchSample, p index.Progress, elapsed time.Duration) benchSample {
	txs := p.Txs
	s := benchSample{Txs: txs, InOuts: p.Inputs + p.Outputs, Seconds: elapsed.Seconds(), RSSMB: currentRSSMB()}
	if n := len(prev); n > 0 && s.Seconds > prev[n-1].Seconds && s.Txs >= prev[n-1].Txs {
		s.TxPerSec = float64(txs-prev[n-1].Txs) / (s.Seconds - prev[n-1].Seconds)
	} else if s.Seconds > 0 {
		s.TxPerSec = float64(txs) / s.Seconds
	}
	return s
}

// project fits the connect phase's cost per transaction against
// transactions ingested (the first tenth is warm-up, left out) and adds
// derive at this run's cost per transaction.
func project(samples []benchSample, d index.DeriveStats, txs uint64) *benchProjection {
	var gs []growth.Sample
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		if b.Txs <= a.Txs || float64(a.Txs) < float64(txs)/10 {
			continue
		}
		gs = append(gs, growth.Sample{N: float64(a.Txs+b.Txs) / 2, Cost: (b.Seconds - a.Seconds) / float64(b.Txs-a.Txs)})
	}
	p, err := growth.Project(gs, mainnetTxs)
	if err != nil {
		return nil
	}
	other, otherTot := p.Power, p.PowerTotal
	if p.Pessimistic.Model == "power" {
		other, otherTot = p.Log, p.LogTotal
	}
	bp := &benchProjection{Txs: mainnetTxs, Model: p.Pessimistic.String(), ConnectHours: p.PessimisticTot / 3600,
		OtherModel: other.String(), OtherHours: otherTot / 3600}
	if d.Txs > 0 {
		bp.DeriveHours = d.Elapsed.Seconds() / float64(d.Txs) * mainnetTxs / 3600
	}
	bp.Hours = bp.ConnectHours + bp.DeriveHours
	return bp
}

// printSampleSummary prints the rate over the first and the last fifth of
// the connect phase, in transactions and in inputs plus outputs (the
// simulated economy's transactions grow along the chain, so tx/s alone
// mixes the store's growth with the work's).
func printSampleSummary(s []benchSample) {
	if len(s) < 3 {
		return
	}
	total := s[len(s)-1].Txs
	rates := func(lo, hi uint64) (tx, io, ioPerTx float64) { return sampleRates(s, lo, hi) }
	var maxRSS float64
	for _, x := range s {
		maxRSS = max(maxRSS, x.RSSMB)
	}
	t1, io1, w1 := rates(0, total/5)
	t5, io5, w5 := rates(total*4/5, total)
	fmt.Printf("connect: first fifth %.0f tx/s (%.0f inputs+outputs/s, %.2f per tx), last fifth %.0f tx/s (%.0f inputs+outputs/s, %.2f per tx); RSS at most %.0f MB while connecting\n",
		t1, io1, w1, t5, io5, w5, maxRSS)
}

// sampleRates is the rate between the first sample at or past lo and the
// last at or before hi: transactions and inputs plus outputs per second,
// and inputs plus outputs per transaction (zeros when the samples do not
// span the range).
func sampleRates(s []benchSample, lo, hi uint64) (tx, io, ioPerTx float64) {
	var a, b *benchSample
	for i := range s {
		if a == nil && s[i].Txs >= lo {
			a = &s[i]
		}
		if s[i].Txs <= hi {
			b = &s[i]
		}
	}
	if a == nil || b == nil || b.Seconds <= a.Seconds || b.Txs <= a.Txs {
		return 0, 0, 0
	}
	d := b.Seconds - a.Seconds
	return float64(b.Txs-a.Txs) / d, float64(b.InOuts-a.InOuts) / d, float64(b.InOuts-a.InOuts) / float64(b.Txs-a.Txs)
}

// writeBenchFiles writes the chart and the samples' CSV when asked.
func writeBenchFiles(r *benchResult, blocks, chartFile, samplesFile string) error {
	if samplesFile != "" {
		f, err := os.Create(samplesFile)
		if err != nil {
			return err
		}
		fmt.Fprintln(f, "txs,inputs_outputs,seconds,tx_per_s,rss_mb")
		for _, s := range r.Samples {
			fmt.Fprintf(f, "%d,%d,%.2f,%.0f,%.0f\n", s.Txs, s.InOuts, s.Seconds, s.TxPerSec, s.RSSMB)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if chartFile == "" {
		return nil
	}
	var x, rate, rss []float64
	for _, s := range r.Samples {
		if s.Txs == 0 { // the start of the connect phase: no rate yet
			continue
		}
		x, rate, rss = append(x, float64(s.Txs)), append(rate, s.TxPerSec), append(rss, s.RSSMB)
	}
	c := &chart.Chart{
		Title: fmt.Sprintf("ingest %s: %.2fM txs, %.0f tx/s (derive %.0f s), peak RSS %.1f GB, %d cores",
			filepath.Base(filepath.Dir(filepath.Clean(blocks))), float64(r.Txs)/1e6, r.TxPerSec, r.DeriveSeconds, r.PeakRSSMB/1024, r.Cores),
		XLabel: "transactions connected",
		Panels: []chart.Panel{
			{YLabel: "tx/s (each ~5 s)", Series: []chart.Series{{Name: "connect rate", X: x, Y: rate}}},
			{YLabel: "resident set (MB)", Series: []chart.Series{{Name: "RSS", X: x, Y: rss}}},
		},
	}
	f, err := os.Create(chartFile)
	if err != nil {
		return err
	}
	if err := c.WriteSVG(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
