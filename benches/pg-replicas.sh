#!/usr/bin/env bash
# Bookings/s and 100-row listings/s through one replica and through two, on one PostgreSQL, in
# one run. Prints one JSON line per figure.
#
#   ROOMBOOK_BIN=target/release/roombook LOADGEN=/path/to/bench/loadgen/target/release/loadgen \
#     benches/pg-replicas.sh [SECONDS]
#
# LOADGEN is the shared harness's load generator (../shared/bench/loadgen, `cargo build
# --release` there). A throwaway cluster (pg_virtualenv, as ../shared/bench/pg-ratio.sh uses):
# its postmaster, its backends and the replicas on CPU 0, the load on CPU 1, 32 connections in
# all (split evenly over the replicas), each replica with --db-pool-size 4.
set -euo pipefail
D="${1:-8}"
[[ -x "${ROOMBOOK_BIN:-}" && -x "${LOADGEN:-}" ]] || { echo "set ROOMBOOK_BIN and LOADGEN" >&2; exit 2; }
if [[ -z "${INSIDE:-}" ]]; then
  exec env INSIDE=1 pg_virtualenv -t -o max_connections=300 -o shared_buffers=256MB "$0" "$D"
fi
datadir=$(psql -Atqc 'show data_directory')
pm=$(head -1 "$datadir/postmaster.pid")
pin() { for p in "$pm" $(pgrep -P "$pm"); do taskset -p -c 0 "$p" >/dev/null; done; }
pin
url() { echo "postgres://$PGUSER:$PGPASSWORD@127.0.0.1:$PGPORT/$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() { # mode replicas
  local mode=$1 n=$2 db="bench_${1}_$2" pids=() ports=() out=()
  psql -q -c "CREATE DATABASE $db"
  for _ in $(seq "$n"); do
    local port; port=$(free_port)
    taskset -c 0 "$ROOMBOOK_BIN" --addr "127.0.0.1:$port" --database "$(url "$db")" --db-pool-size 4 >/dev/null 2>&1 &
    pids+=($!); ports+=("$port")
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  done
  pin
  local tmp; tmp=$(mktemp -d)
  for i in "${!ports[@]}"; do
    taskset -c 1 "$LOADGEN" "$mode" --target graphql --url "http://127.0.0.1:${ports[$i]}/graphql" \
      -c $((32 / n)) --duration "$D" >"$tmp/$i.json" 2>/dev/null &
    out+=($!)
  done
  wait "${out[@]}"
  kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  python3 - "$mode" "$n" "$tmp"/*.json <<'PY'
import json, sys
mode, n, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows = [json.loads(open(f).read().strip().splitlines()[-1]) for f in files]
print(json.dumps({"mode": mode, "replicas": n, "ok_rps": round(sum(r["ok_rps"] for r in rows), 1),
                  "errors": [r.get("errors") for r in rows], "p99_ms": max(r["p99_ms"] for r in rows)}))
PY
}
for mode in book list; do
  run "$mode" 1
  run "$mode" 2
done
