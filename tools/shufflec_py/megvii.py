"""Facts about megvii's official ShuffleNet V1 (megvii-model/ShuffleNet-Series, folder ShuffleNetV1).

The official code exists for g = 3 and g = 8 at four sizes; its checkpoints are
{'state_dict': {...}} with 'module.'-prefixed keys (its train.py saves the
DataParallel model). This module holds the channel table and
the checkpoint's tensor layout, and maps its tensor names to shufflec's
(docs/spec.md), for tools/megvii_shufflenet.py and tools/import_megvii.py.
"""

# [stem, stage2, stage3, stage4] output channels per group count and model size.
STAGE_OUT_CHANNELS = {
    3: {"0.5x": [12, 120, 240, 480], "1.0x": [24, 240, 480, 960],
        "1.5x": [24, 360, 720, 1440], "2.0x": [48, 480, 960, 1920]},
    8: {"0.5x": [16, 192, 384, 768], "1.0x": [24, 384, 768, 1536],
        "1.5x": [24, 576, 1152, 2304], "2.0x": [48, 768, 1536, 3072]},
}
STAGE_REPEATS = (4, 8, 4)
SIZES = ("0.5x", "1.0x", "1.5x", "2.0x")
BN_ROLES = ("weight", "bias", "running_mean", "running_var")


def parse_size(text):
    """Normalizes a model size such as "1", "1.0" or "1.0x" to megvii's spelling "1.0x".

    Raises ValueError for sizes that megvii's code does not define.
    """
    try:
        size = f"{float(text[:-1] if text.endswith('x') else text):.1f}x"
    except ValueError:
        size = None
    if size not in SIZES:
        raise ValueError(f"unknown model size \"{text}\" (megvii's: {', '.join(SIZES)})")
    return size


def check_groups(groups):
    """Raises ValueError unless megvii's code defines `groups`."""
    if groups not in STAGE_OUT_CHANNELS:
        raise ValueError(f"megvii's ShuffleNet V1 exists for groups 3 and 8, not {groups}")


def default_name(groups, size):
    """The spec name for an imported checkpoint, e.g. megvii_shufflenet_v1_g3_1.0x."""
    return f"megvii_shufflenet_v1_g{groups}_{size}"


def checkpoint_layout(groups, size, num_classes=1000):
    """The tensors of a megvii checkpoint (without 'module.').

    Returns a dict megvii name -> (shufflec name, shape), in the model's
    order; the shufflec name is None for the BN counters num_batches_tracked,
    which shufflec does not use.
    """
    check_groups(groups)
    stem, *stages = STAGE_OUT_CHANNELS[groups][size]
    layout = {}

    def conv(megvii, shufflec, shape):
        layout[f"{megvii}.weight"] = (f"{shufflec}.weight", tuple(shape))

    def bn(megvii, shufflec, channels):
        for role in BN_ROLES:
            layout[f"{megvii}.{role}"] = (f"{shufflec}.{role}", (channels,))
        layout[f"{megvii}.num_batches_tracked"] = (None, ())

    conv("first_conv.0", "stem.conv", (stem, 3, 3, 3))
    bn("first_conv.1", "stem.bn", stem)
    in_channels, index = stem, 0
    for stage, (out, repeats) in enumerate(zip(stages, STAGE_REPEATS)):
        for i in range(repeats):
            mid = out // 4
            branch = out - in_channels if i == 0 else out
            first_groups = 1 if stage == 0 and i == 0 else groups
            m, s = f"features.{index}", f"stage{stage + 2}.{i}"
            conv(f"{m}.branch_main_1.0", f"{s}.conv1", (mid, in_channels // first_groups, 1, 1))
            bn(f"{m}.branch_main_1.1", f"{s}.bn1", mid)
            conv(f"{m}.branch_main_1.3", f"{s}.dw", (mid, 1, 3, 3))
            bn(f"{m}.branch_main_1.4", f"{s}.bn2", mid)
            conv(f"{m}.branch_main_2.0", f"{s}.conv3", (branch, mid // groups, 1, 1))
            bn(f"{m}.branch_main_2.1", f"{s}.bn3", branch)
            in_channels, index = out, index + 1
    layout["classifier.0.weight"] = ("fc.weight", (num_classes, stages[-1]))
    return layout
