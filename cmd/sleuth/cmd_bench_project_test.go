package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchProject: `sleuth bench project` reads stage results on chains
// of several sizes (one file per result, or several in one file, and
// bench ingest's JSON, which names no stage), fits each stage and projects
// it: a stage whose seconds per transaction grow as a + b·ln n projects
// to n·(a + b·ln n) at --txs; a stage measured on two sizes only is
// reported as not projected, not extrapolated through two points; a file
// that is not a result is an error naming it.
func TestBenchProject(t *testing.T) {
	dir := t.TempDir()
	sizes := []float64{1e6, 3e6, 1e7, 4.3e7}
	perTx := func(n float64) float64 { return 2e-5 + 1e-6*math.Log(n) }
	var files []string
	for i, n := range sizes {
		ingest := fmt.Sprintf(`{"blocks": 10, "txs": %d, "seconds": %g, "tx_per_s": 1, "peak_rss_mb": %g, "disk_bytes": %d, "samples": []}`,
			int(n), n*perTx(n), 1000+100*math.Log(n), int(500*n))
		stages := fmt.Sprintf(`{"stage": "cluster", "seconds": %g, "peak_rss_mb": 900, "txs": %d, "addresses": %d, "disk_bytes": %d, "summary": {}}`+"\n"+
			`{"stage": "screen", "seconds": 3, "peak_rss_mb": 400, "txs": %d, "addresses": 1, "disk_bytes": 1, "summary": []}`,
			n*2e-5, int(n), int(3*n), int(600*n), int(n))
		for name, body := range map[string]string{"ingest": ingest, "stages": stages} {
			f := filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, i))
			if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	// exposure on two sizes only
	for i, n := range sizes[:2] {
		f := filepath.Join(dir, fmt.Sprintf("exposure-%d.json", i))
		body := fmt.Sprintf(`{"stage": "exposure", "seconds": %g, "peak_rss_mb": 800, "txs": %d, "addresses": 1, "disk_bytes": 1, "summary": {}}`, n*1e-5, int(n))
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	code, stdout, stderr := runCLI(t, append([]string{"bench", "project", "--json", "--txs", "1.3e9"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	var got struct {
		Stages   []stageProjection `json:"stages"`
		Hours    float64           `json:"hours"`
		Complete bool              `json:"complete"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	byStage := map[string]stageProjection{}
	for _, p := range got.Stages {
		byStage[p.Stage] = p
	}
	near := func(a, b float64) bool { return math.Abs(a-b)/b < 1e-3 }
	ing, cl, ex := byStage["ingest"], byStage["cluster"], byStage["exposure"]
	if want := 1.3e9 * perTx(1.3e9) / 3600; ing.Error != "" || !near(ing.OtherHours, want) && !near(ing.Hours, want) || ing.Hours < want*0.999 {
		t.Errorf("ingest projected %+v, want %.1f h by the log model", ing, want)
	}
	if want := 1.3e9 * 2e-5 / 3600; cl.Error != "" || !near(cl.Hours, want) || !near(cl.PeakRSSMB, 900) || !near(cl.DiskBytesPerTx, 600) {
		t.Errorf("cluster projected %+v, want %.1f h, 900 MB, 600 bytes/tx", cl, want)
	}
	if ing.MeasuredRSSMB < 1000 || ing.PeakRSSMB <= ing.MeasuredRSSMB || !near(ing.DiskBytesPerTx, 500) {
		t.Errorf("ingest RSS %v measured, %v projected; %v bytes/tx", ing.MeasuredRSSMB, ing.PeakRSSMB, ing.DiskBytesPerTx)
	}
	if ex.Error == "" || !strings.Contains(ex.Error, "need 3") || ex.Hours != 0 {
		t.Errorf("exposure on two sizes: %+v, want it not projected", ex)
	}
	if _, ok := byStage["screen"]; ok || got.Complete || !near(got.Hours, ing.Hours+cl.Hours) {
		t.Errorf("stages %v, complete %v, total %.2f h", got.Stages, got.Complete, got.Hours)
	}
	// A result without the store's size (printed before the field was
	// added) is reported, not projected and not a crash.
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte(`{"stage": "import", "seconds": 12, "peak_rss_mb": 900, "summary": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCLI(t, "bench", "project", old); code != 0 || !strings.Contains(stdout, "none of its 1 results gives a time and the store's transactions") {
		t.Errorf("a result without txs: exit %d, %s %s", code, stdout, stderr)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"stage": "cluster", "seconds": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "bench", "project", bad); code == 0 || !strings.Contains(stderr, bad) {
		t.Errorf("a file that is not a result: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "bench", "project"); code != 2 || !strings.Contains(stderr, "give the JSON results") {
		t.Errorf("no files: exit %d, %s", code, stderr)
	}
}

// FuzzStageResults: no input, however malformed, panics the results'
// reader or the projection of what it accepted; the reader either
// returns results that each name a stage, or an error naming the input.
func FuzzStageResults(f *testing.F) {
	for _, s := range []string{
		`{"stage":"cluster","seconds":7.2,"peak_rss_mb":900,"txs":1000000,"addresses":3000000,"disk_bytes":600000000}`,
		`{"tx_per_s":55000,"seconds":18.6,"peak_rss_mb":1900,"txs":1000000} {"stage":"exposure","seconds":2.2,"txs":1000000}`,
		`{"stage":"import","seconds":1e308,"peak_rss_mb":-5,"txs":18446744073709551615,"disk_bytes":1}`,
		`{"stage":"ingest","seconds":0,"txs":0}`,
		`[1,2]`, `{"stage":""}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := decodeStageResults(bytes.NewReader(b), "fuzz.json")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		if len(rs) == 0 {
			t.Fatal("no results and no error")
		}
		byStage := map[string][]stageResult{}
		for _, r := range rs {
			if r.Stage == "" {
				t.Fatalf("result without a stage accepted: %+v", r)
			}
			byStage[r.Stage] = append(byStage[r.Stage], r)
		}
		for stage, rs := range byStage {
			p := projectStage(stage, rs, mainnetTxs)
			if p.Error == "" && len(p.Sizes) < 3 {
				t.Fatalf("%s projected from %d sizes", stage, len(p.Sizes))
			}
		}
	})
}
