#!/usr/bin/env bash
# Sets up a fresh machine, builds shufflec and runs every test (CTest).
#   tools/test.sh [extra ctest arguments, e.g. -L unit]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSHUFFLEC_WERROR=ON > /dev/null
ninja -C "$root/build"
cd "$root/build"
ctest --output-on-failure "$@"
