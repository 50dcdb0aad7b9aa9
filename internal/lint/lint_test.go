package lint

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sleuth-forensics/sleuth"

// rules: importing package prefix -> forbidden import prefix, and why.
var rules = []struct {
	from, to, why string
	exceptFrom    []string
}{
	{"", "github.com/cockroachdb/pebble", "only the index owns the store; other stages go through its queries",
		[]string{module + "/internal/index"}},
	{"", module + "/internal/sim", "the simulator is a test and tool input; the pipeline must not depend on it",
		[]string{module + "/cmd/sleuth", module + "/internal/demo", module + "/internal/sim", module + "/internal/sim/simtest"}},
	{"", module + "/internal/sim/simtest", "simtest is test support; only _test files may import it", nil},
	{module + "/internal/blockfile", module + "/internal/index", "blockfile reads files; it knows nothing of the store", nil},
	{module + "/internal/blockfile", module + "/internal/chain", "blockfile decodes; choosing the chain is chain's job", nil},
	{module + "/internal/address", module + "/internal/blockfile", "script classes do not depend on block decoding", nil},
	{module + "/internal/chain", module + "/internal/index", "the header tree does not touch the store", nil},
	{module + "/internal/ofac", module + "/internal/index", "list parsers read files; storing labels is label's job", nil},
	{module + "/internal/tagpack", module + "/internal/index", "pack parsers read files; storing labels is label's job", nil},
	{module + "/internal/coinjoin", module + "/internal/index", "detectors judge one transaction; they do not read the store", nil},
	{module + "/internal/eval", module + "/internal/index", "evaluation scores what it is given; cluster.Evaluate reads the store", nil},
	{"", module + "/internal/index/indextest", "test helpers: only _test.go files may use them", nil},
	{"", module + "/internal/risk/risktest", "test helpers: only _test.go files may use them", nil},
	{"", module + "/internal/alert/alerttest", "test helpers: only _test.go files may use them", nil},
	{"", module + "/internal/pgstore/pgtest", "test helpers: only _test.go files may use them", nil},
	{module + "/internal/cluster", module + "/internal/label", "entities do not depend on labels; labels flow to entities", nil},
	{module + "/internal/btc", module + "/internal/", "the shared vocabulary depends on no stage", nil},
	{module + "/internal/encoding", module + "/internal/", "encoding helpers depend on no stage", nil},
	{module + "/internal/mmap", module + "/internal/", "scratch arrays depend on no stage", nil},
	{"", module + "/internal/pipeline", "stages do not run each other: the pipeline runs them, and only its callers import it",
		// follow is a caller, as the server is: its PipelineStore feeds
		// each round's blocks to Pipeline.Ingest.
		[]string{module + "/cmd/sleuth", module + "/internal/api", module + "/internal/demo", module + "/internal/pipeline", module + "/internal/follow",
			// labelsync applies shared label edits through the pipeline's
			// writer and attribution update, as the API's routes did.
			module + "/internal/labelsync", module + "/internal/labelsync/labelsynctest"}},
	{"", module + "/internal/api", "the HTTP server is wired by cmd/sleuth only", []string{module + "/cmd/sleuth", module + "/internal/api"}},
	{"", "github.com/btcsuite/btcd", "btcd is the reference in tests and the simulator, not a dependency of the pipeline",
		[]string{module + "/internal/sim", module + "/internal/sim/regtest"}},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

// TestLayerRules checks every non-test import of every package in the
// module against rules.
func TestLayerRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		for _, imp := range p.Imports {
		rule:
			for _, r := range rules {
				// A rule's target is a package and those below it: the
				// server (internal/api) is not the keys (internal/apikey).
				under := strings.TrimSuffix(r.to, "/") + "/"
				if !strings.HasPrefix(p.ImportPath, r.from) || imp != r.to && !strings.HasPrefix(imp, under) || p.ImportPath == imp {
					continue
				}
				for _, ex := range r.exceptFrom {
					if p.ImportPath == ex {
						continue rule
					}
				}
				if r.to == module+"/internal/" && (imp == module+"/internal/btc" || imp == module+"/internal/encoding") {
					continue
				}
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, r.why)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d packages listed", n)
	}
}
