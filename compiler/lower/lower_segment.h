// Lowering one segment of the optimized graph to Halide Funcs: the algorithm
// only. Schedules are applied separately (compiler/schedule/).
//
// Every tensor is a Func over (c, x, y, n). Convolutions, pools and the FC
// are an accumulator Func (pure definition = bias, update = the reduction)
// plus a value Func (the epilogue: fused ReLU). Elementwise ops (add, ReLU,
// channel scale, standalone batchnorm, sigmoid) are Funcs that stay inlined
// into their readers by default, so "fusing" them is the schedule's default.
// A folded channel shuffle is the index expression of the conv's input read.
#pragma once

#include <string>
#include <vector>

#include <Halide.h>

#include "graph/graph.h"
#include "lower/segment_plan.h"
#include "weights/weights.h"

namespace shufflec {

// The model's folded weights, laid out for the lowered code (every array
// starts on a 64-byte boundary). One blob per model, passed to every segment.
// A blob can start at `base` to lower one segment alone: with base = the size
// the blob had before that segment, the offsets come out the same.
struct WeightBlob {
    int64_t base = 0;
    std::vector<float> data;
    int64_t append(const std::vector<float> &values);  // returns the offset in floats
    int64_t size() const { return base + static_cast<int64_t>(data.size()); }
};

// The variables every Func is defined over.
struct Vars {
    static Halide::Var c, x, y, n;
};

struct Stage {
    enum Kind { Pointwise, Depthwise, Conv, MaxPool, AvgPool, GlobalPool, Dense, Elementwise, Input };
    int node = -1;
    Kind kind = Elementwise;
    Halide::Func value;  // what readers use
    Halide::Func acc;    // the reduction, for kinds that have one
    Halide::RDom r;
};

struct LoweredSegment {
    int segment = -1;
    std::vector<Stage> stages;           // one per node computed here, in order
    std::vector<Halide::Func> outputs;   // one per SegmentPlan output, same order
    std::vector<Halide::Argument> arguments;  // weights, inputs..., then outputs
    // Index into stages for each graph node computed here (-1 otherwise).
    std::vector<int> stage_of;
};

LoweredSegment lower_segment(const Graph &graph, const Weights &weights, const SegmentPlan &plan, int segment,
                             WeightBlob &blob);

// The Halide type of every activation and weight.
inline Halide::Type element_type() { return Halide::Float(32); }

}  // namespace shufflec
