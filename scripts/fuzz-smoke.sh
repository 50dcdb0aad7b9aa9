#!/usr/bin/env bash
# Run every Fuzz target in the module briefly (default 10,000 executions
# each), seeded by its f.Add corpus and testdata/fuzz. Minimisation is off:
# with it on, go test -fuzz can stall on large seeds. The budget is a count,
# not a duration: Go 1.26's coordinator can report a spurious "context
# deadline exceeded" when a duration -fuzztime expires on a loaded machine
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
set -euo pipefail
t=${1:-10000x}
cd "$(dirname "$0")/.."
# Targets are found in the test sources, not with go test -list, which
# links every package's test binary only to list it (1 min 54 s of
# make test).
go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
  for target in $(cat "$dir"/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' | sort -u); do
    echo "fuzz $pkg $target ($t)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" -fuzzminimizetime 0s "$pkg" >/tmp/fuzz-smoke.$$ 2>&1 || { cat /tmp/fuzz-smoke.$$; rm -f /tmp/fuzz-smoke.$$; exit 1; }
  done
done
rm -f /tmp/fuzz-smoke.$$
