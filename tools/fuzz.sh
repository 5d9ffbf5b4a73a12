#!/usr/bin/env bash
# Fuzzes shufflec's input readers with libFuzzer under ASan + UBSan.
#   tools/fuzz.sh [TARGET|all] [SECONDS]
# TARGET: spec, safetensors, npy, onnx, schedule, weights_loader (default all);
# SECONDS per target (default 60). Builds build-san/ (tools/sanitize.sh), seeds a
# work corpus in build-san/fuzz/<target>/ from tests/fuzz/corpus/<target>/ and the
# regression inputs, and runs the harness. A crash is copied into
# tests/fuzz/regressions/<target>/ (commit it: every build's CTest replays it) and
# the script exits 1. Prints executions, coverage and corpus size per target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
which=${1:-all}
seconds=${2:-60}
all=(spec safetensors npy onnx schedule weights_loader)
if [ "$which" = all ]; then targets=("${all[@]}"); else targets=("$which"); fi
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (${all[*]})" >&2; exit 2; }
done
"$root/tools/sanitize.sh" --build-only > /dev/null
build="$root/build-san"
status=0
printf '%-15s %12s %10s %8s %8s  %s\n' target executions exec/s cov corpus result
for t in "${targets[@]}"; do
    work="$build/fuzz/$t"
    crashes="$build/fuzz/crashes-$t"
    mkdir -p "$work" "$crashes"
    cp -n "$root/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
    find "$root/tests/fuzz/regressions/$t" -type f ! -name README -exec cp -n {} "$work/" \; 2>/dev/null || true
    log="$build/fuzz/$t.log"
    set +e
    ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz_$t" "$work" -max_total_time="$seconds" -max_len=16384 \
        -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$crashes/" > "$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
    result=ok
    if [ "$rc" -ne 0 ]; then
        result="FAILED (exit $rc, log $log)"
        status=1
        for f in "$crashes"/*; do
            [ -f "$f" ] || continue
            cp "$f" "$root/tests/fuzz/regressions/$t/"
            result="$result; regression input tests/fuzz/regressions/$t/$(basename "$f")"
        done
    fi
    printf '%-15s %12s %10s %8s %8s  %s\n' "$t" "${runs:-0}" "${speed:-0}" "${cov:-0}" "${corp:-0}" "$result"
done
exit $status
