#!/usr/bin/env bash
# Sets up a fresh machine, builds shufflec and runs every test (CTest).
#   tools/test.sh [extra ctest arguments, e.g. -L unit: then only those tests]
# The sanitizer build and fuzzing are tools/deep_checks.sh (CI runs both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh" --peers  # with ONNX Runtime (npm): the onnx_export test runs it
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSHUFFLEC_WERROR=ON > /dev/null
ninja -C "$root/build"
# Tests in parallel, one per core: most alternate single-threaded phases
# (Python, the reference interpreter, qemu) with two-process compiles.
(cd "$root/build" && ctest --output-on-failure -j "$(nproc)" "$@")
