#!/usr/bin/python3
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


def huge_tensor():
    """An INT64 initializer claiming 2^40 x 2^40 elements (with no data)."""
    t = TensorProto()
    t.name = "shape"
    t.data_type = TensorProto.INT64
    t.dims.extend([1 << 40, 1 << 40])
    t.raw_data = b""
    return t


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
        "dynamic_batch.onnx": conv_model([helper.make_node("Relu", ["c"], ["y"], name="relu")], inputs=[
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch_size", 3, 8, 8])]),
        "old_opset.onnx": conv_model([helper.make_node("Relu", ["c"], ["y"], name="relu")], opset=6),
        "avg_pool_ceil.onnx": conv_model([helper.make_node("AveragePool", ["c"], ["y"], name="pool",
                                                           kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)]),
        "reshape_other.onnx": conv_model([helper.make_node("Reshape", ["c", "shape"], ["y"], name="reshape")],
                                         initializers=[numpy_helper.from_array(np.array([1, 4, 64], np.int64), "shape")]),
        "dangling_shuffle.onnx": conv_model([helper.make_node("Reshape", ["c", "shape"], ["y"], name="reshape")],
                                            initializers=[numpy_helper.from_array(np.array([1, 2, 2, 8, 8], np.int64),
                                                                                  "shape")]),
        "unknown_input.onnx": conv_model([helper.make_node("Relu", ["missing"], ["y"], name="relu")]),
    }
    # Hostile and overflowing content (found by fuzzing and UBSan): each must be a clean error.
    files["no_output.onnx"] = conv_model([helper.make_node("Relu", ["c"], [], name="silent"),
                                          helper.make_node("Relu", ["c"], ["y"], name="relu")])
    files["newline_name.onnx"] = conv_model([helper.make_node("LeakyRelu", ["c"], ["y"],
                                                              name="evil\nshufflec: error: forged")])
    files["huge_dims.onnx"] = conv_model([helper.make_node("Reshape", ["c", "shape"], ["y"], name="reshape")],
                                         initializers=[huge_tensor()])
    files["huge_reshape.onnx"] = conv_model([helper.make_node("Reshape", ["c", "shape"], ["y"], name="reshape")],
                                            initializers=[numpy_helper.from_array(
                                                np.array([1, 1 << 62, 1 << 62, 8, 8], np.int64), "shape")])
    files["zero_stride.onnx"] = conv_model([helper.make_node("Relu", ["c"], ["y"], name="relu")],
                                           conv_attrs={"strides": [0, 1]})
    # Invalid UTF-8 where the spec keeps text (the producer name goes into its description):
    # serialized with a placeholder of the same length, then the bytes are swapped in.
    model = conv_model([helper.make_node("Relu", ["c"], ["y"], name="relu")])
    model.producer_name = "PRODUCER"
    raw = model.SerializeToString().replace(b"PRODUCER", b"\xff\xfeBAD\xc3\x28!")
    files["invalid_utf8.onnx"] = raw
    model = conv_model([helper.make_node("LeakyRelu", ["c"], ["y"], name="NODENAME")])
    files["invalid_utf8_name.onnx"] = model.SerializeToString().replace(b"NODENAME", b"bad\xff\xfename")
    # A channel split whose end comes from the network's values, not from shapes: cannot be folded.
    files["dynamic_slice.onnx"] = conv_model(
        [helper.make_node("Slice", ["c", "zero", "c"], ["y"], name="split")],
        initializers=[numpy_helper.from_array(np.array([0], np.int64), "zero")])
    # Channel splits only: along H (Split, opset 13: sizes as an input) or W (Slice).
    files["split_axis_h.onnx"] = conv_model(
        [helper.make_node("Split", ["c", "halves"], ["y", "rest"], name="split", axis=2)],
        initializers=[numpy_helper.from_array(np.array([4, 4], np.int64), "halves")])
    files["slice_axis_w.onnx"] = conv_model(
        [helper.make_node("Slice", ["c", "zero", "two", "three"], ["y"], name="crop")],
        initializers=[numpy_helper.from_array(np.array([0], np.int64), "zero"),
                      numpy_helper.from_array(np.array([2], np.int64), "two"),
                      numpy_helper.from_array(np.array([3], np.int64), "three")])
    # Clip's bounds must be constants (ReLU6 has 0 and 6): here the max is a tensor the network computes.
    files["clip_dynamic_max.onnx"] = conv_model(
        [helper.make_node("Relu", ["c"], ["m"], name="peak"),
         helper.make_node("Clip", ["c", "lo", "m"], ["y"], name="clip")],
        initializers=[numpy_helper.from_array(np.array(0, np.float32), "lo")])
    # A reshape whose target shape comes from the network's values (not its shapes): cannot be folded.
    files["dynamic_reshape.onnx"] = conv_model(
        [helper.make_node("Relu", ["c"], ["r"], name="values"),
         helper.make_node("Reshape", ["c", "r"], ["y"], name="reshape")])
    # QDQ models: shufflec's int8 tensors are symmetric (zero point 0), per tensor.
    def qdq(zero, scale=np.array(0.05, np.float32), dq_input="q"):
        return conv_model(
            [helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("QuantizeLinear", ["r", "s", "z"], ["q"], name="quant"),
             helper.make_node("DequantizeLinear", [dq_input, "s", "z"], ["y"], name="dequant")],
            initializers=[numpy_helper.from_array(scale, "s"), numpy_helper.from_array(zero, "z")])
    files["qdq_zero_point.onnx"] = qdq(np.array(128, np.uint8))
    files["qdq_per_channel_activation.onnx"] = qdq(np.zeros(4, np.int8), np.full(4, 0.05, np.float32))
    files["qdq_dequantize_float.onnx"] = qdq(np.array(0, np.uint8), dq_input="r")
    # A stored tensor (the relu's conv) without a QuantizeLinear while another has one.
    files["qdq_missing_scale.onnx"] = conv_model(
        [helper.make_node("Relu", ["c"], ["r"], name="relu"),
         helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("QuantizeLinear", ["p", "s", "z"], ["q"], name="quant"),
         helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d"], name="dequant"),
         helper.make_node("Conv", ["d", "conv.weight2"], ["y"], name="conv2")],
        initializers=[numpy_helper.from_array(np.array(0.05, np.float32), "s"),
                      numpy_helper.from_array(np.array(0, np.uint8), "z"),
                      numpy_helper.from_array(np.ones((4, 4, 1, 1), np.float32), "conv.weight2")])
    # A gather of channels that repeats one: neither a permutation nor a slice.
    files["gather_repeats.onnx"] = conv_model(
        [helper.make_node("Gather", ["c", "idx"], ["y"], name="pick", axis=1)],
        initializers=[numpy_helper.from_array(np.array([0, 0, 1, 2], np.int64), "idx")])
    for name, content in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(content if isinstance(content, bytes) else content.SerializeToString())
    # Not an ONNX file at all: a folder.
    os.makedirs(os.path.join(out, "folder.onnx"), exist_ok=True)


if __name__ == "__main__":
    main()
