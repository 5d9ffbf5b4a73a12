#!/usr/bin/env bash
# Sets up a fresh machine, builds shufflec and runs every test (CTest), then the
# sanitizer build of the fast tests and a short fuzzing run.
#   tools/test.sh [extra ctest arguments, e.g. -L unit: then only those tests]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSHUFFLEC_WERROR=ON > /dev/null
ninja -C "$root/build"
# Tests in parallel, one per core: most alternate single-threaded phases
# (Python, the reference interpreter, qemu) with two-process compiles.
(cd "$root/build" && ctest --output-on-failure -j "$(nproc)" "$@")
# With no ctest arguments: also the sanitizer build (ASan + UBSan) of the fast
# tests and a short fuzzing run of every harness (tools/fuzz.sh for longer runs).
if [ $# -eq 0 ]; then
    "$root/tools/sanitize.sh"
    "$root/tools/fuzz.sh" all 15
fi
