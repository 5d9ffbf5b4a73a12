#!/usr/bin/python3
"""int8 shufflec against ONNX Runtime int8 on the same QDQ model, same run.

    /usr/bin/python3 bench/int8_vs_ort.py [--rounds R] [--threads 1 2] [--only NAME ...] [--target T]

For ShuffleNet V1 1x g3 and torchvision's ShuffleNet V2 1.0x at 224x224 (random
weights with calibrated BatchNorm statistics, tools/golden.py and
tools/torchvision_golden.py): `shufflec quantize --every-tensor` on 8 random
normal inputs, then

  * shufflec fp32 and int8, compiled for `host` or --target (e.g. x86-64-linux,
    the AVX2 build; bench/worker.c);
  * ONNX Runtime 1.30 (npm onnxruntime-node, CPU) on shufflec's own exports of
    the same network: `shufflec export-onnx` (float) and `export-onnx
    --quantization` (the QDQ model: ONNX Runtime runs QLinearConv, QLinearAdd,
    QLinearConcat on it).

First the compiled int8 output is checked against ONNX Runtime's on the QDQ
model (they compute the same integers; ties in float epilogues aside). Then
alternating rounds of blocks per system and thread count (the others stopped),
medians, and same-run ratios. Needs tools/setup.sh --peers and build/.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (Worker, compile_model, run, SHUFFLEC, ...)

MODELS = [
    {"name": "ShuffleNet V1 1x g3", "spec": "specs/shufflenet_v1_g3_1.0x.json"},
    {"name": "ShuffleNet V2 1.0x", "spec": "specs/shufflenet_v2_x1.0.json", "torchvision": "shufflenet_v2_x1_0"},
]


def bench_model(model, work, threads_list, rounds, target, log):
    folder = os.path.join(work, model["spec"].split("/")[-1].replace(".json", ""))
    os.makedirs(folder, exist_ok=True)
    spec = os.path.join(compare.ROOT, model["spec"])
    if "torchvision" in model:
        compare.run([compare.PYTHON, os.path.join(compare.ROOT, "tools", "torchvision_golden.py"), model["torchvision"],
                     "-o", folder, "--height", "224", "--width", "224"])
    else:
        compare.run([compare.PYTHON, os.path.join(compare.ROOT, "tools", "golden.py"), spec, "-o", folder, "--seed",
                     "1", "--calibrate-bn", "--height", "224", "--width", "224"])
    weights, x = os.path.join(folder, "weights.safetensors"), os.path.join(folder, "input.npy")
    calibration, q = os.path.join(folder, "calibration.npy"), os.path.join(folder, "q.json")
    np.save(calibration, np.random.default_rng(1).standard_normal((8, 3, 224, 224)).astype(np.float32))
    sc = compare.SHUFFLEC
    compare.run([sc, "quantize", spec, "--weights", weights, "--calibration", calibration, "--every-tensor",
                 "-o", q, "--quiet"])
    onnx = {p: os.path.join(folder, p + ".onnx") for p in ("fp32", "int8")}
    compare.run([sc, "export-onnx", spec, "--weights", weights, "-o", onnx["fp32"], "--quiet"])
    compare.run([sc, "export-onnx", spec, "--weights", weights, "--quantization", q, "-o", onnx["int8"], "--quiet"])

    systems = []
    for precision, extra in (("fp32", ()), ("int8", ("--precision", "int8", "--quantization", q))):
        log(f"  compiling shufflec {precision} ...")
        exe, _ = compare.compile_model(spec, weights, (224, 224), os.path.join(folder, precision), extra=extra,
                                       target=target)
        systems.append(compare.Worker(f"shufflec {precision}", [exe, x]))
    # The same integers: compiled int8 against ONNX Runtime on the QDQ model, one input.
    out_bin, ort_out = os.path.join(folder, "out.bin"), os.path.join(folder, "ort.npy")
    systems[1].block(1, 1)
    systems[1].command("output " + out_bin)
    systems[1].times.clear()
    compare.run(["node", os.path.join(compare.PEERS, "ort_run.js"), onnx["int8"], x, ort_out])
    ref = np.load(ort_out)
    got = np.fromfile(out_bin, dtype=np.float32).reshape(ref.shape)
    diff = float(np.abs(got - ref).max() / np.abs(ref).max())
    log(f"  compiled int8 vs ONNX Runtime on the QDQ model: max |diff| / max |output| = {diff:.2e}, "
        f"top-1 {'equal' if got.argmax() == ref.argmax() else 'DIFFERENT'}")
    for precision in ("fp32", "int8"):
        systems.append(compare.Worker(f"ONNX Runtime {precision}", ["node", os.path.join(compare.PEERS, "ort_worker.js"),
                                                                   onnx[precision], "1", "3", "224", "224"]))

    medians, _ = compare.alternate(systems, threads_list, rounds, log)
    return {"model": model, "medians": medians, "diff": diff}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", nargs="*", help="model names to run (substring match)")
    parser.add_argument("--target", default="host", help="shufflec's target (host; x86-64-linux: the AVX2 build)")
    args = parser.parse_args()
    if not os.path.exists(compare.SHUFFLEC):
        sys.exit("int8_vs_ort.py: build shufflec first (tools/test.sh or cmake --build build)")
    if not os.path.exists(os.path.join(compare.PEERS, "node_modules", "onnxruntime-node")):
        sys.exit("int8_vs_ort.py: ONNX Runtime missing: run tools/setup.sh --peers")
    models = [m for m in MODELS if not args.only or any(o in m["name"] for o in args.only)]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    lines = [f"int8 vs ONNX Runtime on {compare.cpu_name()}, shufflec target {args.target}, 224x224, medians of "
             f"{args.rounds} alternating rounds (ms)", ""]
    with tempfile.TemporaryDirectory(prefix="shufflec-int8-ort-") as work:
        for model in models:
            log(f"{model['name']}:")
            res = bench_model(model, work, args.threads, args.rounds, args.target, log)
            m = res["medians"]
            lines.append(f"{model['name']} (compiled int8 vs ONNX Runtime int8 output: {res['diff']:.1e} of max)")
            lines.append("| threads | shufflec fp32 | shufflec int8 | ORT fp32 | ORT int8 | int8/fp32 shufflec | "
                         "int8/fp32 ORT | shufflec int8 / ORT int8 |")
            lines.append("|---|---|---|---|---|---|---|---|")
            for t in args.threads:
                sf, si, of, oi = (m[k][t] for k in ("shufflec fp32", "shufflec int8", "ONNX Runtime fp32",
                                                    "ONNX Runtime int8"))
                lines.append(f"| {t} | {sf:.3f} | {si:.3f} | {of:.3f} | {oi:.3f} | {si / sf:.2f} | {oi / of:.2f} | "
                             f"{si / oi:.2f} |")
            lines.append("")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
