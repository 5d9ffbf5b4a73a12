#!/usr/bin/env bash
# The checks beside the test suite that CI also runs: the sanitizer build
# (ASan + UBSan, clang) of the fast tests, then every fuzz harness for a while.
#   tools/deep_checks.sh [SECONDS per harness, default 15]
# Longer fuzzing: tools/fuzz.sh HARNESS|all SECONDS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/sanitize.sh"
"$root/tools/fuzz.sh" all "${1:-15}"
