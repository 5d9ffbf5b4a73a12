// The C text shufflec generates for a model: the glue that runs the segment
// pipelines in order over a planned arena (NAME_glue.c, compiled by clang for
// the target) and the app-facing header (NAME.h, docs/api.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "lower/segment_plan.h"

namespace shufflec {

struct ModelDescription {
    std::string name;              // C identifier prefix
    std::string spec_name;
    std::string target;
    const Graph *graph = nullptr;  // optimized graph
    const SegmentPlan *plan = nullptr;
    int64_t weight_floats = 0;
    int64_t macs = 0, params = 0;
    bool external_weights = false;
    std::string weights_blob_path;  // embedded: file .incbin'd into the glue object
    uint64_t fingerprint = 0;       // ties an external weights file to this model
    bool profile = false;           // time each pipeline (NAME_profile_* API)
    std::vector<int64_t> segment_macs;
};

std::string generate_glue_c(const ModelDescription &model);
std::string generate_header(const ModelDescription &model);

// The Halide function name of a segment.
std::string segment_function(const ModelDescription &model, int segment);

}  // namespace shufflec
