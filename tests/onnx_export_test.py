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
3. Round trip: `shufflec import-onnx` of each QDQ export gives a spec, weights
   and a quantization file whose simulated int8 model computes the original's
   integers (at least 90% of the images within 1e-5, as above), and folded
   shuffles come back as channel_shuffle layers (folded again by the passes).
4. A QDQ model made outside shufflec: PyTorch's ONNX export of the tiny test
   network (tools/golden.py: BatchNorm folded by the exporter, the shuffle as
   Reshape -> Transpose -> Reshape, padding as Pad nodes), quantized here the
   way ONNX Runtime's static quantizer writes QDQ models (per-channel int8
   weights, int32 biases, QuantizeLinear -> DequantizeLinear after every
   ReLU, pool, add, concat, shuffle and unfused conv; the network input, global
   pool and FC float) with fixed scales: `import-onnx` then `run
   --quantization` computes what ONNX Runtime computes on it (at least 75% of
   the inputs within 1e-5).
5. Every export passes onnx.checker (full check, shape inference included).

    onnx_export_test.py SHUFFLEC_BINARY
"""
import collections
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, host_has  # noqa: E402
from shufflec_py import fashion_mnist  # noqa: E402

ORT_RUN = os.path.join(ROOT, "bench", "peers", "ort_run.js")
FASHION = os.path.join(ROOT, "specs", "fashion_mnist")
FLOAT_TOLERANCE = 1e-5
EXACT = 1e-5                # "the same integers": float rounding of the output only
EXACT_SHARE = 0.75
ROUND_TRIP_SHARE = 0.90     # measured 91.5% (V1 g3) and 97.5% (V2) of 200 images
SIMULATED_TOLERANCE = 5e-2
TOP1_SHARE = 0.99
IMAGES = 200



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


def qdq_like_onnx_runtime(model, round_before_relu=False):
    """A float ONNX model (PyTorch's export) as a QDQ model, as ONNX Runtime's
    static quantizer writes one (symmetric: zero points 0), with fixed scales;
    `round_before_relu`: also a QuantizeLinear between each add and its ReLU."""
    g = model.graph
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    readers = collections.defaultdict(list)
    for n in g.node:
        for i in n.input:
            readers[i].append(n)
    unsigned, scale, nodes, extra = {}, {}, [], []

    def const(name, array):
        extra.append(onnx.numpy_helper.from_array(array, name))
        return name

    def qdq(tensor, is_unsigned, s):
        z = const(tensor + "_zp", np.array(0, np.uint8 if is_unsigned else np.int8))
        sc = const(tensor + "_scale", np.array(s, np.float32))
        nodes.append(onnx.helper.make_node("QuantizeLinear", [tensor, sc, z], [tensor + "_q"]))
        nodes.append(onnx.helper.make_node("DequantizeLinear", [tensor + "_q", sc, z], [tensor + "_dq"]))
        unsigned[tensor + "_dq"], scale[tensor + "_dq"] = is_unsigned, s
        return tensor + "_dq"

    renamed = {}
    for n in g.node:
        n.input[:] = [renamed.get(i, i) for i in n.input]
        if n.op_type == "Conv" and n.input[0] in scale:  # int8 weights per output channel, int32 bias
            w = inits[n.input[1]]
            ws = np.maximum(np.abs(w).reshape(len(w), -1).max(1), 1e-12) / 127
            wq = np.clip(np.round(w / ws.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
            base = n.input[1]
            nodes.append(onnx.helper.make_node(
                "DequantizeLinear", [const(base + "_q", wq), const(base + "_s", ws.astype(np.float32)),
                                     const(base + "_z", np.zeros(len(w), np.int8))], [base + "_dq"], axis=0))
            if len(n.input) > 2:
                bs = (scale[n.input[0]] * ws).astype(np.float32)
                bq = np.round(inits[n.input[2]] / bs).astype(np.int32)
                nodes.append(onnx.helper.make_node(
                    "DequantizeLinear", [const(base + "_bq", bq), const(base + "_bs", bs),
                                         const(base + "_bz", np.zeros(len(w), np.int32))], [base + "_bdq"], axis=0))
                n.input[2] = base + "_bdq"
            n.input[1] = base + "_dq"
        nodes.append(n)
        out = n.output[0]
        following = readers[out]
        if n.op_type in ("Relu",):
            renamed[out] = qdq(out, True, 4 / 255)
        elif n.op_type in ("MaxPool", "AveragePool", "Concat"):
            is_unsigned = all(unsigned.get(i, False) for i in n.input if i in scale or i in unsigned)
            renamed[out] = qdq(out, is_unsigned, (4 / 255) if is_unsigned else (4 / 127))
        elif n.op_type in ("Add", "Conv") and (not any(r.op_type == "Relu" for r in following)
                                               or (round_before_relu and n.op_type == "Add")):
            if n.input[0] != "input":
                renamed[out] = qdq(out, False, 4 / 127)
        elif n.op_type == "Reshape" and producer.get(n.input[0]) is not None \
                and producer[n.input[0]].op_type == "Transpose":  # the shuffle's end: its input's scale
            src = producer[producer[n.input[0]].input[0]].input[0]
            if src in scale:
                renamed[out] = qdq(out, unsigned[src], scale[src])
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(extra)
    return model


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
            if not host_has("avx512_vnni", "avx_vnni"):
                # ONNX Runtime's x86 int8 kernels without VNNI multiply u8 x s8
                # pairs into saturating int16 sums (vpmaddubsw; its docs on
                # reduce_range): on a Zen 3 VM no image within 1e-5 (V1 g3: top-1
                # 87%, V2 89%; the PyTorch QDQ case below too). Shown, not
                # checked, there.
                print(f"skip {name}: ONNX Runtime vs shufflec's int8 simulation on a host without VNNI: "
                      f"{100 * float((err <= EXACT).mean()):.1f}% within {EXACT}, worst {err.max():.1e}, "
                      f"same top-1 {100 * float((got.argmax(1) == want.argmax(1)).mean()):.1f}%")
            else:
                check(exact >= EXACT_SHARE and err.max() <= SIMULATED_TOLERANCE,
                      f"{name}: ONNX Runtime vs shufflec's int8 simulation, {IMAGES} images: {100 * exact:.1f}% "
                      f"within {EXACT} (>= {100 * EXACT_SHARE:.0f}%), worst {err.max():.1e} <= "
                      f"{SIMULATED_TOLERANCE} (int8 vs fp32: median {fp32:.1e})")
                check(top1 >= TOP1_SHARE,
                      f"{name}: same top-1 for {100 * top1:.1f}% of the images (>= {100 * TOP1_SHARE:.0f}%)")
            accuracy = float((got.argmax(1) == labels[:IMAGES]).mean())
            print(f"     ONNX Runtime int8 top-1 on the {IMAGES} images: {100 * accuracy:.1f}%")
            imported = path("imported")
            run(shufflec, "import-onnx", model, "-o", imported, "--name", "net", "--quiet")
            run(shufflec, "run", os.path.join(imported, "net.json"), "--input", path("fashion.npy"), "--quantization",
                os.path.join(imported, "net.quantization.json"), "-o", path("round_trip.npy"))
            err = per_image_error(np.load(path("round_trip.npy")), want)
            exact = float((err <= EXACT).mean())
            check(exact >= ROUND_TRIP_SHARE and err.max() <= SIMULATED_TOLERANCE,
                  f"{name}: export-onnx -> import-onnx -> run --quantization vs the original: {100 * exact:.1f}% "
                  f"within {EXACT} (>= {100 * ROUND_TRIP_SHARE:.0f}%), worst {err.max():.1e}")
            layers = [entry["op"] for entry in json.load(open(os.path.join(imported, "net.json")))["layers"]]
            inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.graph.initializer}
            shuffles = sum(1 for n in graph.graph.node  # Gathers of a run of channels are slices
                           if n.op_type == "Gather" and np.any(np.diff(inits[n.input[1]]) != 1))
            check(layers.count("channel_shuffle") == shuffles and "channel_permute" not in layers,
                  f"{name}: the {shuffles} exported shuffles import as {layers.count('channel_shuffle')} "
                  f"channel_shuffle layers")
            if every:
                int8_convs = sum(1 for n in graph.graph.node if n.op_type == "Conv" and n.input[1].endswith(".weight")
                                 and any(m.output[0] == n.input[1] and m.op_type == "DequantizeLinear"
                                         for m in graph.graph.node))
                ops = collections.Counter(n.op_type for n in onnx.load(path("ort_optimized.onnx")).graph.node)
                check(int8_convs > 0 and ops["QLinearConv"] == int8_convs,
                      f"{name}: ONNX Runtime runs {ops['QLinearConv']} QLinearConv for the {int8_convs} int8 convs "
                      f"(float Conv left: {ops['Conv']})")
        # 4. A QDQ model from PyTorch's export, quantized as ONNX Runtime's quantizer would.
        run(sys.executable, os.path.join(ROOT, "tools", "golden.py"), tiny, "-o", path("torch"), "--seed", "1",
            "--calibrate-bn", "--onnx", path("torch.onnx"))
        # Rounded between an add and its ReLU (which shufflec fuses): refused in one line.
        onnx.save(qdq_like_onnx_runtime(onnx.load(path("torch.onnx")), round_before_relu=True), path("twice.onnx"))
        r = subprocess.run([shufflec, "import-onnx", path("twice.onnx"), "-o", path("twice")], capture_output=True,
                           text=True)
        check(r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "quantize only after the fused op" in r.stderr
              and not os.path.exists(os.path.join(path("twice"), "twice.json")),
              f"a QDQ model rounding before a fused ReLU is refused: {r.stderr.strip()}")
        qdq = qdq_like_onnx_runtime(onnx.load(path("torch.onnx")))
        onnx.save(qdq, path("torch_qdq.onnx"))
        onnx.checker.check_model(qdq, full_check=True)
        run(shufflec, "import-onnx", path("torch_qdq.onnx"), "-o", path("torch_imported"), "--name", "net", "--quiet")
        x = np.random.default_rng(9).standard_normal([16] + shape[1:]).astype(np.float32)
        np.save(path("x.npy"), x)
        imported = path("torch_imported")
        run(shufflec, "run", os.path.join(imported, "net.json"), "--input", path("x.npy"), "--quantization",
            os.path.join(imported, "net.quantization.json"), "-o", path("sim.npy"))
        got = ort(path("torch_qdq.onnx"), x, path("y.npy"), tmp)
        err = per_image_error(np.load(path("sim.npy")), got)
        exact = float((err <= EXACT).mean())
        text = (f"PyTorch export quantized like ONNX Runtime, imported: shufflec's int8 simulation vs ONNX Runtime, "
                f"16 inputs: {100 * exact:.1f}% within {EXACT} (>= {100 * EXACT_SHARE:.0f}%), worst {err.max():.1e}")
        if host_has("avx512_vnni", "avx_vnni"):
            check(exact >= EXACT_SHARE and err.max() <= SIMULATED_TOLERANCE, text)
        else:  # (ONNX Runtime's saturating int8 kernels without VNNI: above)
            print(f"skip {text}")
    finish()


if __name__ == "__main__":
    main()
