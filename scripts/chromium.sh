#!/usr/bin/env bash
# Install Debian's Chromium for the UI's browser tests (internal/ui's
# TestBrowser drives it over the DevTools protocol) and poppler-utils,
# whose pdftotext reads the PDFs the tests check (the printed page, the
# server's case report: internal/pdf/pdftest). Needs root and the Debian
# archive; the tests skip with a message naming this script when Chromium
# or pdftotext is absent.
#
#   scripts/chromium.sh install   # apt-get install chromium poppler-utils (no-op when both are present)
#   scripts/chromium.sh path      # print the binary the tests use
set -euo pipefail
case "${1:-}" in
install)
  if command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then
    command -v chromium
    exit 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "chromium or pdftotext: not installed, and installing them needs root (apt-get install chromium poppler-utils)" >&2
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
