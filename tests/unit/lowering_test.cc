// The lowering never materializes a channel shuffle: walking the Halide IR of
// every Func of a lowered ShuffleNet unit shows no stage whose only job is to
// permute channels, and the conv after the shuffle reads its producer through
// the shuffle's index arithmetic (checked by evaluating that index). The same
// for ShuffleNet V2's channel split, concat and shuffle: no stage of any unit
// copies or permutes channels. Also the segment plan: stride-2 concats are views, and arena placements of tensors
// alive at the same time never overlap.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <Halide.h>
#include <gtest/gtest.h>

#include "../test_support.h"
#include "graph/graph.h"
#include "lower/lower_segment.h"
#include "lower/segment_plan.h"
#include "lower/weight_packing.h"
#include "emit/targets.h"
#include "passes/passes.h"
#include "quantize/calibrate.h"
#include "quantize/quantization.h"
#include "reference/interpreter.h"
#include "schedule/schedule.h"
#include "spec/spec_parser.h"
#include "unit_support.h"
#include "weights/weights.h"

using namespace shufflec;
namespace HI = Halide::Internal;

namespace {

// One read of a Func or buffer found in a definition.
struct Read {
    std::string reader;   // the Func whose definition holds the read
    int definition = 0;   // 0: pure definition, k: update k-1
    std::string callee;   // Func or buffer read
    std::vector<Halide::Expr> args;
};

class CollectReads : public HI::IRVisitor {
public:
    std::vector<const HI::Call *> calls;
    std::set<std::string> variables;

private:
    using HI::IRVisitor::visit;
    void visit(const HI::Call *op) override {
        if (op->call_type == HI::Call::Halide || op->call_type == HI::Call::Image) calls.push_back(op);
        HI::IRVisitor::visit(op);
    }
    void visit(const HI::Variable *op) override { variables.insert(op->name); }
};

struct Contains : public HI::IRVisitor {
    int mods = 0, divs = 0;
    std::set<int64_t> mod_divisors, div_divisors;
    using HI::IRVisitor::visit;
    void visit(const HI::Mod *op) override {
        mods++;
        if (const int64_t *k = HI::as_const_int(op->b)) mod_divisors.insert(*k);
        HI::IRVisitor::visit(op);
    }
    void visit(const HI::Div *op) override {
        divs++;
        if (const int64_t *k = HI::as_const_int(op->b)) div_divisors.insert(*k);
        HI::IRVisitor::visit(op);
    }
};

Contains arithmetic_of(const Halide::Expr &e) {
    Contains c;
    e.accept(&c);
    return c;
}

// Halide makes Func names unique with "$<k>" suffixes ("u_conv1$3_acc" when
// "u_conv1_acc" was used before in the process): the name without them.
std::string base_name(const std::string &name) {
    std::string out;
    for (size_t i = 0; i < name.size(); i++) {
        if (name[i] == '$' && i + 1 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1]))) {
            while (i + 1 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1]))) i++;
            continue;
        }
        out += name[i];
    }
    return out;
}

// The weights blob (an ImageParam, read through its wrapper Func "weights_im"): 1-D, not a tensor.
bool is_weights(const std::string &name) { return base_name(name).rfind("weights", 0) == 0; }

bool is_variable(const Halide::Expr &e, const std::string &name = "") {
    const HI::Variable *v = e.as<HI::Variable>();
    return v && (name.empty() || v->name == name);
}

// Every Function the lowered segment's outputs depend on, by name.
std::map<std::string, HI::Function> all_functions(const LoweredSegment &lowered) {
    std::map<std::string, HI::Function> env;
    for (const auto &f : lowered.outputs) {
        env.emplace(f.name(), f.function());
        for (auto &[name, fn] : HI::find_transitive_calls(f.function())) env.emplace(name, fn);
    }
    return env;
}

// Every definition (pure, then updates) of a Function.
std::vector<HI::Definition> definitions_of(const HI::Function &f) {
    std::vector<HI::Definition> defs = {f.definition()};
    for (const auto &u : f.updates()) defs.push_back(u);
    return defs;
}

// A definition's values and left-hand side arguments with the lets that Halide's
// common-subexpression elimination introduced substituted back in, so that a
// read's index is one expression over the Func's variables.
std::vector<Halide::Expr> values_of(const HI::Definition &d) {
    std::vector<Halide::Expr> out;
    for (const auto &v : d.values()) out.push_back(HI::substitute_in_all_lets(v));
    return out;
}
std::vector<Halide::Expr> args_of(const HI::Definition &d) {
    std::vector<Halide::Expr> out;
    for (const auto &a : d.args()) out.push_back(HI::substitute_in_all_lets(a));
    return out;
}

std::vector<Read> all_reads(const std::map<std::string, HI::Function> &env) {
    std::vector<Read> reads;
    for (const auto &[name, fn] : env) {
        std::vector<HI::Definition> defs = definitions_of(fn);
        for (size_t d = 0; d < defs.size(); d++) {
            // Kept alive while the collected Call pointers are used.
            std::vector<Halide::Expr> exprs = values_of(defs[d]), lhs = args_of(defs[d]);
            exprs.insert(exprs.end(), lhs.begin(), lhs.end());
            CollectReads collect;
            for (const auto &e : exprs) e.accept(&collect);
            for (const HI::Call *call : collect.calls)
                if (!is_weights(call->name)) reads.push_back({base_name(name), static_cast<int>(d), base_name(call->name), call->args});
        }
    }
    return reads;
}

struct Lowered {
    Graph graph;
    Weights weights;
    Quantization quantization;  // int8 cases
    SegmentPlan plan;
    PackedWeights blob;
    LoweredSegment segment;
};

// input (1 x 48 x 6 x 6) -> one stride-1 ShuffleNet unit "u" with g = 3 (mid 12, n = 4), optimized and lowered.
void lower_unit(Lowered &out, ShuffleConvention convention, bool after_dw, bool se = false, bool int8 = false,
                DotProduct dot = DotProduct::None, bool every_tensor = false, Precision floats = Precision::FP32) {
    std::string text = std::string(R"({"format": "shufflec-spec/1", "name": "unit", "input": {"shape": [1, 48, 6, 6]},
        "layers": [{"op": "shufflenet_unit", "name": "u", "out_channels": 48, "groups": 3, "shuffle_convention": ")") +
                       (convention == ShuffleConvention::Paper ? "paper" : "inverse") + R"(", "shuffle_position": ")" +
                       (after_dw ? "after_dw" : "after_pw1") + R"(", "se": )" + (se ? "true" : "false") + "}]}";
    out.graph = parse_spec_text(text, "unit.json");
    out.weights = random_weights(out.graph, 77);
    optimize(out.graph, out.weights);
    if (int8) {
        // int8 scales calibrated on two random inputs (quantize/calibrate.h).
        // every_tensor: conv3 gets a scale too and is rounded before the residual add.
        CalibrationOptions options;
        options.every_tensor = every_tensor;
        Calibrator calibrator(out.graph, out.weights, options);
        for (uint64_t seed : {11, 12})
            calibrator.add(unit::random_values(static_cast<size_t>(out.graph.input().shape.elements()), seed));
        out.quantization = calibrator.finish();
    }
    out.plan = plan_segments(out.graph, Granularity::Unit, int8 ? &out.quantization : nullptr,
                             int8 ? Precision::Int8 : floats);
    ASSERT_EQ(out.plan.segments.size(), 1u) << "a unit is one segment";
    PackingOptions packing;
    packing.group_padding = 16;
    packing.dot = dot;
    // Pairs: conv3 keeps its step weights as int16, conv1 as int8 (both forms in one pipeline).
    packing.pairs_int16 = [&out](int node) { return out.graph.nodes[static_cast<size_t>(node)].name == "u.conv3"; };
    out.blob = pack_weights(out.graph, out.weights, out.plan, packing);
    out.segment = lower_segment(out.graph, out.blob, out.plan, 0);
}

struct Case {
    ShuffleConvention convention;
    bool after_dw;
    bool int8 = false;  // an int8 model: the convs multiply integers
    DotProduct dot = DotProduct::None;  // ... its 1x1 convs in dot-product form
    bool every_tensor = false;  // ... quantized with `quantize --every-tensor`
    Precision floats = Precision::FP32;  // FP16 or BF16: a 16-bit float model
};

std::string case_name(const Case &c) {
    return std::string(c.convention == ShuffleConvention::Paper ? "paper" : "inverse") +
           (c.after_dw ? "_after_dw" : "_after_pw1") + (c.int8 ? "_int8" : "") +
           (c.dot == DotProduct::U8S8 ? "_dot_u8s8" : c.dot == DotProduct::S8S8 ? "_dot_s8s8" : "") +
           (c.dot == DotProduct::I8Pairs ? "_dot_pairs" : "") +
           (c.dot == DotProduct::BF16 ? "_dot" : "") + (by_lane(c.dot) ? "_by_lane" : "") +
           (c.every_tensor ? "_every_tensor" : "") +
           (c.floats == Precision::FP16 ? "_fp16" : c.floats == Precision::BF16 ? "_bf16" : "");
}

void PrintTo(const Case &c, std::ostream *os) { *os << case_name(c); }

class ShuffleLowering : public ::testing::TestWithParam<Case> {};

// Funcs whose value is nothing but a read of another Func or buffer at a
// channel other than their own channel variable (a stage that only permutes
// channels), and definitions that write anything but their own channel variable.
// The channel variables of a Func: c for a (c, x, y, n) Func, k and g for a
// grouped (k, g, x, y, n) one (channel = g * group + k).
std::vector<std::string> channel_vars(const HI::Function &fn) {
    if (fn.args().size() == 5) return {fn.args()[0], fn.args()[1]};
    return {fn.args()[0]};
}

// Whether `e` is g * constant + k (or k + g * constant): the identity map from a
// grouped Func's (k, g) to a plain channel index.
bool is_group_major_channel(const Halide::Expr &e, const std::string &k, const std::string &g) {
    const HI::Add *add = e.as<HI::Add>();
    if (!add) return false;
    for (int side = 0; side < 2; side++) {
        Halide::Expr a = side ? add->b : add->a, b = side ? add->a : add->b;
        const HI::Mul *mul = a.as<HI::Mul>();
        if (mul && is_variable(mul->a, g) && HI::as_const_int(mul->b) && is_variable(b, k)) return true;
    }
    return false;
}

// Whether a call made by `fn` reads channel(s) equal to fn's own.
bool reads_own_channel(const HI::Function &fn, const std::vector<Halide::Expr> &args) {
    std::vector<std::string> vars = channel_vars(fn);
    if (args.size() == fn.args().size()) {
        for (size_t i = 0; i < vars.size(); i++)
            if (!is_variable(args[i], vars[i])) return false;
        return true;
    }
    // A grouped Func reading a plain one at channel g * group + k.
    return vars.size() == 2 && args.size() == 4 && is_group_major_channel(args[0], vars[0], vars[1]);
}

std::vector<std::string> permuting_funcs(const std::map<std::string, HI::Function> &env, int *tensor_funcs) {
    std::vector<std::string> found;
    *tensor_funcs = 0;
    for (const auto &[name, fn] : env) {
        if (is_weights(name)) continue;
        // A 1x1 conv's step loads by lane (Stage::lane_inputs: a vector of
        // adjacent stored channels per pixel, computed inside the conv's
        // reduction) are no tensor; their reads are checked with the conv's.
        if (base_name(name).find("_lanes") != std::string::npos) continue;
        (*tensor_funcs)++;
        EXPECT_TRUE(fn.args().size() == 4 || fn.args().size() == 5) << name;
        if (fn.args().size() != 4 && fn.args().size() != 5) continue;
        std::vector<std::string> vars = channel_vars(fn);
        std::vector<HI::Definition> defs = definitions_of(fn);
        for (size_t d = 0; d < defs.size(); d++) {
            const std::vector<Halide::Expr> lhs = args_of(defs[d]);
            bool own = lhs.size() == fn.args().size();
            for (size_t i = 0; own && i < vars.size(); i++) own = is_variable(lhs[i], vars[i]);
            if (!own)
                found.push_back(base_name(name) + " (definition " + std::to_string(d) + " writes a computed channel)");
            const std::vector<Halide::Expr> values = values_of(defs[d]);
            for (const auto &v : values) {
                const HI::Call *call = v.as<HI::Call>();
                if (!call || (call->call_type != HI::Call::Halide && call->call_type != HI::Call::Image)) continue;
                if (is_weights(call->name)) continue;
                if (!reads_own_channel(fn, call->args)) found.push_back(base_name(name));
            }
        }
    }
    return found;
}

}  // namespace

// (a) No Func is a plain read of another Func or buffer whose channel index is
// anything but the plain channel variable: no stage exists only to permute
// channels. Definitions write their own pure variables (no scatter either).
TEST_P(ShuffleLowering, NoStageOnlyPermutesChannels) {
    Lowered l;
    const Case &p = GetParam();
    ASSERT_NO_FATAL_FAILURE(lower_unit(l, p.convention, p.after_dw, false, p.int8, p.dot, p.every_tensor, p.floats));
    int tensors = 0;
    std::vector<std::string> found = permuting_funcs(all_functions(l.segment), &tensors);
    EXPECT_TRUE(found.empty()) << "channel-permuting stage: " << found.front();
    EXPECT_GE(tensors, 8) << "expected the unit's input, convs, accumulators and padding Funcs";
}

// The detector above is not vacuous: a shuffle read by a pool cannot fold into
// a conv, is lowered as an index-only stage, and is found.
TEST(ShuffleLoweringControl, UnfoldedShuffleIsDetected) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "ctl", "input": {"shape": [1, 12, 4, 4]},
        "layers": [{"op": "conv", "name": "pw", "out_channels": 12, "kernel": 1},
                   {"op": "channel_shuffle", "name": "mix", "groups": 3},
                   {"op": "maxpool", "name": "pool", "kernel": 2}]})";
    Graph g = parse_spec_text(text, "ctl.json");
    Weights w = random_weights(g, 1);
    optimize(g, w);
    ASSERT_NE(g.find("mix"), -1);
    SegmentPlan plan = plan_segments(g);
    ASSERT_EQ(plan.segments.size(), 1u);
    PackedWeights blob = pack_weights(g, w, plan);
    LoweredSegment lowered = lower_segment(g, blob, plan, 0);
    int tensors = 0;
    std::vector<std::string> found = permuting_funcs(all_functions(lowered), &tensors);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0], "mix");
}

// (b) The second pointwise conv reads the depthwise conv's output through the
// shuffle arithmetic; nothing else in the pipeline has a mod in a channel index.
TEST_P(ShuffleLowering, ConvAfterShuffleReadsThroughIndexArithmetic) {
    const Case &p = GetParam();
    Lowered l;
    ASSERT_NO_FATAL_FAILURE(lower_unit(l, p.convention, p.after_dw, false, p.int8, p.dot, p.every_tensor, p.floats));
    const int64_t g = 3, mid = 12, n = mid / g, out = 48;
    std::vector<Read> reads = all_reads(all_functions(l.segment));
    const Read *shuffled = nullptr;
    int dw_reads = 0;
    // A read's channel, as one index: c for a plain callee, g * group + k for a grouped one.
    auto channel_of = [&](const Read &r, int64_t callee_group) {
        return r.args.size() == 5 ? r.args[0] + r.args[1] * static_cast<int>(callee_group) : r.args[0];
    };
    const int64_t dw_group = l.plan.grouping[l.graph.find("u.dw")];
    const std::string dw_value =
        base_name(l.segment.stages[static_cast<size_t>(l.segment.stage_of[l.graph.find("u.dw")])].value.f.name());
    EXPECT_EQ(dw_value.rfind("u_dw", 0), 0u) << dw_value;
    // By lane, conv3 reads the depthwise conv through its step Func
    // u_conv3_lanes0(j, q, g, x, y, n), which it reads at its own (slot, step).
    const bool lanes = by_lane(p.dot);
    for (const auto &r : reads) {
        // The steps' tables (Lowering::table_at: constants, read at a step's index).
        bool table = r.callee.find("_steps") != std::string::npos || r.callee.find("_singles") != std::string::npos;
        if (p.dot != DotProduct::None && table && r.args.size() == 1) continue;
        if (lanes && r.callee.find("_lanes") != std::string::npos) {
            ASSERT_EQ(r.args.size(), 6u) << r.reader << " reads " << r.callee;
            EXPECT_EQ(arithmetic_of(r.args[0]).mods + arithmetic_of(r.args[1]).mods, 0) << r.args[0] << ", " << r.args[1];
            continue;
        }
        ASSERT_TRUE(r.args.size() == 4 || r.args.size() == 5) << r.reader << " reads " << r.callee;
        // The depthwise conv's value as readers see it: in an int8 model its
        // stored integers (u_dw_q), in a bf16 model its value rounded to bfloat16.
        // By lane, whole steps read through the step Func and the channels of
        // steps the group would fill only in part alone (DotInput::singles),
        // each once; both checked by the weights below.
        bool conv3_read = lanes ? (r.reader == "u_conv3_lanes0" && r.definition == 0) ||
                                      (r.reader == "u_conv3_acc" && r.definition > 0)
                                : r.reader == "u_conv3_acc" && r.definition == 1;
        if (conv3_read && r.callee == dw_value) {
            if (!lanes) {
                EXPECT_EQ(shuffled, nullptr) << "conv3 reads the depthwise conv more than once";
            }
            if (!shuffled) shuffled = &r;
            continue;
        }
        for (size_t a = 0; a + 3 < r.args.size(); a++)
            EXPECT_EQ(arithmetic_of(r.args[a]).mods, 0) << r.reader << " reads " << r.callee << " at " << r.args[a];
        if (r.reader == "u_dw_acc") {
            // The depthwise conv reads its (padded) input at its own (k, g): the shuffle is not there.
            dw_reads++;
            ASSERT_EQ(r.args.size(), 5u);
            EXPECT_TRUE(is_variable(r.args[0], "k") && is_variable(r.args[1], "g"))
                << "depthwise conv reads channel (" << r.args[0] << ", " << r.args[1] << ")";
        }
    }
    EXPECT_GT(dw_reads, 0) << "no read by the depthwise conv's accumulator found";
    std::string conv3_reads;
    for (const auto &r : reads)
        if (r.reader == "u_conv3_acc") conv3_reads += " " + r.callee + "/" + std::to_string(r.definition);
    ASSERT_NE(shuffled, nullptr) << "conv3's accumulator does not read u_dw; it reads" << conv3_reads;
    auto source = [&](int64_t logical) {
        return p.convention == ShuffleConvention::Paper ? (logical % g) * n + logical / g
                                                        : (logical % n) * g + logical / n;
    };
    if (p.dot != DotProduct::None) {
        // Dot-product form: conv3 reads steps of stored channels (int8 quads,
        // bf16 pairs, fp32 quads and fp16 octets by lane) named by tables the
        // packing makes (compiled in as constants); the shuffle is in which
        // weight sits in which slot.
        // For each output channel c and step r, the slot reading stored
        // channel source(group_base(c) + r) holds c's weight for r (int8, or
        // rounded to bfloat16 or half), and every other slot of c's group is zero.
        const int conv3 = l.graph.find("u.conv3");
        const PackedNode &pk = l.blob.nodes[static_cast<size_t>(conv3)];
        ASSERT_EQ(pk.dot_inputs.size(), 1u) << "conv3 is not in dot-product form";
        const PackedNode::DotInput &d = pk.dot_inputs[0];
        const Tensor &w = l.weights.at(l.graph.nodes[static_cast<size_t>(conv3)].param("weight")->tensor);
        std::vector<double> scales = weight_channel_scales(w);
        const bool bf16 = p.dot == DotProduct::BF16;
        const int slots = dot_slots(p.dot);
        ASSERT_EQ(pk.dot, p.dot);
        if (p.dot == DotProduct::I8Pairs) {
            ASSERT_TRUE(d.int16 && l.blob.pair_weights) << "conv3's pairs not as int16";
        }
        // (No steps at all: every channel alone, below.)
        ASSERT_TRUE(d.steps == 0 || d.unit.offset >= 0) << "conv3 reads through the shuffle without tables";
        ASSERT_GT(d.steps + d.singles, 0);
        const auto *halves = reinterpret_cast<const uint16_t *>(l.blob.data.data());
        auto slot_value = [&](int64_t gi, int64_t q, int64_t kk, int64_t j) -> double {  // a weight of the dot array
            if (lanes) {
                int64_t i = ((gi * d.steps + q) * slots + j) * pk.padded_group + kk;
                return p.dot == DotProduct::F16Lanes ? half_to_float(halves[d.weight.offset * 2 + i])
                                                     : l.blob.data[static_cast<size_t>(d.weight.offset + i)];
            }
            int64_t i = ((gi * d.steps + q) * pk.padded_group + kk) * slots + j;
            if (!bf16 && d.int16)  // pairs: int16 (PackingOptions::pairs_int16)
                return reinterpret_cast<const int16_t *>(l.blob.data.data())[d.weight.offset * 2 + i];
            if (!bf16) return reinterpret_cast<const int8_t *>(l.blob.data.data())[d.weight.offset * 4 + i];
            return bfloat16_to_float(halves[d.weight.offset * 2 + i]);
        };
        const int64_t out_per_group = out / g, in_per_group = mid / g;
        for (int64_t c = 0; c < out; c++) {
            int64_t gi = c / out_per_group, kk = c % out_per_group;
            std::map<int64_t, double> slot_weight;  // stored channel -> weight (summed over slots)
            for (int64_t q = 0; q < d.steps; q++) {
                auto table = [&](const PackedArray &a) {  // int32 bit patterns
                    int32_t v;
                    std::memcpy(&v, &l.blob.data[static_cast<size_t>(a.offset + gi * d.steps + q)], sizeof v);
                    return int64_t{v};
                };
                int64_t unit = table(d.unit), start = table(d.start);
                for (int64_t j = 0; j < slots; j++)
                    slot_weight[unit * d.unit_size + start + j] += slot_value(gi, q, kk, j);
            }
            // Channels alone: by lane, those of steps the group would fill only in part.
            for (int64_t i = 0; i < d.singles; i++) {
                auto entry = [&](const PackedArray &a) {
                    int32_t v;
                    std::memcpy(&v, &l.blob.data[static_cast<size_t>(a.offset + gi * d.singles + i)], sizeof v);
                    return int64_t{v};
                };
                int64_t at = (gi * d.singles + i) * pk.padded_group + kk;
                double weight = p.dot == DotProduct::F16Lanes ? half_to_float(halves[d.single_weight.offset * 2 + at])
                                                              : l.blob.data[static_cast<size_t>(d.single_weight.offset + at)];
                slot_weight[entry(d.single_unit) * d.unit_size + entry(d.single_offset)] += weight;
            }
            for (int64_t r = 0; r < in_per_group; r++) {
                float weight = w.data[static_cast<size_t>(c * in_per_group + r)];
                double expected = bf16                          ? round_to_bfloat16(weight)
                                  : p.dot == DotProduct::F16Lanes ? round_to_half(weight)
                                  : p.dot == DotProduct::F32Lanes ? weight
                                                                  : quantize_weight(weight, scales[static_cast<size_t>(c)]);
                EXPECT_EQ(slot_weight[source(gi * in_per_group + r)], expected) << "output " << c << ", step " << r;
                slot_weight.erase(source(gi * in_per_group + r));
            }
            for (auto [stored, weight] : slot_weight) EXPECT_EQ(weight, 0) << "output " << c << " reads channel " << stored;
        }
        return;
    }

    // The index is shuffle arithmetic: mod and div by g (paper) or by n (inverse).
    Halide::Expr index = channel_of(*shuffled, dw_group);
    EXPECT_FALSE(is_variable(index));
    Contains arith = arithmetic_of(index);
    int64_t k = p.convention == ShuffleConvention::Paper ? g : n;
    EXPECT_TRUE(arith.mod_divisors.count(k)) << "no mod by " << k << " in " << index;
    EXPECT_TRUE(arith.div_divisors.count(k)) << "no div by " << k << " in " << index;

    // And it is the right permutation: for output channel c (conv3 computes it as
    // k = c % per group, g = c / per group) and reduction step r (the r-th input
    // channel of c's group), it reads channel source(group_base(c) + r).
    CollectReads vars;
    index.accept(&vars);
    ASSERT_EQ(vars.variables.size(), 2u) << index;
    ASSERT_TRUE(vars.variables.count("g")) << index;
    std::string rvar;
    for (const auto &v : vars.variables)
        if (v != "g") rvar = v;
    const int64_t in_per_group = mid / g, out_per_group = out / g;
    for (int64_t c = 0; c < out; c++)
        for (int64_t r = 0; r < in_per_group; r++) {
            Halide::Expr e = HI::substitute("g", Halide::Expr(static_cast<int>(c / out_per_group)), index);
            e = HI::simplify(HI::substitute(rvar, Halide::Expr(static_cast<int>(r)), e));
            const int64_t *value = HI::as_const_int(e);
            ASSERT_NE(value, nullptr) << e;
            int64_t logical = (c / out_per_group) * in_per_group + r;
            int64_t expected = p.convention == ShuffleConvention::Paper ? (logical % g) * n + logical / g
                                                                        : (logical % n) * g + logical / n;
            EXPECT_EQ(*value, expected) << "output channel " << c << ", step " << r;
        }
}

// By lane (ARM fp32), a step a group would fill only in part is read as
// single channels: in the unit, conv3 reads 4 channels per group through the
// shuffle (runs of 1-2 adjacent channels: no whole step), all 4 alone; conv1
// reads its input's channels in whole steps (every slot used), none alone.
TEST(ByLane, PartlyFilledStepsAreReadAsSingleChannels) {
    Lowered l;
    ASSERT_NO_FATAL_FAILURE(lower_unit(l, ShuffleConvention::Paper, true, false, false, DotProduct::F32Lanes));
    const PackedNode &conv3 = l.blob.nodes[static_cast<size_t>(l.graph.find("u.conv3"))];
    ASSERT_EQ(conv3.dot, DotProduct::F32Lanes);
    ASSERT_EQ(conv3.dot_inputs.size(), 1u);
    EXPECT_EQ(conv3.dot_inputs[0].steps, 0);
    EXPECT_EQ(conv3.dot_inputs[0].singles, 4);
    const PackedNode &conv1 = l.blob.nodes[static_cast<size_t>(l.graph.find("u.conv1"))];
    ASSERT_EQ(conv1.dot, DotProduct::F32Lanes);
    ASSERT_EQ(conv1.dot_inputs.size(), 1u);
    EXPECT_EQ(conv1.dot_inputs[0].unit.offset, -1) << "whole steps of the conv's own storage group need no tables";
    EXPECT_EQ(conv1.dot_inputs[0].singles, 0);
}

// int8 with ARM's sdot, on the committed Fashion-MNIST V1 g3 model and its
// quantization: stage 3.1's conv1 reads 80 input channels per group in order
// (20 regular steps), so it loads 4 steps as one 16-byte vector per pixel
// (Stage::lane_inputs with 4 steps); its conv3 reads through the shuffle
// (step tables) and broadcasts each quad. (The fashion_mnist test runs this
// model on ARM under qemu against the simulated int8 model.)
TEST(ByLane, Int8SdotTakesFourRegularStepsByElement) {
    const std::string base = shufflec_test::source_dir() + "/specs/fashion_mnist/fashion_shufflenet_v1_g3";
    Graph g = load_spec(base + ".json");
    Weights w = random_weights(g, 1);  // the structure is what counts here
    optimize(g, w);
    Quantization q = load_quantization(base + ".quantization.json");
    SegmentPlan plan = plan_segments(g, Granularity::Unit, &q, Precision::Int8);
    PackingOptions packing;
    packing.group_padding = 4;
    packing.dot = DotProduct::S8S8;
    PackedWeights blob = pack_weights(g, w, plan, packing);
    const int conv1 = g.find("stage3.1.conv1"), conv3 = g.find("stage3.1.conv3");
    ASSERT_GE(conv1, 0);
    ASSERT_GE(conv3, 0);
    LoweredSegment seg = lower_segment(g, blob, plan, plan.segment_of[static_cast<size_t>(conv1)]);
    auto stage = [&](int node) -> const Stage & {
        return seg.stages[static_cast<size_t>(seg.stage_of[static_cast<size_t>(node)])];
    };
    ASSERT_EQ(stage(conv1).lane_inputs.size(), 1u);
    EXPECT_TRUE(stage(conv1).lane_inputs[0].f.defined());
    EXPECT_EQ(stage(conv1).lane_inputs[0].steps, 4);
    ASSERT_EQ(stage(conv3).lane_inputs.size(), 1u);
    EXPECT_FALSE(stage(conv3).lane_inputs[0].f.defined());
}

namespace {

// Runs a scheduled segment that reads the network input `x` (planar NCHW) on
// this CPU and returns what it writes (planar NCHW; the plan's grouped form
// indexes the same memory). *bound: the buffer parameters found in the IR by
// name (bits: 1 the weights, 2 the input, 4 int8 weights, 8 halves, 16 bfloat16s).
std::vector<float> realize_on_host(LoweredSegment &segment, const Graph &graph, const SegmentPlan &plan,
                                   const PackedWeights &blob, const std::vector<float> &x, const Halide::Target &host,
                                   int *bound) {
    // Buffers in the plan's layout: the network input and output are planar NCHW, as (c, x, y, n) dims.
    auto planar = [](const Shape &t) {
        return std::vector<halide_dimension_t>{{0, static_cast<int32_t>(t.c), static_cast<int32_t>(t.h * t.w), 0},
                                               {0, static_cast<int32_t>(t.w), 1, 0},
                                               {0, static_cast<int32_t>(t.h), static_cast<int32_t>(t.w), 0},
                                               {0, static_cast<int32_t>(t.n), static_cast<int32_t>(t.c * t.h * t.w), 0}};
    };
    std::vector<halide_dimension_t> in_dims = planar(graph.input().shape);
    Halide::Buffer<float> input(const_cast<float *>(x.data()), 4, in_dims.data());
    Halide::Buffer<float> weights(static_cast<int>(blob.data.size()));  // Halide's allocation is aligned
    std::copy(blob.data.begin(), blob.data.end(), weights.data());
    Halide::Buffer<int8_t> weight_bytes(reinterpret_cast<int8_t *>(weights.data()), 4 * weights.width());
    Halide::Buffer<int16_t> weight_i16(reinterpret_cast<int16_t *>(weights.data()), 2 * weights.width());
    Halide::Buffer<Halide::float16_t> weight_halves(reinterpret_cast<Halide::float16_t *>(weights.data()),
                                                    2 * weights.width());
    Halide::Buffer<Halide::bfloat16_t> weight_bf16(reinterpret_cast<Halide::bfloat16_t *>(weights.data()),
                                                   2 * weights.width());
    const Shape &out_shape = graph.output_node().shape;
    std::vector<float> y(static_cast<size_t>(out_shape.elements()), -12345.0f);
    // The unit's output is written in the grouped form (k, g, x, y, n) when the plan groups it.
    std::vector<halide_dimension_t> out_dims = planar(out_shape);
    const int64_t out_group = plan.grouping[graph.output];
    if (out_group > 0) {
        halide_dimension_t c_dim = out_dims[0];
        out_dims[0] = {0, static_cast<int32_t>(out_group), c_dim.stride, 0};
        out_dims.insert(out_dims.begin() + 1,
                        {0, static_cast<int32_t>(c_dim.extent / out_group), static_cast<int32_t>(out_group) * c_dim.stride, 0});
    }
    Halide::Buffer<float> output(y.data(), static_cast<int>(out_dims.size()), out_dims.data());

    // Bind the segment's buffer parameters, found in the IR by name.
    *bound = 0;
    for (const auto &[name, fn] : all_functions(segment))
        for (const auto &def : definitions_of(fn)) {
            CollectReads collect;
            for (const auto &v : def.values()) v.accept(&collect);
            for (const HI::Call *call : collect.calls) {
                if (call->call_type != HI::Call::Image || !call->param.defined()) continue;
                HI::Parameter param = call->param;
                if (param.name() == "weights") param.set_buffer(weights), *bound |= 1;
                else if (param.name() == "in_input") param.set_buffer(input), *bound |= 2;
                else if (param.name() == "weights_i8") param.set_buffer(weight_bytes), *bound |= 4;
                else if (param.name() == "weights_i16") param.set_buffer(weight_i16), *bound |= 4;
                else if (param.name() == "weights_f16") param.set_buffer(weight_halves), *bound |= 8;
                else if (param.name() == "weights_bf16") param.set_buffer(weight_bf16), *bound |= 16;
            }
        }
    // Row loops split their rows among this many tasks (3: blocks of uneven size).
    segment.threads.set(3);
    Halide::Pipeline pipeline(segment.outputs);
    std::vector<Halide::Buffer<void>> outputs = {output};
    Halide::Realization realization(outputs);
    pipeline.realize(realization, host);
    return y;
}

// int8 scales calibrated on random inputs (quantize/calibrate.h).
Quantization calibrated(const Graph &g, const Weights &w, std::initializer_list<uint64_t> seeds = {11, 12}) {
    Calibrator calibrator(g, w, CalibrationOptions{});
    for (uint64_t seed : seeds) calibrator.add(unit::random_values(static_cast<size_t>(g.input().shape.elements()), seed));
    return calibrator.finish();
}

// A network lowered as one pipeline, scheduled with the built-in schedule
// and run on this CPU on `x`: within `tolerance` x the largest value of
// `expected` (the reference interpreter's output).
void expect_network_matches(LoweredSegment &lowered, const Graph &g, const SegmentPlan &plan,
                            const PackedWeights &blob, const std::vector<float> &x,
                            const std::vector<float> &expected, double tolerance) {
    ScheduleFile schedule;
    schedule.source = "built-in";
    Halide::Target host = resolve_target("host").halide.without_feature(Halide::Target::AVX512_SapphireRapids);
    apply_schedule(lowered, g, plan, schedule, host);
    int bound = 0;
    std::vector<float> y = realize_on_host(lowered, g, plan, blob, x, host, &bound);
    EXPECT_EQ(bound & 3, 3) << "weights and input parameters not found";
    double scale = unit::max_abs(expected);
    ASSERT_GT(scale, 1e-3);
    EXPECT_LE(unit::max_abs_diff(y, expected), tolerance * scale);
}

}  // namespace

// The lowered pipeline, JIT-compiled with the built-in schedule, computes what the reference interpreter does.
TEST_P(ShuffleLowering, JitMatchesReference) {
    const Case &p = GetParam();
    Lowered l;
    ASSERT_NO_FATAL_FAILURE(lower_unit(l, p.convention, p.after_dw, false, p.int8, p.dot, p.every_tensor, p.floats));
    Halide::Target host = resolve_target("host").halide;  // what this CPU runs (emit/targets.h)
    host = host.without_feature(Halide::Target::AVX512_SapphireRapids);  // JIT code: see emit/targets.h
    ScheduleFile schedule;
    schedule.source = "built-in";
    apply_schedule(l.segment, l.graph, l.plan, schedule, host);

    const Shape &s = l.graph.input().shape;
    std::vector<float> x = unit::random_values(static_cast<size_t>(s.elements()), 5);
    if (p.every_tensor) {  // the residual add reads conv3 rounded to a scale of its own
        ASSERT_TRUE(l.quantization.tensors.count("u.conv3")) << "conv3 has no scale";
        Quantization without = l.quantization;
        without.tensors.erase("u.conv3");
        EXPECT_NE(run_reference_quantized(l.graph, l.weights, l.quantization, x),
                  run_reference_quantized(l.graph, l.weights, without, x))
            << "rounding conv3 changed nothing";
    }
    // An int8 model against the int8 model the reference simulates (the same integers).
    // An fp16 model against the rounding the reference simulates (its sums in double).
    std::vector<float> expected = p.int8   ? run_reference_quantized(l.graph, l.weights, l.quantization, x)
                                  : p.floats == Precision::FP16 ? run_reference_fp16(l.graph, l.weights, x)
                                  : p.floats == Precision::BF16 ? run_reference_bf16(l.graph, l.weights, x)
                                           : run_reference(l.graph, l.weights, x);

    int bound = 0;
    std::vector<float> y = realize_on_host(l.segment, l.graph, l.plan, l.blob, x, host, &bound);
    // (The bf16 model without dot products reads no 16-bit weights.)
    int expected_bound = p.int8                         ? 7
                         : p.floats == Precision::FP16 ? 11
                         : p.dot == DotProduct::BF16   ? 19
                                                       : 3;
    ASSERT_EQ(bound, expected_bound) << "weights and input parameters not found";
    double scale = unit::max_abs(expected);
    ASSERT_GT(scale, 1e-3);
    // int8: the same integers but where a float epilogue lands within float
    // rounding of a tie (one step of one value, then its effect downstream).
    // fp16: sums of halves (each step rounded to 11 bits) against double sums
    // of the same halves: a few half steps (2^-11 relative) of the largest value.
    // bf16: float32 sums against double sums, but a value that lands near a
    // bfloat16 tie may round the other way (one step: 2^-8 relative).
    double tolerance = p.int8 ? 1e-3 : p.floats == Precision::FP16 ? 4e-3 : p.floats == Precision::BF16 ? 8e-3 : 1e-4;
    EXPECT_LE(unit::max_abs_diff(y, expected), tolerance * scale);
    if (p.int8 || p.floats != Precision::FP32) {
        std::vector<float> fp32 = run_reference(l.graph, l.weights, x);
        EXPECT_GT(unit::max_abs_diff(y, fp32), 1e-4 * scale) << "the reduced-precision model computed in float";
    }
}

INSTANTIATE_TEST_SUITE_P(Conventions, ShuffleLowering,
                         ::testing::Values(Case{ShuffleConvention::Paper, false}, Case{ShuffleConvention::Paper, true},
                                           Case{ShuffleConvention::Inverse, false},
                                           Case{ShuffleConvention::Inverse, true},
                                           Case{ShuffleConvention::Paper, false, true},
                                           Case{ShuffleConvention::Inverse, true, true},
                                           Case{ShuffleConvention::Paper, false, true, DotProduct::U8S8},
                                           Case{ShuffleConvention::Inverse, true, true, DotProduct::S8S8},
                                           Case{ShuffleConvention::Paper, true, true, DotProduct::I8Pairs},
                                           Case{ShuffleConvention::Inverse, false, true, DotProduct::I8Pairs, true},
                                           Case{ShuffleConvention::Paper, true, true, DotProduct::None, true},
                                           Case{ShuffleConvention::Paper, false, true, DotProduct::U8S8, true},
                                           Case{ShuffleConvention::Paper, false, false, DotProduct::None, false,
                                                Precision::FP16},
                                           Case{ShuffleConvention::Inverse, true, false, DotProduct::None, false,
                                                Precision::FP16},
                                           Case{ShuffleConvention::Paper, true, false, DotProduct::None, false,
                                                Precision::BF16},
                                           Case{ShuffleConvention::Paper, false, false, DotProduct::BF16, false,
                                                Precision::BF16},
                                           Case{ShuffleConvention::Inverse, true, false, DotProduct::BF16, false,
                                                Precision::BF16},
                                           Case{ShuffleConvention::Paper, false, false, DotProduct::F32Lanes},
                                           Case{ShuffleConvention::Inverse, true, false, DotProduct::F32Lanes}),
                         [](const ::testing::TestParamInfo<Case> &p) { return case_name(p.param); });

// ShuffleNet V2: every unit's split, concat and shuffle are folded (passes)
// and none is computed by any pipeline: each stage that survives scheduling
// (not inlined) does arithmetic, no pipeline output is a view, and no
// materialized stage is a plain read of another tensor at a moved channel.
bool inlined(const HI::Function &f) {
    Halide::LoopLevel level = f.schedule().compute_level();
    level.lock();  // the schedule's levels are final once applied
    return level.is_inlined();
}

// A whole ShuffleNet V1 as one pipeline in fp16 and bf16: readers in the
// segment of a view concat (a stride-2 unit's output, read by the next unit's
// conv1 and residual add) get its 16-bit values, so every definition types
// check (Halide checks them as they are made) and the schedule applies.
TEST(ShuffleLowering16Bit, WholeNetworkInOnePipeline) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "v1", "input": {"shape": [1, 3, 32, 32]},
        "family": {"name": "shufflenet_v1", "groups": 3, "scale": 0.25, "num_classes": 10}})";
    for (Precision precision : {Precision::FP16, Precision::BF16}) {
        SCOPED_TRACE(precision == Precision::FP16 ? "fp16" : "bf16");
        Graph g = parse_spec_text(text, "v1.json");
        Weights w = random_weights(g, 6);
        optimize(g, w);
        SegmentPlan plan = plan_segments(g, Granularity::Network, nullptr, precision);
        ASSERT_EQ(plan.segments.size(), 1u);
        bool view_read_inside = false;
        auto consumers = g.consumers();
        for (size_t i = 0; i < g.nodes.size(); i++)
            if (plan.concat_view[i])
                for (int r : consumers[i]) view_read_inside |= plan.segment_of[static_cast<size_t>(r)] == 0;
        ASSERT_TRUE(view_read_inside) << "no view concat is read inside the pipeline";
        PackedWeights blob = pack_weights(g, w, plan);
        LoweredSegment lowered = lower_segment(g, blob, plan, 0);
        ScheduleFile schedule;
        schedule.source = "built-in";
        Halide::Target host = resolve_target("host").halide.without_feature(Halide::Target::AVX512_SapphireRapids);
        apply_schedule(lowered, g, plan, schedule, host);
        // Each tensor it writes has its storage's type: 16-bit floats, the app's output float32.
        const std::vector<int> &outputs = plan.segments[0].outputs;
        ASSERT_EQ(lowered.outputs.size(), outputs.size());
        for (size_t o = 0; o < outputs.size(); o++) {
            Halide::Type want = halide_type(storage_element(plan, outputs[o]));
            EXPECT_EQ(lowered.outputs[o].output_types()[0], want) << g.nodes[static_cast<size_t>(outputs[o])].name;
            EXPECT_EQ(want.bits(), outputs[o] == g.output ? 32 : 16);
        }
    }
}

namespace {

// A small ShuffleNet V2 (3 stages, random weights), optimized.
Graph tiny_v2(Weights &w, const std::string &stage_out_channels = "[8, 16, 32, 64, 80]",
              const std::string &stage_repeats = "[2, 3, 1]") {
    std::string text = R"({"format": "shufflec-spec/1", "name": "v2", "input": {"shape": [1, 3, 32, 32]},
        "family": {"name": "shufflenet_v2", "stage_out_channels": )" + stage_out_channels +
                       R"(, "stage_repeats": )" + stage_repeats + R"(, "num_classes": 10}})";
    Graph g = parse_spec_text(text, "v2.json");
    w = random_weights(g, 5);
    optimize(g, w);
    return g;
}

}  // namespace

TEST(ShuffleLoweringV2, NoSplitConcatOrShuffleIsMaterialized) {
    Weights w;
    Graph g = tiny_v2(w);
    SegmentPlan plan = plan_segments(g);
    PackedWeights blob = pack_weights(g, w, plan);
    ScheduleFile schedule;
    schedule.source = "built-in";
    int slices = 0, stages = 0, materialized = 0;
    for (size_t s = 0; s < plan.segments.size(); s++) {
        SCOPED_TRACE(plan.segments[s].name);
        for (int out : plan.segments[s].outputs) {
            Op op = g.nodes[static_cast<size_t>(out)].op;
            EXPECT_FALSE(is_channel_view(op)) << g.nodes[static_cast<size_t>(out)].name << " is written as a copy";
        }
        LoweredSegment lowered = lower_segment(g, blob, plan, static_cast<int>(s));
        apply_schedule(lowered, g, plan, schedule, Halide::get_host_target());
        for (const Stage &st : lowered.stages) {
            stages++;
            const Node &node = g.nodes[static_cast<size_t>(st.node)];
            if (!is_channel_view(node.op)) continue;
            // The only views left: depthwise convs' reads of part of a tensor, inlined into them.
            EXPECT_EQ(node.op, Op::Slice) << node.name;
            EXPECT_TRUE(inlined(st.value.f.function())) << node.name << " is computed";
            slices++;
        }
        std::map<std::string, HI::Function> env = all_functions(lowered);
        std::map<std::string, HI::Function> kept;
        for (const auto &[name, fn] : env)
            if (!inlined(fn) || fn.name() == lowered.outputs[0].name()) kept.emplace(name, fn);
        materialized += static_cast<int>(kept.size());
        int tensors = 0;
        std::vector<std::string> found = permuting_funcs(kept, &tensors);
        EXPECT_TRUE(found.empty()) << "channel-moving stage: " << found.front();
    }
    EXPECT_GT(slices, 0) << "stage 3 and 4's first depthwise convs read parts of the previous unit";
    EXPECT_GE(stages, 30);
    EXPECT_GE(materialized, 10);
}

// By lane (ARM fp32), a V2 branch's 1x1 conv reads a channel range of each
// tensor the folded split and shuffle left, from the range's first channel:
// whole steps need no tables (DotInput::first; the tables' loads and address
// arithmetic cost 5 instructions per step on ARM). The compiled
// torchvision V2 matches PyTorch on ARM under qemu (compiled_model_test).
TEST(ShuffleLoweringV2, BranchConvsReadTheirChannelRangesWithoutTables) {
    // Stage 2's 40 channels: its units' branches read ranges from channel 10
    // of 20-channel tensors.
    Weights w;
    Graph g = tiny_v2(w, "[8, 40, 80, 96, 64]");
    SegmentPlan plan = plan_segments(g);
    PackingOptions packing;
    packing.group_padding = 4;
    packing.dot = DotProduct::F32Lanes;
    PackedWeights blob = pack_weights(g, w, plan, packing);
    int inner = 0, moved = 0;
    for (size_t i = 0; i < g.nodes.size(); i++) {
        const Node &node = g.nodes[i];
        for (size_t t = 0; t < blob.nodes[i].dot_inputs.size(); t++) {
            const PackedNode::DotInput &d = blob.nodes[i].dot_inputs[t];
            if (d.steps == 0 || d.first == 0) continue;
            SCOPED_TRACE(node.name);
            EXPECT_EQ(d.unit.offset, -1) << "a range that starts inside its tensor reads through tables";
            int64_t channels = g.nodes[static_cast<size_t>(node.inputs[t])].shape.c;
            EXPECT_LE(d.first + d.steps * 4, channels);
            inner++;
            // A range starting between multiples of 4 steps from the next one, its first channels alone.
            for (const InputPart &part : node.parts)
                if (part.input == static_cast<int>(t) && part.begin % 4 != 0 && d.first % 4 == 0 && d.first > part.begin &&
                    d.singles > 0)
                    moved++;
        }
    }
    EXPECT_GE(inner, 3) << "the units read the second half of a shuffled tensor";
    EXPECT_GE(moved, 1) << "no range's steps moved to a multiple of 4";
}

// A chain of V2 units leaves the next stage's first depthwise conv parts of
// 8, 4, 2, 1 and 1 channels (each unit passes on half of the last one's
// pass-through channels), read by the 1x1 conv after it: a part narrower than
// a step has no steps, its channels are read alone (DotSteps::Single), in
// every dot-product form. The whole network, JIT-compiled as one pipeline,
// computes what the reference interpreter does (int8: its simulated integers).
TEST(ShuffleLoweringV2, PartsNarrowerThanAStepAreReadAlone) {
    struct Form {
        DotProduct dot;
        Precision precision;
        double tolerance;  // x the largest output, as ShuffleLowering.JitMatchesReference
    };
    for (Form form : {Form{DotProduct::U8S8, Precision::Int8, 1e-3}, Form{DotProduct::S8S8, Precision::Int8, 1e-3},
                      Form{DotProduct::I8Pairs, Precision::Int8, 1e-3}, Form{DotProduct::BF16, Precision::BF16, 8e-3},
                      Form{DotProduct::F32Lanes, Precision::FP32, 1e-4}}) {
        SCOPED_TRACE(static_cast<int>(form.dot));
        Weights w;
        Graph g = tiny_v2(w, "[8, 16, 32, 64, 80]", "[1, 6, 1]");
        bool int8 = form.precision == Precision::Int8;
        std::vector<float> x = unit::random_values(static_cast<size_t>(g.input().shape.elements()), 21);
        Quantization q = int8 ? calibrated(g, w) : Quantization{};
        SegmentPlan plan = plan_segments(g, Granularity::Network, int8 ? &q : nullptr, form.precision);
        ASSERT_EQ(plan.segments.size(), 1u);
        PackingOptions packing;
        packing.group_padding = 4;
        packing.dot = form.dot;
        packing.fixed_point = form.dot == DotProduct::S8S8;  // as on ARM
        PackedWeights blob = pack_weights(g, w, plan, packing);
        int narrow = 0;
        int slots = dot_slots(form.dot);
        for (size_t i = 0; i < g.nodes.size(); i++)
            for (size_t t = 0; t < blob.nodes[i].dot_inputs.size(); t++) {
                const PackedNode::DotInput &d = blob.nodes[i].dot_inputs[t];
                if (d.unit_size >= slots) continue;
                SCOPED_TRACE(g.nodes[i].name);
                EXPECT_EQ(d.steps, 0);
                EXPECT_EQ(d.singles, d.unit_size);
                narrow++;
            }
        EXPECT_GE(narrow, 2) << "no 1x1 conv read a part narrower than " << slots << " channels";
        LoweredSegment lowered = lower_segment(g, blob, plan, 0);
        std::vector<float> expected = int8 ? run_reference_quantized(g, w, q, x)
                                      : form.precision == Precision::BF16 ? run_reference_bf16(g, w, x)
                                                                          : run_reference(g, w, x);
        expect_network_matches(lowered, g, plan, blob, x, expected, form.tolerance);
    }
}

// int8 dot products over V2's channel ranges read them in regular steps,
// no tables. Stage 3's branches of 44 channels read the second half of an
// 88-channel pair of tensors from channel 22 of each (44 = 22 + 22), between
// two multiples of 4: their steps go at the multiples (20, 24, ..., 40: six,
// the spare slots zero weights). A range ending between two multiples moves
// its last step back (stage 2's 11 channels from 11: steps at 11, 15 and
// 18), where it needed tables. On ARM (S8S8) the steps in blocks of 4 are
// one 16-byte load per pixel (sdot by element), the steps past the last
// block (6 = 4 + 2; 11 = 8 + 3) a quad each. JIT-compiled against the
// reference's simulation, x86's form as well.
TEST(Int8Lowering, ChannelRangesReadInStepsWithoutTables) {
    for (DotProduct dot : {DotProduct::S8S8, DotProduct::U8S8}) {
        SCOPED_TRACE(static_cast<int>(dot));
        Weights w;
        Graph g = tiny_v2(w, "[8, 44, 88, 64, 80]", "[2, 2, 1]");
        Quantization q = calibrated(g, w);
        SegmentPlan plan = plan_segments(g, Granularity::Network, &q, Precision::Int8);
        ASSERT_EQ(plan.segments.size(), 1u);
        PackingOptions packing;
        packing.group_padding = 4;
        packing.dot = dot;
        packing.fixed_point = dot == DotProduct::S8S8;  // as on ARM
        PackedWeights blob = pack_weights(g, w, plan, packing);
        int unaligned = 0, moved_back = 0;
        for (size_t i = 0; i < g.nodes.size(); i++)
            for (const PackedNode::DotInput &d : blob.nodes[i].dot_inputs) {
                if (d.steps == 0) continue;
                SCOPED_TRACE(g.nodes[i].name);
                EXPECT_LT(d.unit.offset, 0) << "steps looked up in tables";
                if (d.unit_size == 44 && d.first == 20) unaligned++;
                if (d.unit_size == 22 && d.first == 11 && d.last_back) moved_back++;
            }
        EXPECT_GE(unaligned, 2) << "no conv read the range from channel 22 in steps from 20";
        EXPECT_GE(moved_back, 2) << "no conv read the range from channel 11 with its last step moved back";
        LoweredSegment lowered = lower_segment(g, blob, plan, 0);
        int blocks_and_rest = 0;
        for (const Stage &st : lowered.stages) {
            bool blocks = false, rest = false;
            for (const Stage::LaneInput &l : st.lane_inputs) {
                blocks = blocks || (l.f.defined() && l.steps == 4);
                rest = rest || (!l.f.defined() && !l.single);
            }
            blocks_and_rest += blocks && rest;
        }
        if (dot == DotProduct::S8S8) {
            EXPECT_GE(blocks_and_rest, 2) << "no conv read blocks of 4 steps and then quads";
        }
        std::vector<float> x = unit::random_values(static_cast<size_t>(g.input().shape.elements()), 23);
        expect_network_matches(lowered, g, plan, blob, x, run_reference_quantized(g, w, q, x), 1e-3);
    }
}

// An int8 depthwise conv in fixed point (ARM) sums its products doubled, so
// that NEON multiplies and accumulates them in 32 bits (smlal): acc_init and
// the multiplier take the 2, the stored integers stay those of the
// reference's simulation. The float epilogue (x86) keeps the plain products.
TEST(Int8Lowering, FixedPointDepthwiseSumsDoubledProducts) {
    Weights w;
    Graph g = tiny_v2(w, "[8, 44, 88, 64, 80]", "[2, 2, 1]");
    Quantization q = calibrated(g, w);
    SegmentPlan plan = plan_segments(g, Granularity::Network, &q, Precision::Int8);
    ASSERT_EQ(plan.segments.size(), 1u);
    std::vector<float> x = unit::random_values(static_cast<size_t>(g.input().shape.elements()), 29);
    std::vector<float> expected = run_reference_quantized(g, w, q, x);
    for (bool fixed : {true, false}) {
        SCOPED_TRACE(fixed ? "fixed point" : "float");
        PackingOptions packing;
        packing.fixed_point = fixed;
        PackedWeights blob = pack_weights(g, w, plan, packing);
        int doubled = 0, depthwise = 0;
        for (size_t i = 0; i < g.nodes.size(); i++) {
            if (g.nodes[i].op != Op::Conv || !is_depthwise(g, g.nodes[i]) || !blob.nodes[i].integer_out) continue;
            depthwise++;
            doubled += blob.nodes[i].doubled;
        }
        EXPECT_GE(depthwise, 4);
        EXPECT_EQ(doubled, fixed ? depthwise : 0);
        LoweredSegment lowered = lower_segment(g, blob, plan, 0);
        expect_network_matches(lowered, g, plan, blob, x, expected, 1e-3);
    }
}

// An int8 model's residual add stored in int8 (a unit read by the next)
// computes its integers itself: each operand in steps of the output scale,
// rounded and clamped to the ReLU's steps, not a float ReLU requantized
// after; the conv it sums computes its float epilogue in those steps
// already. JIT-compiled, the same integers as the reference's simulation.
TEST(Int8Lowering, ResidualAddComputesStoredIntegers) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "two", "input": {"shape": [1, 48, 6, 6]},
        "layers": [{"op": "shufflenet_unit", "name": "u1", "out_channels": 48, "groups": 3},
                   {"op": "shufflenet_unit", "name": "u2", "out_channels": 48, "groups": 3}]})";
    Graph g = parse_spec_text(text, "two.json");
    Weights w = random_weights(g, 8);
    optimize(g, w);
    Quantization q = calibrated(g, w);
    SegmentPlan plan = plan_segments(g, Granularity::Network, &q, Precision::Int8);
    ASSERT_EQ(plan.segments.size(), 1u);
    PackedWeights blob = pack_weights(g, w, plan);
    LoweredSegment lowered = lower_segment(g, blob, plan, 0);
    int adds = 0;
    for (size_t i = 0; i < g.nodes.size(); i++) {
        if (g.nodes[i].op != Op::Add || !plan.quant[i].quantized) continue;
        const Stage &st = lowered.stages[static_cast<size_t>(lowered.stage_of[i])];
        EXPECT_EQ(st.value.f.name(), c_identifier(g.nodes[i].name)) << "the add is requantized after a float ReLU";
        EXPECT_EQ(st.value.f.output_types()[0], Halide::UInt(8)) << "after its ReLU";
        // Its conv's float epilogue is in steps of the add's scale (PackedNode::add_scaled).
        int convs = 0;
        for (int in : g.nodes[i].inputs)
            if (g.nodes[static_cast<size_t>(in)].op == Op::Conv) {
                EXPECT_EQ(blob.nodes[static_cast<size_t>(in)].add_scaled, static_cast<int>(i)) << g.nodes[static_cast<size_t>(in)].name;
                convs++;
            }
        EXPECT_EQ(convs, 1);
        adds++;
    }
    EXPECT_EQ(adds, 1) << "u1's add, read by u2";
    std::vector<float> x = unit::random_values(static_cast<size_t>(g.input().shape.elements()), 3);
    expect_network_matches(lowered, g, plan, blob, x, run_reference_quantized(g, w, q, x), 1e-3);
}

namespace {

// A small int8 model computed as one segment: the spec, random weights
// (`seed`), calibrated scales, and an input with the reference's simulated output.
struct Int8Model {
    Graph g;
    Weights w;
    Quantization q;
    SegmentPlan plan;
    std::vector<float> x, expected;
};

Int8Model int8_model(const std::string &text, uint64_t seed) {
    Int8Model m;
    m.g = parse_spec_text(text, "model.json");
    m.w = random_weights(m.g, seed);
    optimize(m.g, m.w);
    m.q = calibrated(m.g, m.w);
    m.plan = plan_segments(m.g, Granularity::Network, &m.q, Precision::Int8);
    m.x = unit::random_values(static_cast<size_t>(m.g.input().shape.elements()), seed + 1);
    m.expected = run_reference_quantized(m.g, m.w, m.q, m.x);
    return m;
}

}  // namespace

// In fixed point (ARM) the residual add's conv computes the add's integers
// (PackedNode::add_node): the shortcut's integers join its shifted int32 sum
// (times a per-channel int32: the shortcut's scale in the sum's units), one
// Q31 multiply gives the total in steps of the add's scale / 2^add_bits (12
// to 16), one rounding narrowing shift and the activation's clamp its
// integers: no float step. A V1 unit (unsigned: ReLU(x + conv3)) and a
// plain add of signed tensors without activation; the add's integers (read
// out through an integer max pool) are the reference's simulated ones, to
// the step; x86's float epilogue as well.
TEST(Int8Lowering, FixedPointResidualAddRoundsOnce) {
    struct Case {
        const char *layers, *add, *conv;
        bool is_unsigned;
    };
    const Case cases[] = {
        {R"([{"op": "conv", "name": "stem", "out_channels": 48, "kernel": 3, "pad": 1},
             {"op": "relu", "name": "stem_relu"},
             {"op": "shufflenet_unit", "name": "u1", "out_channels": 48, "groups": 3},)",
         "u1.add", "u1.conv3", true},
        {R"([{"op": "conv", "name": "a", "out_channels": 16, "kernel": 3, "pad": 1},
             {"op": "conv", "name": "b", "out_channels": 16, "kernel": 1},
             {"op": "add", "name": "sum", "inputs": ["b", "a"]},)",
         "sum", "b", false}};
    for (const Case &c : cases) {
        SCOPED_TRACE(c.add);
        Int8Model m = int8_model(std::string(R"({"format": "shufflec-spec/1", "name": "res", "input": {"shape": [1, 12, 7, 7]},
            "layers": )") + c.layers + R"( {"op": "maxpool", "name": "pool", "kernel": 3, "stride": 1, "pad": 1}]})",
                                 12);
        const Graph &g = m.g;
        ASSERT_EQ(m.plan.segments.size(), 1u);
        const int add = g.find(c.add), conv3 = g.find(c.conv);
        ASSERT_GE(add, 0);
        ASSERT_GE(conv3, 0);
        const Node &sum = g.nodes[static_cast<size_t>(add)];
        ASSERT_EQ(sum.op, Op::Add);
        ASSERT_NE(std::find(sum.inputs.begin(), sum.inputs.end(), conv3), sum.inputs.end());
        ASSERT_TRUE(m.plan.quant[static_cast<size_t>(add)].quantized);
        ASSERT_EQ(m.plan.quant[static_cast<size_t>(add)].is_unsigned, c.is_unsigned);
        const Halide::Type bytes = c.is_unsigned ? Halide::UInt(8) : Halide::Int(8);
        for (bool fixed : {true, false}) {
            SCOPED_TRACE(fixed ? "fixed point" : "float");
            PackingOptions packing;
            packing.group_padding = 4;
            packing.dot = fixed ? DotProduct::S8S8 : DotProduct::U8S8;
            packing.fixed_point = fixed;
            PackedWeights blob = pack_weights(g, m.w, m.plan, packing);
            int into_add = 0;
            for (size_t i = 0; i < g.nodes.size(); i++) {
                const PackedNode &pk = blob.nodes[i];
                if (pk.add_node < 0) continue;
                EXPECT_EQ(static_cast<int>(i), conv3);
                EXPECT_EQ(pk.add_node, add);
                EXPECT_TRUE(pk.fixed_point);
                EXPECT_GE(pk.add_bits, 12);
                EXPECT_LE(pk.add_bits, 16);
                EXPECT_GE(pk.add_operand.offset, 0);
                into_add++;
            }
            EXPECT_EQ(into_add, fixed ? 1 : 0);
            LoweredSegment lowered = lower_segment(g, blob, m.plan, 0);
            auto stage = [&](int node) -> const Stage & {
                return lowered.stages[static_cast<size_t>(lowered.stage_of[static_cast<size_t>(node)])];
            };
            EXPECT_EQ(stage(add).value.f.output_types()[0], bytes);
            EXPECT_EQ(stage(conv3).value.f.output_types()[0], fixed ? bytes : Halide::Float(32))
                << "the conv computes the add's integers in fixed point";
            // The pool's integers x its scale: one step of the largest is 1/255.
            expect_network_matches(lowered, g, m.plan, blob, m.x, m.expected, 1e-6);
        }
    }
}

// An int8 average pool of a stored quantized tensor, stored quantized, sums
// the integers in 16 bits and scales each window's sum to the output's steps
// (by the scale ratio / its area: 4, 6 or 9 here, padding not counted), in
// fixed point (ARM) or float (x86): integers to the step of the reference's
// simulation, read out through an integer max pool.
TEST(Int8Lowering, AveragePoolSumsStoredIntegers) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "avg", "input": {"shape": [1, 6, 9, 9]},
        "layers": [{"op": "conv", "name": "a", "out_channels": 16, "kernel": 3, "pad": 1},
                   {"op": "relu", "name": "a_relu"},
                   {"op": "avgpool", "name": "avg", "kernel": 3, "stride": 2, "pad": 1, "count_include_pad": false},
                   {"op": "conv", "name": "b", "out_channels": 16, "kernel": 1},
                   {"op": "maxpool", "name": "pool", "kernel": 3, "stride": 1, "pad": 1}]})";
    Int8Model m = int8_model(text, 5);
    const int avg = m.g.find("avg");
    ASSERT_GE(avg, 0);
    ASSERT_EQ(m.plan.segments.size(), 1u);
    const ValueQuant &avg_q = m.plan.quant[static_cast<size_t>(avg)];
    ASSERT_TRUE(avg_q.quantized);
    ASSERT_NE(avg_q.scale, m.plan.quant[static_cast<size_t>(m.g.find("a"))].scale) << "a scale ratio of 1";
    for (bool fixed : {true, false}) {
        SCOPED_TRACE(fixed ? "fixed point" : "float");
        PackingOptions packing;
        packing.fixed_point = fixed;
        PackedWeights blob = pack_weights(m.g, m.w, m.plan, packing);
        LoweredSegment lowered = lower_segment(m.g, blob, m.plan, 0);
        const Stage &st = lowered.stages[static_cast<size_t>(lowered.stage_of[static_cast<size_t>(avg)])];
        EXPECT_EQ(st.acc.output_types()[0], Halide::UInt(16)) << "the integers summed in 16 bits";
        EXPECT_EQ(st.value.f.output_types()[0], Halide::UInt(8));
        expect_network_matches(lowered, m.g, m.plan, blob, m.x, m.expected, 1e-6);
    }
}

// An int8 model on ARM: a depthwise conv takes 8 lanes (its int32
// accumulators in two registers each, counted so in the register tile: no
// spills) and the max pool 16 (bytes throughout); on x86 the depthwise convs
// keep the float32 width. (Correctness: the Fashion-MNIST int8 models under
// qemu against the simulated model, fashion_mnist_test.py.)
TEST(Int8Schedule, ArmDepthwiseAndMaxPoolTakeWiderVectors) {
    Weights w;
    Graph g = tiny_v2(w, "[24, 16, 32, 64, 80]");  // a stem of 24 channels
    Quantization q = calibrated(g, w, {11});
    SegmentPlan plan = plan_segments(g, Granularity::Unit, &q, Precision::Int8);
    for (const char *target : {"arm-64-linux-arm_dot_prod", "x86-64-linux-avx512"}) {
        SCOPED_TRACE(target);
        bool arm = std::string(target).rfind("arm", 0) == 0;
        PackingOptions packing;
        packing.group_padding = arm ? 4 : 16;
        packing.dot = arm ? DotProduct::S8S8 : DotProduct::U8S8;
        PackedWeights blob = pack_weights(g, w, plan, packing);
        ScheduleFile schedule;
        schedule.source = "built-in";
        Halide::Target t = resolve_target(target).halide;
        int depthwise = 0, pools = 0;
        for (size_t s = 0; s < plan.segments.size(); s++) {
            LoweredSegment lowered = lower_segment(g, blob, plan, static_cast<int>(s));
            for (const ScheduleChoice &c : apply_schedule(lowered, g, plan, schedule, t)) {
                SCOPED_TRACE(c.root);
                if (c.kind == "maxpool") {
                    pools++;
                    EXPECT_EQ(c.lanes, 16);  // 16 of the 24 channels per vector (a float32 pool on ARM: 4)
                }
                if (c.kind != "depthwise" || c.fused || c.channels < 8) continue;
                depthwise++;
                EXPECT_EQ(c.lanes, arm ? 8 : c.vector);
                if (arm) {
                    EXPECT_LE(c.channel_vectors * c.tile_x * 2 + c.channel_vectors * 9 + 3, c.registers - 2);
                }
            }
        }
        EXPECT_EQ(pools, 1);
        EXPECT_GE(depthwise, 3);
    }
}

// int8 values computed as their integers. A conv whose value is stored in
// int8 rounds to them in its epilogue (PackedNode::integer_out): the fused
// activation's clamp as integer bounds (clip: [round(min / scale), round(max / scale)]);
// a float conv (the first, reading the app's floats) too, its weights scaled. A max pool keeps its input's scale (quantize/calibrate.cc),
// so it compares the stored integers and is never requantized: signed ones
// (a conv without ReLU before it) padded with -128, unsigned ones (V2's
// stem, after ReLU: PartsNarrowerThanAStepAreReadAlone) with 0. JIT-compiled,
// the same integers as the reference interpreter's simulation.
TEST(Int8Lowering, EpiloguesAndMaxPoolComputeStoredIntegers) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "mp", "input": {"shape": [1, 5, 9, 9]},
        "layers": [{"op": "conv", "name": "a", "out_channels": 8, "kernel": 3, "pad": 1},
                   {"op": "maxpool", "name": "pool", "kernel": 3, "stride": 2, "pad": 1},
                   {"op": "conv", "name": "b", "out_channels": 12, "kernel": 1},
                   {"op": "conv", "name": "c", "out_channels": 12, "kernel": 1},
                   {"op": "clip", "name": "c6", "min": 0, "max": 0.5},
                   {"op": "conv", "name": "d", "out_channels": 6, "kernel": 1}]})";
    Graph g = parse_spec_text(text, "mp.json");
    Weights w = random_weights(g, 4);
    optimize(g, w);
    Quantization q = calibrated(g, w);
    // Calibrated, the clip's output spans at most [0, 0.5] in 255 steps; at
    // twice that scale 0.5 is step 128 (127.5 to even), a bound inside the
    // type's range that most outputs reach.
    ASSERT_TRUE(q.tensors.count("c"));
    q.tensors.at("c").scale = 1.0 / 255;
    // A file without the input's scale (older than the twenty-third session): conv a reads the
    // app's floats (StemMultipliesTheInputsIntegers has the input quantized).
    ASSERT_EQ(q.tensors.erase(g.input().name), 1u);
    SegmentPlan plan = plan_segments(g, Granularity::Network, &q, Precision::Int8);
    ASSERT_EQ(plan.segments.size(), 1u);
    const int pool = g.find("pool");
    ASSERT_GE(pool, 0);
    ASSERT_TRUE(plan.quant[static_cast<size_t>(pool)].quantized);
    ASSERT_FALSE(plan.quant[static_cast<size_t>(pool)].is_unsigned) << "the pool's input has no ReLU";
    // Float epilogues (x86), and fixed point (ARM: sqrdmulh, srshl; emulated here).
    for (bool fixed : {false, true}) {
        SCOPED_TRACE(fixed ? "fixed point" : "float");
        PackingOptions packing;
        packing.fixed_point = fixed;
        PackedWeights blob = pack_weights(g, w, plan, packing);
        LoweredSegment lowered = lower_segment(g, blob, plan, 0);
        auto stage = [&](int node) -> const Stage & {
            return lowered.stages[static_cast<size_t>(lowered.stage_of[static_cast<size_t>(node)])];
        };
        EXPECT_TRUE(stage(pool).value.q.quantized) << "the pool's value is requantized";
        EXPECT_EQ(stage(pool).value.f.output_types()[0], Halide::Int(8));
        const int a = g.find("a"), b = g.find("b"), c = g.find("c");
        ASSERT_GE(a, 0);
        ASSERT_GE(b, 0);
        ASSERT_GE(c, 0);
        ASSERT_TRUE(g.nodes[static_cast<size_t>(c)].activation.enabled) << "the clip is fused into conv c";
        EXPECT_FALSE(plan.int8_conv[static_cast<size_t>(a)]) << "conv a reads the app's floats";
        EXPECT_TRUE(plan.int8_conv[static_cast<size_t>(b)]);
        for (int conv : {a, b, c}) {
            SCOPED_TRACE(g.nodes[static_cast<size_t>(conv)].name);
            const PackedNode &pk = blob.nodes[static_cast<size_t>(conv)];
            EXPECT_TRUE(pk.integer_out);
            EXPECT_TRUE(stage(conv).value.q.quantized) << "the conv's value is requantized";
            EXPECT_EQ(pk.out_lo, conv == c ? 0 : -128);
            EXPECT_EQ(pk.out_hi, conv == c ? 128 : 127);
            EXPECT_EQ(pk.fixed_point, fixed && conv != a) << "the float conv keeps its float epilogue";
        }
        std::vector<float> x = unit::random_values(static_cast<size_t>(g.input().shape.elements()), 3);
        expect_network_matches(lowered, g, plan, blob, x, run_reference_quantized(g, w, q, x), 1e-3);
    }
}

// The stem of an int8 model whose input has a scale (`shufflec quantize`
// since the twenty-third session, 2026-12-07) multiplies the input's integers: with a 4-product dot
// product (PackedNode::tap_rows) each input channel's tap row one step, the
// input staged sign-flipped for it (uint8 for vpdpbusd, int8 for sdot); without
// one (float_taps) the integers as floats, an exact sum. JIT-compiled, the
// same integers as the reference's simulation, which rounds the input (the
// file without its scale gives another model), with float and fixed-point
// epilogues, on a ragged 15 x 13 input (stride 2: 8 x 7 outputs); an input
// stored as uint8 (an imported QDQ model may say so: negatives round to 0)
// flips for sdot instead.
TEST(Int8Lowering, StemMultipliesTheInputsIntegers) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "stem", "input": {"shape": [1, 3, 13, 15]},
        "layers": [{"op": "conv", "name": "stem", "out_channels": 24, "kernel": 3, "stride": 2, "pad": 1},
                   {"op": "relu", "name": "r"},
                   {"op": "maxpool", "name": "pool", "kernel": 3, "stride": 2, "pad": 1},
                   {"op": "conv", "name": "pw", "out_channels": 12, "kernel": 1}]})";
    Graph g = parse_spec_text(text, "stem.json");
    Weights w = random_weights(g, 8);
    optimize(g, w);
    Quantization q = calibrated(g, w);
    ASSERT_TRUE(q.tensors.count(g.input().name)) << "the input has no scale";
    std::vector<float> x = unit::random_values(static_cast<size_t>(g.input().shape.elements()), 31);
    Quantization float_input = q;
    float_input.tensors.erase(g.input().name);
    EXPECT_NE(run_reference_quantized(g, w, q, x), run_reference_quantized(g, w, float_input, x))
        << "rounding the input changed nothing";
    Quantization unsigned_input = q;
    unsigned_input.tensors.at(g.input().name).is_unsigned = true;
    const int stem = g.find("stem");
    ASSERT_GE(stem, 0);
    for (const Quantization *file : {&q, &unsigned_input}) {
        for (DotProduct dot : {DotProduct::U8S8, DotProduct::S8S8, DotProduct::I8Pairs, DotProduct::None})
            for (bool fixed : {false, true}) {
                SCOPED_TRACE(std::string("dot ") + std::to_string(static_cast<int>(dot)) + (fixed ? ", fixed point" : ", float") +
                             (file == &q ? "" : ", uint8 input"));
                SegmentPlan plan = plan_segments(g, Granularity::Network, file, Precision::Int8);
                EXPECT_TRUE(plan.quant[0].quantized);
                EXPECT_TRUE(plan.int8_conv[static_cast<size_t>(stem)]);
                PackingOptions packing;
                packing.group_padding = 8;
                packing.dot = dot;
                packing.fixed_point = fixed;
                PackedWeights blob = pack_weights(g, w, plan, packing);
                const PackedNode &pk = blob.nodes[static_cast<size_t>(stem)];
                EXPECT_EQ(pk.tap_rows, int8_quads(dot));
                EXPECT_EQ(pk.float_taps, !int8_quads(dot));
                EXPECT_TRUE(pk.integer_out);
                LoweredSegment lowered = lower_segment(g, blob, plan, 0);
                const Stage &st = lowered.stages[static_cast<size_t>(lowered.stage_of[static_cast<size_t>(stem)])];
                ASSERT_TRUE(st.staged_input.defined());
                Halide::Type staged = st.staged_input.output_types()[0];
                EXPECT_EQ(staged, dot == DotProduct::U8S8   ? Halide::UInt(8)
                                  : dot == DotProduct::S8S8 ? Halide::Int(8)
                                                            : Halide::Float(32));
                EXPECT_EQ(st.dot, int8_quads(dot));
                expect_network_matches(lowered, g, plan, blob, x, run_reference_quantized(g, w, *file, x), 1e-3);
            }
    }
}

namespace {

// input (16 channels) -> stride-2 unit "u0" (48: shortcut 16 + branch 32) -> stride-1 unit "u1" -> pool -> fc.
Graph concat_graph(const std::string &order, bool se) {
    std::string text = std::string(R"({"format": "shufflec-spec/1", "name": "cat", "input": {"shape": [1, 16, 8, 8]},
        "layers": [{"op": "shufflenet_unit", "name": "u0", "out_channels": 48, "groups": 2, "stride": 2,
                    "concat_order": ")") + order + R"(", "se": )" + (se ? "true" : "false") + R"(},
                   {"op": "shufflenet_unit", "name": "u1", "out_channels": 48, "groups": 2},
                   {"op": "global_avgpool", "name": "gap"}, {"op": "fc", "name": "fc", "out_features": 4}]})";
    Graph g = parse_spec_text(text, "cat.json");
    Weights w = random_weights(g, 3);
    optimize(g, w);
    return g;
}

}  // namespace

TEST(SegmentPlan, StrideTwoConcatIsAViewOfItsInputs) {
    for (std::string order : {"shortcut_first", "branch_first"})
        for (bool se : {false, true}) {
            SCOPED_TRACE(order + (se ? " with SE" : ""));
            Graph g = concat_graph(order, se);
            SegmentPlan plan = plan_segments(g);
            int cat = g.find("u0");
            ASSERT_GE(cat, 0);
            ASSERT_EQ(g.nodes[static_cast<size_t>(cat)].op, Op::Concat);
            EXPECT_TRUE(plan.concat_view[static_cast<size_t>(cat)]);
            EXPECT_EQ(plan.segment_of[static_cast<size_t>(cat)], -1) << "a view concat is computed nowhere";
            const Placement &whole = plan.placement[static_cast<size_t>(cat)];
            ASSERT_EQ(whole.kind, Placement::Arena);
            EXPECT_EQ(whole.stride[0], 1);   // channels innermost
            EXPECT_EQ(whole.stride[1], 48);  // x steps over all 48 channels

            int shortcut = g.find("u0.shortcut");
            int branch = se ? g.find("u0.relu") : g.find("u0.conv3");
            ASSERT_GE(shortcut, 0);
            ASSERT_GE(branch, 0);
            const auto &inputs = g.nodes[static_cast<size_t>(cat)].inputs;
            EXPECT_EQ(inputs, order == "shortcut_first" ? (std::vector<int>{shortcut, branch})
                                                        : (std::vector<int>{branch, shortcut}));
            int64_t shortcut_offset = order == "shortcut_first" ? 0 : 32;
            int64_t branch_offset = order == "shortcut_first" ? 16 : 0;
            for (auto [node, channel] : {std::pair<int, int64_t>{shortcut, shortcut_offset}, {branch, branch_offset}}) {
                const Placement &p = plan.placement[static_cast<size_t>(node)];
                SCOPED_TRACE(g.nodes[static_cast<size_t>(node)].name);
                EXPECT_EQ(p.kind, Placement::Arena);
                EXPECT_EQ(p.offset, whole.offset + channel);
                for (int d = 0; d < 4; d++) EXPECT_EQ(p.stride[d], whole.stride[d]) << "dim " << d;
                // Written by the unit's segment as one of its outputs.
                int seg = plan.segment_of[static_cast<size_t>(node)];
                ASSERT_GE(seg, 0);
                const auto &outs = plan.segments[static_cast<size_t>(seg)].outputs;
                EXPECT_NE(std::find(outs.begin(), outs.end(), node), outs.end());
                EXPECT_EQ(plan.segments[static_cast<size_t>(seg)].block, "u0");
            }
            // The next unit's segment reads the concat's storage whole, as one tensor (not the parts).
            int next = plan.segment_of[static_cast<size_t>(g.find("u1.conv1"))];
            const auto &ins = plan.segments[static_cast<size_t>(next)].inputs;
            EXPECT_NE(std::find(ins.begin(), ins.end(), cat), ins.end());
            EXPECT_EQ(std::find(ins.begin(), ins.end(), shortcut), ins.end());
            EXPECT_EQ(std::find(ins.begin(), ins.end(), branch), ins.end());
        }
}

TEST(SegmentPlan, ArenaPlacementsOfLiveTensorsNeverOverlap) {
    Graph g = load_spec(shufflec_test::source_dir() + "/specs/shufflenet_v1_g3_1.0x.json");
    Weights w = random_weights(g, 1);
    optimize(g, w);
    SegmentPlan plan = plan_segments(g);
    const size_t count = g.nodes.size();
    ASSERT_EQ(plan.placement.size(), count);
    ASSERT_GE(plan.segments.size(), 16u);  // at least one per unit

    // A view concat's inputs live inside its storage.
    std::vector<int> storage(count);
    for (size_t i = 0; i < count; i++) storage[i] = static_cast<int>(i);
    int views = 0;
    for (size_t i = 0; i < count; i++)
        if (plan.concat_view[i]) {
            views++;
            for (int in : g.nodes[i].inputs) storage[static_cast<size_t>(in)] = static_cast<int>(i);
        }
    EXPECT_EQ(views, 3) << "one view concat per stage";

    // Lifetimes from the segments' own lists: [first, last] segment touching the storage.
    std::map<int, std::pair<size_t, size_t>> life;
    for (size_t s = 0; s < plan.segments.size(); s++) {
        std::vector<int> touched = plan.segments[s].inputs;
        touched.insert(touched.end(), plan.segments[s].outputs.begin(), plan.segments[s].outputs.end());
        for (int t : touched) {
            ASSERT_NE(plan.placement[static_cast<size_t>(t)].kind, Placement::None)
                << g.nodes[static_cast<size_t>(t)].name << " crosses segments but has no storage";
            int st = storage[static_cast<size_t>(t)];
            auto it = life.find(st);
            if (it == life.end()) life[st] = {s, s};
            else it->second = {std::min(it->second.first, s), std::max(it->second.second, s)};
        }
    }
    // Arena regions.
    struct Region {
        int node;
        int64_t begin, end;
        size_t first, last;
    };
    std::vector<Region> regions;
    for (const auto &[st, span] : life) {
        const Placement &p = plan.placement[static_cast<size_t>(st)];
        if (p.kind != Placement::Arena) continue;
        int64_t elements = g.nodes[static_cast<size_t>(st)].shape.elements();
        EXPECT_GE(p.offset, 0);
        EXPECT_LE(p.offset + elements, plan.arena_floats) << g.nodes[static_cast<size_t>(st)].name;
        regions.push_back({st, p.offset, p.offset + elements, span.first, span.second});
    }
    ASSERT_GT(regions.size(), 10u);
    int live_pairs = 0;
    for (size_t i = 0; i < regions.size(); i++)
        for (size_t j = i + 1; j < regions.size(); j++) {
            const Region &a = regions[i], &b = regions[j];
            bool live_together = a.first <= b.last && b.first <= a.last;
            if (!live_together) continue;
            live_pairs++;
            bool disjoint = a.end <= b.begin || b.end <= a.begin;
            EXPECT_TRUE(disjoint) << g.nodes[static_cast<size_t>(a.node)].name << " [" << a.begin << ", " << a.end
                                  << ") and " << g.nodes[static_cast<size_t>(b.node)].name << " [" << b.begin << ", "
                                  << b.end << ") overlap while both are live (segments " << a.first << "-" << a.last
                                  << " and " << b.first << "-" << b.last << ")";
        }
    EXPECT_GT(live_pairs, 0);
    // The arena is reused: smaller than all regions laid end to end.
    int64_t total = 0;
    for (const auto &r : regions) total += r.end - r.begin;
    EXPECT_LT(plan.arena_floats, total);
}

// Lowering::stored_steps (clamp in float, then round by adding 1.5 x 2^23)
// against clamp(round_half_even(v), lo, hi) computed here: every tie and
// quarter step from below lo to above hi, huge values and infinities, in
// vectors of 16 (AVX-512's truncating narrow on this machine's `host`) and
// 8 lanes for the AVX2 target, for uint8 and int8 bounds and a ReLU6's.
TEST(StoredSteps, ClampAndRoundHalfToEvenAsTheReference) {
    std::vector<float> values;
    for (int q = -4 * 140; q <= 4 * 270; q++) values.push_back(static_cast<float>(q) / 4);
    for (float v : {1e9f, -1e9f, 4194304.5f, -4194304.5f, 8388609.0f, INFINITY, -INFINITY, 1e-30f, -0.0f})
        values.push_back(v);
    while (values.size() % 16 != 0) values.push_back(0.5f);
    Halide::Buffer<float> in(values.data(), static_cast<int>(values.size()));
    struct Bounds {
        int lo, hi;
        Halide::Type type;
    };
    Halide::Target host = Halide::get_jit_target_from_environment();
    std::vector<Halide::Target> targets = {host};
    if (host.has_feature(Halide::Target::AVX2)) targets.push_back(Halide::Target("x86-64-linux-sse41-avx-f16c-fma-avx2"));
    for (const Halide::Target &target : targets)
        for (const Bounds &b : {Bounds{0, 255, Halide::UInt(8)}, Bounds{-128, 127, Halide::Int(8)},
                                Bounds{0, 97, Halide::UInt(8)}, Bounds{-5, 40, Halide::Int(8)}}) {
            Halide::Var x("x");
            Halide::Func f("f");
            Halide::Expr v = in(x);
            f(x) = Halide::cast<int32_t>(Lowering::stored_steps(v, b.lo, b.hi, b.type));
            f.vectorize(x, target.natural_vector_size<float>());
            Halide::Buffer<int32_t> out = f.realize({static_cast<int>(values.size())}, target);
            int wrong = 0;
            for (size_t i = 0; i < values.size(); i++) {
                double want = std::clamp(std::nearbyint(static_cast<double>(values[i])), static_cast<double>(b.lo), static_cast<double>(b.hi));
                if (out(static_cast<int>(i)) != static_cast<int>(want) && wrong++ < 5)
                    ADD_FAILURE() << target.to_string() << " [" << b.lo << ", " << b.hi << "]: " << values[i] << " -> "
                                  << out(static_cast<int>(i)) << ", expected " << want;
            }
            EXPECT_EQ(wrong, 0) << target.to_string();
        }
}

namespace {

// The lowered statement of segment 0 scheduled for `t` (Halide's text form),
// line by line.
std::vector<std::string> scheduled_stmt(const Graph &g, const PackedWeights &blob, const SegmentPlan &plan,
                                        const ScheduleFile &schedule, const Halide::Target &t) {
    LoweredSegment lowered = lower_segment(g, blob, plan, 0);
    apply_schedule(lowered, g, plan, schedule, t);
    std::string stmt_file = ::testing::TempDir() + "/scheduled.stmt";
    Halide::Pipeline(lowered.outputs).compile_to_lowered_stmt(stmt_file, lowered.arguments, Halide::Text, t);
    std::vector<std::string> lines;
    std::ifstream in(stmt_file);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::remove(stmt_file.c_str());
    return lines;
}

}  // namespace

// A fully connected layer whose outputs are not a whole number of its weight
// panels (1000 outputs, panels of the block's width): the last block starts at
// a panel and is guarded past the end, so every weight load of the FC is one
// dense vector (shifted inwards, its lanes straddled two panels and Halide 14
// read them one at a time: V1's last block cost more than the other seven),
// and the outputs are still the reference interpreter's.
TEST(Schedule, FullyConnectedTailReadsWholePanels) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "head", "input": {"shape": [1, 96, 4, 4]},
        "layers": [{"op": "global_avgpool", "name": "gap"}, {"op": "fc", "name": "fc", "out_features": 1000}]})";
    Graph g = parse_spec_text(text, "head.json");
    Weights w = random_weights(g, 7);
    optimize(g, w);
    const int fc = g.find("fc");
    ASSERT_GE(fc, 0);
    SegmentPlan plan = plan_segments(g, Granularity::Network, nullptr, Precision::FP32);
    ASSERT_EQ(plan.segments.size(), 1u);
    for (const char *target : {"host", "x86-64-linux"}) {
        SCOPED_TRACE(target);
        Halide::Target t = resolve_target(target).halide.without_feature(Halide::Target::AVX512_SapphireRapids);
        ScheduleFile schedule;
        schedule.source = "built-in";
        PackingOptions packing;  // as compile packs them (emit/compile_model.cc)
        packing.group_padding = group_padding(schedule, t);
        packing.dense_panel_vectors = [&](int node) {
            return dense_panel_vectors(schedule, t, plan.segments[0].block, g.nodes[static_cast<size_t>(node)]);
        };
        PackedWeights blob = pack_weights(g, w, plan, packing);
        ASSERT_NE(1000 % blob.nodes[static_cast<size_t>(fc)].panel, 0) << "the outputs fill whole panels";
        int fc_updates = 0;
        for (const std::string &line : scheduled_stmt(g, blob, plan, schedule, t)) {
            if (line.find("fc_acc") == std::string::npos || line.find("weights[") == std::string::npos) continue;
            fc_updates++;
            EXPECT_EQ(line.find("shift_right(ramp"), std::string::npos) << "a weight gathered by lane: " << line;
            EXPECT_EQ(line.find(") % x"), std::string::npos) << "a weight gathered by lane: " << line;
        }
        EXPECT_GE(fc_updates, 2) << "the FC's whole blocks and its last block";
        if (std::string(target) == "host") {
            std::vector<float> x = unit::random_values(static_cast<size_t>(g.input().shape.elements()), 8);
            LoweredSegment fresh = lower_segment(g, blob, plan, 0);
            expect_network_matches(fresh, g, plan, blob, x, run_reference(g, w, x), 1e-4);
        }
    }
}

// On AVX2 a 1x1 conv whose register tile's block of weights outgrows L1 reads
// them from L2 at every tile (apply_schedule.cc, StepForm::weight_row_bytes):
// its default tile holds more pixels per weight vector than the load-port
// model's (here 3 x 4 against 5 x 2), which a conv with weights in L1 keeps;
// AVX-512 keeps that model for both (measured on AVX2 only).
TEST(Schedule, WeightsPastL1TakeTilesWithMorePixels) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "l2", "input": {"shape": [1, 1024, 7, 7]},
        "layers": [{"op": "conv", "name": "big", "out_channels": 160, "kernel": 1},
                   {"op": "relu", "name": "r"},
                   {"op": "conv", "name": "small", "out_channels": 160, "kernel": 1}]})";
    Graph g = parse_spec_text(text, "l2.json");
    Weights w = random_weights(g, 3);
    optimize(g, w);
    SegmentPlan plan = plan_segments(g, Granularity::Network, nullptr, Precision::FP32);
    ASSERT_EQ(plan.segments.size(), 1u);
    auto tiles = [&](const char *target) {
        Halide::Target t = resolve_target(target).halide;
        ScheduleFile schedule;
        schedule.source = "built-in";
        PackingOptions packing;
        packing.group_padding = group_padding(schedule, t);
        PackedWeights blob = pack_weights(g, w, plan, packing);
        LoweredSegment lowered = lower_segment(g, blob, plan, 0);
        std::map<std::string, ScheduleChoice> by_root;
        for (const ScheduleChoice &c : apply_schedule(lowered, g, plan, schedule, t)) by_root[c.root] = c;
        return by_root;
    };
    auto avx2 = tiles("x86-64-linux"), avx512 = tiles("x86-64-linux-avx512");
    ASSERT_TRUE(avx2.count("big") && avx2.count("small") && avx512.count("big") && avx512.count("small"));
    // big: 1024 inputs (4 KB of weights per output channel), any block past L1
    EXPECT_GT(avx2["big"].tile_x, avx2["big"].channel_vectors);
    // small: 160 inputs (640 bytes per output channel): its tile's block in L1
    EXPECT_LE(int64_t{avx2["small"].channel_vectors} * 8 * 640, 32 * 1024);
    EXPECT_GT(avx2["small"].channel_vectors, avx2["small"].tile_x);
    // AVX-512: one model for both (the same outputs and width, the same tile)
    EXPECT_EQ(avx512["big"].channel_vectors, avx512["small"].channel_vectors);
    EXPECT_EQ(avx512["big"].tile_x, avx512["small"].tile_x);
}

// A general conv's staged input (the stem's copy per row task, conv.cc) reads
// the image a whole vector of columns at a time on every target: its border
// (rows above and below, a column left, and right where the taps reach past an
// odd width) is written apart, so no load of the copy is clamped lane by lane
// (a clamped copy, max(ramp(x - 1), 0), had Halide 14 load each lane alone on
// x86: the int8 stem took 1.4x its time); the outputs are the reference's.
TEST(Schedule, StemCopiesWholeVectorsOfColumns) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "stem", "input": {"shape": [1, 3, 29, 37]},
        "layers": [{"op": "conv", "name": "stem", "out_channels": 24, "kernel": 3, "stride": 2, "pad": 1},
                   {"op": "relu", "name": "relu"}]})";
    Graph g = parse_spec_text(text, "stem.json");
    Weights w = random_weights(g, 5);
    optimize(g, w);
    SegmentPlan plan = plan_segments(g, Granularity::Network, nullptr, Precision::FP32);
    ASSERT_EQ(plan.segments.size(), 1u);
    for (const char *target : {"host", "x86-64-linux", "arm-64-linux"}) {
        SCOPED_TRACE(target);
        Halide::Target t = resolve_target(target).halide;
        ScheduleFile schedule;
        schedule.source = "built-in";
        PackingOptions packing;  // as compile packs them (emit/compile_model.cc)
        packing.group_padding = group_padding(schedule, t);
        packing.float_by_element = t.arch == Halide::Target::ARM;
        PackedWeights blob = pack_weights(g, w, plan, packing);
        int copies = 0;
        for (const std::string &line : scheduled_stmt(g, blob, plan, schedule, t)) {
            if (line.find("stem_input") == std::string::npos || line.find("in_input[") == std::string::npos) continue;
            copies++;
            EXPECT_EQ(line.find("max(ramp("), std::string::npos) << "a column clamped by lane: " << line;
            EXPECT_EQ(line.find("min(ramp("), std::string::npos) << "a column clamped by lane: " << line;
            EXPECT_NE(line.find("in_input[ramp("), std::string::npos) << "not a vector of columns: " << line;
        }
        EXPECT_GE(copies, 1) << "no copy of the image in the staged input";
        if (std::string(target) == "host") {
            std::vector<float> x = unit::random_values(static_cast<size_t>(g.input().shape.elements()), 6);
            LoweredSegment fresh = lower_segment(g, blob, plan, 0);
            expect_network_matches(fresh, g, plan, blob, x, run_reference(g, w, x), 1e-4);
        }
    }
}
