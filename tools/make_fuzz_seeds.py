#!/usr/bin/python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<target>/).

    /usr/bin/python3 tools/make_fuzz_seeds.py [FOLDER]

Small valid inputs of every format, from which libFuzzer mutates (tools/fuzz.sh),
into FOLDER (default: tests/fuzz/corpus). The files are committed; the ctest
`fuzz_seeds` regenerates them into a temporary folder and compares, so this
script stays the true record of how they were made.
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, dtype="F32"):
    header, blob, offset = {}, b"", 0
    for name, arr in tensors.items():
        raw = arr.astype({"F32": np.float32, "F16": np.float16}[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blob += raw
        offset += len(raw)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + blob


def npy(arr):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (arr.dtype.str, str(tuple(arr.shape)))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + arr.tobytes()


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def weights_image(payload):
    header = b"SHFCWTS1" + struct.pack("<QQQ", len(payload), 0x1234567890ABCDEF, fnv1a(payload)) + b"\0" * 32
    return struct.pack("<Q", len(payload)) + header + payload


def main():
    if os.path.isdir(corpus):
        shutil.rmtree(corpus)
    # Specs: a plain-layer network, the family shorthand, every composite.
    put("spec", "plain.json", json.dumps({
        "format": "shufflec-spec/1", "name": "plain", "input": {"shape": [1, 3, 8, 8]},
        "layers": [{"op": "conv", "name": "c1", "out_channels": 6, "kernel": 3, "stride": 2, "pad": 1, "groups": 3},
                   {"op": "batchnorm", "name": "bn"}, {"op": "relu", "name": "r"},
                   {"op": "channel_shuffle", "name": "s", "groups": 2, "shuffle_convention": "inverse"},
                   {"op": "conv", "name": "dw", "out_channels": 6, "kernel": 3, "pad": 1, "groups": 6},
                   {"op": "maxpool", "name": "mp", "kernel": 2},
                   {"op": "avgpool", "name": "ap", "kernel": 3, "stride": 1, "pad": 1, "count_include_pad": False},
                   {"op": "concat", "name": "cat", "inputs": ["mp", "ap"]},
                   {"op": "se", "name": "se", "reduction": 4},
                   {"op": "global_avgpool", "name": "gap"}, {"op": "flatten", "name": "f"},
                   {"op": "fc", "name": "fc", "out_features": 5}, {"op": "softmax", "name": "sm"}]}))
    put("spec", "family.json", json.dumps({
        "format": "shufflec-spec/1", "name": "fam", "input": {"shape": [1, 3, 32, 32]},
        "family": {"name": "shufflenet_v1", "groups": 3, "scale": 0.25, "stage_repeats": [1, 1, 1],
                   "num_classes": 4, "shuffle_convention": "inverse", "shuffle_position": "after_dw"}}))
    put("spec", "unit.json", json.dumps({
        "format": "shufflec-spec/1", "name": "unit", "input": {"shape": [1, 12, 6, 6]},
        "layers": [{"op": "shufflenet_unit", "name": "u", "out_channels": 24, "groups": 2, "stride": 2, "se": True},
                   {"op": "shufflenet_unit", "name": "v", "out_channels": 24, "groups": 2},
                   {"op": "add", "name": "a", "inputs": ["u", "v"]}, {"op": "sigmoid", "name": "sg"},
                   {"op": "mul", "name": "m", "inputs": ["a", "sg"]}]}))
    # Safetensors.
    put("safetensors", "two.safetensors", safetensors({"a.weight": np.arange(6.0).reshape(2, 3), "b": np.ones(2)}))
    put("safetensors", "half.safetensors", safetensors({"h": np.array([1.0, -2.5, 0.0])}, "F16"))
    put("safetensors", "empty.safetensors", safetensors({}))
    # .npy.
    put("npy", "f32.npy", npy(np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)))
    put("npy", "f64.npy", npy(np.linspace(0, 1, 5)))
    put("npy", "scalar.npy", npy(np.zeros((), np.float32)))
    # Schedules.
    for target in sorted(os.listdir(os.path.join(root, "schedules"))):
        src = os.path.join(root, "schedules", target, "default.json")
        if os.path.exists(src):
            put("schedule", target + ".json", open(src, "rb").read())
    put("schedule", "layers.json", json.dumps({
        "format": "shufflec-schedule/1", "defaults": {"rows_per_task": 2},
        "kinds": {"pointwise": {"channel_vectors": 3, "tile_x": 4}},
        "layers": {"stage2.0": {"vector": 8, "fuse": True}, "fc": {"tasks_per_thread": 2}}}))
    put("schedule", "pixel_vectors.json", json.dumps({
        "format": "shufflec-schedule/1",
        "layers": {"stage2.1.conv1": {"pixel_vectors": True, "channel_vectors": 5, "tile_x": 2},
                   "stage2.1.dw": {"pixel_vectors": False}}}))
    # External weights images (with the payload size the harness expects first).
    put("weights_loader", "valid.bin", weights_image(bytes(range(64))))
    put("weights_loader", "empty_payload.bin", weights_image(b""))
    # ONNX: a conv + channel shuffle + pool + gemm model.
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.ones((6, 3, 1, 1), np.float32), "conv.weight")
    fc = numpy_helper.from_array(np.ones((4, 6), np.float32), "fc.weight")
    s5 = numpy_helper.from_array(np.array([1, 2, 3, 4, 4], np.int64), "s5")
    s4 = numpy_helper.from_array(np.array([1, 6, 4, 4], np.int64), "s4")
    nodes = [helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Reshape", ["r", "s5"], ["r5"], name="split"),
             helper.make_node("Transpose", ["r5"], ["t5"], name="t", perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", ["t5", "s4"], ["sh"], name="merge"),
             helper.make_node("GlobalAveragePool", ["sh"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fc.weight"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "seed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, fc, s5, s4])
    put("onnx", "shuffle.onnx", helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    # ONNX QDQ: int8 weights behind DequantizeLinear, a quantized ReLU, a Gather of channels (a shuffle).
    wq = numpy_helper.from_array(np.ones((6, 3, 1, 1), np.int8), "wq")
    ws = numpy_helper.from_array(np.full(6, 0.01, np.float32), "ws")
    wz = numpy_helper.from_array(np.zeros(6, np.int8), "wz")
    s = numpy_helper.from_array(np.array(0.02, np.float32), "s")
    z = numpy_helper.from_array(np.array(0, np.uint8), "z")
    idx = numpy_helper.from_array(np.array([0, 2, 4, 1, 3, 5], np.int64), "idx")
    nodes = [helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], name="dq_w", axis=0),
             helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("QuantizeLinear", ["r", "s", "z"], ["q"], name="q"),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d"], name="dq"),
             helper.make_node("Gather", ["d", "idx"], ["y"], name="shuffle", axis=1)]
    graph = helper.make_graph(nodes, "seed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [wq, ws, wz, s, z, idx])
    put("onnx", "qdq.onnx", helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())


if __name__ == "__main__":
    main()
