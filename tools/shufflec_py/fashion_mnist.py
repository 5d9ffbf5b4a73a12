"""Fashion-MNIST (Debian's dataset-fashion-mnist) as ShuffleNet inputs.

The 28x28 grey images are upscaled to SIZE x SIZE exactly as a compiled model's
preprocessing does it for an 8-bit image (bilinear, half-pixel centers, rounded to
grey levels; docs/spec.md `input.preprocess`), replicated to three channels and
normalized with the training set's mean and standard deviation.
"""

import gzip
import os

import numpy as np
import torch
import torch.nn.functional as F

FOLDER = "/usr/share/datasets/fashion-mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SIZE = 56
# Mean and standard deviation of the 60,000 training images' grey levels / 255.
MEAN = 0.2860
STD = 0.3530


def _read_idx(path, offset):
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: missing (Debian package dataset-fashion-mnist; tools/setup.sh installs it)")
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(split):
    """(images uint8 [N, 28, 28], labels int64 [N]) of split "train" (60,000) or "test" (10,000)."""
    prefix = "train" if split == "train" else "t10k"
    images = _read_idx(os.path.join(FOLDER, f"{prefix}-images-idx3-ubyte.gz"), 16).reshape(-1, 28, 28)
    labels = _read_idx(os.path.join(FOLDER, f"{prefix}-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    return images, labels


def upscale(images):
    """uint8 [N, 28, 28] -> uint8 [N, SIZE, SIZE]: bilinear with half-pixel centers, rounded to grey levels."""
    x = torch.from_numpy(np.array(images)).float().unsqueeze(1)
    up = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return torch.floor(up + 0.5).clamp_(0, 255).to(torch.uint8).squeeze(1).numpy()


def model_inputs(upscaled):
    """uint8 [N, SIZE, SIZE] -> float32 [N, 3, SIZE, SIZE], the network's normalized input."""
    x = (torch.from_numpy(np.array(upscaled)).float() / 255.0 - MEAN) / STD
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def preprocess_entry():
    """The spec's input.preprocess that turns a 28x28 (grey as RGB) image into model_inputs()."""
    return {"resize": {"shorter_side": SIZE, "antialias": False}, "center_crop": [SIZE, SIZE],
            "scale": 1.0 / 255.0, "mean": [MEAN] * 3, "std": [STD] * 3}
