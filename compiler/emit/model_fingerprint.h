// What ties an external weights file to the model it was compiled with.
//
// The folded weights blob means something only together with the graph that
// reads it (after the passes: folded BatchNorm, permuted depthwise weights,
// folded shuffles), the pipeline plan, the packing layout (where each array
// starts, how groups are padded) and the target. The fingerprint hashes all of
// them, so two models whose blobs merely have the same size (a spec that
// changes only the shuffle convention or a concat order, or another network
// altogether) reject each other's files.
#pragma once

#include <cstdint>
#include <string>

#include "graph/graph.h"
#include "lower/segment_plan.h"
#include "lower/weight_packing.h"

namespace shufflec {

// The canonical text the fingerprint hashes (for tests and debugging).
std::string model_fingerprint_text(const Graph &graph, const SegmentPlan &plan, const PackedWeights &blob,
                                   const std::string &target);
uint64_t model_fingerprint(const Graph &graph, const SegmentPlan &plan, const PackedWeights &blob,
                           const std::string &target);

}  // namespace shufflec
