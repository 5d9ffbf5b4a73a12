#!/usr/bin/env bash
# int8 against fp32, same run: per-pipeline times of both builds alternating
# (bench/profile_ab.sh) at 1 and 2 threads on the AVX2 build and on `host`, and
# on ARM the exact instruction counts and modeled cycles under qemu (--count).
#   bench/int8_speed.sh SPEC [RUNS]
# Weights: --random-weights 1; the int8 scales are calibrated on 4 random inputs
# (speed does not depend on the values).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
spec=$1; runs=${2:-200}
shufflec="$root/build/compiler/shufflec"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
shape=$("$shufflec" info "$spec" --json | /usr/bin/python3 -c 'import json, sys; print(*json.load(sys.stdin)["input"])')
/usr/bin/python3 - "$out/calibration.npy" $shape <<'PY'
import sys
import numpy as np
n, c, h, w = map(int, sys.argv[2:])
np.save(sys.argv[1], np.random.default_rng(1).standard_normal((4, c, h, w)).astype(np.float32))
PY
"$shufflec" quantize "$spec" --random-weights 1 --calibration "$out/calibration.npy" -o "$out/q.json" --quiet
int8="--precision int8 --quantization $out/q.json"
for target in x86-64-linux host; do
    for threads in 1 2; do
        echo "== $target, $threads thread(s): a = fp32, b = int8"
        SHUFFLEC_AB_TARGET=$target "$root/bench/profile_ab.sh" "$spec" "" "$int8" "$runs" "$threads" | tail -n 3
    done
done
for target in arm-64-linux arm-64-linux-arm_dot_prod; do
    for precision in fp32 int8; do
        flags=""
        [ "$precision" = int8 ] && flags=$int8
        echo "== $target $precision: instructions per inference under qemu"
        # shellcheck disable=SC2086
        "$shufflec" bench "$spec" --random-weights 1 --target "$target" --runner qemu --count $flags |
            grep -E "^  (instructions|fmla|sdot|mul/mla|useful|cortex-a55|neoverse-n1)"
    done
done
