#!/usr/bin/python3
"""Trains the ShuffleNets of specs/fashion_mnist/ on Fashion-MNIST with PyTorch.

    train_fashion_mnist.py MODEL [-o DIR] [--epochs E] [--threads T] [--seed S]

MODEL is one of the names below. Writes DIR/MODEL.json (a shufflec spec whose
input.preprocess upscales a 28x28 grey image, given as RGB, to 56x56) and
DIR/MODEL.safetensors (float32 weights under the spec's tensor names), then prints
the fp32 top-1 accuracy on the 10,000 test images. Deterministic: the same seed,
epochs and thread count give the same weights on the same machine. Each model
trains in well under 15 minutes on 2 cores; the results are committed, so tests
never train.

ShuffleNet V1 is built from the spec by tools/golden.py's PyTorch model (the
oracle of every V1 test); V2 is torchvision's shufflenet_v2_x0_5, whose names the
spec's shufflenet_v2 family keeps.
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402
from shufflec_py import fashion_mnist, safetensors_io  # noqa: E402

# name: (spec family, default epochs: about 10-13 minutes each on 2 cores of an AMD EPYC)
MODELS = {
    "fashion_shufflenet_v1_g3": ({"name": "shufflenet_v1", "groups": 3, "scale": 0.5, "num_classes": 10}, 7),
    "fashion_shufflenet_v1_g8": ({"name": "shufflenet_v1", "groups": 8, "scale": 0.5, "num_classes": 10}, 6),
    "fashion_shufflenet_v2": ({"name": "shufflenet_v2", "width": 0.5, "num_classes": 10}, 10),
}
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUTPUT = os.path.join(os.path.dirname(HERE), "specs", "fashion_mnist")


def make_spec(name, family, accuracy=None):
    description = ("Trained on Fashion-MNIST (60,000 images upscaled to 56x56) by tools/train_fashion_mnist.py; "
                   "classes: " + ", ".join(fashion_mnist.CLASSES) + ".")
    if accuracy is not None:
        description += f" PyTorch fp32 top-1 on the 10,000 test images: {100 * accuracy:.2f}%."
    return {"format": "shufflec-spec/1", "name": name, "description": description,
            "input": {"shape": [1, 3, fashion_mnist.SIZE, fashion_mnist.SIZE],
                      "preprocess": fashion_mnist.preprocess_entry()},
            "weights": f"{name}.safetensors", "family": family}


def build_model(spec):
    """The PyTorch model of a spec (train mode), with state_dict keys = the spec's tensor names."""
    family = spec["family"]
    if family["name"] == "shufflenet_v2":
        return torchvision.models.shufflenet_v2_x0_5(weights=None, num_classes=family["num_classes"])
    shape = spec["input"]["shape"]
    return golden.Network(golden.Obj(spec, "$"), shape)


def load_model(spec_path):
    """The trained PyTorch model of a committed spec (eval mode, its safetensors loaded)."""
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    model = build_model(spec)
    weights, _ = safetensors_io.read(os.path.join(os.path.dirname(spec_path), spec["weights"]))
    result = model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()}, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise SystemExit(f"{spec_path}: weights do not fit the model: missing {missing}, "
                         f"unexpected {result.unexpected_keys}")
    return model.eval()


def spec_text(spec):
    """The spec as JSON in the style of specs/ (short lists and objects on one line)."""
    def inline(value):
        return json.dumps(value, separators=(", ", ": "))
    lines = ["{"]
    items = list(spec.items())
    for i, (key, value) in enumerate(items):
        end = "," if i + 1 < len(items) else ""
        if key == "input":
            inner = [f'    "shape": {inline(value["shape"])}']
            if "preprocess" in value:
                pre = value["preprocess"]
                inner.append('    "preprocess": {\n' + ",\n".join(f'      "{k}": {inline(v)}' for k, v in pre.items())
                             + "\n    }")
            lines.append('  "input": {\n' + ",\n".join(inner) + "\n  }" + end)
        else:
            lines.append(f'  "{key}": {inline(value)}{end}')
    return "\n".join(lines) + "\n}\n"


def evaluate(model, inputs, batch=500):
    """Logits of `model` (eval mode) for uint8 upscaled images [N, 56, 56]."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(inputs), batch):
            out.append(model(fashion_mnist.model_inputs(inputs[i:i + batch])))
    return torch.cat(out).numpy()


def train(model, images, labels, epochs, seed, batch=128, log=print):
    rng = np.random.default_rng(seed)
    steps = epochs * (len(images) // batch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    step = 0
    start = time.monotonic()
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(images))
        flips = rng.random(len(images)) < 0.5
        total = 0.0
        for b in range(len(images) // batch):
            idx = order[b * batch:(b + 1) * batch]
            x = images[idx].copy()
            x[flips[idx]] = x[flips[idx], :, ::-1]
            loss = F.cross_entropy(model(fashion_mnist.model_inputs(x)), torch.from_numpy(labels[idx]),
                                   label_smoothing=0.05)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            total += loss.item()
        elapsed = time.monotonic() - start
        log(f"  epoch {epoch + 1}/{epochs}: loss {total / (len(images) // batch):.4f}, "
            f"{elapsed:.0f} s, about {elapsed / (epoch + 1) * (epochs - epoch - 1):.0f} s left")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT, help="output folder (specs/fashion_mnist)")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the model's, see MODELS)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    family, default_epochs = MODELS[args.model]
    args.epochs = args.epochs or default_epochs
    spec = make_spec(args.model, family)
    model = build_model(spec)
    train_images, train_labels = fashion_mnist.load("train")
    test_images, test_labels = fashion_mnist.load("test")
    train_up, test_up = fashion_mnist.upscale(train_images), fashion_mnist.upscale(test_images)
    print(f"{args.model}: training {args.epochs} epochs on {len(train_up)} images, {args.threads} threads, "
          f"seed {args.seed}", flush=True)
    train(model, train_up, train_labels, args.epochs, args.seed, log=lambda s: print(s, flush=True))
    accuracy = float((evaluate(model, test_up).argmax(1) == test_labels).mean())

    weights = {k: v.detach().numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    spec = make_spec(args.model, family, accuracy)
    os.makedirs(args.output, exist_ok=True)
    targets = [os.path.join(args.output, f"{args.model}.{ext}") for ext in ("json", "safetensors")]
    temps = []
    for target in targets:
        fd, temp = tempfile.mkstemp(dir=args.output, prefix=".train-")
        os.close(fd)
        temps.append(temp)
    with open(temps[0], "w", encoding="utf-8") as f:
        f.write(spec_text(spec))
    safetensors_io.write(temps[1], weights, {"epochs": args.epochs, "seed": args.seed, "threads": args.threads})
    for temp, target in zip(temps, targets):
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    size = os.path.getsize(targets[1])
    print(f"{args.model}: test top-1 {100 * accuracy:.2f}% -> {targets[0]} ({size / 1e6:.2f} MB of weights)")


if __name__ == "__main__":
    main()
