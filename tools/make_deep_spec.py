#!/usr/bin/python3
"""Writes a spec of N chained ReLU layers (for the parser's scaling test).

    make_deep_spec.py N OUT.json
"""
import json
import sys

n = int(sys.argv[1])
layers = [{"op": "relu", "name": "r%d" % i} for i in range(n)]
with open(sys.argv[2], "w") as f:
    json.dump({"format": "shufflec-spec/1", "name": "deep", "input": {"shape": [1, 3, 8, 8]}, "layers": layers}, f)
