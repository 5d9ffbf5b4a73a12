#!/usr/bin/env python3
"""PyTorch (Debian's python3-torch, CPU, eager, float32) as a benchmark worker.

    torch_worker.py SPEC WEIGHTS.safetensors N C H W
    torch_worker.py --torchvision MODEL WEIGHTS.safetensors N C H W

The network comes from tools/golden.py (its own PyTorch model of the spec), or
is torchvision's MODEL (e.g. shufflenet_v2_x1_0), with the given weights. Protocol as bench/worker.c: lines "T N" on stdin, one JSON
line {"ms": [...]} per command; {"ready": true, "version": ...} first.
"""
import json
import os
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import golden  # noqa: E402
from shufflec_py import safetensors_io  # noqa: E402


def main():
    args = sys.argv[1:]
    torchvision_model = None
    if args and args[0] == "--torchvision":
        torchvision_model, args = args[1], args[1:]  # args[0]: the model's name instead of a spec
    spec_path, weights_path = args[0], args[1]
    shape = tuple(int(v) for v in args[2:6])
    if torchvision_model:
        import torchvision
        model = getattr(torchvision.models, torchvision_model)(weights=None)
    else:
        model = golden.Network(golden.load_spec(spec_path), shape)
    tensors, _ = safetensors_io.read(weights_path)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=False)
    model.eval()
    x = torch.randn(*shape)
    print(json.dumps({"ready": True, "version": torch.__version__}), flush=True)
    with torch.no_grad():
        for line in sys.stdin:
            parts = line.split()
            if len(parts) != 2:
                break
            threads, runs = int(parts[0]), int(parts[1])
            torch.set_num_threads(threads)
            for _ in range(2):
                model(x)
            ms = []
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                ms.append((time.perf_counter() - start) * 1e3)
            print(json.dumps({"ms": ms}), flush=True)


if __name__ == "__main__":
    main()
