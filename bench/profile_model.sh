#!/usr/bin/env bash
# Per-pipeline profile of one spec on this machine (compiled with --profile).
#   bench/profile_model.sh SPEC [TARGET] [THREADS] [extra shufflec compile flags...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spec=$1; target=${2:-x86-64-linux}; threads=${3:-1}; shift $(( $# < 3 ? $# : 3 ))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$root/build/compiler/shufflec" compile "$spec" --random-weights 1 --target "$target" --name prof -o "$out" --profile "$@" | head -n 1
cc -O2 -I"$out" -DMODEL=prof -DMODEL_UPPER=PROF '-DMODEL_HEADER="prof.h"' "$root/bench/profile.c" "$out/prof.a" -lpthread -lm -o "$out/profile"
"$out/profile" 200 "$threads"
