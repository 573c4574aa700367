#!/usr/bin/env bash
# Installs Debian's Chromium for the end-to-end test (tests/e2e) when it is not there yet.
# Test tools' own browser downloads do not work here; Debian's package does.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq chromium >/dev/null
chromium --version
