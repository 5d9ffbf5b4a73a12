#!/usr/bin/env bash
# ncnn on ARM without a board, counted like shufflec (issue 22): ncnn's own
# benchmark program, cross-built for aarch64 from its source, runs its
# ShuffleNet V1 (127 M MACs, g3) and V2 1.0x under qemu-aarch64 with
# shufflec's counting plugin (compiler/measure/qemu_count_plugin.c); one
# inference = the counts of 2 timed runs less those of 1 (8 warm-ups each).
# fp32 NEON: the core is an ARMv8.0 Cortex-A72 (-cpu cortex-a72), so ncnn's
# runtime dispatch picks neither fp16 arithmetic nor dot products; 1 thread.
# NCNN_QEMU_CPU=max: an ARMv8.2+ core with fp16 arithmetic, where ncnn runs
# fp16 storage and arithmetic by default (as on phones since 2018).
#
#   [NCNN_QEMU_CPU=max] bench/ncnn_count.sh NCNN_SOURCE [BUILD_DIR]
#
# NCNN_SOURCE: a checkout of https://github.com/Tencent/ncnn (not part of this
# repository; its code is never committed here). BUILD_DIR (default
# build-ncnn-aarch64) is reused when it holds benchncnn. Needs Debian's
# g++-aarch64-linux-gnu and qemu-user (tools/setup.sh). The report's digits
# vary with the measured times, so counts agree to within ~100 instructions.
# Modeled cycles (llvm-mca, as `shufflec bench --count` gives them for
# shufflec): `shufflec model-cycles` on the same two count files; the shufflec
# binary is $SHUFFLEC, default build/compiler/shufflec.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shufflec=${SHUFFLEC:-$root/build/compiler/shufflec}
[ -x "$shufflec" ] || { echo "ncnn_count: no shufflec binary at $shufflec (build it, or set SHUFFLEC)"; exit 1; }
src=$(realpath "$1")
build=$(realpath -m "${2:-build-ncnn-aarch64}")
[ -f "$src/CMakeLists.txt" ] && [ -f "$src/benchmark/models/shufflenet.param" ] || { echo "ncnn_count: $src is not an ncnn checkout"; exit 1; }
if [ ! -x "$build/benchmark/benchncnn" ]; then
    cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_TOOLCHAIN_FILE="$src/toolchains/aarch64-linux-gnu.toolchain.cmake" -DCMAKE_EXE_LINKER_FLAGS=-static \
        -DNCNN_VULKAN=OFF -DNCNN_OPENMP=OFF -DNCNN_THREADS=OFF -DNCNN_BUILD_BENCHMARK=ON -DNCNN_BUILD_TOOLS=OFF \
        -DNCNN_BUILD_EXAMPLES=OFF -DNCNN_BUILD_TESTS=OFF -DNCNN_C_API=OFF -DNCNN_BF16=OFF \
        -DNCNN_PIXEL_ROTATE=OFF -DNCNN_PIXEL_AFFINE=OFF -DNCNN_PIXEL_DRAWING=OFF > "$build.cmake.log"
    ninja -C "$build" benchncnn > "$build.build.log"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -shared -fPIC -O2 -fvisibility=hidden "$root/compiler/measure/qemu_count_plugin.c" -o "$tmp/plugin.so"
cp "$src"/benchmark/models/shufflenet.param "$src"/benchmark/models/shufflenet_v2.param "$tmp/"
for model in shufflenet shufflenet_v2; do
    for runs in 1 2; do
        (cd "$tmp" && qemu-aarch64 -cpu "${NCNN_QEMU_CPU:-cortex-a72}" -plugin "$tmp/plugin.so,out=$tmp/$model.$runs.txt" \
            "$build/benchmark/benchncnn" "$runs" 1 0 -1 0 "param=$model.param" "shape=[224,224,3]" 2> "$tmp/$model.$runs.log")
    done
    /usr/bin/python3 - "$model" "$tmp/$model.1.txt" "$tmp/$model.2.txt" <<'PY'
import sys
# The plugin's columns (compiler/measure/qemu_count.cc: insn_count_columns).
names = ["fma_f32", "fma_f16", "dot_i8", "mul_int", "fma_scalar", "simd_other", "load_vector", "load_scalar",
         "store_vector", "store_scalar", "branch", "scalar", "other", "fma_f32_lanes", "fma_f16_lanes", "dot_i8_lanes",
         "mul_int_lanes"]
def total(path):
    lines = open(path).read().split("\n")
    assert lines[0] == f"shufflec-qemu-count/1 {len(names)}", lines[0]
    t = dict.fromkeys(names, 0)
    for line in lines[1:]:
        if line:
            f = line.split()
            for n, v in zip(names, f[2:]):
                t[n] += int(f[1]) * int(v)
    return t
a, b = total(sys.argv[2]), total(sys.argv[3])
one = {n: b[n] - a[n] for n in names}
insns = sum(one[n] for n in names[:13])
share = lambda *ks: 100 * sum(one[k] for k in ks) / insns
print(f"ncnn {sys.argv[1]}: {insns / 1e6:.2f} M instructions per inference; fmla fp32 {share('fma_f32'):.1f}%, "
      f"fmla fp16 {share('fma_f16'):.1f}%, "
      f"loads {share('load_vector', 'load_scalar'):.1f}%, stores {share('store_vector', 'store_scalar'):.1f}%, "
      f"integer {share('scalar'):.1f}%, other SIMD {share('simd_other'):.1f}%, branches {share('branch'):.1f}%; "
      f"FMA lanes fp32 {one['fma_f32_lanes'] / 1e6:.2f} M, fp16 {one['fma_f16_lanes'] / 1e6:.2f} M")
PY
    "$shufflec" model-cycles "$build/benchmark/benchncnn" "$tmp/$model.1.txt" "$tmp/$model.2.txt"
done
