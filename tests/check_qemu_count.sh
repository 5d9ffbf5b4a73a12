#!/usr/bin/env bash
# Exact aarch64 instruction counts under qemu (issue 22; compiler/measure/qemu_count*):
#   the plugin alone on a hand-written aarch64 loop whose instructions are
#     known by construction: every class counted exactly
#   `shufflec bench --runner qemu --count` on a small model: two runs give the
#     same counts to the instruction; the FMA lanes cover the model's MACs
#     (padding lanes only add); functions are the model's pipelines and loops;
#     modeled cycles (llvm-mca) for the Cortex-A55 and, with llvm-mca-19, the
#     Neoverse-N1, per function summing to the total; another schedule gives
#     other counts
#   `shufflec model-cycles` on another program's count files, and the same
#     modeled cycles for a loop within a page and across a page boundary
#   --count on another runner: one error line, exit 1
#   tests/check_qemu_count.sh SHUFFLEC_BINARY
set -euo pipefail
shufflec=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. The plugin on a known program: 1000 iterations of fmla .4s, fmla .8h,
# sdot, mul .8h, smlal .4s, ldr q, str q, subs, b.ne; then mov, mov, svc (exit).
cc -shared -fPIC -O2 -fvisibility=hidden "$src/compiler/measure/qemu_count_plugin.c" -o "$tmp/plugin.so"
cat > "$tmp/loop.s" <<'ASM'
.global _start
_start:
    mov x2, #1000
1:  fmla v0.4s, v1.4s, v2.4s
    fmla v3.8h, v4.8h, v5.8h
    sdot v6.4s, v7.16b, v8.16b
    mul v10.8h, v11.8h, v12.8h
    smlal v13.4s, v14.4h, v15.4h
    ldr q9, [sp, #-16]
    str q9, [sp, #-32]
    subs x2, x2, #1
    b.ne 1b
    mov x0, #0
    mov x8, #93
    svc #0
ASM
aarch64-linux-gnu-as -march=armv8.2-a+fp16+dotprod "$tmp/loop.s" -o "$tmp/loop.o"
aarch64-linux-gnu-ld "$tmp/loop.o" -o "$tmp/loop"
qemu-aarch64 -cpu max -plugin "$tmp/plugin.so,out=$tmp/loop.txt" "$tmp/loop"
/usr/bin/python3 - "$tmp/loop.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0] == "shufflec-qemu-count/1 17", lines[0]
names = ["fma_f32", "fma_f16", "dot_i8", "mul_int", "fma_scalar", "simd_other", "load_vector", "load_scalar",
         "store_vector", "store_scalar", "branch", "scalar", "other", "fma_f32_lanes", "fma_f16_lanes", "dot_i8_lanes",
         "mul_int_lanes"]
total = dict.fromkeys(names, 0)
for line in lines[1:]:
    if not line:
        continue
    f = line.split()
    for n, v in zip(names, f[2:]):
        total[n] += int(f[1]) * int(v)
# mov x2; 1000 x (fmla, fmla, sdot, mul, smlal, ldr, str, subs, b.ne); mov, mov, svc (svc: the branch and
# system group); mul .8h: 8 products, smlal .4s from .4h: 4
want = {"fma_f32": 1000, "fma_f16": 1000, "dot_i8": 1000, "mul_int": 2000, "fma_scalar": 0, "simd_other": 0,
        "load_vector": 1000, "load_scalar": 0, "store_vector": 1000, "store_scalar": 0, "branch": 1000 + 1,
        "scalar": 1 + 1000 + 2, "other": 0, "fma_f32_lanes": 4000, "fma_f16_lanes": 8000, "dot_i8_lanes": 16000,
        "mul_int_lanes": 12000}
assert total == want, (total, want)
print("ok: the plugin counts a known loop exactly (9003 + 4 instructions, every class)")
PY

# 1b. shufflec model-cycles on another program's two count files: a loop of 4
# fmla chains run argc x 1000 times, run with 1 and 2 arguments' worth; the
# difference is 1000 iterations. Placed across a page boundary (qemu then cuts
# the loop in two blocks) it models exactly as placed within a page.
for pad in 0 4088; do
    cat > "$tmp/chains$pad.s" <<ASM
.global _start
_start:
    ldr x2, [sp]
    mov x3, #1000
    mul x2, x2, x3
    b 1f
    .balign 4096
    .skip $pad
1:  fmla v0.4s, v1.4s, v2.4s
    fmla v16.4s, v17.4s, v18.4s
    fmla v19.4s, v20.4s, v21.4s
    fmla v22.4s, v23.4s, v24.4s
    subs x2, x2, #1
    b.ne 1b
    mov x0, #0
    mov x8, #93
    svc #0
ASM
    aarch64-linux-gnu-as "$tmp/chains$pad.s" -o "$tmp/chains$pad.o"
    aarch64-linux-gnu-ld "$tmp/chains$pad.o" -o "$tmp/chains$pad"
    qemu-aarch64 -plugin "$tmp/plugin.so,out=$tmp/chains$pad.1.txt" "$tmp/chains$pad"
    qemu-aarch64 -plugin "$tmp/plugin.so,out=$tmp/chains$pad.2.txt" "$tmp/chains$pad" x
    "$shufflec" model-cycles "$tmp/chains$pad" "$tmp/chains$pad.1.txt" "$tmp/chains$pad.2.txt" --json > "$tmp/cycles$pad.json"
done
/usr/bin/python3 - "$tmp/cycles0.json" "$tmp/cycles4088.json" <<'PY'
import json, sys
within, across = (json.load(open(p)) for p in sys.argv[1:])
assert within["instructions"] == 6000 and within["counts"]["fma_f32"] == 4000, within
modeled = {m["cpu"]: m["cycles"] for m in within["modeled"] if "cycles" in m}
assert "cortex-a55" in modeled, within
for cpu, cycles in modeled.items():
    # four independent accumulators of fmla latency 4: about 4 cycles per iteration
    assert 3000 <= cycles <= 12000, (cpu, cycles)
assert {m["cpu"]: m.get("cycles") for m in across["modeled"]} == {m["cpu"]: m.get("cycles") for m in within["modeled"]}, (within, across)
print("ok: model-cycles: 6000 instructions, modeled %s; the same across a page boundary" % modeled)
PY
if "$shufflec" model-cycles "$tmp/chains0" "$tmp/chains0.2.txt" "$tmp/chains0.1.txt" 2> "$tmp/err"; then
    fail "model-cycles with the files swapped succeeded"
fi
[ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "wrong order" "$tmp/err" || fail "model-cycles, files swapped: $(cat "$tmp/err")"

# 2. A model, twice.
spec="$src/tests/tiny_shufflenet_v1.json"
for i in 1 2; do
    "$shufflec" bench "$spec" --random-weights 1 --target arm-64-linux --runner qemu --count --json --quiet > "$tmp/count$i.json"
done
cmp -s "$tmp/count1.json" "$tmp/count2.json" || fail "two counts of one model differ: $(diff "$tmp/count1.json" "$tmp/count2.json" | head)"
/usr/bin/python3 - "$tmp/count1.json" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
t = r["per_inference"]
assert r["runner"] == "qemu" and r["threads"] == 1
lanes = t["fma_f32_lanes"]
assert lanes >= r["macs"], (lanes, r["macs"])           # every multiply-add of the model runs in some lane
assert 0.5 < r["useful_mac_share"] <= 1.0, r["useful_mac_share"]
assert t["instructions"] == sum(t[k] for k in ["fma_f32", "fma_f16", "dot_i8", "mul_int", "fma_scalar", "simd_other", "load_vector",
                                               "load_scalar", "store_vector", "store_scalar", "branch", "scalar", "other"])
cores = {c["cpu"]: c for c in r["modeled"]}
assert cores["cortex-a55"]["cycles"] > 0.2 * t["instructions"], cores   # a 2-wide in-order core: ~1 cycle per instruction
mca19 = os.path.exists("/usr/bin/llvm-mca-19")                          # tools/setup.sh installs it
assert ("cycles" in cores["neoverse-n1"]) == mca19, cores
if mca19:
    assert cores["neoverse-n1"]["cycles"] < cores["cortex-a55"]["cycles"], cores  # the wide out-of-order core
assert abs(sum(f["cycles_cortex-a55"] for f in r["functions"]) - cores["cortex-a55"]["cycles"]) < 1e-6 * cores["cortex-a55"]["cycles"]
names = [f["name"] for f in r["functions"]]
assert any("stage2_0" in n for n in names), names[:10]
assert sum(f["instructions"] for f in r["functions"]) == t["instructions"]
pipelines = {p["name"]: p for p in r["pipelines"]}
assert {"stem_conv", "stage2_0", "stage3_1", "global_pool"} <= set(pipelines), sorted(pipelines)
assert sum(p["instructions"] for p in r["pipelines"]) == t["instructions"]
print(f"ok: bench --count: {t['instructions'] / 1e6:.3f} M instructions per inference, identical twice; "
      f"useful MAC lanes {100 * r['useful_mac_share']:.1f}%; modeled A55 {cores['cortex-a55']['cycles'] / 1e6:.3f} M cycles")
PY
# The counts follow the schedule: 1x1 convs with one vector per tile execute other instructions.
cat > "$tmp/narrow.json" <<'JSON'
{"format": "shufflec-schedule/1", "target": "arm-64-linux", "kinds": {"pointwise": {"channel_vectors": 1, "tile_x": 2}}}
JSON
"$shufflec" bench "$spec" --random-weights 1 --target arm-64-linux --schedule "$tmp/narrow.json" --runner qemu --count \
    --json --quiet > "$tmp/narrow.json.out"
/usr/bin/python3 - "$tmp/count1.json" "$tmp/narrow.json.out" <<'PY'
import json, sys
a, b = (json.load(open(p))["per_inference"] for p in sys.argv[1:])
assert a["instructions"] != b["instructions"], (a["instructions"], b["instructions"])
print(f"ok: another schedule, other counts ({a['instructions']:.0f} -> {b['instructions']:.0f} instructions)")
PY
"$shufflec" bench "$spec" --random-weights 1 --target arm-64-linux --runner qemu --count --quiet | grep -q "useful MAC lanes" \
    || fail "bench --count printed no table"

# The int8 model: its products are integer multiply lanes (the stem and the FC
# stay float), covering the model's MACs; with ARM dotprod, the 1x1 convs' are
# sdot lanes, in fewer instructions.
/usr/bin/python3 -c "import numpy as np; np.save('$tmp/cal.npy', np.random.default_rng(0).standard_normal((2, 3, 40, 48)).astype(np.float32))"
"$shufflec" quantize "$spec" --random-weights 1 --calibration "$tmp/cal.npy" -o "$tmp/q.json" --quiet
for target in arm-64-linux arm-64-linux-arm_dot_prod; do
    "$shufflec" bench "$spec" --random-weights 1 --target $target --runner qemu --count --json --quiet \
        --precision int8 --quantization "$tmp/q.json" > "$tmp/int8-$target.json"
done
/usr/bin/python3 - "$tmp/count1.json" "$tmp/int8-arm-64-linux.json" "$tmp/int8-arm-64-linux-arm_dot_prod.json" <<'PY'
import json, sys
fp32, int8, dot = (json.load(open(p)) for p in sys.argv[1:])
t, d = int8["per_inference"], dot["per_inference"]
assert t["mul_int_lanes"] > 0.5 * int8["macs"], (t["mul_int_lanes"], int8["macs"])
assert t["fma_f32_lanes"] < 0.5 * int8["macs"], t["fma_f32_lanes"]
assert t["dot_i8_lanes"] == 0, t["dot_i8_lanes"]
assert t["mul_int_lanes"] + t["fma_f32_lanes"] >= int8["macs"]
assert 0.3 < int8["useful_mac_share"] <= 1.0, int8["useful_mac_share"]
assert d["dot_i8_lanes"] > 0.5 * dot["macs"], (d["dot_i8_lanes"], dot["macs"])
assert d["mul_int_lanes"] + d["fma_f32_lanes"] + d["dot_i8_lanes"] >= dot["macs"]
assert d["instructions"] < t["instructions"], (d["instructions"], t["instructions"])
print(f"ok: int8 --count: {t['instructions'] / 1e6:.3f} M instructions (fp32 {fp32['per_inference']['instructions'] / 1e6:.3f} M), "
      f"integer multiply lanes {t['mul_int_lanes'] / int8['macs']:.2f} x the MACs; with dotprod "
      f"{d['instructions'] / 1e6:.3f} M, sdot lanes {d['dot_i8_lanes'] / dot['macs']:.2f} x the MACs")
PY

# 3. Another runner.
if out=$("$shufflec" bench "$spec" --random-weights 1 --count 2>&1); then fail "--count on the local runner succeeded"; fi
[ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q "need --runner qemu" || fail "--count on local: $out"
echo "ok: --count on another runner is one error line"
