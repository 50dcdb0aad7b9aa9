#!/usr/bin/env bash
# Build a pinned btcd into the project-local gen/bin (git-ignored) and run
# it in regtest on loopback, for follow's real-node test.
#
#   scripts/btcd-regtest.sh install        # go install btcd v0.25.0 into gen/bin
#   scripts/btcd-regtest.sh start DATADIR  # start on 127.0.0.1:18556 (no TLS); prints the PID
#   scripts/btcd-regtest.sh stop DATADIR   # stop the node started there, by its PID
#
# RPC user/password: sleuth/sleuth. The node mines with `generate` to a
# fixed regtest address. Nothing listens beyond loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
BTCD_VERSION=v0.25.0
GOBIN_DIR=$PWD/gen/bin
RPC_PORT=${BTCD_RPC_PORT:-18556}
case "${1:-}" in
install)
  mkdir -p "$GOBIN_DIR"
  GOBIN=$GOBIN_DIR go install "github.com/btcsuite/btcd@$BTCD_VERSION"
  echo "$GOBIN_DIR/btcd"
  ;;
start)
  dir=${2:?datadir}
  mkdir -p "$dir"
  "$GOBIN_DIR/btcd" --regtest --datadir="$dir/data" --logdir="$dir/logs" \
    --rpcuser=sleuth --rpcpass=sleuth --notls --rpclisten="127.0.0.1:$RPC_PORT" \
    --nodnsseed --nolisten \
    --miningaddr=mfcHP2WMCVLsVZA8yrovmhMgxNFW9r98xw >"$dir/btcd.out" 2>&1 &
  echo $! >"$dir/btcd.pid"
  cat "$dir/btcd.pid"
  ;;
stop)
  dir=${2:?datadir}
  pid=$(cat "$dir/btcd.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  ;;
*)
  echo "usage: $0 install | start DATADIR | stop DATADIR" >&2
  exit 2
  ;;
esac
