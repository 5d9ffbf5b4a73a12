#!/usr/bin/env bash
# Concurrent calls of one model: throughput and latency for 1, 2 and 4 app threads.
#   bench/concurrency.sh SPEC [TARGET] [SECONDS] [THREADS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spec=$1; target=${2:-x86-64-linux}; seconds=${3:-5}; threads=${4:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$root/build/compiler/shufflec" compile "$spec" --random-weights 1 --target "$target" --name bench -o "$out" --quiet
cc -O2 -I"$out" -I"$root/compiler/measure" -DMODEL=bench -DMODEL_UPPER=BENCH '-DMODEL_HEADER="bench.h"' "$root/bench/concurrency.c" "$out/bench.a" \
   -lpthread -lm -o "$out/concurrency"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; shufflec threads: $threads"
"$out/concurrency" "$seconds" "$threads" 1 2 4 1
