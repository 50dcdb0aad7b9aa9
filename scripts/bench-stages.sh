#!/bin/sh
# bench-stages.sh SLEUTH RESULTS SCALE...: every stage from scratch on a
# simulated chain of each scale (sleuth sim --seed 1 --scale SCALE, about
# SCALE × 10,000 transactions), each stage's JSON result written to
# RESULTS/SCALE-STAGE.json, then the projection to mainnet fitted to all of
# them (sleuth bench project). Chains and stores go under gen/stages
# (git-ignored); a chain already there is reused, a store is rebuilt.
# Issue 15 items 3 and 5; docs/BENCHMARKS.md records its runs.
set -eu
sleuth=$1 results=$2
shift 2
[ $# -ge 3 ] || { echo "bench-stages.sh: give three scales or more (a projection needs three chain sizes)" >&2; exit 2; }
mkdir -p "$results" gen/stages
for scale in "$@"; do
	chain=gen/stages/sim-$scale db=gen/stages/db-$scale
	[ -f "$chain/public/tagpack.yaml" ] || "$sleuth" sim --out "$chain" --seed 1 --scale "$scale" >/dev/null
	rm -rf "$db"
	echo "scale $scale: ingest, cluster, exposure, import, screen" >&2
	"$sleuth" bench ingest --blocks "$chain/blocks" --db "$db" --json > "$results/$scale-ingest.json"
	"$sleuth" bench cluster --db "$db" --json > "$results/$scale-cluster.json"
	"$sleuth" bench exposure --db "$db" --json > "$results/$scale-exposure.json"
	"$sleuth" bench import --db "$db" --json "$chain/public/tagpack.yaml" > "$results/$scale-import.json"
	"$sleuth" bench screen --db "$db" --passes 2 --json > "$results/$scale-screen.json"
done
"$sleuth" bench project "$results"/*.json
