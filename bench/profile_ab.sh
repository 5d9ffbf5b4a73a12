#!/usr/bin/env bash
# Same-run A/B of two builds of one spec, pipeline by pipeline (bench/profile_ab.c).
#   bench/profile_ab.sh SPEC "A FLAGS" "B FLAGS" [RUNS] [THREADS]
# FLAGS are extra `shufflec compile` flags, e.g. "--schedule my.json" or "".
#   SHUFFLEC_AB_TARGET=x86-64-linux compiles both for that target (default host);
#   SHUFFLEC_A_TARGET overrides it for build a (two targets of one machine).
#   SHUFFLEC_A=path/to/shufflec overrides the compiler for build a (compare two
#   compiler versions with the same flags; both run on build b's runtime).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spec=$1; flags_a=$2; flags_b=$3; runs=${4:-300}; threads=${5:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
shufflec_b="$root/build/compiler/shufflec"
shufflec_a=${SHUFFLEC_A:-$shufflec_b}
# shellcheck disable=SC2086
"$shufflec_a" compile "$spec" --random-weights 1 --target "${SHUFFLEC_A_TARGET:-${SHUFFLEC_AB_TARGET:-host}}" --name a -o "$out/a" --profile --emit obj $flags_a | head -n 1
# shellcheck disable=SC2086
"$shufflec_b" compile "$spec" --random-weights 1 --target "${SHUFFLEC_AB_TARGET:-host}" --name b -o "$out/b" --profile --emit obj $flags_b | head -n 1
cc -O2 -I"$out/a" -I"$out/b" "$root/bench/profile_ab.c" "$out/a/a.o" "$out/b/b.o" "$out"/b/shufflec_runtime_*.o \
    -lpthread -lm -o "$out/profile_ab"
"$out/profile_ab" "$runs" "$threads"
