// shufflec's model -> ONNX, float or QDQ (docs/quantization.md, "ONNX").
//
// Writes the optimized graph (BatchNorm folded, activations fused) as an ONNX
// model (opset 13) that ONNX Runtime or any other ONNX consumer runs. A conv
// that reads input parts reads them through Slice and Concat, and folded
// shuffles through one Gather of its input channels.
//
// With a quantization (quantize/quantization.h) it is the QDQ model of the int8
// network shufflec compiles: every quantized tensor goes through
// QuantizeLinear -> DequantizeLinear with its scale (zero point 0, uint8 or
// int8), each int8 conv's weights are int8 initializers with per-output-channel
// scales behind a DequantizeLinear (axis 0), and its bias an int32 initializer
// at scale input x weight scale: the integers shufflec computes with (it adds
// the bias in its float epilogue). Global pools and FCs stay float, as in
// shufflec. A file from `shufflec quantize --every-tensor`
// quantizes every conv output, the form ONNX Runtime needs to run each conv
// with integer kernels (QLinearConv); without it, the convs before adds and
// concats (unstored in shufflec) are float convs there.
#pragma once

#include <string>

#include "graph/graph.h"
#include "quantize/quantization.h"
#include "weights/weights.h"

namespace shufflec {

// `graph` is optimized (passes/passes.h) and `weights` go with it; `q`, if
// given, was checked against it (check_quantization). Returns the serialized
// ModelProto; its input is "input" (float N x C x H x W), its output "output".
std::string export_onnx(const Graph &graph, const Weights &weights, const Quantization *q);

}  // namespace shufflec
