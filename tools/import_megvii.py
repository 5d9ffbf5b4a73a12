#!/usr/bin/python3
"""Converts an official megvii ShuffleNet V1 checkpoint into a shufflec spec and weights file.

    import_megvii.py CHECKPOINT --groups G --size S -o DIR [--name NAME]

CHECKPOINT is a PyTorch file from megvii-model/ShuffleNet-Series
(ShuffleNetV1), either {'state_dict': {...}} or a bare state dict, with or
without DataParallel's 'module.' prefixes. Writes
  DIR/NAME.json         a shufflec-spec/1 spec: the shufflenet_v1 family with
                        megvii's widths, its shuffle convention and position
                        and no classifier bias
  DIR/NAME.safetensors  the tensors, float32, renamed to shufflec's names
NAME defaults to megvii_shufflenet_v1_g{G}_{S} (e.g. megvii_shufflenet_v1_g3_1.0x).

Every tensor is checked against the layout that --groups/--size imply: an
unexpected, missing or mis-shaped tensor stops the import with its name, and
nothing is written (outputs go to temporary files that are renamed at the end).
"""

import argparse
import json
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shufflec_py import megvii, safetensors_io  # noqa: E402


class CheckpointError(Exception):
    """A checkpoint that does not match the requested model; the message says why."""


def load_state_dict(path):
    """Loads a checkpoint's tensors as a dict name -> tensor, without 'state_dict' nesting or 'module.'."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds (pickle, zip, I/O) for unreadable files
        raise CheckpointError(f"cannot load {path}: {err}") from None
    if isinstance(checkpoint, dict) and "state_dict" in checkpoint:
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: expected a state dict or {{'state_dict': ...}}, got {type(checkpoint).__name__}")
    state = {}
    for key, value in checkpoint.items():
        if not isinstance(key, str) or not torch.is_tensor(value):
            raise CheckpointError(f"{path}: entry {key!r} is not a named tensor")
        name = key[len("module."):] if key.startswith("module.") else key
        if name in state:
            raise CheckpointError(f"{path}: '{name}' appears both with and without the 'module.' prefix")
        state[name] = value
    return state


def _mismatches(state, layout):
    """The problems of `state` against `layout`: unexpected keys, missing keys, wrong shapes (messages)."""
    problems = [f"unexpected tensor '{k}'" for k in state if k not in layout]
    problems += [f"missing tensor '{k}'" for k, (target, _) in layout.items() if target and k not in state]
    problems += [f"tensor '{k}' has shape {list(state[k].shape)}, expected {list(shape)}"
                 for k, (target, shape) in layout.items() if target and k in state and tuple(state[k].shape) != shape]
    return problems


def convert(state, groups, size):
    """Checks `state` against megvii's layout for groups/size; returns (shufflec tensors, num_classes).

    The classifier may have any number of classes (a fine-tuned model);
    everything else must match exactly. On a mismatch the error lists the
    offending tensors and, if another megvii configuration fits, names it.
    """
    classifier = state.get("classifier.0.weight")
    num_classes = int(classifier.shape[0]) if classifier is not None and classifier.dim() == 2 else 1000
    problems = _mismatches(state, megvii.checkpoint_layout(groups, size, num_classes))
    if problems:
        shown = "\n  ".join(problems[:10]) + (f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else "")
        fits = [f"--groups {g} --size {s}" for g in megvii.STAGE_OUT_CHANNELS for s in megvii.SIZES
                if not _mismatches(state, megvii.checkpoint_layout(g, s, num_classes))]
        hint = f"\n(the checkpoint matches {fits[0]})" if fits else ""
        raise CheckpointError(f"the checkpoint does not match megvii's ShuffleNet V1 --groups {groups} --size {size}:"
                           f"\n  {shown}{hint}")
    tensors = {}
    for key, (target, _) in megvii.checkpoint_layout(groups, size, num_classes).items():
        if target is not None:
            tensors[target] = state[key].detach().to(torch.float32).numpy()
    return tensors, num_classes


def make_spec(name, groups, size, num_classes):
    """The shufflec spec (a dict) of megvii's ShuffleNet V1 for these settings."""
    family = {"name": "shufflenet_v1", "groups": groups,
              "stage_out_channels": megvii.STAGE_OUT_CHANNELS[groups][size],
              "shuffle_convention": "inverse", "shuffle_position": "after_dw", "fc_bias": False}
    if num_classes != 1000:
        family["num_classes"] = num_classes
    return {
        "format": "shufflec-spec/1",
        "name": name,
        "description": (
            f"megvii-model/ShuffleNet-Series ShuffleNetV1 g{groups} {size}, imported by tools/import_megvii.py. "
            "megvii's head is AvgPool2d(7), which equals this global average pool at 224x224 input "
            "(other resolutions differ from the original code). input.preprocess is megvii's evaluation "
            "transform (OpencvResize(256): OpenCV INTER_LINEAR, long side rounded; CenterCrop(224); "
            "ToBGRTensor: BGR pixel values 0..255, no mean/std): NAME_run_rgb8 takes RGB8 images, "
            "NAME_run float BGR 0..255 tensors."),
        "input": {"name": "input", "shape": [1, 3, 224, 224],
                  "preprocess": {"order": "bgr", "scale": 1.0,
                                 "resize": {"shorter_side": 256, "antialias": False, "long_side": "round"},
                                 "center_crop": [224, 224]}},
        "weights": f"{name}.safetensors",
        "family": family,
    }


def spec_text(spec):
    """`spec` as indented JSON, with lists of numbers kept on one line ("shape": [1, 3, 224, 224])."""
    text = json.dumps(spec, indent=2)
    return re.sub(r"\[\s+([-0-9.,\s]+?)\s+\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text) + "\n"


def write_outputs(directory, name, spec, tensors, metadata):
    """Writes DIR/NAME.json and DIR/NAME.safetensors via temporary files, renamed only once both exist."""
    os.makedirs(directory, exist_ok=True)
    targets = [os.path.join(directory, f"{name}.json"), os.path.join(directory, f"{name}.safetensors")]
    temps = [f"{t}.tmp{os.getpid()}" for t in targets]
    try:
        with open(temps[0], "w", encoding="utf-8") as f:
            f.write(spec_text(spec))
        safetensors_io.write(temps[1], tensors, metadata)
        for temp, target in zip(temps, targets):
            os.replace(temp, target)
    finally:
        for temp in temps:
            if os.path.exists(temp):
                os.remove(temp)
    return targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="megvii ShuffleNet V1 checkpoint (.pth.tar)")
    parser.add_argument("--groups", type=int, required=True, help="3 or 8")
    parser.add_argument("--size", required=True, help="0.5x, 1.0x, 1.5x or 2.0x")
    parser.add_argument("-o", "--output", required=True, help="output folder (created if needed)")
    parser.add_argument("--name", help="spec name and file stem (default megvii_shufflenet_v1_g{G}_{S})")
    args = parser.parse_args(argv)
    try:
        megvii.check_groups(args.groups)
        size = megvii.parse_size(args.size)
        name = args.name or megvii.default_name(args.groups, size)
        if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}", name):
            raise ValueError(f"--name \"{name}\" may only contain letters, digits and _ . - (no leading dot)")
        tensors, num_classes = convert(load_state_dict(args.checkpoint), args.groups, size)
    except (ValueError, CheckpointError) as err:
        sys.exit(f"import_megvii.py: {err}")
    metadata = {"source": os.path.basename(args.checkpoint), "converter": "tools/import_megvii.py",
                "groups": args.groups, "size": size}
    spec_path, weights_path = write_outputs(args.output, name, make_spec(name, args.groups, size, num_classes),
                                            tensors, metadata)
    params = sum(int(np.prod(t.shape)) for t in tensors.values())
    print(f"{name}: {len(tensors)} tensors, {params} values -> {spec_path}, {weights_path}")


if __name__ == "__main__":
    main()
