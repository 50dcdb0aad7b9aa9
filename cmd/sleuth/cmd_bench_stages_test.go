package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchStages: `sleuth bench cluster|exposure|screen` time one stage
// on an existing store and print its time, peak RSS and the stage's
// counts; without --db they are usage errors.
func TestBenchStages(t *testing.T) {
	db, addrs := riskStore(t)
	type result struct {
		Stage     string          `json:"stage"`
		Seconds   float64         `json:"seconds"`
		PeakRSSMB float64         `json:"peak_rss_mb"`
		Txs       uint64          `json:"txs"`
		Addresses uint64          `json:"addresses"`
		DiskBytes int64           `json:"disk_bytes"`
		Summary   json.RawMessage `json:"summary"`
	}
	bench := func(args ...string) result {
		t.Helper()
		code, stdout, stderr := runCLI(t, append([]string{"bench"}, append(args, "--db", db, "--json")...)...)
		if code != 0 {
			t.Fatalf("bench %v: exit %d: %s %s", args, code, stdout, stderr)
		}
		var r result
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("bench %v: %v in %s", args, err, stdout)
		}
		if r.Stage != args[0] || r.Seconds <= 0 || r.PeakRSSMB <= 0 || r.Txs == 0 || r.Addresses < r.Txs || r.DiskBytes <= 0 {
			t.Fatalf("bench %v: %+v", args, r)
		}
		return r
	}
	// check --digests: each stage's digest, the same after the clustering
	// and the exposure are rebuilt from scratch (in other batches and, for
	// exposure, through sorted runs of partial aggregates) ...
	digests := func() map[string]string {
		t.Helper()
		code, stdout, stderr := runCLI(t, "check", "--digests", "--json", "--db", db)
		var v struct {
			Digests []struct{ Stage, SHA256 string } `json:"digests"`
		}
		if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil {
			t.Fatalf("check --digests: exit %d, %v: %s %s", code, err, stdout, stderr)
		}
		m := map[string]string{}
		for _, d := range v.Digests {
			if len(d.SHA256) != 64 || m[d.Stage] != "" {
				t.Fatalf("check --digests: %+v", v.Digests)
			}
			m[d.Stage] = d.SHA256
		}
		if len(m) != 4 || m["chain"] == "" || m["cluster"] == "" || m["label"] == "" || m["risk"] == "" {
			t.Fatalf("check --digests: stages %v, want chain, cluster, label and risk", m)
		}
		return m
	}
	before := digests()
	defer func() {
		if after := digests(); after["chain"] != before["chain"] || after["cluster"] != before["cluster"] || after["label"] == before["label"] {
			t.Errorf("digests %v after the pack's import, from %v: want the chain and the clustering unchanged and the labels changed", after, before)
		}
	}()
	var cl struct {
		Rebuilt bool   `json:"rebuilt"`
		Txs     uint64 `json:"txs"`
		Total   uint64 `json:"total_merges"`
	}
	if err := json.Unmarshal(bench("cluster", "--rebuild").Summary, &cl); err != nil || !cl.Rebuilt || cl.Txs == 0 || cl.Total == 0 {
		t.Fatalf("bench cluster --rebuild: %+v, %v", cl, err)
	}
	var ex struct {
		Txs      uint64 `json:"txs"`
		Exposed  uint64 `json:"exposed_outputs"`
		Entities int    `json:"labelled_entities"`
	}
	if err := json.Unmarshal(bench("exposure", "--rebuild").Summary, &ex); err != nil || ex.Txs == 0 || ex.Exposed == 0 || ex.Entities == 0 {
		t.Fatalf("bench exposure --rebuild: %+v, %v", ex, err)
	}
	if after := digests(); !maps.Equal(after, before) {
		t.Errorf("digests %v after rebuilding the clustering and the exposure, %v before", after, before)
	}
	var passes []struct {
		N   int   `json:"n"`
		P50 int64 `json:"p50_ns"`
		P99 int64 `json:"p99_ns"`
	}
	if err := json.Unmarshal(bench("screen", "--n", "300", "--passes", "2").Summary, &passes); err != nil || len(passes) != 2 ||
		passes[1].N != 300 || passes[1].P50 <= 0 || passes[1].P99 < passes[1].P50 {
		t.Fatalf("bench screen: %+v, %v", passes, err)
	}
	// A new pack labelling two addresses as a perpetrator's: imported,
	// and exposure follows it.
	pack := filepath.Join(t.TempDir(), "pack.yaml")
	if err := os.WriteFile(pack, []byte("title: bench import\ncreator: sleuth tests\nlastmod: 2026-12-07\nsource: https://example.org/bench\ncurrency: BTC\n"+
		"label: bench wallet\ncategory: perpetrator\nabuse: ransomware\ntags:\n- address: "+addrs[0]+"\n- address: "+addrs[1]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var im struct {
		Imported []struct {
			Labels int `json:"labels"`
		} `json:"imported"`
		Exposure *struct {
			Incremental bool `json:"incremental"`
			Rebuilt     bool `json:"rebuilt"`
		} `json:"exposure"`
	}
	if err := json.Unmarshal(bench("import", pack).Summary, &im); err != nil || len(im.Imported) != 1 || im.Imported[0].Labels != 2 ||
		im.Exposure == nil || !im.Exposure.Incremental && !im.Exposure.Rebuilt {
		t.Fatalf("bench import: %+v, %v", im, err)
	}
	for _, stage := range []string{"cluster", "exposure", "screen", "import"} {
		code, _, stderr := runCLI(t, "bench", stage)
		if code != 2 || !strings.Contains(stderr, "--db is required") {
			t.Errorf("bench %s without --db: exit %d, %s", stage, code, stderr)
		}
	}
}
