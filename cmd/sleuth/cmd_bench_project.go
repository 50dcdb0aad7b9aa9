package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/growth"
)

// projectStages are the stages `bench project` projects, in pipeline
// order: each is run from scratch once per chain, so its time grows with
// the chain. (Screening is per request; the reference is not a stage.)
var projectStages = []string{"ingest", "cluster", "exposure", "import"}

// stageProjection is one stage's projection to a chain of Txs
// transactions, from its results on smaller chains.
type stageProjection struct {
	Stage string `json:"stage"`
	// Sizes are the chains measured (transactions), ascending.
	Sizes []float64 `json:"sizes"`
	// Model is the more pessimistic fit of the average seconds per
	// transaction, Hours its projection; Other* the other model's.
	Model      string  `json:"model"`
	Hours      float64 `json:"hours"`
	OtherModel string  `json:"other_model"`
	OtherHours float64 `json:"other_hours"`
	// PeakRSSMB is the larger of the two models' peak RSS at Txs, and
	// MeasuredRSSMB the largest measured.
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	RSSModel      string  `json:"rss_model"`
	MeasuredRSSMB float64 `json:"measured_rss_mb"`
	// DiskBytesPerTx is the store's size per transaction after the stage,
	// projected (the pessimistic model) and the last measured.
	DiskBytesPerTx         float64 `json:"disk_bytes_per_tx"`
	MeasuredDiskBytesPerTx float64 `json:"measured_disk_bytes_per_tx"`
	Error                  string  `json:"error,omitempty"`
}

// benchProject fits each stage's results (the JSON that `sleuth bench
// ingest|cluster|exposure|import --json` print) on chains of different
// lengths and projects them to mainnet: the average seconds per
// transaction, the peak RSS and the store's bytes per transaction, each by
// a logarithmic and a power model, the more pessimistic reported
// (growth.ProjectAverage). Three chain sizes at least per stage.
func benchProject(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("bench project", flag.ContinueOnError)
	txs := fs.Float64("txs", mainnetTxs, "the chain to project to, in transactions (default: mainnet's)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("bench project: give the JSON results of 'sleuth bench ingest|cluster|exposure|import --json' on chains of three sizes or more")
	}
	if *txs < 1 {
		return usagef("bench project: --txs must be positive")
	}
	byStage := map[string][]stageResult{}
	for _, path := range fs.Args() {
		rs, err := readStageResults(path)
		if err != nil {
			return err
		}
		for _, r := range rs {
			byStage[r.Stage] = append(byStage[r.Stage], r)
		}
	}
	var out []stageProjection
	var total, other float64
	complete := true
	for _, stage := range projectStages {
		rs := byStage[stage]
		if len(rs) == 0 {
			complete = false
			continue
		}
		p := projectStage(stage, rs, *txs)
		if p.Error != "" {
			complete = false
		}
		total, other = total+p.Hours, other+p.OtherHours
		out = append(out, p)
	}
	if len(out) == 0 {
		return fmt.Errorf("bench project: no results of %s in %s", strings.Join(projectStages, ", "), strings.Join(fs.Args(), ", "))
	}
	if *asJSON {
		return printJSON(struct {
			Txs        float64           `json:"txs"`
			Stages     []stageProjection `json:"stages"`
			Hours      float64           `json:"hours"`
			OtherHours float64           `json:"other_hours"`
			Complete   bool              `json:"complete"`
		}{*txs, out, total, other, complete})
	}
	fmt.Printf("projected to %.3g transactions (the more pessimistic of a + b·ln n and a·n^b per transaction; the other in brackets):\n", *txs)
	for _, p := range out {
		if p.Error != "" {
			fmt.Printf("  %-8s %s\n", p.Stage, p.Error)
			continue
		}
		fmt.Printf("  %-8s %7.1f h (%.1f h)  peak RSS %6.0f MB (measured %5.0f)  store %4.0f bytes/tx (measured %4.0f)  from %s; seconds/tx %s\n",
			p.Stage, p.Hours, p.OtherHours, p.PeakRSSMB, p.MeasuredRSSMB, p.DiskBytesPerTx, p.MeasuredDiskBytesPerTx, sizesText(p.Sizes), p.Model)
	}
	fmt.Printf("  %-8s %7.1f h (%.1f h)", "all", total, other)
	if !complete {
		fmt.Printf("  (not every stage projected: the total leaves some out)")
	}
	fmt.Println()
	return nil
}

// projectStage fits one stage's results; a stage measured on fewer than
// three chain sizes gets an Error instead of numbers.
func projectStage(stage string, rs []stageResult, txs float64) stageProjection {
	// One result per size: the last given wins (a rerun replaces a run).
	bySize := map[uint64]stageResult{}
	for _, r := range rs {
		if r.Txs > 0 && r.Seconds > 0 {
			bySize[r.Txs] = r
		}
	}
	p := stageProjection{Stage: stage}
	var secs, rss, disk []growth.Sample
	for n, r := range bySize {
		p.Sizes = append(p.Sizes, float64(n))
		secs = append(secs, growth.Sample{N: float64(n), Cost: r.Seconds / float64(n)})
		rss = append(rss, growth.Sample{N: float64(n), Cost: r.PeakRSSMB})
		if r.DiskBytes > 0 {
			disk = append(disk, growth.Sample{N: float64(n), Cost: float64(r.DiskBytes) / float64(n)})
		}
	}
	if len(bySize) == 0 {
		p.Error = fmt.Sprintf("not projected: none of its %d results gives a time and the store's transactions (results printed before 'txs' was added have none)", len(rs))
		return p
	}
	slices.Sort(p.Sizes)
	last := bySize[uint64(p.Sizes[len(p.Sizes)-1])]
	p.MeasuredRSSMB = last.PeakRSSMB
	if last.DiskBytes > 0 {
		p.MeasuredDiskBytesPerTx = float64(last.DiskBytes) / float64(last.Txs)
	}
	for _, r := range bySize {
		p.MeasuredRSSMB = max(p.MeasuredRSSMB, r.PeakRSSMB)
	}
	t, err := growth.ProjectAverage(secs, txs)
	if err != nil {
		p.Error = fmt.Sprintf("not projected: %v (measured at %s)", err, sizesText(p.Sizes))
		return p
	}
	p.Model, p.Hours = t.Pessimistic.String(), t.PessimisticTot/3600
	if t.Pessimistic.Model == "power" {
		p.OtherModel, p.OtherHours = t.Log.String(), t.LogTotal/3600
	} else {
		p.OtherModel, p.OtherHours = t.Power.String(), t.PowerTotal/3600
	}
	if f, v, err := growth.At(rss, txs); err == nil {
		p.PeakRSSMB, p.RSSModel = v, f.String()
	}
	if _, v, err := growth.At(disk, txs); err == nil {
		p.DiskBytesPerTx = v
	}
	return p
}

// readStageResults reads the stage results in path: one JSON value or
// several in a row, each a stage benchmark's result or `bench ingest`'s
// (which has no "stage": it is the ingest).
func readStageResults(path string) ([]stageResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeStageResults(f, path)
}

// decodeStageResults is readStageResults on r, which path names.
func decodeStageResults(r io.Reader, path string) ([]stageResult, error) {
	var out []stageResult
	dec := json.NewDecoder(r)
	for {
		var r struct {
			stageResult
			TxPerSec *float64 `json:"tx_per_s"`
		}
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: result %d: %w (want the JSON of 'sleuth bench STAGE --json')", path, len(out)+1, err)
		}
		if r.Stage == "" && r.TxPerSec != nil {
			r.Stage = "ingest"
		}
		if r.Stage == "" {
			return nil, fmt.Errorf("%s: result %d names no stage (want the JSON of 'sleuth bench STAGE --json')", path, len(out)+1)
		}
		out = append(out, r.stageResult)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no results", path)
	}
	return out, nil
}

// sizesText lists chain sizes as "1M, 9.27M, 43.1M".
func sizesText(ns []float64) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprintf("%.3gM", n/1e6)
	}
	return strings.Join(s, ", ")
}
