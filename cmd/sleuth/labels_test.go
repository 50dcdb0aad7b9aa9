package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/demo"
)

// TestAttributionCommands: label add, label remove, incident add/list/
// remove and labels remove-source update exposure incrementally before
// they return; --strict refuses a pack that is otherwise imported without
// its invalid tag; a rescreen whose report cannot be written is not
// recorded as done.
func TestAttributionCommands(t *testing.T) {
	work := t.TempDir()
	blocks, _, err := demo.Unpack(work)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(work, "db")
	if code, _, errs := runCLI(t, "ingest", "--db", db, "--blocks", blocks); code != 0 {
		t.Fatalf("ingest: %s", errs)
	}
	pack := filepath.Join(work, "case.yaml")
	// The second tag's address has a bad checksum.
	os.WriteFile(pack, []byte(`title: Attribution case
is_cluster_definer: true
confidence: forensic
currency: BTC
source: case 3
creator: sleuth attribution tests
tags:
- address: 18SH9vwx24L5cTabfkgtGMjF8A56pD9AUJ
  label: Early wallet
  category: miner
  abuse: service_hack
- address: 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3
  label: Typo
  category: miner
`), 0o644)
	if code, _, errs := runCLI(t, "labels", "import", "--db", db, "--strict", pack); code != 1 || !strings.Contains(errs, "case.yaml:12") {
		t.Fatalf("import --strict: exit %d, %s", code, errs)
	}
	code, out, errs := runCLI(t, "labels", "import", "--db", db, pack)
	if code != 0 || !strings.Contains(out, "rejected") || !strings.Contains(out, "case.yaml:12") {
		t.Fatalf("import: exit %d, %s %s", code, out, errs)
	}
	const incremental = "exposure updated incrementally"
	code, out, errs = runCLI(t, "label", "add", "--db", db, "--json", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--category", "perpetrator", "--abuse", "ransomware", "--label", "x", "--source", "case 2")
	var added struct {
		Import   uint32 `json:"import"`
		Exposure *struct {
			Incremental bool `json:"incremental"`
			Rebuilt     bool `json:"rebuilt"`
		} `json:"exposure"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &added) != nil || added.Exposure == nil || !added.Exposure.Incremental || added.Exposure.Rebuilt {
		t.Fatalf("label add: exit %d, %s %s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "label", "remove", "--db", db, "--id", "2"); code != 0 || !strings.Contains(out, "removed 1 labels") || !strings.Contains(out, incremental) {
		t.Fatalf("label remove: exit %d, %s %s", code, out, errs)
	}
	if code, _, _ := runCLI(t, "label", "remove", "--db", db, "--id", "2"); code != 1 {
		t.Fatalf("removing a removed label: exit %d, want 1", code)
	}
	// Hal's 10 BTC (height 170) as a theft.
	const hal = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	if code, out, errs := runCLI(t, "incident", "add", "--db", db, "--category", "theft", "--txid", hal, "--vout", "0", "--name", "test"); code != 0 || !strings.Contains(out, "incident 1") || !strings.Contains(out, incremental) {
		t.Fatalf("incident add: exit %d, %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "incident", "add", "--db", db, "--category", "nonsense", "--txid", hal); code != 2 || !strings.Contains(errs, "theft") {
		t.Fatalf("incident add with a bad category: exit %d, %s", code, errs)
	}
	if code, _, _ := runCLI(t, "incident", "add", "--db", db, "--category", "theft", "--txid", "f4184f"); code != 2 {
		t.Fatalf("incident add with a short txid: exit %d, want 2", code)
	}
	if code, out, _ := runCLI(t, "incident", "list", "--db", db, "--json"); code != 0 || !strings.Contains(out, hal) || !strings.Contains(out, `"vout": 0`) {
		t.Fatalf("incident list: %d %s", code, out)
	}
	if code, out, errs := runCLI(t, "incident", "remove", "--db", db, "--id", "1"); code != 0 || !strings.Contains(out, "removed 1 incidents") {
		t.Fatalf("incident remove: exit %d, %s %s", code, out, errs)
	}

	// Rescreen: an unwritable report leaves it undone.
	if code, _, errs := runCLI(t, "rescreen", "--db", db, "--out", filepath.Join(work, "no", "such", "dir", "r.txt")); code != 1 || !strings.Contains(errs, "not recorded") {
		t.Fatalf("rescreen to an unwritable file: exit %d, %s", code, errs)
	}
	report := filepath.Join(work, "rescreen.json")
	if code, _, errs := runCLI(t, "rescreen", "--db", db, "--json", "--out", report); code != 0 {
		t.Fatalf("rescreen: %s", errs)
	}
	var first struct {
		Addresses    int `json:"addresses"`
		Transactions int `json:"transactions"`
	}
	if b, err := os.ReadFile(report); err != nil || json.Unmarshal(b, &first) != nil || first.Addresses == 0 || first.Transactions == 0 {
		t.Fatalf("rescreen after a failed one found nothing: %s, %v", b, err)
	}
	if code, out, _ := runCLI(t, "rescreen", "--db", db, "--json"); code != 0 || !strings.Contains(out, `"transactions": 0`) {
		t.Fatalf("second rescreen: %s", out)
	}

	if code, out, errs := runCLI(t, "labels", "remove-source", "--db", db, "Attribution case (case.yaml)"); code != 0 || !strings.Contains(out, "removed 1 labels") || !strings.Contains(out, incremental) {
		t.Fatalf("remove-source: exit %d, %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "labels", "remove-source", "--db", db, "Attribution case (case.yaml)"); code != 1 || !strings.Contains(errs, "no source named") {
		t.Fatalf("removing a removed source: exit %d, %s", code, errs)
	}
}
