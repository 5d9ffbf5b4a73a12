#!/usr/bin/python3
"""Golden data from torchvision's own models: ShuffleNet V2 and MobileNet V2.

    torchvision_golden.py MODEL -o DIR [--seed S] [--onnx FILE --opset N [--no-constant-folding]]

MODEL is a torchvision.models constructor name (shufflenet_v2_x1_0, mobilenet_v2,
...). Its parameters are drawn with shufflec_py.random_init (no pretrained
weights here) and its BN statistics calibrated so activations stay of order one.
Writes DIR/weights.safetensors (the state_dict: names as torchvision's, which the
shufflenet_v2 family spec uses), input.npy, expected.npy (float64 forward) and,
with --onnx, the float32 model exported by torch.onnx, and facts.json: the
model's multiply-accumulates and channel shuffles counted on the PyTorch side
(forward hooks), for the tests to hold an import to. torchvision's code is the
oracle: it shares nothing with shufflec.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from shufflec_py import golden_io  # noqa: E402
from shufflec_py.random_init import calibrate_batchnorm_, randomize_  # noqa: E402


def build(name, seed):
    model = getattr(torchvision.models, name)(weights=None).eval()
    torch.manual_seed(seed)
    randomize_(model)
    return model


def count_facts(model, x):
    """MACs of every conv and linear layer on input x, and the channel shuffles run."""
    macs = [0]
    shuffles = [0]

    def conv_hook(m, inputs, output):
        macs[0] += output.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inputs, output):
        macs[0] += output.numel() // output.shape[-1] * m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    # torchvision's ShuffleNet V2 shuffles once per unit (InvertedResidual.forward).
    units = [m for m in model.modules() if type(m).__name__ == "InvertedResidual" and hasattr(m, "branch2")]
    for m in units:
        hooks.append(m.register_forward_hook(lambda *a: shuffles.__setitem__(0, shuffles[0] + 1)))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return {"macs": macs[0], "shuffles": shuffles[0]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a torchvision.models constructor, e.g. shufflenet_v2_x1_0")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--height", type=int, default=224)
    parser.add_argument("--width", type=int, default=224)
    parser.add_argument("--onnx", metavar="FILE")
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--no-constant-folding", action="store_true")
    args = parser.parse_args(argv)

    model = build(args.model, args.seed)
    x = torch.randn(1, 3, args.height, args.width)
    calibrate_batchnorm_(model.double(), x.double())
    model.float()
    os.makedirs(args.output, exist_ok=True)
    golden_io.write_weights(model, args.output)
    if args.onnx:
        golden_io.export_onnx(model, x, args.onnx, args.opset, constant_folding=not args.no_constant_folding)
    expected = golden_io.write_input_and_expected(model, x, args.output)
    with open(os.path.join(args.output, "facts.json"), "w") as f:
        json.dump(count_facts(model, x.double()), f)
    print(f"{args.model}: input {list(x.shape)} -> {list(expected.shape)}, max|expected| {np.abs(expected).max():.6g}")


if __name__ == "__main__":
    main()
