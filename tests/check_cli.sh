#!/usr/bin/env bash
# Command-line behaviour that is easy to break: options that need no weights,
# one error line per bad option (also with forked compile workers), target
# features, executable tools.
#   tests/check_cli.sh SHUFFLEC_BINARY
set -uo pipefail
shufflec=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
spec="$src/specs/shufflenet_v1_g3_0.5x.json"

# --print-schedule reads no weights.
out=$("$shufflec" compile "$spec" --print-schedule --target x86-64-linux 2>&1) || fail "--print-schedule without weights: $out"
echo "$out" | grep -q "stage2.0" || fail "--print-schedule printed no pipeline: $out"

# One line for one bad option, before any worker starts.
expect_one_line() {  # DESCRIPTION EXPECTED-TEXT COMMAND...
    local what=$1 want=$2; shift 2
    "$@" > /dev/null 2> "$tmp/err"
    local rc=$?
    [ "$rc" -eq 1 ] || fail "$what: exit $rc, want 1"
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$what: $(wc -l < "$tmp/err") lines: $(cat "$tmp/err")"
    grep -qF -- "$want" "$tmp/err" || fail "$what: message lacks '$want': $(cat "$tmp/err")"
}
expect_one_line "bad autoscheduler" '--autoschedule: unknown autoscheduler "Bogus"' \
    "$shufflec" compile "$spec" --random-weights 1 --autoschedule Bogus --jobs 4 -o "$tmp/out"
# Halide's autoschedulers on a unit whose conv3 reads through the shuffle's
# step tables (ARM by lane): no error, and no warning at every table read.
cat > "$tmp/unit.json" <<'JSON'
{"format": "shufflec-spec/1", "name": "unit", "input": {"shape": [1, 48, 6, 6]},
 "layers": [{"op": "shufflenet_unit", "name": "u", "out_channels": 48, "groups": 3}]}
JSON
"$shufflec" compile "$tmp/unit.json" --random-weights 1 --target arm-64-linux --autoschedule Mullapudi2016 \
    -o "$tmp/auto" --quiet 2> "$tmp/auto.txt" || fail "autoscheduled ARM unit: $(tail -3 "$tmp/auto.txt")"
grep -q "Unhandled intrinsic" "$tmp/auto.txt" && fail "autoscheduled ARM unit: $(grep -c "Unhandled intrinsic" "$tmp/auto.txt") warnings"
expect_one_line "bad target feature" 'feature "avx512_cannonlake" is not available for x86-64-linux (it takes none)' \
    "$shufflec" compile "$spec" --random-weights 1 --target x86-64-linux-avx512_cannonlake -o "$tmp/out"
expect_one_line "unknown target" 'unsupported target "mips-32-linux"' \
    "$shufflec" compile "$spec" --random-weights 1 --target mips-32-linux -o "$tmp/out"
expect_one_line "bad emit" '--emit: expected lib, obj or so' "$shufflec" compile "$spec" --emit dll -o "$tmp/out"
expect_one_line "so for android" '--emit so: only for Linux targets' \
    "$shufflec" compile "$spec" --random-weights 1 --emit so --target arm-64-android -o "$tmp/out"
[ ! -e "$tmp/out" ] || [ -z "$(ls -A "$tmp/out")" ] || fail "a failed compile wrote $(ls "$tmp/out")"

# A target with features compiles (ARM dot product and fp16 enabled for later kernels).
"$shufflec" compile "$spec" --random-weights 1 --target arm-64-linux-arm_dot_prod-arm_fp16 -o "$tmp/arm" --quiet \
    || fail "compile for arm-64-linux-arm_dot_prod-arm_fp16"
grep -q '_TARGET "arm-64-linux"' "$tmp/arm"/*.h || fail "the feature target's schedules are not arm-64-linux's"

# int8 for a target without an integer dot product says it will be slow; with one, it does not.
fashion="$src/specs/fashion_mnist/fashion_shufflenet_v1_g3"
for target in arm-64-linux arm-64-linux-arm_dot_prod; do
    "$shufflec" compile "$fashion.json" --target $target --precision int8 --quantization "$fashion.quantization.json" \
        -o "$tmp/int8-$target" > "$tmp/int8-$target.txt" || fail "int8 compile for $target"
done
grep -q "^note: int8 for arm-64-linux: no integer dot product" "$tmp/int8-arm-64-linux.txt" \
    || fail "no note on int8 without a dot product: $(cat "$tmp/int8-arm-64-linux.txt")"
grep -q "^note: int8" "$tmp/int8-arm-64-linux-arm_dot_prod.txt" && fail "a slowness note on int8 with dotprod"

# fp16: a target without half arithmetic gets a note (emulated, slow), one with it none; the
# header says the precision.
for target in arm-64-linux arm-64-linux-arm_fp16; do
    "$shufflec" compile "$fashion.json" --target $target --precision fp16 -o "$tmp/fp16-$target" \
        > "$tmp/fp16-$target.txt" || fail "fp16 compile for $target"
done
grep -q "^note: fp16 for arm-64-linux: no half-precision arithmetic" "$tmp/fp16-arm-64-linux.txt" \
    || fail "no note on fp16 without half arithmetic: $(cat "$tmp/fp16-arm-64-linux.txt")"
grep -q "^note: fp16" "$tmp/fp16-arm-64-linux-arm_fp16.txt" && fail "an emulation note on fp16 with arm_fp16"
grep -q '_PRECISION "fp16"' "$tmp/fp16-arm-64-linux-arm_fp16"/*.h || fail "the fp16 header does not say fp16"
# bf16: AVX2 has no bfloat16 dot product (a note); AVX512-BF16 runs the 1x1 convs as vdpbf16ps.
"$shufflec" compile "$fashion.json" --target x86-64-linux --precision bf16 -o "$tmp/bf16-avx2" > "$tmp/bf16-avx2.txt" \
    || fail "bf16 compile for x86-64-linux"
grep -q "^note: bf16 for x86-64-linux: no bfloat16 dot product" "$tmp/bf16-avx2.txt" \
    || fail "no note on bf16 without a dot product: $(cat "$tmp/bf16-avx2.txt")"
"$shufflec" compile "$fashion.json" --target x86-64-linux-avx512-avx512_sapphirerapids --precision bf16 --emit obj \
    -o "$tmp/bf16-spr" > "$tmp/bf16-spr.txt" || fail "bf16 compile for avx512_sapphirerapids"
grep -q "^note: bf16" "$tmp/bf16-spr.txt" && fail "a no-dot-product note on bf16 with AVX512-BF16"
dots=$(objdump -d "$tmp/bf16-spr/fashion_shufflenet_v1_g3.o" | grep -c vdpbf16ps || true)
[ "$dots" -gt 100 ] || fail "bf16 for avx512_sapphirerapids: $dots vdpbf16ps instructions"
grep -q '_PRECISION "bf16"' "$tmp/bf16-spr"/*.h || fail "the bf16 header does not say bf16"
expect_one_line "bad precision" '--precision: expected fp32, int8, fp16 or bf16, got "fp8"' \
    "$shufflec" compile "$fashion.json" --precision fp8 -o "$tmp/out"
expect_one_line "run int8 without scales" '--precision int8: missing --quantization Q.json' \
    "$shufflec" run "$fashion.json" --precision int8 --input "$tmp/missing.npy" -o "$tmp/y.npy"

# The dot_product knob: one unit's 1x1 convs without sdot, the others with it.
printf '{"format": "shufflec-schedule/1", "layers": {"stage2.1": {"dot_product": false}}}\n' > "$tmp/nodot.json"
"$shufflec" compile "$fashion.json" --target arm-64-linux-arm_dot_prod --precision int8 --schedule "$tmp/nodot.json" \
    --quantization "$fashion.quantization.json" -o "$tmp/nodot" --quiet || fail "int8 compile with dot_product false"
(mkdir -p "$tmp/nodot/x" && cd "$tmp/nodot/x" && ar x ../fashion_shufflenet_v1_g3.a) || fail "unpacking the int8 library"
sdots() { aarch64-linux-gnu-objdump -d "$tmp/nodot/x/$1" | grep -c sdot || true; }
[ "$(sdots stage2_1.o)" -eq 0 ] && [ "$(sdots stage2_2.o)" -gt 0 ] \
    || fail "dot_product false for stage2.1: sdot in stage2_1.o $(sdots stage2_1.o), stage2_2.o $(sdots stage2_2.o)"
# Where 4 steps are 16 adjacent stored channels (stage 3's conv1: 80 inputs per
# group, no shuffle before it), sdot takes each step's quad by element.
quads=$(aarch64-linux-gnu-objdump -d "$tmp/nodot/x/stage3_1.o" | grep -cE "sdot.*\.4b\[[1-3]\]" || true)
[ "$quads" -gt 0 ] || fail "int8 sdot by element: $quads in stage3_1.o"
# fp32 (and fp16 with arm_fp16) on ARM: the 1x1 convs multiply by element, each
# lane of a loaded vector of 4 input channels (fmla v.4s, v.4s, v.s[1..3]);
# dot_product false keeps the broadcast form (lane 0 only).
"$shufflec" compile "$fashion.json" --target arm-64-linux --schedule "$tmp/nodot.json" -o "$tmp/lanes" --quiet \
    || fail "fp32 ARM compile with dot_product false"
(mkdir -p "$tmp/lanes/x" && cd "$tmp/lanes/x" && ar x ../fashion_shufflenet_v1_g3.a) || fail "unpacking the fp32 library"
by_lane() { aarch64-linux-gnu-objdump -d "$tmp/lanes/x/$1" | grep -cE "fmla.*v[0-9]+\.$2\[[1-7]\]" || true; }
[ "$(by_lane stage2_1.o s)" -eq 0 ] && [ "$(by_lane stage2_2.o s)" -gt 100 ] \
    || fail "fp32 ARM by lane: stage2_1.o $(by_lane stage2_1.o s), stage2_2.o $(by_lane stage2_2.o s)"
(mkdir -p "$tmp/fp16-arm-64-linux-arm_fp16/x" && cd "$tmp/fp16-arm-64-linux-arm_fp16/x" && ar x ../*.a) \
    || fail "unpacking the fp16 library"
halves=$(aarch64-linux-gnu-objdump -d "$tmp/fp16-arm-64-linux-arm_fp16/x/stage2_2.o" | grep -cE "fmla.*v[0-9]+\.h\[[1-7]\]" || true)
[ "$halves" -gt 50 ] || fail "fp16 ARM by lane: $halves fmla .h[1-7] in stage2_2.o"

# info --quantization: what runs in integers (V1 g3: every conv, the stem on the int8 input).
out=$("$shufflec" info "$fashion.json" --quantization "$fashion.quantization.json" 2>&1) || fail "info --quantization: $out"
echo "$out" | grep -q "^integer arithmetic: 99.8% of the MACs (49 of 49 convs)$" || fail "info --quantization: $out"
echo "$out" | grep -q "^input  *input  *0  -  *int8 x 0.0159265$" || fail "info --quantization input: $out"
echo "$out" | grep -q "^stem.conv  *conv  *254016  int8     uint8 x 0.0204741$" || fail "info --quantization stem: $out"
echo "$out" | grep -q "^fc  *fc  *[0-9]*  float (int8 weights) float$" || fail "info --quantization fc: $out"

# run --dump: every tensor of the int8 model as it rounds them (a stored tensor is a
# multiple of its scale), the last one the output.
/usr/bin/python3 -c 'import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(3).standard_normal((1, 3, 56, 56)).astype(np.float32))' "$tmp/x56.npy"
"$shufflec" run "$fashion.json" --input "$tmp/x56.npy" --quantization "$fashion.quantization.json" -o "$tmp/y56.npy" \
    --dump "$tmp/dump" || fail "run --dump"
/usr/bin/python3 - "$tmp/dump" "$tmp/y56.npy" "$fashion.quantization.json" <<'PY' || fail "run --dump: the dumped tensors"
import json, os, sys
import numpy as np
folder, out, qfile = sys.argv[1:]
index = json.load(open(os.path.join(folder, "index.json")))
scales = json.load(open(qfile))["tensors"]
assert sorted(f for f in os.listdir(folder) if f.endswith(".npy")) == [e["file"] for e in index], "files"
assert np.array_equal(np.load(os.path.join(folder, index[-1]["file"])), np.load(out)), "the last tensor is the output"
rounded = 0
for e in index:
    if e["name"] in scales:
        v = np.load(os.path.join(folder, e["file"])).astype(np.float64) / scales[e["name"]]["scale"]
        assert list(v.shape) == e["shape"] and np.abs(v - np.round(v)).max() < 1e-3, e["name"]
        rounded += 1
assert rounded == len(scales), (rounded, len(scales))
print(f"ok: run --dump: {len(index)} tensors, the {rounded} quantized ones multiples of their scales")
PY
# run --precision fp16 --dump: every tensor of the simulated fp16 model is halves.
"$shufflec" run "$fashion.json" --input "$tmp/x56.npy" --precision fp16 -o "$tmp/y16.npy" --dump "$tmp/dump16" \
    || fail "run --precision fp16 --dump"
/usr/bin/python3 - "$tmp/dump16" "$tmp/y56.npy" "$tmp/y16.npy" <<'PY' || fail "run --precision fp16: the dumped tensors"
import json, os, sys
import numpy as np
folder, int8, fp16 = sys.argv[1:]
index = json.load(open(os.path.join(folder, "index.json")))
for e in index:
    v = np.load(os.path.join(folder, e["file"]))
    assert np.array_equal(v.astype(np.float16).astype(np.float32), v), e["name"]
y = np.load(fp16)
assert np.array_equal(np.load(os.path.join(folder, index[-1]["file"])), y), "the last tensor is the output"
print(f"ok: run --precision fp16 --dump: {len(index)} tensors, all halves")
PY

# export-onnx: one line for a quantization file of another model, and no output file.
expect_one_line "export-onnx, another model's quantization" "no scale for tensor" \
    "$shufflec" export-onnx "$src/specs/fashion_mnist/fashion_shufflenet_v2.json" \
    --quantization "$fashion.quantization.json" -o "$tmp/v2.onnx"
[ ! -e "$tmp/v2.onnx" ] || fail "a failed export-onnx wrote its output"
expect_one_line "export-onnx without -o" "export-onnx: missing -o MODEL.onnx" "$shufflec" export-onnx "$fashion.json"
# Layer names that collide with the export's own value names: one line, no file.
cat > "$tmp/names.json" <<'SPEC'
{"format": "shufflec-spec/1", "name": "names", "input": {"shape": [1, 3, 8, 8]},
 "layers": [{"op": "conv", "name": "output", "out_channels": 4, "kernel": 3, "pad": 1},
            {"op": "conv", "name": "output.weight", "out_channels": 4, "kernel": 1}]}
SPEC
expect_one_line "export-onnx, colliding names" "two ONNX values would be named 'output.weight'" \
    "$shufflec" export-onnx "$tmp/names.json" --random-weights 1 -o "$tmp/names.onnx"
[ ! -e "$tmp/names.onnx" ] || fail "a failed export-onnx wrote its output"

# Tools run as commands (shebang, executable bit).
for tool in import_megvii.py megvii_shufflenet.py golden.py gen_specs.py make_golden.py; do
    [ -x "$src/tools/$tool" ] || fail "tools/$tool is not executable"
    head -1 "$src/tools/$tool" | grep -q '^#!/usr/bin/python3' || fail "tools/$tool does not run Debian's python3"
done
"$src/tools/import_megvii.py" --help > /dev/null 2>&1 || fail "tools/import_megvii.py --help"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
