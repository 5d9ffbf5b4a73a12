#!/usr/bin/python3
"""`shufflec quantize --calibration DIR`: a folder of PNG/JPEG images, each
turned into the network's input by the spec's input.preprocess.

Against an independent path (OpenCV decodes, PyTorch resizes): the committed
Fashion-MNIST V1 g3 model (input.preprocess: 28x28 grey -> 56x56 bilinear,
rounded to grey levels, normalized), 100 training images written as PNG and,
separately, as JPEG. The scales from the folder equal those from an .npy of the
same inputs computed in Python to 1e-5 (relative): the same inputs but for float
rounding. The Python side rounds resized values as the compiled preprocessing
does, leaving a value within 1e-3 of a tie unrounded (lower/preprocess.cc);
the bilinear 2x upscale makes many exact ties (3/4 a + 1/4 b).

Bad folders fail with one line naming the place: a corrupt PNG (names the
file), a folder without images, a spec without input.preprocess.

    calibration_images_test.py SHUFFLEC_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402
from shufflec_py import fashion_mnist  # noqa: E402

SPEC = os.path.join(ROOT, "specs", "fashion_mnist", "fashion_shufflenet_v1_g3.json")
IMAGES = 100
TOLERANCE = 1e-5



def model_inputs(grey):
    """uint8 [N, 28, 28] -> the network's input, as input.preprocess defines it."""
    t = torch.from_numpy(np.array(grey)).float().unsqueeze(1)
    up = F.interpolate(t, size=(fashion_mnist.SIZE, fashion_mnist.SIZE), mode="bilinear", align_corners=False)
    tie = (up - torch.floor(up) - 0.5).abs() < 1e-3
    v = torch.where(tie, up, torch.floor(up + 0.5).clamp(0, 255)).squeeze(1)
    x = (v / 255.0 - fashion_mnist.MEAN) / fashion_mnist.STD
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous().numpy().astype(np.float32)


def quantize(shufflec, source, out):
    return subprocess.run([shufflec, "quantize", SPEC, "--calibration", source, "-o", out, "--quiet"],
                          capture_output=True, text=True)


def main():
    shufflec = sys.argv[1]
    images, _ = fashion_mnist.load("train")
    images = np.array(images[:IMAGES])
    with tempfile.TemporaryDirectory(prefix="shufflec-calibration-") as tmp:
        for kind, ext, params in (("PNG", ".png", []), ("JPEG", ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90])):
            folder = os.path.join(tmp, kind)
            os.makedirs(folder)
            decoded = []
            for i, image in enumerate(images):
                path = os.path.join(folder, f"train_{i:05d}{ext}")
                cv2.imwrite(path, image, params)
                decoded.append(cv2.imread(path, cv2.IMREAD_GRAYSCALE))  # JPEG is lossy: what a decoder gets
            np.save(os.path.join(tmp, "inputs.npy"), model_inputs(np.stack(decoded)))
            r = quantize(shufflec, folder, os.path.join(tmp, "folder.json"))
            check(r.returncode == 0, f"{kind}: quantize --calibration DIR ({r.stderr.strip()})")
            if r.returncode:
                continue
            r = quantize(shufflec, os.path.join(tmp, "inputs.npy"), os.path.join(tmp, "npy.json"))
            check(r.returncode == 0, f"{kind}: quantize --calibration X.npy ({r.stderr.strip()})")
            a = json.load(open(os.path.join(tmp, "folder.json")))
            b = json.load(open(os.path.join(tmp, "npy.json")))
            worst = max(abs(a["tensors"][k]["scale"] / b["tensors"][k]["scale"] - 1) for k in b["tensors"])
            check(a["calibration"]["images"] == IMAGES and a["tensors"].keys() == b["tensors"].keys()
                  and worst <= TOLERANCE,
                  f"{kind}: {IMAGES} images, scales from the folder vs from the .npy: worst relative difference "
                  f"{worst:.1e} <= {TOLERANCE}")

        # Bad folders: one line naming the place.
        def one_line(what, source, want, spec=SPEC):
            r = subprocess.run([shufflec, "quantize", spec, "--calibration", source, "-o", os.path.join(tmp, "bad.json"),
                                "--quiet"], capture_output=True, text=True)
            check(r.returncode == 1 and len(r.stderr.splitlines()) == 1 and want in r.stderr
                  and not os.path.exists(os.path.join(tmp, "bad.json")), f"{what}: {r.stderr.strip()}")

        corrupt = os.path.join(tmp, "corrupt")
        os.makedirs(corrupt)
        good = open(os.path.join(tmp, "PNG", "train_00000.png"), "rb").read()
        open(os.path.join(corrupt, "a.png"), "wb").write(good[: len(good) // 2])
        one_line("a truncated PNG", corrupt, os.path.join(corrupt, "a.png") + ": not a valid PNG file")
        open(os.path.join(corrupt, "a.png"), "wb").write(b"GIF89a....")
        one_line("a GIF named .png", corrupt, "not a PNG or JPEG file")
        empty = os.path.join(tmp, "empty")
        os.makedirs(empty)
        open(os.path.join(empty, "notes.txt"), "w").write("no images here")
        one_line("a folder without images", empty, empty + ": no .png, .jpg or .jpeg files in the folder")
        one_line("a spec without input.preprocess", os.path.join(tmp, "PNG"),
                 "a folder of images needs the spec's input.preprocess", os.path.join(ROOT, "tests",
                                                                                       "tiny_shufflenet_v1.json"))
    finish()


if __name__ == "__main__":
    main()
