// The inputs `shufflec quantize --calibration` runs: a float32 .npy batch of
// model inputs (N x C x H x W), or a folder of PNG/JPEG images, each decoded
// and turned into the input by the spec's input.preprocess (the pipeline
// NAME_run_rgb8 compiles, JIT-compiled here).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace shufflec {

class CalibrationInputs {
public:
    virtual ~CalibrationInputs() = default;
    virtual int64_t count() const = 0;
    // Input i (batch 1, the graph's input shape); errors name its file.
    virtual std::vector<float> get(int64_t i) = 0;
};

// Opens `source` and sets `graph`'s input shape to one input of it (an .npy's
// C x H x W; the spec's for images). Errors name `source`.
std::unique_ptr<CalibrationInputs> open_calibration_inputs(const std::string &source, Graph &graph);

}  // namespace shufflec
