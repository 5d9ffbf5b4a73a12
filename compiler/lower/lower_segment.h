// Lowering one segment of the optimized graph to Halide Funcs: the algorithm
// only. Schedules are applied separately (compiler/schedule/).
//
// A tensor is a Func over (c, x, y, n), or, when the plan groups its channels
// (SegmentPlan::grouping), over (k, g, x, y, n) with c = g * group + k: a
// grouped conv computes each group's outputs as a dense block, so vectors run
// along k inside one group whatever the group size, and the weights of a group
// are padded to whole vectors with zeros.
//
// Convolutions, pools and the FC are an accumulator Func (pure definition =
// bias, update = the reduction) plus a value Func (the epilogue: fused ReLU).
// Elementwise ops (add, ReLU, channel scale, standalone batchnorm, sigmoid)
// are Funcs that stay inlined into their readers unless scheduled otherwise,
// so "fusing" them is the default. A folded channel shuffle is part of the
// index expression of the conv that reads through it.
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
    // (offset, floats) of every array appended: the packing layout, which the
    // external-weights fingerprint covers.
    std::vector<std::pair<int64_t, int64_t>> arrays;
    int64_t append(const std::vector<float> &values);  // returns the offset in floats
    int64_t size() const { return base + static_cast<int64_t>(data.size()); }
};

// The variables every Func is defined over.
struct Vars {
    static Halide::Var c, k, g, x, y, n;
};

// Weight arrays pad each group's output channels to a multiple of this, so a
// vectorized accumulator may round its group up to whole vectors (up to 16
// lanes: AVX-512).
constexpr int64_t kGroupPadding = 16;

// A node's value as its readers see it.
struct Value {
    Halide::Func f;
    int64_t group = 0;     // 0: f(c, x, y, n); else f(k, g, x, y, n), c = g * group + k
    int64_t channels = 0;
    // The value at logical channel c.
    Halide::Expr at(Halide::Expr c, Halide::Expr x, Halide::Expr y, Halide::Expr n) const;
    // The value at channel g * group_size + k (direct when the grouping matches).
    Halide::Expr at_group(Halide::Expr k, Halide::Expr g, int64_t group_size, Halide::Expr x, Halide::Expr y,
                          Halide::Expr n) const;
};

struct Stage {
    enum Kind { Pointwise, Depthwise, Conv, MaxPool, AvgPool, GlobalPool, Dense, Elementwise };
    int node = -1;
    Kind kind = Elementwise;
    Value value;         // what readers use
    Halide::Func acc;    // the reduction, for kinds that have one (same variables as value.f)
    Halide::RDom r;
    std::vector<Halide::Func> helpers;  // small reductions computed at root (softmax's max and sum)
    // A general conv's zero-padded input as a Func of its own, so the schedule
    // can copy it into a buffer before the taps read it (no border tests there).
    Halide::Func staged_input;
    bool grouped() const { return value.group > 0; }
};

struct LoweredSegment {
    int segment = -1;
    std::vector<Stage> stages;           // one per node computed here, in order
    std::vector<Halide::Func> outputs;   // one per SegmentPlan output, same order
    std::vector<Halide::Argument> arguments;  // weights, threads, inputs..., then outputs
    Halide::ImageParam weights_param;
    // The threads the run uses (shufflec_set_num_threads): row loops split
    // their rows into that many parallel tasks at run time.
    Halide::Param<int32_t> threads{"threads"};
    std::vector<Halide::ImageParam> input_params;  // one per SegmentPlan input, same order
    // Index into stages for each graph node computed here (-1 otherwise).
    std::vector<int> stage_of;
};

LoweredSegment lower_segment(const Graph &graph, const Weights &weights, const SegmentPlan &plan, int segment,
                             WeightBlob &blob);

// The Halide type of every activation and weight.
inline Halide::Type element_type() { return Halide::Float(32); }

}  // namespace shufflec
