#!/usr/bin/env bash
# `shufflec tune` end to end on a tiny model (a few trials each; timings are
# not checked, the machinery is):
#   --print-space lists knobs with legal values and defaults
#   crash, hang and wrong-output candidates (injected with $SHUFFLEC_TUNE_FAULTS)
#     are logged as failed and the run goes on
#   kill -9 in the middle of a run, then --resume: no trial measured twice, the
#     requested count completed, the torn last line (if any) skipped, the
#     killed run's work folder removed by the next run
#   --report and --plot; the group paddings measured on the whole model; the
#     whole-model confirmation writes a schedule file (by default in the user's
#     folder, which compile reads)
#   compile --tuning-log applies a non-default record, and the tuned model's
#     outputs equal the default's (Python wrapper, max difference <= 1e-5 relative)
#   int8: 8-bit tensors and outputs checked as integers; its own workload keys
#   the qemu runner (aarch64 programs under qemu-aarch64, costed by modeled
#     cycles from exact counts: the same in two runs) and the ssh runner (a
#     real sshd on 127.0.0.1)
#   tests/check_tune.sh SHUFFLEC_BINARY
set -euo pipefail
shufflec=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
sshd_pid=""
tune_pid=""
cleanup() {
    [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
    [ -n "$tune_pid" ] && kill -9 "$tune_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
spec="$src/tests/tiny_shufflenet_v1.json"  # 3 stages of 2, 2, 1 units at 40x48: compiles in seconds
fail() { echo "FAIL: $*"; exit 1; }
tune() { "$shufflec" tune "$spec" --random-weights 1 --target x86-64-linux --quiet "$@"; }

# The space.
"$shufflec" tune --print-space "$spec" --target x86-64-linux > "$tmp/space.txt"
grep -q "tile_x {1, 2" "$tmp/space.txt" || fail "no tile_x knob in: $(head -20 "$tmp/space.txt")"
grep -q "group_padding {4, 8\*, 16}" "$tmp/space.txt" || fail "group padding is not the AVX2 vector by default"
grep -q "same workload as stage3.0" "$tmp/space.txt" && fail "a stride-2 and a stride-1 unit share a workload"
grep -q "unit stage2.1: same workload" "$tmp/space.txt" && fail "stage2.1 cannot share stage2.0's workload"
echo "ok: --print-space ($(grep -c '^unit' "$tmp/space.txt") units)"

# Faults: the default trials come first (one per workload), then these.
defaults=$(grep -c '^unit .*(workload' "$tmp/space.txt")
crash=$defaults; hang=$((defaults + 1)); wrong=$((defaults + 2))
SHUFFLEC_TUNE_FAULTS="crash:$crash,hang:$hang,wrong:$wrong" tune --trials $((defaults + 5)) --run-timeout 8 \
    --log "$tmp/faults.jsonl" -o "$tmp/faults.json" --no-confirm > "$tmp/faults.out"
/usr/bin/python3 - "$tmp/faults.jsonl" "$crash" "$hang" "$wrong" "$((defaults + 5))" <<'PY'
import json, sys
records = [r for r in map(json.loads, open(sys.argv[1])) if not r.get("check")]  # trials only
crash, hang, wrong, total = map(int, sys.argv[2:])
status = {r["trial"]: r["status"] for r in records}
assert len(records) == total, (len(records), total)
assert status[crash] == "crashed" and status[hang] == "timeout" and status[wrong] == "wrong_output", status
assert all(s == "ok" for t, s in status.items() if t not in (crash, hang, wrong)), status
for r in records:
    for field in ("workload", "config", "target", "threads", "cpu", "version", "search", "session"):
        assert field in r, (field, r)
    if r["status"] == "ok":
        assert r["median_ms"] > 0 and r["min_ms"] <= r["median_ms"] and r["est_ms"] > 0 and r["max_rel_diff"] <= 1e-5, r
print("ok: crash, hang and wrong output logged as failed; the run went on (%d trials)" % total)
PY
[ -f "$tmp/faults.json" ] || fail "no schedule file written"

# kill -9 in the middle, then --resume.
total=$((defaults + 14))
"$shufflec" tune "$spec" --random-weights 1 --target x86-64-linux --quiet --trials $total --log "$tmp/resume.jsonl" \
    -o "$tmp/resume.json" --no-confirm > /dev/null 2>&1 &
tune_pid=$!  # shufflec itself (not a subshell): kill -9 hits the tuner
for _ in $(seq 600); do
    [ -f "$tmp/resume.jsonl" ] && [ "$(wc -l < "$tmp/resume.jsonl")" -ge $((defaults + 3)) ] && break
    sleep 0.1
done
killed=$tune_pid
kill -9 "$tune_pid"; wait "$tune_pid" 2>/dev/null || true; tune_pid=""
stale=$(ls -d "${TMPDIR:-/tmp}/shufflec-tune-$killed-"* 2>/dev/null | head -n 1)
[ -n "$stale" ] || fail "the killed run left no work folder naming it (expected ${TMPDIR:-/tmp}/shufflec-tune-$killed-*)"
stale_runner=$(ls -d "${TMPDIR:-/tmp}/shufflec-runner-$killed-"* 2>/dev/null | head -n 1)
[ -n "$stale_runner" ] || fail "the killed run left no runner folder naming it"
before=$(wc -l < "$tmp/resume.jsonl")
[ "$before" -lt "$total" ] || fail "the run finished before it was killed"
sleep 1
pgrep -f "unit_bench_t[0-9]* layout_" > /dev/null && fail "a measuring program outlived the killed tune"
tune --trials $total --log "$tmp/resume.jsonl" -o "$tmp/resume.json" --no-confirm --resume > "$tmp/resume.out"
[ -e "$stale" ] && fail "the next run did not remove the killed run's work folder $stale"
[ -e "$stale_runner" ] && fail "the next run did not remove the killed run's runner folder $stale_runner"
/usr/bin/python3 - "$tmp/resume.jsonl" "$total" "$before" <<'PY'
import json, sys
total, before = int(sys.argv[2]), int(sys.argv[3])
records = [r for r in map(json.loads, open(sys.argv[1])) if not r.get("check")]  # trials only
keys = [(r["workload"], json.dumps(r["config"], sort_keys=True)) for r in records]
assert len(records) == total, (len(records), total)
assert len(set(keys)) == total, "a config was measured twice"
assert len({r["trial"] for r in records}) == total, "trial numbers repeat"
assert len({r["session"] for r in records}) == 1, "the resumed run started a new session"
assert sum(r["default"] for r in records) == len({r["workload"] for r in records}), "a default was measured again"
print("ok: killed after %d of %d trials, resumed without measuring any again" % (before, total))
PY

# Report and plot.
"$shufflec" tune --report "$tmp/resume.jsonl" --plot "$tmp/plot.svg" > "$tmp/report.txt"
grep -q "stage3.1" "$tmp/report.txt" || fail "report: $(cat "$tmp/report.txt")"
grep -q "% peak" "$tmp/report.txt" || fail "report without the share of the peak"
grep -q "<polyline" "$tmp/plot.svg" || fail "the plot has no line"
echo "ok: --report and --plot"

# compile --tuning-log: a non-default record made the best (its est_ms halved),
# applied by workload; outputs equal the default compile's.
/usr/bin/python3 - "$tmp/resume.jsonl" "$tmp/forced.jsonl" <<'PY'
import json, sys
records = [r for r in map(json.loads, open(sys.argv[1])) if not r.get("check")]  # trials only
pick = next(r for r in records if r["status"] == "ok" and not r["default"])
default = next(r for r in records if r["default"] and r["workload"] == pick["workload"])
pick["est_ms"] = default["est_ms"] * 0.5
with open(sys.argv[2], "w") as f:
    for r in records:
        f.write(json.dumps(r) + "\n")
# The pick's workload alone, with a final check that found the pick not faster: the check decides.
check = {k: pick[k] for k in ("format", "session", "model", "unit", "workload", "config", "target", "threads")}
check.update({"check": True, "status": "not_faster", "ratio_to_default": 1.02})
with open(sys.argv[2].replace(".jsonl", "_checked.jsonl"), "w") as f:
    for r in [r for r in records if r["workload"] == pick["workload"]] + [check]:
        f.write(json.dumps(r) + "\n")
PY
"$shufflec" compile "$spec" --random-weights 1 --target x86-64-linux --emit so --name plain -o "$tmp/plain" --quiet
"$shufflec" compile "$spec" --random-weights 1 --target x86-64-linux --emit so --name tuned -o "$tmp/tuned" \
    --tuning-log "$tmp/forced.jsonl" > "$tmp/compile.out"
grep -Eq "forced.jsonl \(([1-9][0-9]*) pipelines?\)" "$tmp/compile.out" || fail "no pipeline took the log's record: $(cat "$tmp/compile.out")"
"$shufflec" compile "$spec" --random-weights 1 --target x86-64-linux --print-schedule --tuning-log "$tmp/forced_checked.jsonl" \
    | grep -q "forced_checked.jsonl (0 pipelines)" || fail "a record whose final check failed was applied"
PYTHONPATH="$src/runtime/python" /usr/bin/python3 - "$tmp" <<'PY'
import sys
import numpy as np
import shufflec
tmp = sys.argv[1]
plain, tuned = shufflec.load(tmp + "/plain/plain.so"), shufflec.load(tmp + "/tuned/tuned.so")
x = np.random.default_rng(0).standard_normal((1, 3, 40, 48)).astype(np.float32)
a, b = plain(x), tuned(x)
err = np.abs(a - b).max() / np.abs(a).max()
assert err <= 1e-5, err
print("ok: compile --tuning-log applies the record; outputs equal the default's (max rel diff %.2g)" % err)
PY

# Whole-model confirmation writes a schedule file either way: by default into
# the user's folder ($XDG_DATA_HOME/shufflec/schedules/<target>/<model>.json),
# which compile then reads after the project's own.
XDG_DATA_HOME="$tmp/data" tune --trials $((defaults + 2)) --log "$tmp/confirm.jsonl" > "$tmp/confirm.out"
cp "$tmp/data/shufflec/schedules/x86-64-linux/tiny.json" "$tmp/confirm.json" || fail "tune wrote no file in the user's folder"
grep -q '"format": "shufflec-schedule/1"' "$tmp/confirm.json" || fail "no schedule file after confirmation"
XDG_DATA_HOME="$tmp/data" "$shufflec" compile "$spec" --random-weights 1 --target x86-64-linux --print-schedule \
    | head -n 1 | grep -q "$tmp/data/shufflec/schedules/x86-64-linux/tiny.json" || fail "compile does not read the user's schedule"
grep -Eq "whole model|no unit beat" "$tmp/confirm.out" || fail "no confirmation: $(cat "$tmp/confirm.out")"
# The model-wide group padding: 4 and 16 each measured against AVX2's 8, logged.
for p in 4 16; do
    grep -q "^group padding 8: .* $p: " "$tmp/confirm.out" || fail "group padding $p not measured: $(cat "$tmp/confirm.out")"
    grep -q "\"config\":{\"group_padding\":$p}" "$tmp/confirm.jsonl" || fail "no log record for group padding $p"
done
"$shufflec" compile "$spec" --random-weights 1 --target x86-64-linux --schedule "$tmp/confirm.json" -o "$tmp/c" --quiet
echo "ok: whole-model confirmation and group padding; the written file compiles"

# qemu: aarch64 candidates under qemu-aarch64, costed by Neoverse-N1 cycles
# modeled by llvm-mca from exact counts (the default there): the same
# candidate costs the same in two runs; the whole-model steps are modeled too.
"$shufflec" tune "$spec" --random-weights 1 --runner qemu --trials $((defaults + 2)) --log "$tmp/qemu1.jsonl" \
    -o "$tmp/qemu1.json" --quiet > "$tmp/qemu1.out"
"$shufflec" tune "$spec" --random-weights 1 --runner qemu,qemu --trials $((defaults + 2)) --log "$tmp/qemu2.jsonl" \
    -o "$tmp/qemu2.json" --no-confirm --quiet > /dev/null
grep -q "^(times are neoverse-n1 cycles modeled" "$tmp/qemu1.out" || fail "no modeled cost: $(cat "$tmp/qemu1.out")"
grep -q "^group padding 4: .* 16: " "$tmp/qemu1.out" || fail "no modeled group padding: $(cat "$tmp/qemu1.out")"
grep -Eq "^(whole model, one inference, neoverse-n1 cycles modeled|no unit beat)" "$tmp/qemu1.out" ||
    fail "no modeled confirmation: $(cat "$tmp/qemu1.out")"
"$shufflec" tune "$spec" --random-weights 1 --runner qemu --cost time --trials 1 --log "$tmp/qemu-time.jsonl" \
    -o "$tmp/qemu-time.json" --no-confirm --quiet > /dev/null
/usr/bin/python3 - "$tmp/qemu1.jsonl" "$tmp/qemu2.jsonl" "$tmp/qemu-time.jsonl" <<'PY'
import json, sys
runs = [[r for r in map(json.loads, open(p)) if not r.get("check")] for p in sys.argv[1:3]]  # trials only
records = runs[0]
assert all(r["target"] == "arm-64-linux" and r["runner"] == "qemu" and r["cost"] == "neoverse-n1" for r in records)
assert sum(r["status"] == "ok" for r in records) >= len(records) - 1, [r["status"] for r in records]
# Deterministic: a candidate measured in both runs (the second on two qemu runners
# in parallel, each its own folder) costs the same; every default is in both.
costs = [{(r["unit"], json.dumps(r["config"])): r["median_ms"] for r in run if r["status"] == "ok"} for run in runs]
common = set(costs[0]) & set(costs[1])
assert sum(r.get("default", False) for r in records) <= len(common), (costs[0], costs[1])
assert all(costs[0][k] == costs[1][k] for k in common), (costs[0], costs[1])
ok = [r for r in records if r["status"] == "ok"]
assert all(r["min_ms"] == r["median_ms"] and r["spread"] == 0 for r in ok), ok
time_records = [r for r in map(json.loads, open(sys.argv[3]))]
assert time_records and all(r["cost"] == "time" for r in time_records), time_records
print("ok: qemu runner: %d trials of arm-64-linux candidates, modeled N1 cycles identical in two runs "
      "(one on two runners)" % len(records))
PY
if "$shufflec" tune "$spec" --random-weights 1 --target x86-64-linux --cost neoverse-n1 --trials 1 2> "$tmp/err"; then
    fail "--cost neoverse-n1 without qemu succeeded"
fi
grep -q "runner qemu" "$tmp/err" || fail "--cost without qemu: $(cat "$tmp/err")"

# ssh: a real sshd on 127.0.0.1.
source "$src/tests/sshd_fixture.sh"
runner="ssh://$(id -un)@127.0.0.1:$port/$tmp/remote"
tune --runner "$runner" --trials $((defaults + 2)) --log "$tmp/ssh.jsonl" -o "$tmp/ssh.json" --no-confirm > /dev/null
/usr/bin/python3 - "$tmp/ssh.jsonl" "$runner" <<'PY'
import json, sys
records = [r for r in map(json.loads, open(sys.argv[1])) if not r.get("check")]  # trials only
assert all(r["runner"] == sys.argv[2] for r in records)
assert all(r["status"] == "ok" for r in records), [r.get("error") for r in records]
print("ok: ssh runner: %d trials measured through sshd" % len(records))
PY
[ -f "$tmp/remote/weights.bin" ] || fail "nothing arrived in the remote folder"

# int8: the unit programs take 8-bit tensors and the weights as bytes too; a
# candidate's outputs are checked as integers (a wrong one still caught); int8
# workloads are not fp32's (other keys); the written file compiles in int8.
/usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(3).standard_normal((2, 3, 40, 48)).astype(np.float32))" \
    "$tmp/cal.npy"
"$shufflec" quantize "$spec" --random-weights 1 --calibration "$tmp/cal.npy" -o "$tmp/q.json" --quiet
int8="--precision int8 --quantization $tmp/q.json"
# shellcheck disable=SC2086
"$shufflec" tune --print-space "$spec" --target x86-64-linux $int8 > "$tmp/space8.txt"
keys() { grep -o '(workload [0-9a-f]*' "$1" | sort -u; }
[ -n "$(keys "$tmp/space8.txt")" ] || fail "int8 space without workloads: $(head -5 "$tmp/space8.txt")"
[ -z "$(comm -12 <(keys "$tmp/space.txt") <(keys "$tmp/space8.txt"))" ] || fail "int8 and fp32 workloads share keys"
defaults8=$(grep -c '^unit .*(workload' "$tmp/space8.txt")
# shellcheck disable=SC2086
SHUFFLEC_TUNE_FAULTS="wrong:$defaults8" tune $int8 --trials $((defaults8 + 3)) --log "$tmp/int8.jsonl" \
    -o "$tmp/int8.json" --no-confirm > "$tmp/int8.out"
/usr/bin/python3 - "$tmp/int8.jsonl" "$defaults8" <<'PY'
import json, sys
records = [r for r in map(json.loads, open(sys.argv[1])) if not r.get("check")]
wrong = int(sys.argv[2])
status = {r["trial"]: r["status"] for r in records}
assert status[wrong] == "wrong_output", status
assert all(s == "ok" for t, s in status.items() if t != wrong), [r.get("error") for r in records]
print("ok: int8 tune: %d trials, 8-bit outputs checked (the corrupted one caught)" % len(records))
PY
# shellcheck disable=SC2086
"$shufflec" compile "$spec" --random-weights 1 --target x86-64-linux $int8 --schedule "$tmp/int8.json" -o "$tmp/c8" \
    --quiet || fail "the int8 tune's schedule file does not compile"

# Bad arguments: one line each.
for bad in "--trials 0" "--search annealing" "--runner ftp://x" "--budget soon" "--plot x.svg" "--cost cycles" \
           "--runner qemu --cost cortex-a55 --threads 2" "--precision fp16"; do
    if tune $bad > /dev/null 2> "$tmp/err"; then fail "tune $bad succeeded"; fi
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "tune $bad: $(cat "$tmp/err")"
done
if "$shufflec" tune --report "$tmp/missing.jsonl" 2> "$tmp/err"; then fail "--report of a missing log succeeded"; fi
echo "ok: bad tune arguments are one-line errors"
