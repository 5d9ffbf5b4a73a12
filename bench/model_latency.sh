#!/usr/bin/env bash
# Compile time, object size and run latency of one spec on this machine.
#   bench/model_latency.sh SPEC [TARGET] [RUNS] [extra shufflec compile flags...]
# Prints the compile time reported by shufflec, the library size, then the
# median latency at 1 and 2 threads (bench/latency.c).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spec=$1; target=${2:-x86-64-linux}; runs=${3:-200}; shift $(( $# < 3 ? $# : 3 ))
shufflec=$root/build/compiler/shufflec
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$shufflec" compile "$spec" --random-weights 1 --target "$target" --name bench -o "$out" "$@" | head -n 1
echo "library: $(stat -c %s "$out/bench.a") bytes (weights $(grep -o 'WEIGHTS_BYTES [0-9]*' "$out/bench.h" | cut -d' ' -f2) bytes)"
cc -O2 -I"$out" -DMODEL=bench -DMODEL_UPPER=BENCH '-DMODEL_HEADER="bench.h"' "$root/bench/latency.c" "$out/bench.a" \
   -lpthread -lm -o "$out/latency"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
"$out/latency" "$runs" 1 2
