#!/usr/bin/env bash
# Per-unit and per-layer profile of one spec on this machine: a thin wrapper over
# `shufflec profile` (which see for --csv, --json, --plot and runners).
#   bench/profile_model.sh SPEC [TARGET] [THREADS] [extra shufflec profile flags...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spec=$1; target=${2:-x86-64-linux}; threads=${3:-1}; shift $(( $# < 3 ? $# : 3 ))
exec "$root/build/compiler/shufflec" profile "$spec" --random-weights 1 --target "$target" --threads "$threads" --runs 200 "$@"
