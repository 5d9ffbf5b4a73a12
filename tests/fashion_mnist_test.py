#!/usr/bin/python3
"""The committed Fashion-MNIST models (specs/fashion_mnist/, trained by
tools/train_fashion_mnist.py) compiled by shufflec classify all 10,000 test
images as PyTorch does: the same top-1 class for every image (or, where they
differ, PyTorch's two logits tie within 1e-5), logits within the project's
tolerance (max abs error <= 1e-4 x max |PyTorch|), hence the same accuracy.

    fashion_mnist_test.py SHUFFLEC_BINARY [MODEL...]
"""
import os
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
from shufflec_py import fashion_mnist  # noqa: E402

BATCH = 100
TIE = 1e-5


def check(shufflec_bin, name, images, labels, folder):
    spec = os.path.join(ROOT, "specs", "fashion_mnist", f"{name}.json")
    start = time.monotonic()
    subprocess.run([shufflec_bin, "compile", spec, "--target", "host", "--emit", "so", "--name", name,
                    "--input-shape", f"{BATCH},3,{fashion_mnist.SIZE},{fashion_mnist.SIZE}", "-o", folder,
                    "--quiet"], check=True)
    compile_s = time.monotonic() - start
    model = shufflec.load(os.path.join(folder, f"{name}.so"))
    expected = train_fashion_mnist.evaluate(train_fashion_mnist.load_model(spec), images)
    got = np.concatenate([model(fashion_mnist.model_inputs(images[i:i + BATCH]).numpy())
                          for i in range(0, len(images), BATCH)])
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
          f"max abs error {error / scale:.2e} of max |PyTorch| {scale:.4g}; compiled in {compile_s:.0f} s")
    assert error <= 1e-4 * scale, f"{name}: logits differ by {error} (max |expected| {scale})"
    assert all(gaps[differ] <= TIE), f"{name}: images {differ[gaps[differ] > TIE][:10]} classified differently"
    # A model that learned nothing would pass the checks above: the committed ones must classify.
    assert accuracy_torch > 0.85, f"{name}: PyTorch top-1 {accuracy_torch} (is the committed model trained?)"


def main():
    shufflec_bin = sys.argv[1]
    names = sys.argv[2:] or sorted(train_fashion_mnist.MODELS)
    torch.set_num_threads(2)
    images, labels = fashion_mnist.load("test")
    upscaled = fashion_mnist.upscale(images)
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            check(shufflec_bin, name, upscaled, labels, os.path.join(folder, name))


if __name__ == "__main__":
    main()
