// Weight packing: the model's folded weights laid out for the lowered code,
// as one blob (embedded in the library or written to NAME.weights). An
// explicit step between the passes and the lowering; each op's `pack`
// (compiler/ops/) says how its arrays are laid out, the lowering only reads
// the offsets recorded here.
//
// Every array starts on a 64-byte boundary. A grouped conv's weights are laid
// out per group, [group][input channel][tap][k], with each group's outputs k
// padded with zeros to a multiple of `group_padding` lanes, so that a vector
// of outputs never straddles two groups and the last vector of a group may
// compute padding lanes harmlessly.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "lower/segment_plan.h"
#include "weights/weights.h"

namespace shufflec {

// The dot product a target's 1x1 convs are written for. int8 models: sums of
// 4 products per 32-bit lane, as x86's AVX512-VNNI vpdpbusd (uint8 inputs x
// int8 weights) or ARM's sdot (int8 x int8); an input stored with the other
// signedness is read with its sign bit flipped (x +/- 128), and the
// accumulators start at -/+128 x the sum of the channel's weights. int8
// models without such an instruction (AVX2, ARMv8.0): I8Pairs, sums of 2 products
// per 32-bit lane, both operands widened to 16 bits (vpmaddwd: 16 products per
// instruction, twice the plain form; exact for either signedness). bf16
// models: sums of 2 bfloat16 products per float32 lane (AVX512-BF16 vdpbf16ps).
// fp32 and fp16 models on ARM (F32Lanes, F16Lanes): one vector load of 4 (8)
// adjacent stored input channels per pixel and step, each channel multiplied
// by element (NEON fmla v.4s, v.4s, v.s[j]) into the outputs' vectors.
enum class DotProduct { None, U8S8, S8S8, I8Pairs, BF16, F32Lanes, F16Lanes };
// Stored input channels per step: 4 (int8 quads, F32Lanes), 2 (I8Pairs, bf16), 8 (F16Lanes).
constexpr int kMaxDotSlots = 8;
inline int dot_slots(DotProduct d) {
    return d == DotProduct::BF16 || d == DotProduct::I8Pairs ? 2 : d == DotProduct::F16Lanes ? 8 : 4;
}
// Whether the step's channels multiply by element (a weight vector per slot)
// rather than summing into one lane.
inline bool by_lane(DotProduct d) { return d == DotProduct::F32Lanes || d == DotProduct::F16Lanes; }
// Sums of 4 int8 products per 32-bit lane (vpdpbusd, sdot).
inline bool int8_quads(DotProduct d) { return d == DotProduct::U8S8 || d == DotProduct::S8S8; }
// The model precision a dot-product form computes.
inline Precision dot_precision(DotProduct d) {
    switch (d) {
    case DotProduct::BF16: return Precision::BF16;
    case DotProduct::F32Lanes: return Precision::FP32;
    case DotProduct::F16Lanes: return Precision::FP16;
    default: return Precision::Int8;
    }
}

// Where one array of a node lives in the blob (offset -1: the node has none).
struct PackedArray {
    int64_t offset = -1;
    int64_t floats = 0;
};

struct PackedNode {
    PackedArray weight, bias;  // conv, dense
    // An int8 conv (int8 models): its weights as int8 (the array's bytes:
    // offset * 4 in the blob's bytes) in the grouped layout, and per output
    // channel the float multiplier input scale x weight scale.
    PackedArray weight_i8, multiplier;
    // A conv in an fp16 model: its weights as IEEE halves (offset * 2 in the
    // blob's halves) in the grouped layout; the bias stays float.
    PackedArray weight_f16;
    // ... in dot-product form (PackingOptions::dot), per input tensor it reads
    // (one, or the tensors of its parts): `steps` of dot_slots(dot) stored
    // channels per group, weights [group][step][k padded][slot] (int8: offset
    // * 4 in bytes; bf16: offset * 2 in halves) or, by lane, [group][step][slot]
    // [k padded] (floats; F16Lanes: offset * 2 in halves);
    // a step reads adjacent stored channels at `start` within storage group
    // `unit` (tables [group][step] of int32 bit patterns, which the lowering
    // compiles in as constants: Lowering::table_at). int8 accumulators start at acc_init
    // ([group][k padded]: the integer correction for inputs whose sign bit the
    // kernel flips, see DotProduct).
    struct DotInput {
        int64_t steps = 0;
        int64_t unit_size = 0;  // the input's stored channels per storage group
        // No tables (offset -1): step q of group g reads stored channels from
        // first + g * group_stride + q * slots (group_stride: the unit size,
        // or any in an input stored as one unit).
        PackedArray weight, unit, start;
        int64_t group_stride = 0, first = 0;
        // The last step runs past its storage group's end: it reads the
        // group's last channels instead (the ones read already: zero weights).
        bool last_back = false;
        // By lane: channels left over from steps the group would fill only
        // in part, each read alone (a broadcast, no zero slots): `singles` per
        // group, weights [group][single][k padded] (F16Lanes: in halves), the
        // stored channel `offset` within storage group `single_unit` (tables
        // [group][single]).
        int64_t singles = 0;
        PackedArray single_weight, single_unit, single_offset;
        // Pairs (I8Pairs): `weight` holds int16 (offset * 2 in the blob's
        // int16 view), not int8 (PackingOptions::pairs_int16).
        bool int16 = false;
    };
    std::vector<DotInput> dot_inputs;
    // A general conv of an int8 model (the stem; conv.cc): in dot-product
    // form (int8_quads), each step one input channel's row of kw <= 4 taps,
    // the slots adjacent input pixels of that channel (its stored plane, one
    // 32-bit load per pixel and step), weight_i8 [group][step][k padded][slot]
    // (append_dot; a slot past kw holds 0), acc_init the sign flip's
    // correction; or, without a dot product, float_taps: in `weight` its
    // integer weights times the multiplier / output scale as floats, times
    // its input's integers as floats, from the bias: the float stem's code
    // on the int8 model's values (float rounding, as a float epilogue's).
    bool tap_rows = false, float_taps = false;
    // A conv of an int8 model whose value is stored in int8 at scale s (its
    // plan's ValueQuant): multiplier (a float conv: weights) and bias divided
    // by s, its epilogue rounds to the integers, clamped to [out_lo, out_hi]
    // (the fused activation's bounds in steps of s within the type's range)
    // with no float activation or scaling (conv.cc: plan_integer_out).
    bool integer_out = false;
    int out_lo = 0, out_hi = 0;
    // ... in fixed point (PackingOptions::fixed_point): `multiplier` holds
    // m0 (Q31, int32 bit patterns) and `power` the power of two: the value
    // is (sum << pre_shift) x m0 x 2^(power - 31) ([group][k padded]); the
    // bias is in acc_init.
    bool fixed_point = false;
    PackedArray power;
    int pre_shift = 0;
    // ... for an add (fixed point, conv.cc: plan_fixed_add): a conv read only
    // by an int8 add whose other operand is stored in int8 (ShuffleNet V1's
    // ReLU(x + branch)) computes the add's integers: the other operand's
    // integer times `add_operand` (per channel, int32 bit patterns: its scale
    // in the shifted sum's units) joins the shifted sum, m0 (no power) gives
    // the total in steps of the add's scale / 2^add_bits, one rounding
    // narrowing shift (sqrshrn) the integers, clamped to the add's activation
    // (add.cc then reads them). add_node: the add.
    int add_node = -1, add_bits = 0;
    // ... in float (not fixed point): the conv's value is in steps of the
    // add's scale (multiplier and bias divided by it); add_scaled: the add.
    int add_scaled = -1;
    PackedArray add_operand;
    // A depthwise conv in fixed point sums each product doubled (its int8
    // weights times 2 as int16): the product then needs 32 bits, which NEON
    // multiplies and accumulates in one instruction per 4 lanes (smlal),
    // where a product that fits 16 bits took a 16-bit multiply and two
    // widening adds. acc_init and the multiplier account for the 2.
    bool doubled = false;
    DotProduct dot = DotProduct::None;
    PackedArray acc_init;
    PackedArray scale, shift;  // a standalone batchnorm: y = x * scale + shift
    int64_t group = 0;         // grouped layout: outputs per group
    int64_t padded_group = 0;  // ... and per group after padding
    int64_t panel = 0;         // dense: outputs per contiguous panel of weights
};

struct PackingOptions {
    // Lanes each group's outputs are padded to: by default the widest vector
    // the model's schedule uses on its target (8 for AVX2, 4 for NEON), so a
    // group of 20 costs 24 lanes on AVX2 and none extra on NEON. Any value is
    // correct (a vector that reads past its group's lanes computes padding
    // lanes nobody stores; the blob ends with kWeightsTailFloats of slack);
    // it only decides how many lanes the FMAs waste.
    int64_t group_padding = 16;
    DotProduct dot = DotProduct::None;
    // Which 1x1 convs take the dot-product form where `dot` allows it (the
    // schedule's dot_product knob); unset: all.
    std::function<bool(int node)> use_dot;
    // Which pairs-form 1x1 convs (DotProduct::I8Pairs) keep their step
    // weights as int16 (schedule.h: pairs_weights_int16); unset: none.
    std::function<bool(int node)> pairs_int16 = nullptr;
    // A fully connected node's weight panels, in vectors of group_padding
    // outputs (dense.cc; schedule.h dense_panel_vectors); unset: one.
    std::function<int64_t(int node)> dense_panel_vectors = nullptr;
    // The target's float max returns a NaN operand (ARM's fmax, which Halide
    // emits for max on float32): max pooling then keeps a NaN in one instruction.
    bool max_keeps_nan = false;
    // int8 epilogues that round to the stored integers (PackedNode::
    // integer_out) multiply in fixed point: `sqrdmulh` + `srshl` on NEON
    // (x86 has no 32-bit rounding doubling multiply: float there).
    bool fixed_point = false;
    // The target's float FMAs take one lane of a vector (NEON fmla by
    // element): a float general conv (the stem) reads its taps by lane
    // (conv.cc), in an fp32 model (dot F32Lanes implies it) or an int8
    // model's float stem.
    bool float_by_element = false;
    // The lowering compiles the step tables in and promises Halide their
    // entries' range (Lowering::table_at) instead of reading them from the
    // weights and clamping them per step. Off for Halide's autoschedulers
    // (Mullapudi2016 warns at every promise and fails on a constant table).
    bool promise_table_ranges = true;
};

// Zeros after the last array: a channel block rounded up past a group's
// padded lanes (at most one block: 8 vectors of 16 lanes) stays inside the blob.
constexpr int64_t kWeightsTailFloats = 128;

struct PackedWeights {
    std::vector<float> data;
    std::vector<PackedNode> nodes;  // one per graph node
    int64_t group_padding = 16;
    DotProduct dot = DotProduct::None;
    // The blob's second view, for the arrays of narrow values (F32: none):
    // an int8 model's int8 weights (I8), an fp16 or bf16 model's 16-bit
    // floats (F16, BF16).
    Element narrow = Element::F32;
    // A third view, int16 (Element::I16): where some 1x1 convs of an int8
    // model summing pairs of 16-bit products (DotProduct::I8Pairs) keep their
    // weights as int16 (PackingOptions::pairs_int16; DotInput::int16).
    bool pair_weights = false;
    bool max_keeps_nan = false;          // PackingOptions::max_keeps_nan, for the lowering
    bool float_by_element = false;       // PackingOptions::float_by_element, or a by-lane dot
    bool fixed_point = false;            // PackingOptions::fixed_point
    bool promise_table_ranges = true;  // PackingOptions::promise_table_ranges, for the lowering
    // (offset, floats) of every array, in order: the layout the external
    // weights fingerprint covers.
    std::vector<std::pair<int64_t, int64_t>> arrays;
    int64_t size() const { return static_cast<int64_t>(data.size()); }
};

// What an op's `pack` writes into.
class WeightPacker {
public:
    WeightPacker(const Graph &graph, const Weights &weights, const SegmentPlan &plan, PackedWeights &out,
                 std::function<bool(int)> use_dot = nullptr, std::function<int64_t(int)> dense_panel_vectors = nullptr,
                 std::function<bool(int)> pairs_int16 = nullptr)
        : graph_(graph),
          weights_(weights),
          plan_(plan),
          out_(out),
          use_dot_(std::move(use_dot)),
          dense_panel_vectors_(std::move(dense_panel_vectors)),
          pairs_int16_(std::move(pairs_int16)) {}
    const Graph &graph() const { return graph_; }
    const Node &node(int index) const { return graph_.nodes[index]; }
    const SegmentPlan &plan() const { return plan_; }
    // A weight tensor of a node, by role.
    const Tensor &tensor(int node, const char *role) const;
    PackedNode &packed(int node) { return out_.nodes[node]; }
    int64_t group_padding() const { return out_.group_padding; }
    DotProduct dot() const { return out_.dot; }
    bool fixed_point() const { return out_.fixed_point; }
    bool float_by_element() const { return out_.float_by_element; }
    // Whether `node` may take the dot-product form (PackingOptions::use_dot).
    bool dot_allowed(int node) const { return out_.dot != DotProduct::None && (!use_dot_ || use_dot_(node)); }
    // Whether pairs-form `node` keeps its step weights as int16 (PackingOptions::pairs_int16).
    bool pairs_int16(int node) const {
        return out_.dot == DotProduct::I8Pairs && plan_.int8() && pairs_int16_ && pairs_int16_(node);
    }
    // Outputs per weight panel of fully connected `node` (PackingOptions::dense_panel_vectors).
    int64_t dense_panel(int node) const {
        return out_.group_padding * (dense_panel_vectors_ ? std::max<int64_t>(1, dense_panel_vectors_(node)) : 1);
    }

    // Appends an array (padded to 64 bytes); returns where it is.
    PackedArray append(const std::vector<float> &values);
    // Appends a grouped array: values(grp, k, i) for k < per_group, zeros for
    // the padding lanes, laid out [grp][i][k padded to group_padding].
    PackedArray append_grouped(int64_t groups, int64_t per_group, int64_t inner,
                               const std::function<float(int64_t grp, int64_t k, int64_t i)> &values);
    // The same layout of int8 values (4 to a float slot of the blob).
    PackedArray append_grouped_i8(int64_t groups, int64_t per_group, int64_t inner,
                                  const std::function<int(int64_t grp, int64_t k, int64_t i)> &values);
    // The same layout of halves (2 to a float slot, each value rounded to nearest even).
    PackedArray append_grouped_f16(int64_t groups, int64_t per_group, int64_t inner,
                                   const std::function<float(int64_t grp, int64_t k, int64_t i)> &values);
    // A dot-product weight array: values(grp, q, k, j) laid out [grp][q][k
    // padded to group_padding][j < dot_slots(dot())], as int8 (int8 models:
    // the values are integers; int16 where `int16`) or bfloat16
    // (DotProduct::BF16); by lane
    // [grp][q][j][k padded], as floats or halves (F16Lanes).
    PackedArray append_dot(int64_t groups, int64_t per_group, int64_t steps,
                           const std::function<float(int64_t grp, int64_t q, int64_t k, int64_t j)> &values,
                           bool int16 = false);

private:
    template <typename T>
    PackedArray append_narrow(const std::vector<T> &values);
    const Graph &graph_;
    const Weights &weights_;
    const SegmentPlan &plan_;
    PackedWeights &out_;
    std::function<bool(int)> use_dot_;
    std::function<int64_t(int)> dense_panel_vectors_;
    std::function<bool(int)> pairs_int16_;
};

// Packs every node's weights (graph order).
PackedWeights pack_weights(const Graph &graph, const Weights &weights, const SegmentPlan &plan,
                           const PackingOptions &options = {});

}  // namespace shufflec
