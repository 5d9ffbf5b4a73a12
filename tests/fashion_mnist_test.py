#!/usr/bin/python3
"""The committed Fashion-MNIST models (specs/fashion_mnist/, trained by
tools/train_fashion_mnist.py) compiled by shufflec classify all 10,000 test
images as PyTorch does: the same top-1 class for every image (or, where they
differ, PyTorch's two logits tie within 1e-5), logits within the project's
tolerance (max abs error <= 1e-4 x max |PyTorch|), hence the same accuracy.

Then int8 and fp16 (docs/quantization.md). int8: `shufflec quantize` on the
first 500 training images, the int8 model compiled for this machine: top-1
within 0.5 percentage points of fp32 on all 10,000 test images; and
(ARM_MODELS) for ARM (dotprod) under qemu on the first ARM_IMAGES test images
(qemu runs it at about 40 images a second): within 0.5 points of fp32 there
too, and the same class as the x86 int8 model on at least 99% of the images,
where not only at near ties (the x86 model's two top logits within twice the
tolerance apart: the builds round differently, float on x86, fixed point on
ARM; an AVX2 host's model and ARM's flipped 2 of 1000 V2 images, 0.7% and 1.9%
of the largest logit apart); the same for the builds without a 4-product dot product (x86-64-linux,
AVX2; arm-64-linux, ARMv8.0 under qemu), whose 1x1 convs sum pairs of 16-bit
products. fp16 the same way (x86 emulates half arithmetic; ARM with arm_fp16
computes it natively) within 0.1 points of fp32.
The committed quantization file of the example's model is what `shufflec
quantize` makes from those 500 images, and examples/fashion_mnist (built by the
project's build) classifies the test set in fp32 and int8 with this test's
accuracies.

    fashion_mnist_test.py SHUFFLEC_BINARY [MODEL...]
"""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "runtime", "python"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import shufflec  # noqa: E402
import train_fashion_mnist  # noqa: E402
from checks import host_has  # noqa: E402
from shufflec_py import fashion_mnist  # noqa: E402

BATCH = 100
TIE = 1e-5
CALIBRATION = 500      # training images
# int8 under qemu for these (time): V1 (one input per 1x1 conv) and V2 (1x1 convs
# reading parts of two tensors).
ARM_MODELS = ("fashion_shufflenet_v1_g3", "fashion_shufflenet_v2")
ARM_BATCH = 500
ARM_IMAGES = 1000
SIMULATED = 64         # images compared with the reference interpreter's simulation
# Per precision: (top-1 within this of fp32, logits within this x max |logit| of the
# simulation, the same class as the x86 model on at least this share of the ARM
# images and elsewhere only at near ties, or None: not run on ARM).
# int8: the same integers except where a float epilogue (float32 here, double in the
# reference) lands within float rounding of a tie (docs/quantization.md): one step
# of one value, then its effect downstream; measured 0.7% to 1.5% of the largest
# logit over 64 images (a wrong weight or index moves logits by tens of percent).
# fp16: sums of halves rounded at every step (ARM: fused multiply-adds; x86:
# emulated multiplies and adds) against double sums of the same halves: measured
# 0.5% to 0.8% of the largest logit (g3, g8, V2; x86 and ARM). bf16: float32
# sums against double sums, but a value near a bfloat16 tie may round the other
# way (one step, 2^-8 relative), then its effect downstream: measured 0.4% to 0.7%.
GOALS = {"int8": (0.005, 3e-2, 0.99), "fp16": (0.001, 2e-2, 0.99), "bf16": (0.001, 2e-2, None)}
EXAMPLE_MODEL = "fashion_shufflenet_v1_g3"  # the model examples/fashion_mnist.c classifies with
# ARMv8.2 dotprod: the int8 1x1 convs in dot-product form (sdot), as deployed on
# phones since 2018; ARMv8.2 fp16 arithmetic (qemu-aarch64's default CPU has both).
ARM_TARGETS = {"int8": "arm-64-linux-arm_dot_prod", "fp16": "arm-64-linux-arm_fp16"}
# int8 without a 4-product dot product: the 1x1 convs sum pairs of 16-bit products
# (AVX2 vpmaddwd; ARMv8.0 mul + sadalp), checked on ARM_MODELS' first ARM_IMAGES
# images too (on an AVX2-only machine `host` is such a build already).
PAIRS_TARGETS = ("x86-64-linux", "arm-64-linux")


def quantize(shufflec_bin, spec, folder):
    train_images, _ = fashion_mnist.load("train")
    calibration = os.path.join(folder, "calibration.npy")
    np.save(calibration, fashion_mnist.model_inputs(fashion_mnist.upscale(train_images[:CALIBRATION])).numpy())
    q = os.path.join(folder, "q.json")
    subprocess.run([shufflec_bin, "quantize", spec, "--calibration", calibration, "-o", q, "--quiet"], check=True)
    return q


def run_arm(shufflec_bin, spec, target, extra, images, folder):
    """Logits of the model compiled for `target`, run under qemu-aarch64 in batches of ARM_BATCH."""
    subprocess.run([shufflec_bin, "compile", spec, "--target", target, "--name", "net",
                    "--input-shape", f"{ARM_BATCH},3,{fashion_mnist.SIZE},{fashion_mnist.SIZE}", "-o", folder,
                    "--quiet"] + extra, check=True)
    runner = os.path.join(folder, "run")
    subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-I", folder, "-DMODEL=net", "-DMODEL_UPPER=NET",
                    '-DMODEL_HEADER="net.h"', os.path.join(ROOT, "tests", "apps", "npy_runner.c"),
                    os.path.join(folder, "net.a"), "-lpthread", "-lm", "-o", runner], check=True)
    out = []
    for i in range(0, len(images), ARM_BATCH):
        x, y = os.path.join(folder, "x.npy"), os.path.join(folder, "y.npy")
        np.save(x, fashion_mnist.model_inputs(images[i:i + ARM_BATCH]).numpy())
        subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", runner, x, y], check=True)
        out.append(np.load(y))
    return np.concatenate(out)


def check_reduced(shufflec_bin, spec, precision, quantization, images, labels, fp32_top, folder, arm):
    """The model compiled in `precision` (int8 with the `quantization` file, or fp16) for this
    machine on all test images and (arm) for ARM_TARGETS[precision] under qemu on the first
    ARM_IMAGES: each within its tolerance of the reference interpreter's simulation on
    SIMULATED images, top-1 within the precision's goal of fp32."""
    name = os.path.basename(spec)[:-len(".json")]
    goal, tolerance, cross_target = GOALS[precision]
    extra = ["--precision", precision] + (["--quantization", quantization] if quantization else [])
    arm_target = ARM_TARGETS.get(precision)
    assert not arm or (arm_target and cross_target), f"{precision} has no ARM target"
    results = {"host": compile_and_run(shufflec_bin, spec, extra, images, os.path.join(folder, precision))}
    # NaN in, NaN out per image (int8 has no NaN integers: the run checks its input).
    model = shufflec.load(os.path.join(folder, precision, "net.so"))
    x = fashion_mnist.model_inputs(images[:BATCH]).numpy()
    clean = model(x)
    x[1, 2, 5, 7] = np.nan
    y = model(x)
    others = np.arange(BATCH) != 1
    assert np.isnan(y[1]).all() and not np.isnan(y[others]).any(), f"{name} {precision}: a NaN pixel in image 1"
    assert np.array_equal(y[others], clean[others]), f"{name} {precision}: a NaN pixel in image 1 changed the others"
    if arm:
        results[arm_target + " (qemu)"] = run_arm(shufflec_bin, spec, arm_target, extra, images[:ARM_IMAGES],
                                                  os.path.join(folder, "arm_" + precision))
    if arm and precision == "int8":
        x86, armv80 = PAIRS_TARGETS
        if host_has("avx512f"):  # (else `host` is that build already)
            results[x86] = compile_and_run(shufflec_bin, spec, extra, images[:ARM_IMAGES],
                                           os.path.join(folder, "pairs_" + precision), x86)
        results[armv80 + " (qemu)"] = run_arm(shufflec_bin, spec, armv80, extra, images[:ARM_IMAGES],
                                              os.path.join(folder, "arm_pairs_" + precision))
    # The compiled models compute what the reference interpreter simulates
    # (`shufflec run --precision`: the int8 model's integers, the fp16 model's halves).
    x, y = os.path.join(folder, "sim_x.npy"), os.path.join(folder, "sim_y.npy")
    np.save(x, fashion_mnist.model_inputs(images[:SIMULATED]).numpy())
    subprocess.run([shufflec_bin, "run", spec, "--input", x, "-o", y] + extra, check=True)
    simulated = np.load(y)
    scale = np.abs(simulated).max()
    for target, logits in results.items():
        error = np.abs(logits[:SIMULATED] - simulated).max()
        print(f"[ fashion  ] {name} {precision} on {target}: logits of the first {SIMULATED} images within "
              f"{error / scale:.1e} x max |logit| of the simulated {precision} model", flush=True)
        assert error <= tolerance * scale, f"{name} {precision} on {target}: {error} from the simulated model"
        same = (logits[:SIMULATED].argmax(1) == simulated.argmax(1)).mean()
        assert same >= 63 / 64, f"{name} {precision} on {target}: the simulated model's class on only {same}"
    for target, logits in results.items():
        count = len(logits)
        top = logits.argmax(1)
        fp32 = (fp32_top[:count] == labels[:count]).mean()
        accuracy = (top == labels[:count]).mean()
        print(f"[ fashion  ] {name} {precision} on {target}, {count} test images: top-1 {100 * accuracy:.2f}% (fp32 "
              f"{100 * fp32:.2f}%, {100 * (accuracy - fp32):+.2f} points), agrees with fp32 on "
              f"{100 * (top == fp32_top[:count]).mean():.2f}% of the images", flush=True)
        assert abs(accuracy - fp32) <= goal, f"{name} {precision} on {target}: {accuracy} against fp32 {fp32}"
        assert (top == fp32_top[:count]).mean() > 0.95, f"{name} {precision} on {target}: another model than fp32's"
        if target != "host":
            host = results["host"][:count]
            differ = np.flatnonzero(top != host.argmax(1))
            # Where the two builds' classes differ, the host's logits of the two
            # classes lie within what two models each within `tolerance` of the
            # simulation can move apart (the builds round differently: x86 in
            # float, ARM in fixed point; near ties flip).
            margins = (host[differ, host.argmax(1)[differ]] - host[differ, top[differ]]) / scale
            same = 1 - len(differ) / count
            print(f"[ fashion  ] {name} {precision} on {target}: the x86 model's class on {100 * same:.1f}% of "
                  f"the images; where not, its top two logits {np.round(margins, 4).tolist()} x max |logit| apart",
                  flush=True)
            assert same >= cross_target, f"{name} {precision} on {target}: the x86 model's class on only {same}"
            assert (margins <= 2 * tolerance).all(), f"{name} {precision} on {target}: another class than the " \
                f"x86 model's where its top two logits are {margins.max()} x max |logit| apart"


def check_int8(shufflec_bin, name, images, labels, fp32_top, folder, arm):
    spec = os.path.join(ROOT, "specs", "fashion_mnist", f"{name}.json")
    q = quantize(shufflec_bin, spec, folder)
    committed = os.path.join(ROOT, "specs", "fashion_mnist", f"{name}.quantization.json")
    if os.path.exists(committed):
        # The committed file (examples/fashion_mnist.c's int8 model) is what quantize makes today.
        with open(committed) as a, open(q) as b:
            assert json.load(a) == json.load(b), f"{committed} differs from `shufflec quantize` on {CALIBRATION} images"
    check_reduced(shufflec_bin, spec, "int8", q, images, labels, fp32_top, folder, arm)


def compile_and_run(shufflec_bin, spec, extra, images, folder, target="host"):
    """Logits of the model compiled for this machine (or another x86 target it runs; --emit so,
    batches of BATCH) on uint8 upscaled images."""
    name = "net"
    subprocess.run([shufflec_bin, "compile", spec, "--target", target, "--emit", "so", "--name", name,
                    "--input-shape", f"{BATCH},3,{fashion_mnist.SIZE},{fashion_mnist.SIZE}", "-o", folder,
                    "--quiet"] + extra, check=True)
    model = shufflec.load(os.path.join(folder, f"{name}.so"))
    return np.concatenate([model(fashion_mnist.model_inputs(images[i:i + BATCH]).numpy())
                           for i in range(0, len(images), BATCH)])


def check(shufflec_bin, name, images, labels, folder):
    spec = os.path.join(ROOT, "specs", "fashion_mnist", f"{name}.json")
    start = time.monotonic()
    got = compile_and_run(shufflec_bin, spec, [], images, folder)
    compile_s = time.monotonic() - start
    expected = train_fashion_mnist.evaluate(train_fashion_mnist.load_model(spec), images)
    assert got.shape == expected.shape, (got.shape, expected.shape)

    scale = np.abs(expected).max()
    error = np.abs(got - expected).max()
    top_torch, top_shufflec = expected.argmax(1), got.argmax(1)
    differ = np.nonzero(top_torch != top_shufflec)[0]
    rows = np.arange(len(expected))
    gaps = np.abs(expected[rows, top_torch] - expected[rows, top_shufflec])
    accuracy_torch = (top_torch == labels).mean()
    accuracy = (top_shufflec == labels).mean()
    print(f"[ fashion  ] {name}: {len(images)} test images, top-1 {100 * accuracy:.2f}% (PyTorch "
          f"{100 * accuracy_torch:.2f}%), {len(differ)} images classified differently "
          f"(largest PyTorch logit gap among them {gaps[differ].max() if len(differ) else 0:.2e}), logits "
          f"max abs error {error / scale:.2e} of max |PyTorch| {scale:.4g}; compiled and run in {compile_s:.0f} s")
    assert error <= 1e-4 * scale, f"{name}: logits differ by {error} (max |expected| {scale})"
    assert all(gaps[differ] <= TIE), f"{name}: images {differ[gaps[differ] > TIE][:10]} classified differently"
    # A model that learned nothing would pass the checks above: the committed ones must classify.
    assert accuracy_torch > 0.85, f"{name}: PyTorch top-1 {accuracy_torch} (is the committed model trained?)"
    return top_torch


def check_example(shufflec_bin, fp32_accuracy, folder):
    """examples/fashion_mnist (fp32, the committed int8 model and fp16, through
    their compiled RGB8 preprocessing) on the test set: the accuracy this test
    measured within 0.1 points, int8 and fp16 within their goals of fp32."""
    app = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(shufflec_bin))), "examples", "fashion_mnist")
    files = []
    for part in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        files.append(os.path.join(folder, part))
        with gzip.open(os.path.join(fashion_mnist.FOLDER, part + ".gz")) as z, open(files[-1], "wb") as out:
            out.write(z.read())
    text = subprocess.run([app] + files + ["4"], check=True, capture_output=True, text=True).stdout
    found = dict(re.findall(r"^(fp32|int8|fp16) top-1 accuracy on all 10000 images: ([0-9.]+)%", text, re.M))
    assert set(found) == {"fp32", "int8", "fp16"}, text
    fp32, int8, fp16 = (float(found[p]) / 100 for p in ("fp32", "int8", "fp16"))
    print(f"[ fashion  ] examples/fashion_mnist: fp32 {100 * fp32:.2f}%, int8 {100 * int8:.2f}%, fp16 "
          f"{100 * fp16:.2f}% (this test's fp32: {100 * fp32_accuracy:.2f}%)", flush=True)
    assert abs(fp32 - fp32_accuracy) <= 0.001, (fp32, fp32_accuracy)
    assert abs(int8 - fp32) <= GOALS["int8"][0], (int8, fp32)
    assert abs(fp16 - fp32) <= GOALS["fp16"][0], (fp16, fp32)


def main():
    shufflec_bin = sys.argv[1]
    names = sys.argv[2:] or sorted(train_fashion_mnist.MODELS)
    torch.set_num_threads(2)
    images, labels = fashion_mnist.load("test")
    upscaled = fashion_mnist.upscale(images)
    with tempfile.TemporaryDirectory() as folder:
        for index, name in enumerate(names):
            os.makedirs(os.path.join(folder, name))
            fp32_top = check(shufflec_bin, name, upscaled, labels, os.path.join(folder, name, "fp32"))
            arm = name in ARM_MODELS
            check_int8(shufflec_bin, name, upscaled, labels, fp32_top, os.path.join(folder, name), arm)
            spec = os.path.join(ROOT, "specs", "fashion_mnist", f"{name}.json")
            check_reduced(shufflec_bin, spec, "fp16", None, upscaled, labels, fp32_top, os.path.join(folder, name), arm)
            # bf16: x86 only (AVX512-BF16 dot products where `host` has them).
            check_reduced(shufflec_bin, spec, "bf16", None, upscaled, labels, fp32_top, os.path.join(folder, name),
                          False)
            if name == EXAMPLE_MODEL:
                check_example(shufflec_bin, (fp32_top == labels).mean(), folder)


if __name__ == "__main__":
    main()
