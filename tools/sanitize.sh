#!/usr/bin/env bash
# The sanitizer build: clang-14 with AddressSanitizer + UndefinedBehaviorSanitizer
# and libFuzzer instrumentation, in build-san/. Runs the fast tests there (unit
# tests, the bad-input corpora, the fuzz harnesses over their seed corpora and
# regression inputs); the compiled-model tests stay in the normal build (too
# slow under ASan for CI).
#   tools/sanitize.sh [--build-only]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-san"
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSHUFFLEC_SANITIZE=ON -DSHUFFLEC_FUZZ=ON -DSHUFFLEC_WERROR=ON -DSHUFFLEC_BUILD_EXAMPLES=OFF > /dev/null
targets=(shufflec unit_tests)
for t in spec safetensors npy onnx schedule weights_loader; do targets+=("fuzz_$t"); done
ninja -C "$build" "${targets[@]}"
[ "${1:-}" = "--build-only" ] && exit 0
cd "$build"
# Leaks are reported (detect_leaks), any UBSan finding is fatal (-fno-sanitize-recover).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -L 'unit|corpus'
