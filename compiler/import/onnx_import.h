// ONNX -> shufflec spec + safetensors weights.
//
// Reads an ONNX model (Debian's libonnx protobuf classes) and writes the
// layers it recognizes as a plain-layer spec, so that it compiles like any
// hand-written one. Each op's ONNX mapping lives with the op (compiler/ops/);
// here are the patterns spanning several nodes: the channel shuffle, which
// exporters write as Reshape(4-D -> 5-D) -> Transpose(0, 2, 1, 3, 4) ->
// Reshape(5-D -> 4-D) and which becomes the spec's channel_shuffle; zero Pad
// nodes, folded into the next conv or pool; MatMul + Add as an FC with bias;
// QuantizeLinear -> DequantizeLinear pairs of a QDQ model, whose scales become
// a quantization file (weights and biases behind DequantizeLinear are folded
// to float: shufflec quantizes them again, to the same integers when each
// output channel's largest weight is +-127 steps, as symmetric per-channel
// quantizers make them); and the shape arithmetic around reshapes and channel splits (Shape, Gather,
// Unsqueeze, Concat, Add, Div, Mul, Slice on constants: shapes are static, so
// it is evaluated here, import/onnx_constant_folding.h). Anything else is an
// error that names the node, its op type and the reason: a model is never
// approximated.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "weights/weights.h"

namespace shufflec {

struct ImportedModel {
    nlohmann::ordered_json spec;  // "shufflec-spec/1", with "weights": "<name>.safetensors"
    Weights weights;
    std::string name;
    // A QDQ model (QuantizeLinear/DequantizeLinear): its weights dequantized
    // into `weights`, and its activation scales as a quantization file for the
    // spec (quantize/quantization.h; empty for a float model).
    std::string quantization;
    size_t quantized_tensors = 0;
};

struct ImportOptions {
    std::string name;        // the spec's name and the files' stem (default: the file name)
    std::string preprocess;  // input.preprocess preset: torchvision, megvii or none (default)
    int64_t batch = 0;       // the batch of a model whose batch dimension is symbolic (0: refuse such a model)
};

ImportedModel import_onnx(const std::string &path, const ImportOptions &options = {});
// The same from the file's contents (`path` names it in messages and gives the default name).
ImportedModel import_onnx_bytes(const std::string &bytes, const std::string &path, const ImportOptions &options = {});

// Writes DIR/<name>.json, DIR/<name>.safetensors and, for a QDQ model,
// DIR/<name>.quantization.json: all or none.
void write_imported_model(const ImportedModel &model, const std::string &dir);

}  // namespace shufflec
