#!/usr/bin/env python3
"""PyTorch (Debian's python3-torch, CPU, eager, float32) as a benchmark worker.

    torch_worker.py SPEC WEIGHTS.safetensors N C H W

The network comes from tools/golden.py (its own PyTorch model of the spec) with
the given weights. Protocol as bench/worker.c: lines "T N" on stdin, one JSON
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
    spec_path, weights_path = sys.argv[1], sys.argv[2]
    shape = tuple(int(v) for v in sys.argv[3:7])
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
