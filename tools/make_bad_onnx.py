#!/usr/bin/env python3
"""Writes the malformed and unsupported ONNX models of the bad-input corpus.

    make_bad_onnx.py OUT_DIR

Each file must make `shufflec import-onnx FILE -o DIR` fail with one clear line
(tests/bad_onnx/expected.tsv holds the message each must contain) and write
nothing. They are generated (small, deterministic) rather than committed as
binaries.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def conv_model(extra_nodes=(), conv_attrs=None, output="y", inputs=None, opset=13, initializers=None):
    """A 1x3x8x8 input -> Conv(4 outputs) -> [extra nodes] model."""
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "conv.weight")
    nodes = [helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv", pads=[1, 1, 1, 1], **(conv_attrs or {}))]
    nodes += list(extra_nodes)
    graph = helper.make_graph(
        nodes, "bad", inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)], [w] + list(initializers or []))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    good = conv_model([helper.make_node("Relu", ["c"], ["y"], name="relu")])
    data = good.SerializeToString()
    files = {
        "truncated.onnx": data[: len(data) // 2],
        "garbage.onnx": bytes(range(256)) * 4,
        "empty.onnx": b"",
        "unsupported_op.onnx": conv_model([helper.make_node("LeakyRelu", ["c"], ["y"], name="leaky")]),
        "dilated_conv.onnx": conv_model([helper.make_node("Relu", ["c"], ["y"], name="relu")],
                                        conv_attrs={"dilations": [2, 2]}),
        "dynamic_shape.onnx": conv_model([helper.make_node("Shape", ["c"], ["y"], name="shape_of")]),
        "two_inputs.onnx": conv_model([helper.make_node("Add", ["c", "z"], ["y"], name="plus")], inputs=[
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8]),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4, 8, 8])]),
        "old_opset.onnx": conv_model([helper.make_node("Relu", ["c"], ["y"], name="relu")], opset=6),
        "max_pool_ceil.onnx": conv_model([helper.make_node("MaxPool", ["c"], ["y"], name="pool", kernel_shape=[3, 3],
                                                           strides=[2, 2], ceil_mode=1)]),
        "reshape_other.onnx": conv_model([helper.make_node("Reshape", ["c", "shape"], ["y"], name="reshape")],
                                         initializers=[numpy_helper.from_array(np.array([1, 4, 64], np.int64), "shape")]),
        "dangling_shuffle.onnx": conv_model([helper.make_node("Reshape", ["c", "shape"], ["y"], name="reshape")],
                                            initializers=[numpy_helper.from_array(np.array([1, 2, 2, 8, 8], np.int64),
                                                                                  "shape")]),
        "unknown_input.onnx": conv_model([helper.make_node("Relu", ["missing"], ["y"], name="relu")]),
    }
    for name, content in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(content if isinstance(content, bytes) else content.SerializeToString())
    # Not an ONNX file at all: a folder.
    os.makedirs(os.path.join(out, "folder.onnx"), exist_ok=True)


if __name__ == "__main__":
    main()
