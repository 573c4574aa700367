#!/usr/bin/env bash
# Installs Debian's PostgreSQL (server, contrib for btree_gist, and postgresql-common's
# pg_virtualenv) for the PostgreSQL half of the tests, when it is not there yet.
set -euo pipefail
if command -v pg_virtualenv >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq postgresql postgresql-contrib postgresql-common >/dev/null
ls /usr/lib/postgresql/*/bin/postgres
