#!/usr/bin/python3
"""Generates the golden data of every case in tests/golden/cases.json.

    make_golden.py CASES.json OUT_DIR [--only NAME ...]

For each case, OUT_DIR/<name>/ gets input.npy, expected.npy and the weights,
and case.json: {"spec": ..., "weights": ..., "input": ..., "expected": ...}
(absolute paths) for the C++ tests; ONNX cases (with "opset") also get
model.onnx, the float32 model exported by torch.onnx. Spec cases use golden.py (an independent
PyTorch model, float64, batchnorm statistics calibrated so activations stay of
order one); megvii cases build a synthetic official-layout checkpoint with
megvii_shufflenet.py and import it with import_megvii.py (the round trip an
app developer does with a real checkpoint); torchvision cases take
torchvision's own model (torchvision_golden.py) with its state_dict names,
and record the MACs and shuffles counted in PyTorch (facts.json).
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import golden  # noqa: E402
import import_megvii  # noqa: E402
import megvii_shufflenet  # noqa: E402
import torchvision_golden  # noqa: E402


def make_case(case, out_dir):
    name = case["name"]
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    onnx_args = ["--onnx", os.path.join(folder, "model.onnx"), "--opset", str(case["opset"])] if "opset" in case else []
    if case.get("constant_folding") is False:
        onnx_args.append("--no-constant-folding")
    facts = {}
    if "torchvision" in case:
        args = [case["torchvision"], "-o", folder, "--seed", str(case.get("seed", 1))] + onnx_args
        for key in ("height", "width"):
            if key in case:
                args += ["--" + key, str(case[key])]
        torchvision_golden.main(args)
        spec = os.path.join(ROOT, case["spec"]) if "spec" in case else ""
        weights = os.path.join(folder, "weights.safetensors")
        with open(os.path.join(folder, "facts.json")) as f:
            facts = json.load(f)
    elif "megvii" in case:
        m = case["megvii"]
        groups, size = str(m["groups"]), m["size"]
        megvii_shufflenet.main(["--groups", groups, "--size", size, "-o", folder, "--seed", "3"] + onnx_args)
        imported = os.path.join(folder, "imported")
        import_megvii.main([os.path.join(folder, "checkpoint.pth.tar"), "--groups", groups, "--size", size,
                            "-o", imported, "--name", "megvii"])
        spec = os.path.join(imported, "megvii.json")
        weights = os.path.join(imported, "megvii.safetensors")
    else:
        spec = os.path.join(ROOT, case["spec"])
        args = [spec, "-o", folder, "--seed", str(case.get("seed", 1)), "--calibrate-bn"] + onnx_args
        for key in ("batch", "height", "width"):
            if key in case:
                args += ["--" + key, str(case[key])]
        golden.main(args)
        weights = os.path.join(folder, "weights.safetensors")
    info = {"name": name, "spec": spec, "weights": weights, "input": os.path.join(folder, "input.npy"),
            "expected": os.path.join(folder, "expected.npy"), "targets": case.get("targets", [])}
    info.update(facts)
    if onnx_args:
        info["onnx"] = onnx_args[1]
    with open(os.path.join(folder, "case.json"), "w") as f:
        json.dump(info, f, indent=2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", help="tests/golden/cases.json")
    parser.add_argument("out", help="output folder")
    parser.add_argument("--only", nargs="*", help="case names to generate (default: all)")
    args = parser.parse_args(argv)
    with open(args.cases) as f:
        listing = json.load(f)
    cases = listing["cases"] + listing.get("onnx_cases", [])
    for case in cases:
        if args.only and case["name"] not in args.only:
            continue
        make_case(case, os.path.abspath(args.out))


if __name__ == "__main__":
    main()
