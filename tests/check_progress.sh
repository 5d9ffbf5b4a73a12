#!/usr/bin/env bash
# `compile` shows one updating "[k/n] ... ETA" line on a terminal (a pty made by
# `script`), and nothing of it when stderr is not a terminal or with --quiet.
#   tests/check_progress.sh SHUFFLEC_BINARY
set -euo pipefail
shufflec=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.json" <<'JSON'
{"format": "shufflec-spec/1", "name": "tiny", "input": {"shape": [1, 3, 40, 48]},
 "family": {"name": "shufflenet_v1", "groups": 3, "scale": 0.5, "stage_repeats": [2, 2, 1], "num_classes": 10}}
JSON
cmd="$shufflec compile $tmp/tiny.json --random-weights 1 --target x86-64-linux -o $tmp/out"
script -qec "$cmd" /dev/null > "$tmp/tty.log"
updates=$(tr '\r' '\n' < "$tmp/tty.log" | grep -c '^.\[K\[[0-9]*/10\] compile tiny' || true)
[ "$updates" -eq 10 ] || { echo "FAIL: $updates progress updates on a terminal, want 10 (7 pipelines + 3 steps)"; cat -v "$tmp/tty.log"; exit 1; }
grep -q "ETA" "$tmp/tty.log" || { echo "FAIL: no ETA"; exit 1; }
$cmd > "$tmp/pipe.log" 2>&1
! grep -q '\[1/10\]' "$tmp/pipe.log" || { echo "FAIL: progress printed into a pipe"; exit 1; }
script -qec "$cmd --quiet" /dev/null > "$tmp/quiet.log"
[ ! -s "$tmp/quiet.log" ] || { echo "FAIL: --quiet printed:"; cat -v "$tmp/quiet.log"; exit 1; }
echo "ok: $updates progress updates on a terminal, none in a pipe or with --quiet"

# tune: every phase on the line with the time left for the whole run: the
# defaults, the search (trials counted), the model-wide group paddings.
defaults=$("$shufflec" tune --print-space "$tmp/tiny.json" --target x86-64-linux | grep -c '^unit .*(workload')
script -qec "$shufflec tune $tmp/tiny.json --random-weights 1 --target x86-64-linux --trials $((defaults + 3)) \
    --padding-rounds 1 --log $tmp/tune.jsonl -o $tmp/tune.json" /dev/null > "$tmp/tune.log"
lines=$(tr '\r' '\n' < "$tmp/tune.log" | sed 's/\x1b\[K//g')
for phase in "\[defaults 1/$defaults\] tune tiny compiling" "\[$((defaults + 3))/$((defaults + 3)) trials\] tune tiny .* ETA" \
             "\[padding 1/2\] tune tiny group padding .* ETA"; do
    grep -q "$phase" <<< "$lines" || { echo "FAIL: no tune progress line matching '$phase':"; cat -v "$tmp/tune.log"; exit 1; }
done
echo "ok: tune shows each phase with the time left"
