#!/usr/bin/python3
"""`shufflec export-onnx` run by ONNX Runtime (npm onnxruntime-node, CPU).

1. Float: the exports of the tiny test network (random weights) and of the
   trained Fashion-MNIST ShuffleNet V2 (folded channel split: convs reading
   input parts through a Gather) compute what the reference interpreter
   computes: max |diff| <= 1e-5 x max |output| per input.
2. QDQ int8 (docs/quantization.md, "ONNX"): on Fashion-MNIST test images, ONNX
   Runtime's output on the QDQ export against `shufflec run --quantization`
   (the reference interpreter's simulation of the int8 model): the same
   integers, so at least 75% of the images agree to 1e-5 of the largest logit
   (int8 against fp32 differ by about 1e-2 on every image: a wrong scale,
   weight or bias shows on all of them), and none is further than
   SIMULATED_TOLERANCE: a value at a rounding tie resolved one way in float32
   and the other in double moves the logits downstream (measured: 84% and 94%
   of 200 images exact, worst 2.1% and 3.1% of the largest logit), with the
   same top-1 class for at least 99% of the images. For
   V1 g3 with its committed quantization file, and for V2 calibrated with
   `quantize --every-tensor`, where every conv but the float stem must run as
   ONNX Runtime's integer QLinearConv (counted in the graph it optimizes).
3. Every export passes onnx.checker (full check, shape inference included).

    onnx_export_test.py SHUFFLEC_BINARY
"""
import collections
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from shufflec_py import fashion_mnist  # noqa: E402

ORT_RUN = os.path.join(ROOT, "bench", "peers", "ort_run.js")
FASHION = os.path.join(ROOT, "specs", "fashion_mnist")
FLOAT_TOLERANCE = 1e-5
EXACT = 1e-5                # "the same integers": float rounding of the output only
EXACT_SHARE = 0.75
SIMULATED_TOLERANCE = 5e-2
TOP1_SHARE = 0.99
IMAGES = 200

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(*argv, env=None):
    subprocess.run(argv, check=True, env=env)


def ort(model, x, out, folder, optimized=None):
    env = dict(os.environ)
    if optimized:
        env["ORT_OPTIMIZED_MODEL"] = optimized
    np.save(os.path.join(folder, "ort_x.npy"), x)
    run("node", ORT_RUN, model, os.path.join(folder, "ort_x.npy"), out, env=env)
    return np.load(out)


def per_image_error(got, want):
    return np.abs(got - want).reshape(len(want), -1).max(1) / np.abs(want).reshape(len(want), -1).max(1)


def main():
    shufflec = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="shufflec-onnx-export-") as tmp:
        def path(name):
            return os.path.join(tmp, name)

        # 1. Float exports.
        tiny = os.path.join(ROOT, "tests", "tiny_shufflenet_v1.json")
        run(shufflec, "export-onnx", tiny, "--random-weights", "3", "-o", path("tiny.onnx"), "--quiet")
        onnx.checker.check_model(onnx.load(path("tiny.onnx")), full_check=True)
        shape = [d.dim_value for d in onnx.load(path("tiny.onnx")).graph.input[0].type.tensor_type.shape.dim]
        x = np.random.default_rng(5).standard_normal([4] + shape[1:]).astype(np.float32)
        np.save(path("x.npy"), x)
        run(shufflec, "run", tiny, "--random-weights", "3", "--input", path("x.npy"), "-o", path("ref.npy"))
        err = per_image_error(ort(path("tiny.onnx"), x, path("y.npy"), tmp), np.load(path("ref.npy"))).max()
        check(err <= FLOAT_TOLERANCE, f"tiny network, float: ONNX Runtime vs reference {err:.1e} <= {FLOAT_TOLERANCE}")

        images, labels = fashion_mnist.load("test")
        inputs = fashion_mnist.model_inputs(fashion_mnist.upscale(images[:IMAGES])).numpy()
        np.save(path("fashion.npy"), inputs)
        train, _ = fashion_mnist.load("train")
        np.save(path("calibration.npy"), fashion_mnist.model_inputs(fashion_mnist.upscale(train[:100])).numpy())

        v2 = os.path.join(FASHION, "fashion_shufflenet_v2.json")
        run(shufflec, "export-onnx", v2, "-o", path("v2.onnx"), "--quiet")
        onnx.checker.check_model(onnx.load(path("v2.onnx")), full_check=True)
        run(shufflec, "run", v2, "--input", path("fashion.npy"), "-o", path("v2_ref.npy"))
        err = per_image_error(ort(path("v2.onnx"), inputs, path("y.npy"), tmp), np.load(path("v2_ref.npy"))).max()
        check(err <= FLOAT_TOLERANCE, f"Fashion-MNIST V2, float, {IMAGES} images: ONNX Runtime vs reference "
                                      f"{err:.1e} <= {FLOAT_TOLERANCE}")

        g3 = os.path.join(FASHION, "fashion_shufflenet_v1_g3.json")
        run(shufflec, "run", g3, "--input", path("fashion.npy"), "-o", path("g3_ref.npy"))

        # 2. QDQ exports.
        cases = [("V1 g3, committed quantization", g3,
                  os.path.join(FASHION, "fashion_shufflenet_v1_g3.quantization.json"), False)]
        run(shufflec, "quantize", v2, "--calibration", path("calibration.npy"), "--every-tensor", "-o",
            path("v2_q.json"), "--quiet")
        cases.append(("V2, quantize --every-tensor", v2, path("v2_q.json"), True))
        for name, spec, q, every in cases:
            model = path("int8.onnx")
            run(shufflec, "export-onnx", spec, "--quantization", q, "-o", model, "--quiet")
            graph = onnx.load(model)
            onnx.checker.check_model(graph, full_check=True)
            run(shufflec, "run", spec, "--input", path("fashion.npy"), "--quantization", q, "-o", path("sim.npy"))
            want = np.load(path("sim.npy"))
            fp32 = np.median(per_image_error(want, np.load(path("v2_ref.npy" if spec == v2 else "g3_ref.npy"))))
            got = ort(model, inputs, path("y.npy"), tmp, optimized=path("ort_optimized.onnx"))
            err = per_image_error(got, want)
            exact = float((err <= EXACT).mean())
            top1 = float((got.argmax(1) == want.argmax(1)).mean())
            check(exact >= EXACT_SHARE and err.max() <= SIMULATED_TOLERANCE,
                  f"{name}: ONNX Runtime vs shufflec's int8 simulation, {IMAGES} images: {100 * exact:.1f}% within "
                  f"{EXACT} (>= {100 * EXACT_SHARE:.0f}%), worst {err.max():.1e} <= {SIMULATED_TOLERANCE} "
                  f"(int8 vs fp32: median {fp32:.1e})")
            check(top1 >= TOP1_SHARE, f"{name}: same top-1 for {100 * top1:.1f}% of the images (>= {100 * TOP1_SHARE:.0f}%)")
            accuracy = float((got.argmax(1) == labels[:IMAGES]).mean())
            print(f"     ONNX Runtime int8 top-1 on the {IMAGES} images: {100 * accuracy:.1f}%")
            if every:
                int8_convs = sum(1 for n in graph.graph.node if n.op_type == "Conv" and n.input[1].endswith(".weight")
                                 and any(m.output[0] == n.input[1] and m.op_type == "DequantizeLinear"
                                         for m in graph.graph.node))
                ops = collections.Counter(n.op_type for n in onnx.load(path("ort_optimized.onnx")).graph.node)
                check(int8_convs > 0 and ops["QLinearConv"] == int8_convs,
                      f"{name}: ONNX Runtime runs {ops['QLinearConv']} QLinearConv for the {int8_convs} int8 convs "
                      f"(float Conv left: {ops['Conv']})")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
