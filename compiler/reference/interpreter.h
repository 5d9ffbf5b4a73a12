// The reference interpreter: every op as plain nested loops over NCHW float
// tensors, accumulating in double. It is slow on purpose and shares no code
// with the Halide lowering, so it can be the oracle for everything compiled.
//
// It also understands what the passes add to nodes (fused ReLU, an input
// permutation on a conv), so an optimized graph can be checked against the
// original one.
#pragma once

#include <vector>

#include "graph/graph.h"
#include "weights/weights.h"

namespace shufflec {

// Runs `graph` on `input` (graph.input().shape, NCHW) and returns the output
// tensor (graph.output_node().shape).
std::vector<float> run_reference(const Graph &graph, const Weights &weights, const std::vector<float> &input);

// The same, returning every node's output (index = node index), for debugging
// and per-layer comparisons.
std::vector<std::vector<float>> run_reference_all(const Graph &graph, const Weights &weights,
                                                  const std::vector<float> &input);

}  // namespace shufflec
