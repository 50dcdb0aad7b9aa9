#!/usr/bin/env bash
# Install Debian's Chromium for the UI's browser tests (internal/ui's
# TestBrowser drives it over the DevTools protocol). Needs root and the
# Debian archive; the tests skip with a message naming this script when
# Chromium is absent.
#
#   scripts/chromium.sh install   # apt-get install chromium (no-op when present)
#   scripts/chromium.sh path      # print the binary the tests use
set -euo pipefail
case "${1:-}" in
install)
  if command -v chromium >/dev/null 2>&1; then
    command -v chromium
    exit 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "chromium: not installed, and installing it needs root (apt-get install chromium)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core poppler-utils >/dev/null
  command -v chromium
  ;;
path)
  command -v chromium
  ;;
*)
  echo "usage: $0 install | path" >&2
  exit 2
  ;;
esac
