#!/usr/bin/env bash
# Builds the previous release (the commit in release/previous) once, from this clone's history,
# and prints the path of its binary. It shares target/ with this build: only what differs is
# compiled, and the next `cargo build` of this tree puts this tree's binary back in
# target/debug (cargo re-links a target whose output is not its own).
set -euo pipefail
cd "$(dirname "$0")/.."
read -r version commit < <(grep -v '^#' release/previous)
out=target/previous-release/$version-${commit:0:12}
if [ ! -x "$out/roombook" ]; then
  echo "== building the previous release $version ($commit)" >&2
  rm -rf "$out"
  mkdir -p "$out/src"
  git archive "$commit" | tar -x -C "$out/src"
  cargo build --quiet --locked --manifest-path "$out/src/Cargo.toml" --target-dir target --bin roombook
  cp target/debug/roombook "$out/roombook"
  rm -rf "$out/src"
fi
echo "$PWD/$out/roombook"
