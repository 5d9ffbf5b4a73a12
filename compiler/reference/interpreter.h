// The reference interpreter: runs every node's `reference` (compiler/ops/,
// plain nested loops over NCHW float tensors, accumulating in double). They
// are slow on purpose and share no code with the ops' Halide lowerings, so
// they are the oracle for everything compiled.
//
// They also understand what the passes add to nodes (fused activations, a
// conv's folded shuffles and input parts), so an optimized graph can be
// checked against the original one.
#pragma once

#include <functional>
#include <vector>

#include "graph/graph.h"
#include "weights/weights.h"

namespace shufflec {

// Sees each node's output as soon as it is computed (node 0: the input) and
// may change it before any reader does (calibration, simulated quantization).
using NodeHook = std::function<void(int node, std::vector<float> &value)>;

// Runs `graph` on `input` (graph.input().shape, NCHW) and returns the output
// tensor (graph.output_node().shape).
std::vector<float> run_reference(const Graph &graph, const Weights &weights, const std::vector<float> &input,
                                 const NodeHook &hook = nullptr);

// The same, returning every node's output (index = node index), for debugging
// and per-layer comparisons.
std::vector<std::vector<float>> run_reference_all(const Graph &graph, const Weights &weights,
                                                  const std::vector<float> &input);

}  // namespace shufflec
