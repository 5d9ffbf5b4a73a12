#!/usr/bin/python3
"""megvii's official ShuffleNet V1, re-implemented with the same modules and state_dict names.

The official PyTorch code (megvii-model/ShuffleNet-Series, ShuffleNetV1) is
not available here, so this module rebuilds its structure from the published
facts (the official repository's ShuffleNetV1/network.py and blocks.py): module names first_conv,
maxpool, features.N.branch_main_1 / branch_main_2 / branch_proj, globalpool,
classifier; megvii's channel shuffle, applied after the depthwise conv + BN.

    megvii_shufflenet.py --groups G --size S -o DIR [--seed N]

writes a stand-in for a real checkpoint, with random weights and BN statistics:
  DIR/checkpoint.pth.tar  {'state_dict': {'module.' + name: tensor}} (num_batches_tracked included)
  DIR/input.npy           float32 random normal input, 1x3x224x224
  DIR/expected.npy        float32 output of the model evaluated in float64, 1x1000
"""

import argparse
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shufflec_py import golden_io, megvii  # noqa: E402
from shufflec_py.random_init import randomize_  # noqa: E402


def megvii_channel_shuffle(x, groups):
    """megvii's shuffle: channels viewed as (C / g, g), transposed: out[b*n + a] = in[a*g + b]."""
    b, c, h, w = x.shape
    x = x.reshape(b, c // groups, groups, h, w)
    x = x.permute(0, 2, 1, 3, 4)
    return x.reshape(b, c, h, w)


class ShuffleV1Block(nn.Module):
    """One unit: branch_main_1 (pw conv, BN, ReLU, dw conv, BN) -> shuffle -> branch_main_2 (pw conv, BN).

    stride 1: relu(x + branch); stride 2: cat(branch_proj(x), relu(branch)),
    the branch producing out - in channels. `first_group` makes the first
    pointwise conv ungrouped (stage 2's first unit).
    """

    def __init__(self, in_channels, out_channels, group, first_group, mid_channels, stride):
        super().__init__()
        self.stride = stride
        self.group = group
        branch = out_channels - in_channels if stride == 2 else out_channels
        self.branch_main_1 = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 1, 1, 0, groups=1 if first_group else group, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, 3, stride, 1, groups=mid_channels, bias=False),
            nn.BatchNorm2d(mid_channels),
        )
        self.branch_main_2 = nn.Sequential(
            nn.Conv2d(mid_channels, branch, 1, 1, 0, groups=group, bias=False),
            nn.BatchNorm2d(branch),
        )
        if stride == 2:
            self.branch_proj = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        h = self.branch_main_1(x)
        if self.group > 1:
            h = megvii_channel_shuffle(h, self.group)
        h = self.branch_main_2(h)
        if self.stride == 1:
            return F.relu(x + h)
        return torch.cat((self.branch_proj(x), F.relu(h)), 1)


class ShuffleNetV1(nn.Module):
    """The whole network for groups 3 or 8 and size "0.5x", "1.0x", "1.5x" or "2.0x".

    The head is AvgPool2d(7), as in the official code: a global average pool
    only for 224x224 inputs (7x7 final feature maps).
    """

    def __init__(self, groups, size, num_classes=1000):
        super().__init__()
        megvii.check_groups(groups)
        self.stage_out_channels = megvii.STAGE_OUT_CHANNELS[groups][megvii.parse_size(size)]
        stem = self.stage_out_channels[0]
        self.first_conv = nn.Sequential(
            nn.Conv2d(3, stem, 3, 2, 1, bias=False),
            nn.BatchNorm2d(stem),
            nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        blocks = []
        in_channels = stem
        for stage, repeats in enumerate(megvii.STAGE_REPEATS):
            out_channels = self.stage_out_channels[stage + 1]
            for i in range(repeats):
                blocks.append(ShuffleV1Block(in_channels, out_channels, group=groups,
                                             first_group=stage == 0 and i == 0,
                                             mid_channels=out_channels // 4, stride=2 if i == 0 else 1))
                in_channels = out_channels
        self.features = nn.Sequential(*blocks)
        self.globalpool = nn.AvgPool2d(7)
        self.classifier = nn.Sequential(nn.Linear(in_channels, num_classes, bias=False))

    def forward(self, x):
        x = self.maxpool(self.first_conv(x))
        x = self.globalpool(self.features(x))
        x = x.contiguous().view(-1, self.stage_out_channels[-1])
        return self.classifier(x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, required=True, help="3 or 8")
    parser.add_argument("--size", required=True, help="0.5x, 1.0x, 1.5x or 2.0x")
    parser.add_argument("-o", "--output", required=True, help="output folder (created if needed)")
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed for weights and input (0)")
    parser.add_argument("--onnx", metavar="FILE", help="also export the float32 model to ONNX (as an app developer would)")
    parser.add_argument("--opset", type=int, default=13, help="ONNX opset of --onnx (13)")
    args = parser.parse_args(argv)
    try:
        model = ShuffleNetV1(args.groups, args.size).eval()
    except ValueError as err:
        sys.exit(f"megvii_shufflenet.py: {err}")

    torch.manual_seed(args.seed)
    randomize_(model)
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("num_batches_tracked"):
                buffer.fill_(int(torch.randint(1000, 500000, ())))
    x = torch.randn(1, 3, 224, 224)

    os.makedirs(args.output, exist_ok=True)
    state = OrderedDict(("module." + k, v.clone()) for k, v in model.state_dict().items())
    torch.save({"state_dict": state}, os.path.join(args.output, "checkpoint.pth.tar"))
    if args.onnx:
        golden_io.export_onnx(model, x, args.onnx, args.opset)
    expected = golden_io.write_input_and_expected(model, x, args.output)
    print(f"megvii ShuffleNet V1 g{args.groups} {megvii.parse_size(args.size)}: {len(state)} tensors, "
          f"output {list(expected.shape)}, max|expected| {np.abs(expected).max():.6g} -> {args.output}")


if __name__ == "__main__":
    main()
