#!/usr/bin/python3
"""Top-1 accuracy of the committed Fashion-MNIST models per precision.

    fashion_accuracy.py SHUFFLEC [MODEL...] [--calibration N] [--method M] [--percentile P] [--test N]

For each model: PyTorch fp32, and the int8 model of `shufflec quantize`
(calibrated on the first N training images) as the reference interpreter
simulates it (`shufflec run --quantization`), on the test images: accuracy and
agreement with fp32 (the share of images whose top-1 class is fp32's).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_fashion_mnist  # noqa: E402
from shufflec_py import fashion_mnist  # noqa: E402

SPECS = os.path.join(os.path.dirname(HERE), "specs", "fashion_mnist")


def run_chunks(shufflec, spec, quantization, inputs, folder, chunk=1000):
    out = []
    for i in range(0, len(inputs), chunk):
        x = os.path.join(folder, "x.npy")
        y = os.path.join(folder, "y.npy")
        np.save(x, fashion_mnist.model_inputs(inputs[i:i + chunk]).numpy())
        subprocess.run([shufflec, "run", spec, "--input", x, "--quantization", quantization, "-o", y], check=True)
        out.append(np.load(y))
    return np.concatenate(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shufflec")
    parser.add_argument("models", nargs="*")
    parser.add_argument("--calibration", type=int, default=500, help="training images to calibrate on (500)")
    parser.add_argument("--method", default="percentile")
    parser.add_argument("--percentile", default="99.99")
    parser.add_argument("--test", type=int, default=10000, help="test images (10000)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    train_images, _ = fashion_mnist.load("train")
    test_images, labels = fashion_mnist.load("test")
    calibration = fashion_mnist.upscale(train_images[:args.calibration])
    test = fashion_mnist.upscale(test_images[:args.test])
    labels = labels[:args.test]
    print(f"{'model':28} {'fp32 (PyTorch)':>15} {'int8 (simulated)':>17} {'agrees with fp32':>17}")
    for name in args.models or sorted(train_fashion_mnist.MODELS):
        spec = os.path.join(SPECS, f"{name}.json")
        fp32 = train_fashion_mnist.evaluate(train_fashion_mnist.load_model(spec), test).argmax(1)
        with tempfile.TemporaryDirectory() as folder:
            cal = os.path.join(folder, "calibration.npy")
            np.save(cal, fashion_mnist.model_inputs(calibration).numpy())
            q = os.path.join(folder, "q.json")
            method = ["--method", args.method] + (["--percentile", args.percentile] if args.method == "percentile" else [])
            start = time.monotonic()
            subprocess.run([args.shufflec, "quantize", spec, "--calibration", cal, "-o", q, "--quiet"] + method,
                           check=True)
            calibrate_s = time.monotonic() - start
            int8 = run_chunks(args.shufflec, spec, q, test, folder).argmax(1)
        print(f"{name:28} {100 * (fp32 == labels).mean():14.2f}% {100 * (int8 == labels).mean():16.2f}% "
              f"{100 * (int8 == fp32).mean():16.2f}%   (calibrated in {calibrate_s:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
