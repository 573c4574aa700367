#!/usr/bin/env bash
# The whole proof, on every backend: README's test command, and what CI runs.
#
# 1. `cargo test`: unit, schema-snapshot and the integration suite on SQLite (in memory).
# 2. The integration suite again on PostgreSQL (ROOMBOOK_TEST_BACKEND=postgres), plus the
#    PostgreSQL-only tests (replicas as real processes, the log reader's gap handling, outages),
#    in a throwaway cluster that Debian's pg_virtualenv starts on a free loopback port as an
#    unprivileged user and removes afterwards. PostgreSQL is installed first when missing.
#
# Arguments go to both test runs, e.g. `scripts/test.sh resume` for the tests named so.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (SQLite)"
cargo test "$@"

echo "== cargo test --test api (PostgreSQL)"
scripts/install-postgres.sh
cargo build --tests --quiet
# max_connections: each test server keeps a small pool, and the replica tests run three.
pg_virtualenv -t -o max_connections=300 env ROOMBOOK_TEST_BACKEND=postgres \
  cargo test --test api "$@" -- --include-ignored
