#!/usr/bin/env bash
# The hot paths against the fixed baseline, with bars: bookings/s and 100-row listings/s of this
# checkout over those of roombook v1 (commit 4916ae1, built once and cached), interleaved round by
# round in one session by the shared harness (../shared/bench/vs-baseline.sh). Prints each ratio
# beside its bar and fails loudly (exit 1, "BELOW THE BAR") when a median is under it, so a
# feature cannot quietly tax booking or listing again: small losses that each look like noise
# against the commit before add up (v2 lost 29% of booking speed that way).
#
#   benches/vs-v1.sh [-r ROUNDS] [-d SECONDS]        # defaults: 5 rounds of 8 s per workload
#   BOOK_BAR=1.0 LIST_BAR=1.0 benches/vs-v1.sh        # the bars (defaults: 1.0, v1's speed)
#
# About 6 minutes, plus about 4 for the baseline's first build. Not part of CI: a timing is not a
# test on these shared machines; run it before landing anything that touches a hot path.
set -euo pipefail
cd "$(dirname "$0")/.."
harness=../shared/bench/vs-baseline.sh
[[ -x "$harness" ]] || { echo "the shared harness is not at $harness" >&2; exit 2; }
BOOK_BAR="${BOOK_BAR:-1.0}"
LIST_BAR="${LIST_BAR:-1.0}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$harness" -w book,list "$@" | tee "$log"

status=0
for workload in book list; do
  bar=$([[ $workload == book ]] && echo "$BOOK_BAR" || echo "$LIST_BAR")
  ratio=$(sed -n "s/^vs-baseline $workload: now\/[0-9a-f]* median \([0-9.]*\).*/\1/p" "$log")
  if [[ -z "$ratio" ]]; then
    echo "vs-v1: no median for $workload in the harness's output" >&2
    status=1
  elif python3 -c "import sys; sys.exit(0 if float('$ratio') >= float('$bar') else 1)"; then
    echo "vs-v1: $workload ${ratio}x v1 (bar ${bar}x): ok"
  else
    echo "vs-v1: $workload ${ratio}x v1 (bar ${bar}x): BELOW THE BAR"
    status=1
  fi
done
exit "$status"
