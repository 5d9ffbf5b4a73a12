// Calibration: per-tensor activation scales from the float model's values on
// representative inputs (the reference interpreter runs the optimized graph).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "quantize/quantization.h"

namespace shufflec {

struct CalibrationOptions {
    // "minmax": the largest magnitude seen; "percentile": that percentile of the
    // magnitudes (outliers clip instead of stretching the scale for everyone).
    std::string method = "percentile";
    double percentile = 99.99;
    // Also scale the tensors read only by adds and concats (quant_roles with
    // the result): the add rounds its inputs first, a concat's input takes the
    // concat's scale (so nothing changes there). ONNX Runtime's QDQ models
    // quantize every conv output; with this, `export-onnx` writes a model it
    // runs with integer convs throughout, computing what shufflec computes.
    bool every_tensor = false;
    // Keep the network input float (and the stem with it), as files before
    // the twenty-third session (2026-12-07); by default it takes a scale where
    // convs read it (input_quantizable) and the stem multiplies integers.
    bool float_input = false;
};

class Calibrator {
public:
    // `graph` is optimized (passes/passes.h) and `weights` go with it.
    Calibrator(const Graph &graph, const Weights &weights, CalibrationOptions options);
    // Runs one input (graph.input().shape) and records every quantized tensor's values.
    void add(const std::vector<float> &input);
    int64_t images() const { return images_; }
    Quantization finish() const;

private:
    struct Tensor {
        int node = -1;
        bool is_unsigned = false;
        double min = 0, max = 0;
        uint64_t seen = 0;
        std::vector<float> sample;  // a uniform sample of the magnitudes (reservoir)
    };
    void record(Tensor &t, const std::vector<float> &value);

    const Graph &graph_;
    const Weights &weights_;
    CalibrationOptions options_;
    std::vector<Tensor> tensors_;
    std::vector<int> slot_;  // node -> index into tensors_ (-1: not quantized)
    std::mt19937_64 rng_{20261205};
    int64_t images_ = 0;
};

}  // namespace shufflec
