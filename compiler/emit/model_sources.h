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
    std::string target_folder;     // the concrete target (host resolved)
    const Graph *graph = nullptr;  // optimized graph
    const SegmentPlan *plan = nullptr;
    int64_t weight_floats = 0;
    Element narrow_weights = Element::F32;  // the blob's second view (PackedWeights::narrow; F32: none)
    bool pair_weights = false;              // ... and a third, int16 (PackedWeights::pair_weights)
    int64_t macs = 0, params = 0;
    bool external_weights = false;
    uint64_t fingerprint = 0;       // ties an external weights file to this model (model_fingerprint)
    uint64_t build_stamp = 0;       // ties NAME.h to the library of the same compile
    bool profile = false;           // time each pipeline (NAME_profile_* API)
    bool profile_halide = false;    // built with Halide's per-Func sampling profiler
    std::vector<int64_t> segment_macs;
};

// The embedded weights blob: a file of this name in the folder the glue is
// compiled in (`.incbin` reads it; no user path ever becomes source text).
constexpr const char *kEmbeddedWeightsFile = "weights.bin";
// 64-bit words of the per-model state block the runtime manages (arenas, weights).
constexpr int kModelStateWords = 64;

std::string generate_glue_c(const ModelDescription &model);
std::string generate_header(const ModelDescription &model);

// The Halide function name of a segment.
std::string segment_function(const ModelDescription &model, int segment);
// The symbol the glue defines and the header references (NAME_build_<stamp>).
std::string build_symbol(const ModelDescription &model);

// `s` as a C string literal (quotes, backslashes and control characters escaped).
std::string c_string(const std::string &s);
// `s` safe inside a C block comment ("*/" and control characters defused).
std::string c_comment(const std::string &s);

}  // namespace shufflec
