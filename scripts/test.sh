#!/usr/bin/env bash
# The whole proof, on every backend: README's test command, and what CI runs.
#
# 1. `cargo test`: unit, schema-snapshot and the integration suite on SQLite (in memory).
# 2. The integration suite again on PostgreSQL (ROOMBOOK_TEST_BACKEND=postgres), plus the
#    PostgreSQL-only tests (replicas as real processes, the log reader's gap handling, outages),
#    in a throwaway cluster that Debian's pg_virtualenv starts on a free loopback port as an
#    unprivileged user and removes afterwards. PostgreSQL is installed first when missing. The
#    cluster has `ssl = on` with certificates made for the run, so those tests run over TLS.
#
# 3. On each backend, null propagation held against graphql-js over 2,000 generated documents
#    (tests/clients/nullprop.mjs; npm packages from tests/clients' lockfile).
#
# Arguments go to both test runs, e.g. `scripts/test.sh resume` for the tests named so.
set -euo pipefail
cd "$(dirname "$0")/.."

# Null propagation against graphql-js (tests/clients/nullprop.mjs), on each backend: with no
# arguments, or when they name it (`scripts/test.sh nullprop`).
nullprop=0
if [ $# -eq 0 ] || [ "$*" = nullprop ]; then nullprop=1; fi
if [ "$nullprop" = 1 ]; then npm ci --prefix tests/clients --no-audit --no-fund --silent; fi

echo "== cargo test (SQLite)"
cargo test "$@"
if [ "$nullprop" = 1 ]; then node tests/clients/nullprop.mjs target/debug/roombook; fi

echo "== cargo test --test api (PostgreSQL)"
scripts/install-postgres.sh
# The previous release, for the rolling-upgrade test (built once, then kept in target/).
previous=${ROOMBOOK_PREVIOUS_BIN:-$(scripts/previous-release.sh)}
cargo build --tests --quiet
# TLS: a CA made for this run signs the cluster's certificate (for `localhost` only) and a
# client certificate; a second CA signs nothing. tests/api/pg_tls.rs connects with each.
tls=$(mktemp -d)
trap 'rm -rf "$tls"' EXIT
scripts/make-test-certs.sh "$tls"
# max_connections: each test server keeps a small pool, and the replica tests run three.
pg_virtualenv -t -o max_connections=300 \
  -o ssl=on -o "ssl_cert_file=$tls/server.crt" -o "ssl_key_file=$tls/server.key" \
  -o "ssl_ca_file=$tls/ca.crt" \
  env ROOMBOOK_TEST_BACKEND=postgres ROOMBOOK_TEST_PG_TLS="$tls" ROOMBOOK_PREVIOUS_BIN="$previous" \
  NULLPROP="$nullprop" bash -c 'set -e
    cargo test --test api "$@" -- --include-ignored
    if [ "$NULLPROP" = 1 ]; then
      createdb nullprop
      node tests/clients/nullprop.mjs target/debug/roombook \
        "postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/nullprop"
    fi' bash "$@"
