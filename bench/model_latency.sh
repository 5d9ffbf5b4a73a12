#!/usr/bin/env bash
# Compile time, library size and latency of one spec on this machine: a thin
# wrapper over `shufflec compile` and `shufflec bench` (which see for options).
#   bench/model_latency.sh SPEC [TARGET] [RUNS] [extra shufflec compile flags...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spec=$1; target=${2:-x86-64-linux}; runs=${3:-200}; shift $(( $# < 3 ? $# : 3 ))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$root/build/compiler/shufflec" compile "$spec" --random-weights 1 --target "$target" --name bench -o "$out" --quiet "$@"
echo "library: $(stat -c %s "$out/bench.a") bytes"
"$root/build/compiler/shufflec" bench "$out" --runs "$runs" --threads 1,2
