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
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($t)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" -fuzzminimizetime 0s "$pkg" >/tmp/fuzz-smoke.$$ 2>&1 || { cat /tmp/fuzz-smoke.$$; rm -f /tmp/fuzz-smoke.$$; exit 1; }
  done
done
rm -f /tmp/fuzz-smoke.$$
