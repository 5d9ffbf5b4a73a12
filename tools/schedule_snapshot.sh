#!/bin/bash
# The refactoring oracle of issue 20: what the scheduler and the tuner's
# search space say about five models on three targets, as text files to diff.
#
#   tools/schedule_snapshot.sh SHUFFLEC OUT_DIR
#
# Writes OUT_DIR/<model>.<target>.schedule (compile --print-schedule, its
# first line, which names the schedule file, dropped) and .space (tune
# --print-space) for ShuffleNet V1 1x g3, 1x g8, 2x g3, torchvision's
# ShuffleNet V2 1.0x and MobileNet V2 (exported and imported here, random
# weights: neither output depends on weight values). Compare two trees with
# `diff -r BEFORE AFTER`.
set -euo pipefail
shufflec=$(realpath "$1")
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$root/tools/torchvision_golden.py" mobilenet_v2 -o "$tmp/mnv2" --onnx "$tmp/mnv2/m.onnx" --opset 13 >/dev/null
"$shufflec" import-onnx "$tmp/mnv2/m.onnx" -o "$tmp" --name mobilenet_v2 --quiet
specs=("$root/specs/shufflenet_v1_g3_1.0x.json" "$root/specs/shufflenet_v1_g8_1.0x.json"
       "$root/specs/shufflenet_v1_g3_2.0x.json" "$root/specs/shufflenet_v2_x1.0.json" "$tmp/mobilenet_v2.json")
for spec in "${specs[@]}"; do
    name=$(basename "$spec" .json)
    for target in x86-64-linux x86-64-linux-avx512 arm-64-linux; do
        "$shufflec" compile "$spec" --random-weights 1 --target "$target" --print-schedule | tail -n +2 \
            > "$out/$name.$target.schedule"
        "$shufflec" tune "$spec" --target "$target" --print-space > "$out/$name.$target.space"
    done
done
echo "wrote $(ls "$out" | wc -l) files to $out"
