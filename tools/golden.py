#!/usr/bin/python3
"""Golden outputs for a shufflec spec, computed by an independent PyTorch model.

    golden.py SPEC -o DIR [--seed S] [--batch N] [--height H] [--width W]
                          [--onnx FILE] [--opset N] [--calibrate-bn]

Reads a `shufflec-spec/1` JSON file (docs/spec.md) with its own parser,
expands the `shufflenet_v1` family itself, builds the network in PyTorch with
random weights (torch.manual_seed(S); see shufflec_py/random_init.py, and
--calibrate-bn for deep squeeze-and-excitation networks) and writes
  DIR/weights.safetensors  float32 parameters under the spec's tensor names
  DIR/input.npy            float32 random normal input [N, C, H, W]
  DIR/expected.npy         float32 output of the model evaluated in float64
                           ([N, classes] after an fc or flatten, else NCHW)
With --onnx FILE it also exports the float32 model to ONNX (input "input",
output "output"); channel shuffles appear as Reshape -> Transpose -> Reshape.

Nothing here is shared with the C++ compiler, so `shufflec run` on these
files checks its spec expansion and its reference interpreter.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shufflec_py import golden_io  # noqa: E402
from shufflec_py.random_init import calibrate_batchnorm_, randomize_  # noqa: E402

SPEC_FORMAT = "shufflec-spec/1"
_REQUIRED = object()


class SpecError(Exception):
    """A spec that this tool cannot build; the message starts with the JSON path."""


# --------------------------------------------------------------------------------------------
# JSON access


def _reject_duplicate_keys(pairs):
    """json object_pairs_hook: builds a dict, refusing duplicate keys as shufflec does."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise SpecError(f"duplicate key \"{key}\"")
        result[key] = value
    return result


class Obj:
    """A JSON object and its JSON path, with typed field access whose errors name the path."""

    def __init__(self, value, path):
        if not isinstance(value, dict):
            raise SpecError(f"{path}: expected an object")
        self.value = value
        self.path = path

    def check_fields(self, allowed):
        """Raises SpecError on the first field not in `allowed`."""
        for key in self.value:
            if key not in allowed:
                raise SpecError(f"{self.path}.{key}: unknown field")

    def has(self, key):
        return key in self.value

    def raw(self, key, default=_REQUIRED):
        if key in self.value:
            return self.value[key]
        if default is _REQUIRED:
            raise SpecError(f"{self.path}: missing field \"{key}\"")
        return default

    def int(self, key, default=_REQUIRED, minimum=1):
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise SpecError(f"{self.path}.{key}: expected an integer >= {minimum}, got {json.dumps(v)}")
        return v

    def number(self, key, default=_REQUIRED, minimum=0.0):
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < minimum:
            raise SpecError(f"{self.path}.{key}: expected a number >= {minimum}, got {json.dumps(v)}")
        return float(v)

    def bool(self, key, default=_REQUIRED):
        v = self.raw(key, default)
        if not isinstance(v, bool):
            raise SpecError(f"{self.path}.{key}: expected true or false, got {json.dumps(v)}")
        return v

    def str(self, key, default=_REQUIRED):
        v = self.raw(key, default)
        if not isinstance(v, str):
            raise SpecError(f"{self.path}.{key}: expected a string, got {json.dumps(v)}")
        return v

    def choice(self, key, default, choices):
        v = self.str(key, default)
        if v not in choices:
            raise SpecError(f"{self.path}.{key}: expected one of {', '.join(choices)}, got \"{v}\"")
        return v

    def int_list(self, key, default, lengths, minimum):
        """An integer (repeated to the first allowed length) or a list of one of `lengths` integers."""
        v = self.raw(key, default)
        if isinstance(v, int) and not isinstance(v, bool):
            v = [v] * lengths[0]
        if (not isinstance(v, list) or len(v) not in lengths
                or any(isinstance(x, bool) or not isinstance(x, int) or x < minimum for x in v)):
            raise SpecError(f"{self.path}.{key}: expected an integer >= {minimum} or a list of "
                            f"{' or '.join(map(str, lengths))} of them, got {json.dumps(v)}")
        return list(v)


# --------------------------------------------------------------------------------------------
# Modules whose parameter names are the spec's tensor roles


class Conv(nn.Conv2d):
    """nn.Conv2d with [top, left, bottom, right] padding; asymmetric padding is applied with F.pad."""

    def __init__(self, in_channels, out_channels, kernel, stride, pads, groups, bias):
        top, left, bottom, right = pads
        symmetric = top == bottom and left == right
        super().__init__(in_channels, out_channels, tuple(kernel), tuple(stride),
                         padding=(top, left) if symmetric else 0, groups=groups, bias=bias)
        self.explicit_pad = None if symmetric else (left, right, top, bottom)

    def forward(self, x):
        if self.explicit_pad is not None:
            x = F.pad(x, self.explicit_pad)
        return super().forward(x)


class BatchNorm(nn.BatchNorm2d):
    """Batch norm over dimension 1 of an [N, C] or [N, C, H, W] tensor (batch statistics only in train())."""

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                            self.momentum, self.eps)


class Dense(nn.Linear):
    """A fully connected layer over the flattened C*H*W features of its input."""

    def forward(self, x):
        return super().forward(torch.flatten(x, 1))


class SqueezeExcite(nn.Module):
    """x * sigmoid(fc2(relu(fc1(global_avgpool(x))))), fc1/fc2 1x1 convs with bias."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


def channel_shuffle(x, groups, convention):
    """Permutes dimension 1 of x (C channels, n = C / groups) by reshape -> transpose -> reshape.

    paper:   view channels as (groups, n), transpose:  out[j*g + i] = in[i*n + j]
    inverse: view channels as (n, groups), transpose:  out[b*n + a] = in[a*g + b]
    """
    c = x.shape[1]
    split = (groups, c // groups) if convention == "paper" else (c // groups, groups)
    y = x.reshape(x.shape[0], split[0], split[1], *x.shape[2:]).transpose(1, 2)
    return y.reshape(x.shape)


def _pool_pads_native(kernel, pads):
    """Whether F.max_pool2d / F.avg_pool2d can apply `pads` themselves (symmetric, at most half the kernel)."""
    top, left, bottom, right = pads
    return top == bottom and left == right and 2 * top <= kernel[0] and 2 * left <= kernel[1]


def max_pool(x, kernel, stride, pads):
    """Max pooling; padding is -inf, so it never wins."""
    if _pool_pads_native(kernel, pads):
        return F.max_pool2d(x, kernel, stride, (pads[0], pads[1]))
    x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]), value=-math.inf)
    return F.max_pool2d(x, kernel, stride)


def avg_pool(x, kernel, stride, pads, count_include_pad):
    """Average pooling with PyTorch's divisors: the full window with count_include_pad, else the real cells."""
    if _pool_pads_native(kernel, pads):
        return F.avg_pool2d(x, kernel, stride, (pads[0], pads[1]), count_include_pad=count_include_pad)
    torch_pads = (pads[1], pads[3], pads[0], pads[2])
    total = F.avg_pool2d(F.pad(x, torch_pads), kernel, stride)
    if count_include_pad:
        return total
    real = F.avg_pool2d(F.pad(x.new_ones((1, 1) + tuple(x.shape[2:])), torch_pads), kernel, stride)
    return total / real


class ShuffleUnit(nn.Module):
    """The ShuffleNet V1 unit of docs/spec.md (submodules conv1, bn1, dw, bn2, conv3, bn3, se)."""

    def __init__(self, in_channels, out_channels, mid, groups, stride, first_pw_grouped, shuffle, convention,
                 position, concat_order, count_include_pad, se_reduction, eps):
        super().__init__()
        branch = out_channels - in_channels if stride == 2 else out_channels
        self.conv1 = nn.Conv2d(in_channels, mid, 1, groups=groups if first_pw_grouped else 1, bias=False)
        self.bn1 = BatchNorm(mid, eps=eps)
        self.dw = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = BatchNorm(mid, eps=eps)
        self.conv3 = nn.Conv2d(mid, branch, 1, groups=groups, bias=False)
        self.bn3 = BatchNorm(branch, eps=eps)
        self.se = SqueezeExcite(branch, max(1, branch // se_reduction)) if se_reduction else None
        self.groups = groups
        self.stride = stride
        self.shuffle_at = position if shuffle and groups > 1 else None
        self.convention = convention
        self.branch_first = concat_order == "branch_first"
        self.count_include_pad = count_include_pad

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        if self.shuffle_at == "after_pw1":
            h = channel_shuffle(h, self.groups, self.convention)
        h = self.bn2(self.dw(h))
        if self.shuffle_at == "after_dw":
            h = channel_shuffle(h, self.groups, self.convention)
        h = self.bn3(self.conv3(h))
        if self.se is not None:
            h = self.se(h)
        if self.stride == 1:
            return F.relu(x + h)
        shortcut = F.avg_pool2d(x, 3, 2, 1, count_include_pad=self.count_include_pad)
        parts = [F.relu(h), shortcut] if self.branch_first else [shortcut, F.relu(h)]
        return torch.cat(parts, 1)


# --------------------------------------------------------------------------------------------
# The shufflenet_v1 family


TABLE1_STAGE2 = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}
FAMILY_FIELDS = ("name", "groups", "scale", "stage_out_channels", "stage_repeats", "num_classes", "bottleneck_ratio",
                 "bottleneck_of", "first_pw_grouped", "fc_bias", "bn_eps", "shuffle", "shuffle_convention",
                 "shuffle_position", "concat_order", "count_include_pad", "se")
UNIT_PASSTHROUGH = ("shuffle", "shuffle_convention", "shuffle_position", "concat_order", "count_include_pad", "se")


def round_to_multiple(x, m):
    """x rounded to the nearest multiple of m, ties rounded up."""
    return int(math.floor(x / m + 0.5)) * m


def expand_family(family):
    """Returns the layer entries that a `shufflenet_v1` family object stands for (docs/spec.md)."""
    family.check_fields(FAMILY_FIELDS)
    if family.str("name") != "shufflenet_v1":
        raise SpecError(f"{family.path}.name: unknown family \"{family.value['name']}\"")
    g = family.int("groups")
    if family.has("stage_out_channels"):
        if family.has("scale"):
            raise SpecError(f"{family.path}: give either \"scale\" or \"stage_out_channels\", not both")
        widths = family.int_list("stage_out_channels", _REQUIRED, (4,), 1)
        stem, stages = widths[0], widths[1:]
    else:
        if g not in TABLE1_STAGE2:
            raise SpecError(f"{family.path}.groups: Table 1 has no widths for groups = {g}; "
                            f"give \"stage_out_channels\"")
        s = family.number("scale", 1.0)
        stage2 = round_to_multiple(TABLE1_STAGE2[g] * s, g)
        if stage2 == 0:
            raise SpecError(f"{family.path}.scale: stage 2 would have no channels")
        stages = [stage2, 2 * stage2, 4 * stage2]
        stem = int(math.floor(max(24 * s, 12) / g)) * g
    repeats = family.int_list("stage_repeats", [4, 8, 4], (3,), 1)
    ratio = family.number("bottleneck_ratio", 0.25)
    bottleneck_of = family.choice("bottleneck_of", "out", ("out", "branch"))
    first_pw_grouped = family.bool("first_pw_grouped", False)
    eps = family.number("bn_eps", 1e-5)
    options = {key: family.value[key] for key in UNIT_PASSTHROUGH if family.has(key)}

    layers = [
        {"op": "conv", "name": "stem.conv", "out_channels": stem, "kernel": 3, "stride": 2, "pad": 1, "bias": False},
        {"op": "batchnorm", "name": "stem.bn", "eps": eps},
        {"op": "relu", "name": "stem.relu"},
        {"op": "maxpool", "name": "maxpool", "kernel": 3, "stride": 2, "pad": 1},
    ]
    in_channels = stem
    for stage, (out, count) in enumerate(zip(stages, repeats)):
        for i in range(count):
            stride = 2 if i == 0 else 1
            branch = out - in_channels if stride == 2 else out
            mid = round_to_multiple(ratio * (out if bottleneck_of == "out" else branch), g)
            if mid == 0:
                raise SpecError(f"{family.path}: stage{stage + 2}.{i} would have a bottleneck of 0 channels")
            layers.append(dict(options, op="shufflenet_unit", name=f"stage{stage + 2}.{i}", out_channels=out,
                               groups=g, stride=stride, bottleneck=mid, bn_eps=eps,
                               first_pw_grouped=first_pw_grouped if stage == 0 and i == 0 else True))
            in_channels = out
    layers.append({"op": "global_avgpool", "name": "global_pool"})
    layers.append({"op": "fc", "name": "fc", "out_features": family.int("num_classes", 1000),
                   "bias": family.bool("fc_bias", True)})
    return layers


# --------------------------------------------------------------------------------------------
# The network


COMMON_FIELDS = ("op", "name", "input", "inputs")
OP_FIELDS = {
    "conv": ("out_channels", "kernel", "stride", "pad", "groups", "bias"),
    "batchnorm": ("eps",),
    "relu": (), "sigmoid": (), "global_avgpool": (), "flatten": (), "add": (), "concat": (), "softmax": (), "mul": (),
    "maxpool": ("kernel", "stride", "pad"),
    "avgpool": ("kernel", "stride", "pad", "count_include_pad"),
    "fc": ("out_features", "bias"),
    "channel_shuffle": ("groups", "shuffle_convention"),
    "se": ("reduction", "channels"),
    "shufflenet_unit": ("in_channels", "out_channels", "groups", "stride", "bottleneck", "first_pw_grouped",
                        "shuffle", "shuffle_convention", "shuffle_position", "concat_order", "count_include_pad",
                        "se", "bn_eps"),
}
INPUT_COUNTS = {"add": (2, 2), "concat": (2, None)}


def _window(e, stride_defaults_to_kernel):
    """kernel [h, w], stride [h, w] and pads [top, left, bottom, right] of a conv or pooling entry."""
    kernel = e.int_list("kernel", _REQUIRED, (2,), 1)
    stride = e.int_list("stride", kernel if stride_defaults_to_kernel else [1, 1], (2,), 1)
    pad = e.int_list("pad", 0, (4, 2), 0)
    if len(pad) == 2:
        pad = [pad[0], pad[1], pad[0], pad[1]]
    return kernel, stride, pad


def _window_out(size, kernel, stride, pad_a, pad_b, where):
    padded = size + pad_a + pad_b
    if padded < kernel:
        raise SpecError(f"{where}: input size {size} plus padding is smaller than the kernel {kernel}")
    return (padded - kernel) // stride + 1


class Network(nn.Module):
    """The network of a spec: parametrized layers are registered under their spec names.

    A layer named "stage2.0" becomes the submodule stage2 -> 0, so state_dict()
    keys are exactly the spec's tensor names (plus BN's num_batches_tracked).
    """

    def __init__(self, spec, input_shape):
        super().__init__()
        input_entry = Obj(spec.raw("input"), "$.input")
        self.input_name = input_entry.str("name", "input")
        if spec.has("family"):
            family = Obj(spec.raw("family"), "$.family")
            entries = [Obj(e, f"$.family[{e['name']}]") for e in expand_family(family)]
        else:
            layers = spec.raw("layers")
            if not isinstance(layers, list) or not layers:
                raise SpecError("$.layers: expected a non-empty array")
            entries = [Obj(e, f"$.layers[{i}]") for i, e in enumerate(layers)]
        self.steps = []  # (name, function, input names)
        self.shapes = {self.input_name: tuple(input_shape)}
        previous = self.input_name
        for index, e in enumerate(entries):
            op = e.str("op")
            if op not in OP_FIELDS:
                raise SpecError(f"{e.path}.op: unknown op \"{op}\"")
            e.check_fields(OP_FIELDS[op] + COMMON_FIELDS)
            name = e.str("name", f"{op}_{index}")
            if name in self.shapes:
                raise SpecError(f"{e.path}.name: \"{name}\" is already used")
            inputs = self._inputs(e, previous)
            low, high = INPUT_COUNTS.get(op, (1, 1))
            if len(inputs) < low or (high is not None and len(inputs) > high):
                raise SpecError(f"{e.path}: {op} takes {low}{'' if high == low else '+'} input(s), got {len(inputs)}")
            function, shape = self._build(op, e, name, [self.shapes[i] for i in inputs])
            self.steps.append((name, function, inputs))
            self.shapes[name] = shape
            previous = name
        self.output_name = spec.str("output", previous)
        if self.output_name not in self.shapes:
            raise SpecError(f"$.output: unknown layer \"{self.output_name}\"")

    def _inputs(self, e, previous):
        if e.has("input") and e.has("inputs"):
            raise SpecError(f"{e.path}: give either \"input\" or \"inputs\", not both")
        if e.has("input"):
            names = [e.str("input")]
        elif e.has("inputs"):
            names = e.raw("inputs")
            if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                raise SpecError(f"{e.path}.inputs: expected a non-empty list of layer names")
        else:
            names = [previous]
        for n in names:
            if n not in self.shapes:
                raise SpecError(f"{e.path}: unknown layer \"{n}\"")
        return names

    def _attach(self, name, module, where):
        """Registers `module` at the dotted path `name` (creating plain container modules on the way)."""
        parent = self
        parts = name.split(".")
        try:
            for part in parts[:-1]:
                if part not in parent._modules:
                    parent.add_module(part, nn.Module())
                parent = parent._modules[part]
            existing = parent._modules.get(parts[-1])
            if existing is not None:  # a container made for an earlier "name.x" layer
                for child_name, child in existing.named_children():
                    module.add_module(child_name, child)
            parent.add_module(parts[-1], module)
        except (KeyError, TypeError) as err:
            raise SpecError(f"{where}: layer name \"{name}\" cannot be a PyTorch module path: {err}") from None
        return module

    def _build(self, op, e, name, in_shapes):
        """Returns (function of the input tensors, output shape) for one entry."""
        x = in_shapes[0]
        needs_4d = op in ("conv", "maxpool", "avgpool", "global_avgpool", "se", "shufflenet_unit")
        if needs_4d and len(x) != 4:
            raise SpecError(f"{e.path}: {op} needs a 4-D input, got {list(x)}")
        if op == "conv":
            kernel, stride, pads = _window(e, False)
            out, groups = e.int("out_channels"), e.int("groups", 1)
            if x[1] % groups or out % groups:
                raise SpecError(f"{e.path}: channels {x[1]} -> {out} are not divisible by groups {groups}")
            conv = self._attach(name, Conv(x[1], out, kernel, stride, pads, groups, e.bool("bias", True)), e.path)
            h = _window_out(x[2], kernel[0], stride[0], pads[0], pads[2], e.path)
            w = _window_out(x[3], kernel[1], stride[1], pads[1], pads[3], e.path)
            return conv, (x[0], out, h, w)
        if op == "batchnorm":
            return self._attach(name, BatchNorm(x[1], eps=e.number("eps", 1e-5)), e.path), x
        if op == "relu":
            return F.relu, x
        if op == "sigmoid":
            return torch.sigmoid, x
        if op == "softmax":
            return (lambda t: torch.softmax(t, 1)), x
        if op == "mul":
            s_ = in_shapes[1]
            if len(s_) != 4 or s_[0] != x[0] or s_[1] != x[1] or s_[2:] != (1, 1):
                raise SpecError(f"{e.path}: mul needs a scale of shape N x C x 1 x 1, got {list(s_)}")
            return (lambda a, b: a * b), x
        if op in ("maxpool", "avgpool"):
            kernel, stride, pads = _window(e, True)
            if pads[0] >= kernel[0] or pads[2] >= kernel[0] or pads[1] >= kernel[1] or pads[3] >= kernel[1]:
                raise SpecError(f"{e.path}: padding must be smaller than the kernel")
            h = _window_out(x[2], kernel[0], stride[0], pads[0], pads[2], e.path)
            w = _window_out(x[3], kernel[1], stride[1], pads[1], pads[3], e.path)
            if op == "maxpool":
                return (lambda t: max_pool(t, kernel, stride, pads)), (x[0], x[1], h, w)
            include = e.bool("count_include_pad", True)
            return (lambda t: avg_pool(t, kernel, stride, pads, include)), (x[0], x[1], h, w)
        if op == "global_avgpool":
            return (lambda t: F.adaptive_avg_pool2d(t, 1)), (x[0], x[1], 1, 1)
        if op == "fc":
            features = int(np.prod(x[1:]))
            out = e.int("out_features")
            return self._attach(name, Dense(features, out, bias=e.bool("bias", True)), e.path), (x[0], out)
        if op == "flatten":
            return (lambda t: torch.flatten(t, 1)), (x[0], int(np.prod(x[1:])))
        if op == "add":
            if in_shapes[0] != in_shapes[1]:
                raise SpecError(f"{e.path}: input shapes differ: {list(in_shapes[0])} vs {list(in_shapes[1])}")
            return (lambda a, b: a + b), x
        if op == "concat":
            for s in in_shapes:
                if len(s) != len(x) or s[0] != x[0] or s[2:] != x[2:]:
                    raise SpecError(f"{e.path}: concat inputs {[list(s) for s in in_shapes]} differ beyond channels")
            return (lambda *ts: torch.cat(ts, 1)), (x[0], sum(s[1] for s in in_shapes)) + x[2:]
        if op == "channel_shuffle":
            groups = e.int("groups")
            convention = e.choice("shuffle_convention", "paper", ("paper", "inverse"))
            if x[1] % groups:
                raise SpecError(f"{e.path}: channels {x[1]} are not divisible by groups {groups}")
            return (lambda t: channel_shuffle(t, groups, convention)), x
        if op == "se":
            if e.has("channels") and e.has("reduction"):
                raise SpecError(f"{e.path}: give either \"reduction\" or \"channels\", not both")
            hidden = e.int("channels") if e.has("channels") else max(1, x[1] // e.int("reduction", 16))
            return self._attach(name, SqueezeExcite(x[1], hidden), e.path), x
        return self._unit(e, name, x)

    def _unit(self, e, name, x):
        """A shufflenet_unit entry: checks its channel arithmetic and builds a ShuffleUnit."""
        cin = x[1]
        if e.has("in_channels") and e.int("in_channels") != cin:
            raise SpecError(f"{e.path}.in_channels: the input has {cin} channels")
        out, g, stride = e.int("out_channels"), e.int("groups"), e.int("stride", 1)
        if stride not in (1, 2):
            raise SpecError(f"{e.path}.stride: expected 1 or 2")
        if stride == 1 and out != cin:
            raise SpecError(f"{e.path}.out_channels: a stride-1 unit needs out_channels == in_channels ({cin})")
        if stride == 2 and out <= cin:
            raise SpecError(f"{e.path}.out_channels: a stride-2 unit needs out_channels > in_channels ({cin})")
        branch = out - cin if stride == 2 else out
        mid = e.int("bottleneck", out // 4)
        grouped = e.bool("first_pw_grouped", True)
        checks = [("bottleneck", mid), ("branch", branch)] + ([("input", cin)] if grouped else [])
        for what, channels in checks:
            if channels % g:
                raise SpecError(f"{e.path}: {what} channels {channels} are not divisible by groups {g}")
        se = e.raw("se", False)
        if isinstance(se, bool):
            se_reduction = 16 if se else 0
        else:
            se_entry = Obj(se, f"{e.path}.se")
            se_entry.check_fields(("reduction",))
            se_reduction = se_entry.int("reduction", 16)
        unit = ShuffleUnit(
            cin, out, mid, g, stride, grouped, e.bool("shuffle", True),
            e.choice("shuffle_convention", "paper", ("paper", "inverse")),
            e.choice("shuffle_position", "after_pw1", ("after_pw1", "after_dw")),
            e.choice("concat_order", "shortcut_first", ("shortcut_first", "branch_first")),
            e.bool("count_include_pad", True), se_reduction, e.number("bn_eps", 1e-5))
        self._attach(name, unit, e.path)
        return unit, (x[0], out, (x[2] - 1) // stride + 1, (x[3] - 1) // stride + 1)

    def forward(self, x):
        values = {self.input_name: x}
        for name, function, inputs in self.steps:
            values[name] = function(*(values[i] for i in inputs))
        return values[self.output_name]


def load_spec(path):
    """Parses a spec file; returns its top-level Obj after checking format and fields."""
    with open(path, encoding="utf-8") as f:
        try:
            root = json.load(f, object_pairs_hook=_reject_duplicate_keys)
        except json.JSONDecodeError as err:
            raise SpecError(f"{path}: invalid JSON: {err}") from None
    spec = Obj(root, "$")
    spec.check_fields(("format", "name", "description", "input", "weights", "family", "layers", "output"))
    if spec.str("format") != SPEC_FORMAT:
        raise SpecError(f"$.format: expected \"{SPEC_FORMAT}\"")
    if spec.has("family") == spec.has("layers"):
        raise SpecError("$: give exactly one of \"family\" and \"layers\"")
    Obj(spec.raw("input"), "$.input").check_fields(("name", "shape", "preprocess"))
    return spec


def input_shape(spec, batch, height, width):
    """The spec's input shape [N, C, H, W] with the given overrides (None keeps the spec's value)."""
    shape = Obj(spec.raw("input"), "$.input").int_list("shape", _REQUIRED, (4,), 1)
    for i, value in ((0, batch), (2, height), (3, width)):
        if value is not None:
            shape[i] = value
    return shape


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", help="a shufflec-spec/1 JSON file")
    parser.add_argument("-o", "--output", required=True, help="output folder (created if needed)")
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed for weights and input (0)")
    parser.add_argument("--batch", type=int, help="batch size (default: the spec's)")
    parser.add_argument("--height", type=int, help="input height (default: the spec's)")
    parser.add_argument("--width", type=int, help="input width (default: the spec's)")
    parser.add_argument("--onnx", metavar="FILE", help="also export the float32 model to this ONNX file")
    parser.add_argument("--opset", type=int, default=13, help="ONNX opset (13)")
    parser.add_argument("--calibrate-bn", action="store_true",
                        help="derive BN statistics from this input (perturbed) so activations stay of order one; "
                             "needed for a well-conditioned oracle of deep SE networks")
    args = parser.parse_args(argv)

    try:
        spec = load_spec(args.spec)
        shape = input_shape(spec, args.batch, args.height, args.width)
        model = Network(spec, shape)
    except SpecError as err:
        sys.exit(f"golden.py: {args.spec}: {err}")
    model.eval()
    torch.manual_seed(args.seed)
    randomize_(model)
    x = torch.randn(*shape)
    if args.calibrate_bn:
        calibrate_batchnorm_(model.double(), x.double())
        model.float()

    os.makedirs(args.output, exist_ok=True)
    weights = golden_io.write_weights(model, args.output)
    if args.onnx:
        golden_io.export_onnx(model, x, args.onnx, args.opset)
    expected = golden_io.write_input_and_expected(model, x, args.output)
    print(f"{spec.str('name')}: input {list(shape)} -> output {list(expected.shape)}, "
          f"max|expected| {np.abs(expected).max():.6g}, {len(weights)} tensors -> {args.output}")


if __name__ == "__main__":
    main()
