// Named float32 weight tensors: safetensors I/O, deterministic random weights,
// and the check that a weights file fits a graph.
//
// Tensor names are the graph's parameter names (docs/spec.md, "Weights"):
// `<layer>.weight`, `<layer>.bias`, and for batchnorm also
// `<layer>.running_mean`, `<layer>.running_var` (PyTorch's names).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace shufflec {

struct Tensor {
    std::vector<int64_t> shape;
    std::vector<float> data;
};

using Weights = std::map<std::string, Tensor>;

// Reads F32, F16 and BF16 tensors (the latter two widened to float32).
Weights read_safetensors(const std::string &path);
// The same from a file's contents (`path` names it in messages).
Weights parse_safetensors(const std::string &bytes, const std::string &path);
// IEEE half and bfloat16 bits -> float (exact).
float half_to_float(uint16_t bits);
float bfloat16_to_float(uint16_t bits);
// float -> IEEE half bits, rounded to nearest even (overflow: infinity; NaN stays NaN).
uint16_t float_to_half(float value);
// `value` rounded to the nearest half (what an fp16 model stores).
inline float round_to_half(float value) { return half_to_float(float_to_half(value)); }
// float -> bfloat16 bits, rounded to nearest even (NaN stays NaN), and the rounded value.
uint16_t float_to_bfloat16(float value);
inline float round_to_bfloat16(float value) { return bfloat16_to_float(float_to_bfloat16(value)); }
// Writes atomically (F32 tensors, names sorted).
void write_safetensors(const std::string &path, const Weights &weights,
                       const std::map<std::string, std::string> &metadata = {});

// Deterministic weights for every parameter of `graph`, from `seed` and each
// tensor's name (so adding a layer does not change the others). Batchnorm
// statistics are far from identity so that folding mistakes show.
Weights random_weights(const Graph &graph, uint64_t seed);

// Fails with a message naming the tensor if one is missing, extra or mis-shaped.
void check_weights(const Graph &graph, const Weights &weights, const std::string &source);

// The weights a command should use: --random-weights SEED, a --weights file,
// or the spec's own "weights" file, in that order of preference.
Weights resolve_weights(const Graph &graph, const std::string &weights_path, const std::string &random_seed);

}  // namespace shufflec
