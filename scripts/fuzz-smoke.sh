#!/usr/bin/env bash
# Run every Fuzz target in the module for a short time (default 3s each),
# seeded by its f.Add corpus and testdata/fuzz. Minimisation is off: with it
# on, go test -fuzz can stall on large seeds.
set -euo pipefail
t=${1:-3s}
cd "$(dirname "$0")/.."
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($t)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" -fuzzminimizetime 0s "$pkg" >/tmp/fuzz-smoke.$$ 2>&1 || { cat /tmp/fuzz-smoke.$$; rm -f /tmp/fuzz-smoke.$$; exit 1; }
  done
done
rm -f /tmp/fuzz-smoke.$$
