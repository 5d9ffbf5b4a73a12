// Lowering one segment of the optimized graph to Halide Funcs: the algorithm
// only. Schedules are applied separately (compiler/schedule/), and each op's
// own Funcs are built by its `lower` (compiler/ops/) through the Lowering
// helpers below.
//
// A tensor is a Func over (c, x, y, n), or, when the plan groups its channels
// (SegmentPlan::grouping), over (k, g, x, y, n) with c = g * group + k: a
// grouped conv computes each group's outputs as a dense block, so vectors run
// along k inside one group whatever the group size, and the weights of a group
// are padded to whole vectors with zeros (lower/weight_packing.h).
//
// Convolutions, pools and the FC are an accumulator Func (pure definition =
// bias, update = the reduction) plus a value Func (the epilogue: fused
// activation). Elementwise ops (add, ReLU, clip, channel scale, standalone
// batchnorm, sigmoid) are Funcs that stay inlined into their readers unless
// scheduled otherwise, so "fusing" them is the default. A folded channel
// shuffle is part of the index expression of the conv that reads through it.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <Halide.h>

#include "graph/graph.h"
#include "lower/segment_plan.h"
#include "lower/weight_packing.h"

namespace shufflec {

// The variables every Func is defined over.
struct Vars {
    static Halide::Var c, k, g, x, y, n;
};

// A node's value as its readers see it.
struct Value {
    Halide::Func f;
    int64_t group = 0;     // 0: f(c, x, y, n); else f(k, g, x, y, n), c = g * group + k
    int64_t channels = 0;
    // int8 models: f holds 8-bit integers of this scale (q.quantized), else
    // floats (halves in an fp16 model).
    ValueQuant q;
    // A quantized view of a float tensor (the app's input, rounded as it is
    // read): those floats, else undefined.
    Halide::Func unrounded;
    // The real value at logical channel c (dequantized or widened: a float32).
    Halide::Expr at(Halide::Expr c, Halide::Expr x, Halide::Expr y, Halide::Expr n) const;
    // The value at channel g * group_size + k (direct when the grouping matches).
    Halide::Expr at_group(Halide::Expr k, Halide::Expr g, int64_t group_size, Halide::Expr x, Halide::Expr y,
                          Halide::Expr n) const;
    // As stored: the integers of a quantized value (what int8 convolutions
    // multiply), the halves of an fp16 model.
    Halide::Expr raw_at(Halide::Expr c, Halide::Expr x, Halide::Expr y, Halide::Expr n) const;
    Halide::Expr raw_at_group(Halide::Expr k, Halide::Expr g, int64_t group_size, Halide::Expr x, Halide::Expr y,
                              Halide::Expr n) const;
    // A stored value's real value (a float32).
    Halide::Expr real(Halide::Expr raw) const;
};

struct Stage {
    enum Kind { Pointwise, Depthwise, Conv, MaxPool, AvgPool, GlobalPool, Dense, Elementwise };
    int node = -1;
    Kind kind = Elementwise;
    Value value;         // what readers use
    Halide::Func acc;    // the reduction, for kinds that have one (same variables as value.f)
    // The reduction domain of each update of acc (a conv that reads several
    // input parts has one update per part).
    std::vector<Halide::RDom> r;
    std::vector<Halide::Func> helpers;  // small reductions computed at root (softmax's max and sum)
    // A general conv's zero-padded input as a Func of its own, so the schedule
    // can copy it into a buffer before the taps read it (no border tests there).
    Halide::Func staged_input;
    // A 1x1 conv in dot-product form (DotProduct): r[u].x runs over the
    // slots of a step, r[u].y over the steps. Summed per lane (int8, bf16): the
    // schedule vectorizes r.x with the outputs. By lane (F32Lanes, F16Lanes):
    // lane_inputs[u].f(j, q, g, x, y, n) is slot j of step q, loaded as one
    // vector per pixel and step, and r.x is unrolled. int8 sdot by element
    // (steps 4): f(b, qo, g, x, y, n) holds 4 steps' quads (16 bytes), loaded
    // once per 4 steps, each step's quad one 32-bit lane. (f undefined: the
    // update reads its inputs directly.)
    struct LaneInput {
        Halide::Func f;
        int steps = 1;  // reduction steps per loaded vector
        bool tables = false;  // each step's channels looked up (a folded shuffle's tables)
        bool single = false;  // by lane, channels read alone (f undefined): one broadcast each
    };
    bool dot = false;
    std::vector<LaneInput> lane_inputs;  // per update, for dot-product forms
    bool by_lane() const {
        for (const auto &l : lane_inputs)
            if (l.f.defined()) return true;
        return false;
    }
    bool grouped() const { return value.group > 0; }
};

struct LoweredSegment {
    int segment = -1;
    std::vector<Stage> stages;           // one per node computed here, in order
    std::vector<Halide::Func> outputs;   // one per SegmentPlan output, same order
    std::vector<Halide::Argument> arguments;  // weights, threads, inputs..., then outputs
    Halide::ImageParam weights_param;
    // int8 models: the same blob as bytes; fp16 and bf16 models: as 16-bit floats.
    Halide::ImageParam narrow_weights_param;
    // int8 models with DotProduct::I8Pairs: the same blob as int16 (PackedWeights::pair_weights).
    Halide::ImageParam pair_weights_param;
    // The threads the run uses (shufflec_set_num_threads): row loops split
    // their rows into that many parallel tasks at run time.
    Halide::Param<int32_t> threads{"threads"};
    std::vector<Halide::ImageParam> input_params;  // one per SegmentPlan input, same order
    // Index into stages for each graph node computed here (-1 otherwise).
    std::vector<int> stage_of;
};

// Lowers one segment; the weights were packed for the whole model before.
LoweredSegment lower_segment(const Graph &graph, const PackedWeights &weights, const SegmentPlan &plan, int segment);

// The Halide type of a buffer's elements.
Halide::Type halide_type(Element e);

// What an op's `lower` works with (compiler/ops/).
class Lowering {
public:
    Lowering(const Graph &graph, const PackedWeights &weights, const SegmentPlan &plan, int segment);
    LoweredSegment run();

    const Graph &graph() const { return g_; }
    const Node &node(int index) const { return g_.nodes[index]; }
    const SegmentPlan &plan() const { return plan_; }
    // The channel grouping of a node's value (0: none).
    int64_t grouping(int node) const { return plan_.grouping[node]; }
    const PackedNode &packed(int node) const { return packed_.nodes[node]; }
    // The target's dot-product form for the model's precision (PackingOptions::dot).
    DotProduct target_dot() const { return packed_.dot; }
    // Whether float FMAs take one lane of a vector (PackingOptions::float_by_element).
    bool float_by_element() const { return packed_.float_by_element; }
    // Whether int8 epilogues rescale in fixed point (PackingOptions::fixed_point).
    bool fixed_point() const { return packed_.fixed_point; }

    // A node's value as seen from this segment.
    Value value(int node);
    // `node` read with `pad_value` outside its [0, W) x [0, H), in grouping
    // `group` (0: over c). Halide's constant_exterior marks the interior as
    // likely, so loops split into a border part and an interior part free of
    // clamps and selects.
    Halide::Func padded(int node, float pad_value, int64_t group);
    // The same with the node's stored values (the integers of a quantized
    // value, the halves of an fp16 model), `pad_value` (zero for integers) outside.
    Halide::Func padded_raw(int node, int64_t group, float pad_value = 0.0f);
    // A quantized node's integers as floats (exact), zero outside, over c:
    // from the floats it rounds where it has them (Value::unrounded: scaled,
    // clamped and rounded in float, no conversions), else widened.
    Halide::Func padded_steps(int node);
    // The same three without the border (over c, only [0, W) x [0, H) may be
    // read): what a copy of the interior reads (the stem's staged input).
    Halide::Func unpadded(int node, bool raw);
    Halide::Func unpadded_steps(int node);
    // A view concat of other segments' tensors, or the select that assembles one.
    Halide::Func concat(const Node &node);
    // The stage of a node computed here: its value Func (named after the node) in its grouping.
    Stage &add_stage(int node, Stage::Kind kind);
    // The weights blob at `offset` + index.
    Halide::Expr weight_at(int64_t offset, Halide::Expr index);
    // Element `index` of an int8 array of the blob (int8 models), an int8.
    Halide::Expr weight_int_at(const PackedArray &array, Halide::Expr index);
    // ... of a pairs dot-product weight array, an int16 (PackedWeights::pair_weights).
    Halide::Expr weight_pair_at(const PackedArray &array, Halide::Expr index);
    // The blob's 16-bit float weights (fp16, bf16 models) at `offset` + index
    // (in 16-bit elements), as that type.
    Halide::Expr weight_half_at(int64_t offset, Halide::Expr index);
    // Entry `index` of a packed int32 table (a folded shuffle's steps), every
    // entry in [lo, hi]: a constant of the compiled code, not read from the
    // weights at run time (an app's weights file cannot move a read), so its
    // range is promised to Halide instead of clamped per use (for the
    // autoschedulers read from the weights and clamped: PackingOptions::promise_table_ranges).
    Halide::Expr table_at(const PackedArray &table, const std::string &name, Halide::Expr index, int lo, int hi);

    // Definitions over a stage's variables: f(vars) = e(channel, k, g) where
    // channel = c, or g * group + k for a grouped value.
    using ChannelExpr = std::function<Halide::Expr(Halide::Expr ch, Halide::Expr k, Halide::Expr g)>;
    static void define(Halide::Func f, int64_t group, const ChannelExpr &e);
    static void update(Halide::Func f, int64_t group, const ChannelExpr &e);  // f(vars) += e
    static Halide::Expr call(Halide::Func f, int64_t group);                  // f(vars)
    // `v` read at the current stage's channel (grouped or not).
    static Halide::Expr read(const Value &v, int64_t group, Halide::Expr ch, Halide::Expr k, Halide::Expr g,
                             Halide::Expr x, Halide::Expr y, Halide::Expr n);
    // The same as stored (raw_at): halves in an fp16 model, for ops that compute in them.
    static Halide::Expr read_raw(const Value &v, int64_t group, Halide::Expr ch, Halide::Expr k, Halide::Expr g,
                                 Halide::Expr x, Halide::Expr y, Halide::Expr n);
    // The fused activation of `node` applied to e.
    static Halide::Expr activate(const Node &node, Halide::Expr e);
    // The integers [lo, hi] of a value stored in int8 at `out` after node's
    // fused activation: the type's range within the activation's bounds in
    // steps of the scale (a monotone rounding commutes with the clamp, so
    // clamp(round(x / scale), lo, hi) is the stored clamp(round(act(x) /
    // scale))). False where none is left.
    static bool activation_steps(const Node &node, const ValueQuant &out, int *lo, int *hi);
    // The stored integer (int8 or uint8: `stored`) of t, a float in steps of
    // the stored value's scale: clamp(round_half_even(t), lo, hi) for integer
    // bounds lo, hi, the reference's rounding. The clamp comes first, in float,
    // so that adding 1.5 x 2^23 rounds t to an integer in the sum's low
    // mantissa bits: one add where Halide's round took a vroundps per 256 bits
    // (AVX-512 vectors split and joined around it) and a vcvttps2dq.
    static Halide::Expr stored_steps(Halide::Expr t, int lo, int hi, Halide::Type stored);
    // NaN in, NaN out, as the reference and PyTorch: Halide's float max/min
    // return the other operand for a NaN, and its fast-math code generation may
    // swap them, so these are strict_float selects (a clamp is still one
    // maxps/minps each on x86). Measured on 1x g3 at 1 thread against the
    // plain max: x1.006 (AVX2 build), x1.011 (AVX-512).
    static Halide::Expr clamp_keeping_nan(Halide::Expr e, float lo, float hi);  // lo/hi may be infinite
    // max(acc, tap) that keeps a NaN from either side (max pooling; floats or halves).
    Halide::Expr max_keeping_nan(Halide::Expr acc, Halide::Expr tap) const;
    // The channel a conv reads for logical channel `ch`: the folded shuffles as arithmetic.
    static Halide::Expr shuffle_index(const std::vector<ShuffleStep> &steps, Halide::Expr ch);

private:
    const Graph &g_;
    const PackedWeights &packed_;
    const SegmentPlan &plan_;
    const Segment &seg_;
    // `node` in grouping `group`, `pad_value` outside (raw: as stored).
    Halide::Func exterior(int node, int64_t group, bool raw, Halide::Expr pad_value);
    // The value of a node quantized as the plan says (its integers, saturated).
    Value quantized(const Value &real, const ValueQuant &q, const std::string &name) const;
    // A value rounded to the model's 16-bit float (fp16, bf16 models), or `v`
    // if it holds those already.
    Value rounded_16(const Value &v, const std::string &name) const;

    Halide::ImageParam weights_, narrow_weights_, pair_weights_;
    std::map<int, Value> inputs_;
    LoweredSegment out_;
};

}  // namespace shufflec
