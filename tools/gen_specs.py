#!/usr/bin/python3
"""(Re)writes every spec under specs/ and the catalogue docs/specs.md.

    tools/gen_specs.py [--shufflec build/compiler/shufflec] [--check]

The specs are generated here rather than written by hand so that the families of
files (25 family specs, ablations, Table 4's plain-layer networks, MobileNet V1,
megvii's official structures) stay consistent. Output is deterministic.

With the shufflec binary available, `shufflec info --json` is run on every spec:
its MACs and parameters go into the catalogue, and the targets each spec is meant
to reproduce are checked (Table 4 within 3%, megvii's README within 2%, ...).
Without it only the specs are written and docs/specs.md is left as it is.

--check writes nothing: it exits 1 if any generated file differs from the one on
disk (or a check fails).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMAT = "shufflec-spec/1"
INPUT_SHAPE = [1, 3, 224, 224]
DEFAULT_SPEC = "shufflenet_v1_g3_1.0x.json"

PAPER = "Zhang et al., ShuffleNet (CVPR 2018, arXiv 1707.01083)"
MEGVII = "megvii-model/ShuffleNet-Series, ShuffleNetV1"

# ---------------------------------------------------------------------------
# JSON output: 2-space indent; an object or array goes on one line when it fits.

LINE_WIDTH = 120


def _dump(value, indent, used=0):
    """`indent`: the line's indentation; `used`: characters already on the line."""
    flat = json.dumps(value, separators=(", ", ": "), ensure_ascii=False)
    if not isinstance(value, (dict, list)) or not value or used + len(flat) <= LINE_WIDTH:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            head = pad + json.dumps(k, ensure_ascii=False) + ": "
            items.append(head + _dump(v, indent + 2, len(head)))
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + _dump(v, indent + 2, len(pad)) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def to_json_text(value):
    return _dump(value, 0) + "\n"


# How images become the input (NAME_run_rgb8): ImageNet's standard evaluation
# transform (torchvision's Resize(256) + CenterCrop(224) + Normalize), and
# megvii's own (OpenCV resize, BGR 0..255) for its checkpoints.
IMAGENET_PREPROCESS = {"order": "rgb", "scale": 1 / 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                       "resize": {"shorter_side": 256, "antialias": True}, "center_crop": [224, 224]}
MEGVII_PREPROCESS = {"order": "bgr", "scale": 1.0,
                     "resize": {"shorter_side": 256, "antialias": False, "long_side": "round"},
                     "center_crop": [224, 224]}


def spec(name, description, body, preprocess=None):
    out = {"format": FORMAT, "name": name, "description": description,
           "input": {"shape": list(INPUT_SHAPE), "preprocess": preprocess or IMAGENET_PREPROCESS}}
    out.update(body)
    return out


# ---------------------------------------------------------------------------
# 1-3, 6: the shufflenet_v1 family

SCALES = ["0.25", "0.5", "1.0", "1.5", "2.0"]
GROUPS = [1, 2, 3, 4, 8]
TABLE2_MACS = {"1.0": 140, "0.5": 38, "0.25": 13}
TABLE1_MACS = {1: 143, 2: 140, 3: 137, 4: 133, 8: 137}


def family_specs():
    out = []
    for g in GROUPS:
        for s in SCALES:
            name = f"shufflenet_v1_g{g}_{s}x"
            if s == "1.0":
                src = f"paper Table 1 (g={g}, {TABLE1_MACS[g]} M MACs) and Table 2 (1x)"
            elif s in TABLE2_MACS:
                src = f"paper Table 2 ({s}x, about {TABLE2_MACS[s]} M MACs)"
            elif g == 3:
                src = f"paper Table 5 ({s}x g=3, {292 if s == '1.5' else 524} M MACs)"
            else:
                src = f"the paper's width rule at {s}x (not in the paper's tables)"
            desc = (f"ShuffleNet V1 {s}x, g={g}: {src}. {PAPER}. "
                    "Stage widths from Table 1 times the scale; bottleneck = out/4.")
            fam = {"name": "shufflenet_v1", "groups": g, "scale": float(s)}
            out.append((name, spec(name, desc, {"family": fam}), "family"))
    for g in (3, 8):
        for s in ("1.0", "0.5", "0.25"):
            name = f"shufflenet_v1_g{g}_{s}x_noshuffle"
            desc = (f"ShuffleNet V1 {s}x, g={g} without the channel shuffle: paper Table 3 "
                    f"(shuffle ablation). {PAPER}.")
            fam = {"name": "shufflenet_v1", "groups": g, "scale": float(s), "shuffle": False}
            out.append((name, spec(name, desc, {"family": fam}), "noshuffle"))
    name = "shufflenet_v1_g3_2.0x_se"
    desc = (f"ShuffleNet V1 2x, g=3 with a squeeze-and-excitation block (reduction 16) in every unit: "
            f"paper Table 5 (ShuffleNet 2x with SE, 527 M MACs). {PAPER}.")
    fam = {"name": "shufflenet_v1", "groups": 3, "scale": 2.0, "se": {"reduction": 16}}
    out.append((name, spec(name, desc, {"family": fam}), "se"))
    return out


MEGVII_WIDTHS = {
    3: {"0.5": [12, 120, 240, 480], "1.0": [24, 240, 480, 960],
        "1.5": [24, 360, 720, 1440], "2.0": [48, 480, 960, 1920]},
    8: {"0.5": [16, 192, 384, 768], "1.0": [24, 384, 768, 1536],
        "1.5": [24, 576, 1152, 2304], "2.0": [48, 768, 1536, 3072]},
}
# megvii's README: (M MACs, M params)
MEGVII_README = {
    3: {"0.5": (38, 0.7), "1.0": (138, 1.9), "1.5": (292, 3.4), "2.0": (524, 5.4)},
    8: {"0.5": (40, 1.0), "1.0": (138, 2.4), "1.5": (290, 4.3), "2.0": (522, 6.5)},
}


def megvii_specs():
    out = []
    for g in (3, 8):
        for s in ("0.5", "1.0", "1.5", "2.0"):
            name = f"megvii_shufflenet_v1_g{g}_{s}x"
            macs, params = MEGVII_README[g][s]
            desc = (f"megvii's official ShuffleNet V1 {s}x g={g} structure ({MEGVII}; README: "
                    f"{macs} M MACs, {params} M params): its stage widths, the inverse shuffle "
                    "after the depthwise conv, no FC bias. Loads the official checkpoints "
                    "(tools/import_megvii.py).")
            fam = {"name": "shufflenet_v1", "groups": g, "stage_out_channels": MEGVII_WIDTHS[g][s],
                   "shuffle_convention": "inverse", "shuffle_position": "after_dw", "fc_bias": False}
            out.append((name, spec(name, desc, {"family": fam}, MEGVII_PREPROCESS), "megvii"))
    return out


# ---------------------------------------------------------------------------
# 4: paper Table 4, other units in Table 1's network, written with plain layers.


class Net:
    """Appends layer entries; tracks the name and channels of the last output."""

    def __init__(self, channels, input_name="input"):
        self.layers = []
        self.last = input_name
        self.channels = channels

    def add(self, name, op, inputs=None, **fields):
        entry = {"op": op, "name": name}
        if inputs is not None:
            if len(inputs) == 1:
                entry["input"] = inputs[0]
            else:
                entry["inputs"] = list(inputs)
        entry.update(fields)
        self.layers.append(entry)
        self.last = name
        return name

    def conv(self, name, out, kernel, stride=1, groups=1, input=None):
        fields = {"out_channels": out, "kernel": kernel}
        if stride != 1:
            fields["stride"] = stride
        if kernel > 1:
            fields["pad"] = kernel // 2
        if groups != 1:
            fields["groups"] = groups
        fields["bias"] = False
        self.add(name, "conv", [input] if input else None, **fields)
        self.channels = out

    def conv_bn(self, prefix, suffix, out, kernel, stride=1, groups=1, relu=True, input=None):
        self.conv(f"{prefix}.conv{suffix}", out, kernel, stride, groups, input)
        self.add(f"{prefix}.bn{suffix}", "batchnorm")
        if relu:
            self.add(f"{prefix}.relu{suffix}", "relu")

    def dw_bn(self, prefix, suffix, stride):
        c = self.channels
        self.conv(f"{prefix}.dw{suffix}", c, 3, stride, groups=c)
        self.add(f"{prefix}.bn_dw{suffix}", "batchnorm")

    def residual(self, prefix, unit_in, in_ch, out, stride):
        """Adds the shortcut of a residual unit and the add + ReLU (named `prefix`)."""
        branch = self.last
        if stride != 1 or in_ch != out:
            self.conv(f"{prefix}.proj", out, 1, stride, input=unit_in)
            shortcut = self.add(f"{prefix}.proj_bn", "batchnorm")
        else:
            shortcut = unit_in
        self.add(f"{prefix}.add", "add", [branch, shortcut])
        self.add(prefix, "relu")
        self.channels = out


def unit_vgg(net, prefix, out, stride):
    net.conv_bn(prefix, 1, out, 3, stride)
    net.conv_bn(prefix, 2, out, 3)
    net.layers[-1]["name"] = prefix  # the unit's output carries the unit's name
    net.last = prefix


def unit_resnet(net, prefix, out, stride):
    unit_in, in_ch = net.last, net.channels
    mid = out // 4
    net.conv_bn(prefix, 1, mid, 1)
    net.conv_bn(prefix, 2, mid, 3, stride)
    net.conv_bn(prefix, 3, out, 1, relu=False)
    net.residual(prefix, unit_in, in_ch, out, stride)


def unit_xception(net, prefix, out, stride):
    unit_in, in_ch = net.last, net.channels
    net.dw_bn(prefix, 1, stride)
    net.conv_bn(prefix, 1, out, 1)
    net.dw_bn(prefix, 2, 1)
    net.conv_bn(prefix, 2, out, 1, relu=False)
    net.residual(prefix, unit_in, in_ch, out, stride)


RESNEXT_GROUPS = 16


def resnext_mid(out):
    """out/2 rounded to the nearest multiple of the 16 groups (halves up), at least 16."""
    return RESNEXT_GROUPS * max(1, (out + RESNEXT_GROUPS) // (2 * RESNEXT_GROUPS))


def unit_resnext(net, prefix, out, stride):
    unit_in, in_ch = net.last, net.channels
    mid = resnext_mid(out)
    net.conv_bn(prefix, 1, mid, 1)
    net.conv_bn(prefix, 2, mid, 3, stride, groups=RESNEXT_GROUPS)
    net.conv_bn(prefix, 3, out, 1, relu=False)
    net.residual(prefix, unit_in, in_ch, out, stride)


UNITS = {
    "vgg": ("VGG-like", unit_vgg),
    "resnet": ("ResNet bottleneck", unit_resnet),
    "xception": ("Xception-like", unit_xception),
    "resnext": ("ResNeXt", unit_resnext),
}

# Stage-4 width W4 per (unit, target M MACs); stage 3 is W4/2 and stage 2 floor(W4/4).
# Chosen (with `shufflec info`) as the width closest to the target that the unit
# admits (ResNet: mid = out/4 needs every width divisible by 4); see docs/specs.md.
TABLE4_WIDTHS = {
    ("vgg", 140): 98, ("vgg", 38): 46,
    ("resnet", 140): 384, ("resnet", 38): 176,
    ("xception", 140): 280, ("xception", 38): 128,
    ("resnext", 140): 352, ("resnext", 38): 168,
}


def stage_widths(w4):
    return (w4 // 4, w4 // 2, w4)


TABLE4_TOLERANCE = 0.03


def table4_layers(kind, widths):
    unit = UNITS[kind][1]
    net = Net(INPUT_SHAPE[1])
    net.conv_bn("stem", "", 24, 3, 2)  # stem.conv, stem.bn, stem.relu, as the family names them
    net.add("maxpool", "maxpool", kernel=3, stride=2, pad=1)
    for stage, (repeats, w) in enumerate(zip((4, 8, 4), widths), start=2):
        for i in range(repeats):
            unit(net, f"stage{stage}.{i}", w, 2 if i == 0 else 1)
    net.add("global_pool", "global_avgpool")
    net.add("fc", "fc", out_features=1000)
    return net.layers


def table4_specs(widths=None):
    widths = widths or TABLE4_WIDTHS
    out = []
    for kind in ("vgg", "resnet", "xception", "resnext"):
        for target in (140, 38):
            ws = stage_widths(widths[(kind, target)])
            name = f"table4_{kind}_{target}m"
            desc = (f"Paper Table 4: a {UNITS[kind][0]} unit in place of the ShuffleNet unit, about "
                    f"{target} M MACs; Table 1's network (stem, maxpool, stages of 4/8/4 units, "
                    f"first one stride 2, global pool, FC 1000), stage widths {ws[0]}/{ws[1]}/{ws[2]}. "
                    f"{PAPER}. Units defined in docs/specs.md.")
            out.append((name, spec(name, desc, {"layers": table4_layers(kind, ws)}), "table4"))
    return out


# ---------------------------------------------------------------------------
# 5: MobileNet V1 (Howard et al. 2017), the paper's Table 5 baseline

MOBILENET_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def mobilenet_layers(alpha):
    net = Net(INPUT_SHAPE[1])
    c0 = int(32 * alpha)
    net.conv("conv0", c0, 3, 2)
    net.add("conv0.bn", "batchnorm")
    net.add("conv0.relu", "relu")
    for i, (c, stride) in enumerate(MOBILENET_BLOCKS, start=1):
        p = f"block{i}"
        net.dw_bn(p, "", stride)
        net.layers[-2]["name"], net.layers[-1]["name"] = f"{p}.dw", f"{p}.dw_bn"
        net.add(f"{p}.dw_relu", "relu")
        net.conv(f"{p}.pw", int(c * alpha), 1)
        net.add(f"{p}.pw_bn", "batchnorm")
        net.add(p, "relu")
    net.add("global_pool", "global_avgpool")
    net.add("fc", "fc", out_features=1000)
    return net.layers


def mobilenet_specs():
    out = []
    for alpha, macs in (("1.0", 569), ("0.5", 149)):
        name = f"mobilenet_v1_{alpha}"
        desc = (f"MobileNet V1 {alpha} at 224x224 (Howard et al. 2017, arXiv 1704.04861), the "
                f"baseline of the ShuffleNet paper's Table 5 ({macs} M MACs): conv 3x3/s2 then 13 "
                "depthwise-separable blocks (dw 3x3 + BN + ReLU, pw 1x1 + BN + ReLU), global "
                "average pool, FC 1000 with bias; convolutions without bias.")
        out.append((name, spec(name, desc, {"layers": mobilenet_layers(float(alpha))}), "mobilenet"))
    return out


# ---------------------------------------------------------------------------
# 6: ShuffleNet V2 (Ma et al. 2018), torchvision's shufflenet_v2_x{0_5,1_0,1_5,2_0}

V2_PAPER = "Ma et al., ShuffleNet V2 (ECCV 2018, arXiv 1807.11164)"
V2_MACS = {"0.5": 41, "1.0": 146, "1.5": 299, "2.0": 591}


def v2_specs():
    out = []
    for width, macs in V2_MACS.items():
        name = f"shufflenet_v2_x{width}"
        desc = (f"ShuffleNet V2 {width}x at 224x224: {V2_PAPER}, Table 5 ({macs} M MACs); layer names as "
                f"torchvision's shufflenet_v2_x{width.replace('.', '_')}. Each unit splits its channels in two "
                "(stride 1) or feeds both branches (stride 2), concatenates and shuffles with 2 groups; the "
                "compiler folds the split, concat and shuffle into the next units' reads.")
        out.append((name, spec(name, desc, {"family": {"name": "shufflenet_v2", "width": float(width)}}), "v2"))
    return out


def all_specs():
    return family_specs() + table4_specs() + mobilenet_specs() + megvii_specs() + v2_specs()


# ---------------------------------------------------------------------------
# shufflec info, checks, catalogue


def run_info(binary, path):
    res = subprocess.run([binary, "info", path, "--json"], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"shufflec info {path} failed ({res.returncode}): {res.stderr.strip()}")
    d = json.loads(res.stdout)
    return d["macs_per_image"], d["params"]


def info_for(binary, name, body):
    """Writes `body` to a temporary file (so --check needs no writes to specs/) and runs info."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix=name + ".", delete=False) as f:
        f.write(to_json_text(body))
        tmp = f.name
    try:
        return run_info(binary, tmp)
    finally:
        os.unlink(tmp)


def check_targets(name, kind, macs, params):
    """Returns a list of failed expectations for one spec."""
    m, p = macs / 1e6, params / 1e6
    fails = []

    def near(value, target, tol, what):
        if abs(value - target) > tol * target:
            fails.append(f"{name}: {what} {value:.2f} M is not within {tol:.0%} of {target} M")

    if kind == "table4":
        near(m, int(name.split("_")[-1][:-1]), TABLE4_TOLERANCE, "MACs")
    elif kind == "megvii":
        g = int(name.split("_g")[1][0])
        s = name.split("_")[-1][:-1]
        near(m, MEGVII_README[g][s][0], 0.02, "MACs")
        # The README prints params to 0.1 M: 0.7173 M (g3 0.5x) is 2.5% above "0.7" but
        # rounds to it, which is all the README says.
        if round(p, 1) != MEGVII_README[g][s][1]:
            near(p, MEGVII_README[g][s][1], 0.02, "params")
    elif kind == "mobilenet":
        near(m, 569 if name.endswith("1.0") else 149, 0.01, "MACs")
    elif kind == "v2":
        near(m, V2_MACS[name.split("_x")[1]], 0.02, "MACs")
    elif kind == "se":
        near(m, 527, 0.01, "MACs")
    return fails


def catalogue(rows):
    what = {
        "family": "ShuffleNet V1 family shorthand (paper Tables 1, 2, 5)",
        "noshuffle": "Table 3 ablation: the same without the channel shuffle",
        "se": "Table 5: 2x g=3 with SE blocks (reduction 16)",
        "table4": "Table 4: another unit in Table 1's network",
        "mobilenet": "MobileNet V1 (Table 5 baseline)",
        "megvii": "megvii's official structure",
        "v2": "ShuffleNet V2 (V2 paper Table 5, torchvision)",
    }
    lines = [
        "# Spec catalogue",
        "",
        "<!-- Generated by tools/gen_specs.py; edit that script, not this file. -->",
        "",
        "Every file under `specs/` is written by `tools/gen_specs.py` (run it again after",
        "changing it; `--check` verifies the files are current). The numbers are",
        "`shufflec info --json` at the spec's input shape 1x3x224x224: multiply-accumulates",
        "per image and parameters (batchnorm counts gamma and beta), in millions.",
        "",
        f"**The default spec is `specs/{DEFAULT_SPEC}`** (ShuffleNet V1 1x, g=3, the paper's",
        "headline model). The spec format is described in [spec.md](spec.md).",
        "",
        "| file | what it is | MACs/image (M) | params (M) |",
        "|---|---|---:|---:|",
    ]
    for name, kind, macs, params in rows:
        detail = what[kind]
        if kind == "family":
            g, s = name.split("_")[2][1:], name.split("_")[3]
            detail = f"ShuffleNet V1 {s}, g={g}"
        elif kind == "noshuffle":
            g, s = name.split("_")[2][1:], name.split("_")[3]
            detail = f"ShuffleNet V1 {s}, g={g}, no shuffle (Table 3)"
        elif kind == "table4":
            k, t = name.split("_")[1], name.split("_")[2][:-1]
            ws = stage_widths(TABLE4_WIDTHS[(k, int(t))])
            detail = f"Table 4: {UNITS[k][0]} unit, {t} M target, widths {ws[0]}/{ws[1]}/{ws[2]}"
        elif kind == "megvii":
            g, s = name.split("_")[3][1:], name.split("_")[4]
            readme = MEGVII_README[int(g)][s[:-1]]
            detail = f"megvii official {s} g={g} (README {readme[0]} M, {readme[1]} M params)"
        elif kind == "mobilenet":
            detail = f"MobileNet V1 {name.split('_')[-1]} (paper Table 5: {569 if name.endswith('1.0') else 149} M)"
        elif kind == "v2":
            w = name.split("_x")[1]
            detail = f"ShuffleNet V2 {w}x (V2 paper Table 5: {V2_MACS[w]} M)"
        lines.append(f"| `{name}.json` | {detail} | {macs / 1e6:.1f} | {params / 1e6:.3f} |")
    lines += [
        "",
        "## ShuffleNet V1 family specs",
        "",
        "`shufflenet_v1_g{1,2,3,4,8}_{0.25,0.5,1.0,1.5,2.0}x.json` use the `shufflenet_v1`",
        "family with `groups` and `scale` (the paper's convention: Table 1's widths times the",
        "scale; see spec.md for the rounding). The paper's tables give 1x: 143/140/137/133/137 M",
        "for g = 1/2/3/4/8 (Table 1), 0.5x: 38 M, 0.25x: 13 M (Table 2), 1.5x g=3: 292 M and",
        "2x g=3: 524 M (Table 5). `*_noshuffle` set `\"shuffle\": false` (Table 3);",
        "`shufflenet_v1_g3_2.0x_se.json` adds an SE block with reduction 16 to every unit",
        "(Table 5: 527 M).",
        "",
        "## megvii's official structures",
        "",
        "`megvii_shufflenet_v1_g{3,8}_{0.5,1.0,1.5,2.0}x.json` reproduce the networks of the",
        "official code (megvii-model/ShuffleNet-Series, ShuffleNetV1), whose checkpoints",
        "`tools/import_megvii.py` converts: its `stage_out_channels`, the inverse shuffle",
        "convention applied after the depthwise conv, and a classifier without bias.",
        "MACs are within 2% of its README and parameters round to the README's figures",
        "(checked by the generator; g=3 0.5x has 0.717 M, 2.5% above the README's \"0.7\").",
        "",
        "## Table 4: other units in the ShuffleNet network",
        "",
        "`table4_{vgg,resnet,xception,resnext}_{140,38}m.json` keep Table 1's network (conv",
        "3x3/s2 with 24 channels + BN + ReLU, maxpool 3x3/s2/p1, stages 2-4 of 1 stride-2 unit",
        "followed by 3/7/3 stride-1 units, global average pool, FC 1000 with bias) and replace",
        "the ShuffleNet unit. All convolutions have no bias and are followed by BN; 3x3 convs",
        "use padding 1. Each network is sized by its stage-4 width W4 (the width the paper",
        "quotes): stage 3 has W4/2 channels and stage 2 floor(W4/4).",
        "",
        "- **VGG-like**: conv 3x3 (stride of the unit) + BN + ReLU, conv 3x3 + BN + ReLU; no",
        "  shortcut.",
        "- **ResNet** (bottleneck): conv 1x1 (mid = out/4) + BN + ReLU, conv 3x3 (stride) +",
        "  BN + ReLU, conv 1x1 (out) + BN; shortcut = identity, or a 1x1 conv with the unit's",
        "  stride + BN when the unit has stride 2 or changes the width; add, ReLU.",
        "- **Xception-like**: depthwise 3x3 (stride) + BN, conv 1x1 (out) + BN + ReLU, depthwise",
        "  3x3 + BN, conv 1x1 (out) + BN; shortcut as ResNet; add, ReLU.",
        f"- **ResNeXt**: conv 1x1 (mid = out/2 rounded to the nearest multiple of {RESNEXT_GROUPS},",
        f"  halves up, at least {RESNEXT_GROUPS}) + BN + ReLU, grouped conv 3x3 with {RESNEXT_GROUPS} groups",
        "  (stride) + BN + ReLU, conv 1x1 (out) + BN; shortcut as ResNet; add, ReLU.",
        "",
        f"W4 is the width nearest the target that the unit admits; all land within {TABLE4_TOLERANCE:.0%}",
        "(checked by the generator). Two departures from a plain \"stage 2 width w, doubled",
        "twice\" rule were needed, because its steps are too coarse to reach the targets:",
        "",
        "- VGG-like: one channel more or less in stage 2 moves the total by about 4% at",
        "  140 M and 7% at 38 M (24/48/96: 134.2 M, 25/50/100: 144.8 M; 11/22/44: 35.6 M,",
        "  12/24/48: 40.7 M), so stage 2 is floor(W4/4) with W4 = 98 and 46.",
        f"- ResNeXt: an exact mid = out/2 in {RESNEXT_GROUPS} groups needs every width divisible by 32,",
        "  and doubling widths then give only 25.9, 75.4 and 156.6 M (stage 2 = 32, 64, 96).",
        "  Rounding mid to a multiple of 16 instead (as the ShuffleNet family rounds its",
        "  mid to a multiple of g) keeps the doubling: mids are 48/96/176 at 140 M and",
        "  16/48/80 at 38 M.",
        "",
        "",
        "| unit | 140 M: widths (stage 2/3/4) | MACs (M) | 38 M: widths | MACs (M) | paper's stage 4 at 38 M |",
        "|---|---|---:|---|---:|---:|",
    ]
    macs_of = {name: macs for name, _, macs, _ in rows}
    paper38 = {"vgg": 50, "resnet": 192, "xception": 288, "resnext": 192}
    for k in ("vgg", "resnet", "xception", "resnext"):
        cells = []
        for t in (140, 38):
            ws = stage_widths(TABLE4_WIDTHS[(k, t)])
            cells.append(f"{ws[0]}/{ws[1]}/{ws[2]} | {macs_of[f'table4_{k}_{t}m'] / 1e6:.1f}")
        lines.append(f"| {UNITS[k][0]} | {cells[0]} | {cells[1]} | {paper38[k]} |")
    lines += [
        "",
        "## MobileNet V1",
        "",
        "`mobilenet_v1_{1.0,0.5}.json`: the standard MobileNet V1 (conv 3x3/s2 with 32 x alpha",
        "channels + BN + ReLU, 13 depthwise-separable blocks of dw 3x3 + BN + ReLU and pw 1x1",
        "+ BN + ReLU with widths 64, 128, 128, 256, 256, 512 x 6, 1024, 1024 times alpha,",
        "stride 2 in blocks 2, 4, 6 and 12, global average pool, FC 1000 with bias;",
        "convolutions without bias). The ShuffleNet paper's Table 5 lists 569 and 149 M MACs.",
        "",
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shufflec", default=os.path.join(ROOT, "build", "compiler", "shufflec"),
                    help="the shufflec binary for the catalogue (default: build/compiler/shufflec)")
    ap.add_argument("--check", action="store_true", help="write nothing; fail if a file is out of date")
    args = ap.parse_args()

    specs = all_specs()
    names = [n for n, _, _ in specs]
    assert len(names) == len(set(names)), "duplicate spec names"
    stale = []

    def emit(path, text):
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old == text:
            return
        if args.check:
            stale.append(os.path.relpath(path, ROOT))
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(path, ROOT)}")

    spec_dir = os.path.join(ROOT, "specs")
    for name, body, _ in specs:
        emit(os.path.join(spec_dir, name + ".json"), to_json_text(body))
    extra = sorted(set(f for f in os.listdir(spec_dir) if f.endswith(".json")) - {n + ".json" for n in names}) \
        if os.path.isdir(spec_dir) else []
    for f in extra:
        print(f"note: specs/{f} is not generated by this script")

    failures = []
    if os.access(args.shufflec, os.X_OK):
        rows = []
        for name, body, kind in specs:
            macs, params = info_for(args.shufflec, name, body)
            rows.append((name, kind, macs, params))
            failures += check_targets(name, kind, macs, params)
        emit(os.path.join(ROOT, "docs", "specs.md"), catalogue(rows))
        print(f"{'spec':40} {'MACs/img (M)':>12} {'params (M)':>11}")
        for name, _, macs, params in rows:
            print(f"{name:40} {macs / 1e6:12.2f} {params / 1e6:11.4f}")
    else:
        print(f"note: {args.shufflec} not found; docs/specs.md not regenerated, targets not checked")

    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    for f in stale:
        print(f"out of date: {f}", file=sys.stderr)
    return 1 if failures or stale else 0


if __name__ == "__main__":
    sys.exit(main())
