// conv: 2-D convolution with groups (1x1 group convs, depthwise 3x3, the stem).
#include "ops/op.h"

#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/window.h"
#include "quantize/quantization.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

// Where logical input channel c of a conv comes from: (index into
// node.inputs, channel of that input), through folded shuffles and parts.
std::pair<int, int64_t> input_source(const Node &node, int64_t c) {
    c = shuffled_channel(node.input_shuffles, c);
    if (node.parts.empty()) return {0, c};
    for (const auto &p : node.parts) {
        if (c < p.count) return {p.input, p.begin + c};
        c -= p.count;
    }
    internal_error("conv '", node.name, "' reads past its input parts");
}

void parse(const JsonView &e, Node &node) {
    node.out_channels = e.at("out_channels").as_int(1, kMaxChannels);
    parse_window(e, node, false);
    node.groups = e.get_int("groups", 1, 1, kMaxChannels);
    node.bias = e.get_bool("bias", true);
}

std::vector<std::string> params(const Node &node) {
    if (node.bias) return {"weight", "bias"};
    return {"weight"};
}

Shape infer(const Graph &g, Node &node) {
    const Shape &x = g.nodes[node.inputs[0]].shape;
    auto where = [&]() { return cat(node.origin, ": conv '", node.name, "'"); };
    for (const auto &p : node.parts) {
        const Shape &s = g.nodes[node.inputs[p.input]].shape;
        if (s.n != x.n || s.h != x.h || s.w != x.w || p.begin < 0 || p.count < 1 || p.begin + p.count > s.c)
            fail(where(), ": input part ", p.begin, "+", p.count, " of ", to_string(s), " does not fit");
    }
    int64_t cin = input_channels(g, node);
    if (cin % node.groups != 0) fail(where(), ": input channels ", cin, " are not divisible by groups ", node.groups);
    if (node.out_channels % node.groups != 0)
        fail(where(), ": output channels ", node.out_channels, " are not divisible by groups ", node.groups);
    Shape s = window_output(node, x, node.out_channels);
    for (auto &p : node.params) {
        if (p.role == "weight") p.shape = {node.out_channels, cin / node.groups, node.kernel_h, node.kernel_w};
        if (p.role == "bias") p.shape = {node.out_channels};
    }
    return s;
}

LayerStats stats(const Graph &g, const Node &node) {
    int64_t per_output = (input_channels(g, node) / node.groups) * node.kernel_h * node.kernel_w;
    return {node.shape.elements() * per_output, node.out_channels * per_output + (node.bias ? node.out_channels : 0)};
}

std::vector<float> reference(const Graph &g, const Node &node, const std::vector<RefTensor> &in, const Weights &w) {
    const Shape &o = node.shape;
    const Tensor &weight = w.at(node.param("weight")->tensor);
    const float *bias = node.bias ? w.at(node.param("bias")->tensor).data.data() : nullptr;
    int64_t cin_g = input_channels(g, node) / node.groups, cout_g = node.out_channels / node.groups;
    const Shape &xs = *in[0].shape;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t co = 0; co < o.c; co++) {
            int64_t grp = co / cout_g;
            for (int64_t oy = 0; oy < o.h; oy++)
                for (int64_t ox = 0; ox < o.w; ox++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int64_t ci = 0; ci < cin_g; ci++) {
                        auto [input, c] = input_source(node, grp * cin_g + ci);
                        for (int ky = 0; ky < node.kernel_h; ky++) {
                            int64_t iy = oy * node.stride_h + ky - node.pad_top;
                            if (iy < 0 || iy >= xs.h) continue;
                            for (int kx = 0; kx < node.kernel_w; kx++) {
                                int64_t ix = ox * node.stride_w + kx - node.pad_left;
                                if (ix < 0 || ix >= xs.w) continue;
                                double wv = weight.data[((co * cin_g + ci) * node.kernel_h + ky) * node.kernel_w + kx];
                                acc += wv * in[input].at(n, c, iy, ix);
                            }
                        }
                    }
                    out[((n * o.c + co) * o.h + oy) * o.w + ox] = apply_activation(node, static_cast<float>(acc));
                }
        }
    return out;
}

int64_t grouping(const Graph &g, const std::vector<int64_t> &groupings, const Node &node) {
    // A depthwise conv keeps its input's grouping (each channel alone); other
    // convs compute each group of outputs as one block.
    if (is_depthwise(g, node)) {
        int64_t in = groupings[node.inputs[0]];
        return in ? in : node.out_channels;
    }
    return node.out_channels / node.groups;
}

// A 1x1 conv in dot-product form (PackingOptions::dot: int8 or bf16): each
// group of outputs reads its input channels as stored (through the folded
// shuffles and parts) in steps of `slots` adjacent stored channels (int8: quads
// of 4, bf16: pairs) within one storage group of one input tensor (channels
// g' * unit + k, k < unit, are adjacent). Walking the group's stored channels
// in order, each step starts at the first one not yet read (moved back to fit
// its storage group); a slot holding no channel of this group, or one read
// already, gets a zero weight. An input stored in groups narrower than a step
// (V2: the 1-3 channel parts a chain of folded splits and shuffles leaves) has
// no steps: its channels are read alone (Single).
struct DotSteps {
    struct Step {
        int64_t unit = 0, start = 0;
        std::array<int64_t, kMaxDotSlots> channel{};  // per slot: the logical input channel of the group, or -1
    };
    // A channel read alone, one broadcast each: by lane, one of a step the
    // group fills only in part; in any form, one of an input too narrow for a step.
    struct Single {
        int64_t unit = 0, offset = 0, channel = 0;  // where it is stored; its logical input channel
    };
    struct Input {
        int64_t unit_size = 0, units = 0;  // stored channels per storage group, storage groups
        int64_t count = 0;                      // steps per group of outputs (the most any needs)
        std::vector<std::vector<Step>> groups;  // [group][step]
        int64_t single_count = 0;                    // singles per group (the most any needs)
        std::vector<std::vector<Single>> singles;  // [group][single]
        // Every step q of group g reads whole slots at stored channel
        // first + g * group_stride + q * slots, within storage group g
        // (group_stride is the unit size) or in an input stored as one unit:
        // no tables. (V2's branches read a channel range of each tensor the
        // folded split and shuffle left: regular from its first channel.)
        bool regular = false;
        int64_t group_stride = 0, first = 0;
        bool last_back = false;  // regular, the last step moved back to end within its storage group
    };
    int slots = 4;
    std::vector<Input> inputs;  // per input tensor of the conv
};

// The steps of a dot-product conv's inputs, each step at the first unread
// stored channel, or (align) at the multiple of the slots at or below it.
std::optional<DotSteps> form_dot_steps(const WeightPacker &packer, int index, bool align) {
    const Node &node = packer.node(index);
    const Graph &g = packer.graph();
    const SegmentPlan &plan = packer.plan();
    bool eligible = plan.precision == dot_precision(packer.dot()) && (!plan.int8() || plan.int8_conv[index]);
    if (!eligible || !is_pointwise(node) || !packer.dot_allowed(index)) return std::nullopt;
    int64_t cin_g = input_channels(g, node) / node.groups;
    DotSteps qs;
    qs.slots = dot_slots(packer.dot());
    for (int in : node.inputs) {
        DotSteps::Input &qi = qs.inputs.emplace_back();
        int64_t channels = g.nodes[in].shape.c;
        qi.unit_size = plan.grouping[in] > 0 ? plan.grouping[in] : channels;
        if (channels % qi.unit_size != 0) return std::nullopt;
        qi.units = channels / qi.unit_size;
        qi.groups.resize(static_cast<size_t>(node.groups));
        qi.singles.resize(static_cast<size_t>(node.groups));
    }
    for (int64_t gi = 0; gi < node.groups; gi++) {
        // (input, stored channel) -> logical input channel of this group
        std::map<std::pair<int, int64_t>, int64_t> logical;
        for (int64_t ci = 0; ci < cin_g; ci++) logical[input_source(node, gi * cin_g + ci)] = ci;
        std::set<std::pair<int, int64_t>> read;
        for (auto [stored, ci] : logical) {
            if (read.count(stored)) continue;
            DotSteps::Input &qi = qs.inputs[static_cast<size_t>(stored.first)];
            if (qi.unit_size < qs.slots) {
                read.insert(stored);
                qi.singles[static_cast<size_t>(gi)].push_back(
                    {stored.second / qi.unit_size, stored.second % qi.unit_size, ci});
                continue;
            }
            DotSteps::Step step;
            step.unit = stored.second / qi.unit_size;
            int64_t at = stored.second % qi.unit_size;
            if (align) at -= at % qs.slots;
            step.start = std::min(at, qi.unit_size - qs.slots);
            for (size_t j = 0; j < static_cast<size_t>(qs.slots); j++) {
                int64_t channel = step.unit * qi.unit_size + step.start + static_cast<int64_t>(j);
                std::pair<int, int64_t> c{stored.first, channel};
                auto it = logical.find(c);
                step.channel[j] = it != logical.end() && read.insert(c).second ? it->second : -1;
            }
            qi.groups[static_cast<size_t>(gi)].push_back(step);
        }
    }
    // By lane, a zero slot would cost a whole FMA: a step the group fills only
    // in part becomes single channels instead, each a broadcast (the form of
    // a conv not by lane), one load per channel instead of one per step. V1
    // 1x g3's stage-2 and -3 conv3s read runs of 6-7 and 13-14 adjacent
    // channels per group (20% of their slots were zero); 1x g8's runs of 1-3
    // (37-75% used: they kept the broadcast form until the singles). Measured
    // on ARM (qemu counts, llvm-mca-19, bench/results/qemu_aarch64_counts.md):
    // V1 1x g3 -3.7% instructions, N1 -6% cycles; 1x g8 -2.4% instructions.
    if (by_lane(packer.dot()))
        for (auto &qi : qs.inputs) {
            for (size_t gi = 0; gi < qi.groups.size(); gi++) {
                std::vector<DotSteps::Step> whole;
                for (const DotSteps::Step &step : qi.groups[gi]) {
                    bool full = true;
                    for (int j = 0; j < qs.slots; j++) full = full && step.channel[static_cast<size_t>(j)] >= 0;
                    if (full) {
                        whole.push_back(step);
                        continue;
                    }
                    for (int j = 0; j < qs.slots; j++)
                        if (step.channel[static_cast<size_t>(j)] >= 0)
                            qi.singles[gi].push_back({step.unit, step.start + j, step.channel[static_cast<size_t>(j)]});
                }
                qi.groups[gi] = whole;
            }
        }
    const bool quads = int8_quads(packer.dot());
    for (auto &qi : qs.inputs) {
        for (const auto &list : qi.groups) qi.count = std::max<int64_t>(qi.count, static_cast<int64_t>(list.size()));
        for (const auto &list : qi.singles)
            qi.single_count = std::max<int64_t>(qi.single_count, static_cast<int64_t>(list.size()));
        auto stored = [&](const DotSteps::Step &step) { return step.unit * qi.unit_size + step.start; };
        bool one_unit = qi.units == 1;
        qi.regular = qi.count > 0 && !qi.groups[0].empty();
        if (qi.regular) qi.first = stored(qi.groups[0][0]);
        if (qi.regular && qi.groups.size() > 1 && !qi.groups[1].empty())
            qi.group_stride = stored(qi.groups[1][0]) - qi.first;
        qi.regular = qi.regular && (one_unit || qi.group_stride == qi.unit_size);
        // Step q at first + g * group_stride + q * slots, or where that runs
        // past the storage group's end, at its last `slots` channels: a range
        // ending at the group's end between two multiples of the slots (V2's
        // second halves of 22 or 58 channels) moves its last step back.
        for (size_t gi = 0; qi.regular && gi < qi.groups.size(); gi++) {
            const auto &list = qi.groups[gi];
            qi.regular = static_cast<int64_t>(list.size()) == qi.count;
            int64_t base = one_unit ? 0 : static_cast<int64_t>(gi) * qi.unit_size;
            for (size_t q = 0; q < list.size(); q++) {
                int64_t at = qi.first + static_cast<int64_t>(gi) * qi.group_stride + static_cast<int64_t>(q) * qs.slots;
                int64_t clamped = base + std::min(at - base, qi.unit_size - qs.slots);
                qi.regular = qi.regular && stored(list[q]) == clamped && (clamped == at || (quads && q + 1 == list.size()));
                qi.last_back = qi.last_back || clamped != at;
                // By lane every step is whole. In int8 quads a slot of
                // another group's, or of a channel read already, is a zero
                // weight: the step is still regular. (Pairs and bf16 keep
                // whole steps: AVX2's pairs ran V2's conv5 1.2x slower so,
                // same run; the quads 5% faster on VNNI.)
                for (int j = 0; !quads && j < qs.slots; j++)
                    qi.regular = qi.regular && list[q].channel[static_cast<size_t>(j)] >= 0;
            }
        }
    }
    return qs;
}

// By lane, an input read through a channel range that starts between two
// multiples of the slots (V2: the second half of a 116-channel tensor starts
// at 58) takes its steps at the multiples, its first channels alone, where
// that leaves no more channels alone: its loads then sit at offsets ARM's
// scaled `ldr q` holds (an unaligned range costs an address `add` per pixel
// and step).
//
// In int8 quads (U8S8, S8S8) the steps at the multiples (their spare slots
// zero weights) are taken where they are no more steps: V2's 58-channel
// ranges from channel 58, 14 steps from 58 and one moved back to 112, are 15
// steps from 56, whose blocks of 4 ARM's sdot reads as aligned 16-byte loads.
std::optional<DotSteps> plan_dot_steps(const WeightPacker &packer, int index) {
    std::optional<DotSteps> qs = form_dot_steps(packer, index, false);
    if (!qs) return qs;
    bool lanes = by_lane(packer.dot());
    if (!lanes && !int8_quads(packer.dot())) return qs;
    auto aligned = [&](const DotSteps::Input &qi) { return qi.regular && qi.first % qs->slots == 0; };
    std::optional<DotSteps> at_multiples;
    for (size_t t = 0; t < qs->inputs.size(); t++) {
        const DotSteps::Input &qi = qs->inputs[t];
        if (aligned(qi) || (lanes && !qi.regular)) continue;
        if (!at_multiples) at_multiples = form_dot_steps(packer, index, true);
        if (!at_multiples || !aligned(at_multiples->inputs[t])) continue;
        const DotSteps::Input &multiples = at_multiples->inputs[t];
        if (lanes ? multiples.single_count <= qi.single_count : multiples.count <= qi.count)
            qs->inputs[t] = multiples;
    }
    return qs;
}

// An int32 (a step table's entry, a fixed-point multiplier or shift) as the
// bit pattern of a float slot of the blob; the kernel reinterprets it.
float bits(int64_t v) {
    int32_t i = static_cast<int32_t>(v);
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}

// A dot-product conv's weights per input tensor (PackedNode::DotInput):
// value(gi, k, ci) for logical input channel ci of group gi, laid out by step
// and slot (zeros where a slot holds no channel), and the steps' tables.
void pack_dot_inputs(WeightPacker &packer, int index, PackedNode &p, const DotSteps &steps, int64_t groups, int64_t group,
                     const std::function<float(int64_t gi, int64_t k, int64_t ci)> &value) {
    p.dot = packer.dot();
    for (const DotSteps::Input &qi : steps.inputs) {
        PackedNode::DotInput &d = p.dot_inputs.emplace_back();
        d.steps = qi.count;
        d.unit_size = qi.unit_size;
        auto weight = [&](int64_t gi, int64_t q, int64_t kk, int64_t j) {
            const auto &list = qi.groups[static_cast<size_t>(gi)];
            if (q >= static_cast<int64_t>(list.size())) return 0.0f;
            int64_t ci = list[static_cast<size_t>(q)].channel[static_cast<size_t>(j)];
            return ci < 0 ? 0.0f : value(gi, kk, ci);
        };
        d.int16 = packer.pairs_int16(index);
        d.weight = packer.append_dot(groups, group, qi.count, weight, d.int16);
        // The tables hold int32 bit patterns (the kernel loads them as integers).
        if (qi.single_count > 0) {
            d.singles = qi.single_count;
            auto single = [&](int64_t gi, int64_t i) -> const DotSteps::Single * {
                const auto &list = qi.singles[static_cast<size_t>(gi)];
                return i < static_cast<int64_t>(list.size()) ? &list[static_cast<size_t>(i)] : nullptr;
            };
            auto single_weight = [&](int64_t gi, int64_t kk, int64_t i) {
                const DotSteps::Single *s = single(gi, i);
                return s ? value(gi, kk, s->channel) : 0.0f;
            };
            // As the steps' weights: int8, halves by lane in fp16, else floats
            // (bf16: the bfloat16 values).
            if (dot_precision(packer.dot()) == Precision::Int8)
                d.single_weight = packer.append_grouped_i8(groups, group, qi.single_count, [&](int64_t gi, int64_t kk, int64_t i) {
                    return static_cast<int>(single_weight(gi, kk, i));
                });
            else if (packer.dot() == DotProduct::F16Lanes)
                d.single_weight = packer.append_grouped_f16(groups, group, qi.single_count, single_weight);
            else
                d.single_weight = packer.append_grouped(groups, group, qi.single_count, single_weight);
            std::vector<float> units, offsets;  // a missing single reads channel 0 with zero weights
            for (int64_t gi = 0; gi < groups; gi++)
                for (int64_t i = 0; i < qi.single_count; i++) {
                    const DotSteps::Single *s = single(gi, i);
                    units.push_back(bits(s ? s->unit : 0));
                    offsets.push_back(bits(s ? s->offset : 0));
                }
            d.single_unit = packer.append(units);
            d.single_offset = packer.append(offsets);
        }
        if (qi.count == 0) continue;  // singles only
        if (qi.regular) {  // no tables
            d.group_stride = qi.group_stride;
            d.first = qi.first;
            d.last_back = qi.last_back;
            continue;
        }
        std::vector<float> units, starts;
        for (int64_t gi = 0; gi < groups; gi++)
            for (int64_t q = 0; q < qi.count; q++) {
                const auto &list = qi.groups[static_cast<size_t>(gi)];
                bool real = q < static_cast<int64_t>(list.size());
                units.push_back(bits(real ? list[static_cast<size_t>(q)].unit : 0));
                starts.push_back(bits(real ? list[static_cast<size_t>(q)].start : 0));
            }
        d.unit = packer.append(units);
        d.start = packer.append(starts);
    }
}

// Whether a conv of an int8 model computes the integers its value is stored
// as in its epilogue (PackedNode::integer_out), and their bounds
// (Lowering::activation_steps): q = clamp(round(acc x m / s + b / s)) is the
// reference's clamp(round(act(acc x m + b) / s)) (quantize/quantization.h). An int8 conv
// converts the rounded sum to int32 and clamps integers where `fits(s)` (the
// scaled sums stay far inside int32, so the conversion is exact on every
// target); a float conv (the stem, reading the app's floats) clamps before
// converting. On ARM (sdot, V2): 11 instructions per 4 outputs (float ReLU,
// scale, round, clamps, narrowing through the stack) -> 7, and 5 in fixed
// point (PackingOptions::fixed_point; docs/quantization.md);
// with the max pool on integers and the narrow parts alone, V2 37.41 -> 32.39
// M instructions (bench/results/qemu_aarch64_counts.md).
bool plan_integer_out(const WeightPacker &packer, int index, PackedNode &p, const std::function<bool(double)> &fits) {
    if (!packer.plan().int8()) return false;  // (a float model has no quant entries)
    const ValueQuant &out = packer.plan().quant[static_cast<size_t>(index)];
    int lo, hi;
    if (!out.quantized || !Lowering::activation_steps(packer.node(index), out, &lo, &hi)) return false;
    if (fits && !fits(out.scale)) return false;
    p.integer_out = true;
    p.out_lo = lo;
    p.out_hi = hi;
    return true;
}

// The operand of a two-input node other than `index`.
int other_operand(const Node &node, int index) { return node.inputs[0] == index ? node.inputs[1] : node.inputs[0]; }

// Whether an int8 conv computes its value for an add: a conv without
// activation read only by an add stored in int8; in fixed point
// (PackedNode::add_node) on fixed-point targets where the add's other operand
// is stored in int8 too, else its float epilogue in steps of the add's scale
// (PackedNode::add_scaled). Returns the add, or -1.
int plan_conv_add(const WeightPacker &packer, int index) {
    const SegmentPlan &plan = packer.plan();
    const Graph &g = packer.graph();
    if (!plan.int8() || !plan.int8_conv[index] || plan.quant[static_cast<size_t>(index)].quantized ||
        packer.node(index).activation.enabled)
        return -1;
    int add = -1, readers = 0;
    for (size_t i = 0; i < g.nodes.size(); i++)
        for (int in : g.nodes[i].inputs)
            if (in == index) add = static_cast<int>(i), readers++;
    if (readers != 1 || g.nodes[static_cast<size_t>(add)].op != Op::Add) return -1;
    const Node &sum = g.nodes[static_cast<size_t>(add)];
    int lo, hi;
    const ValueQuant &out = plan.quant[static_cast<size_t>(add)];
    if (!out.quantized || !Lowering::activation_steps(sum, out, &lo, &hi) || sum.inputs[0] == sum.inputs[1]) return -1;
    return add;
}

// Weights [group of the value's grouping][input channel][tap][k], bias [group][k]; k padded.
void pack(WeightPacker &packer, int index) {
    const Node &node = packer.node(index);
    const Graph &g = packer.graph();
    int64_t group = packer.plan().grouping[index];
    int64_t groups = node.out_channels / group;
    int64_t cin_g = input_channels(g, node) / node.groups, taps = int64_t{node.kernel_h} * node.kernel_w;
    int64_t inner = is_depthwise(g, node) ? taps : cin_g * taps;
    const auto &w = packer.tensor(index, "weight").data;
    PackedNode &p = packer.packed(index);
    p.group = group;
    p.padded_group = (group + packer.group_padding() - 1) / packer.group_padding() * packer.group_padding();
    // A float conv of an int8 model stored in int8 (the stem): weights and
    // bias divided by the scale (PackedNode::integer_out); an int8 conv
    // divides its multiplier instead (its integers come from the weights).
    bool int8 = packer.plan().int8() && packer.plan().int8_conv[index];
    double out_scale = 1;
    if (!int8 && plan_integer_out(packer, index, p, nullptr)) out_scale = packer.plan().quant[static_cast<size_t>(index)].scale;
    // PyTorch layout [co][ci][ky][kx]: i = ci * taps + tap.
    auto at = [&](int64_t gi, int64_t kk, int64_t i) {
        return static_cast<float>(w[(gi * group + kk) * cin_g * taps + i] / out_scale);
    };
    // int8: the integers, and input scale x weight scale per output channel.
    std::vector<double> scales = int8 ? weight_channel_scales(packer.tensor(index, "weight")) : std::vector<double>{};
    double in_scale = int8 ? packer.plan().quant[node.inputs[0]].scale : 0;
    std::optional<DotSteps> steps = plan_dot_steps(packer, index);
    // A general int8 conv (the stem) in dot-product form: each input
    // channel's tap row a step, its taps the slots (PackedNode::tap_rows).
    const bool general = !is_depthwise(g, node) && !is_pointwise(node);
    const bool tap_rows = int8 && general && int8_quads(packer.dot()) && node.kernel_w <= dot_slots(packer.dot()) &&
                          packer.dot_allowed(index);
    if (int8) {
        const ValueQuant &in_q = packer.plan().quant[node.inputs[0]];
        auto qw = [&](int64_t gi, int64_t kk, int64_t i) {
            return quantize_weight(w[(gi * group + kk) * cin_g * taps + i], scales[gi * group + kk]);
        };
        // The accumulators' start: -/+128 x the weights' sum where the kernel
        // flips the input's sign bit (exact in a float below 2^24); the
        // channels read alone (DotSteps::Single) are not flipped.
        int flip = !steps && !tap_rows               ? 0
                   : packer.dot() == DotProduct::U8S8 ? (in_q.is_unsigned ? 0 : -128)
                   : packer.dot() == DotProduct::S8S8 ? (in_q.is_unsigned ? 128 : 0)
                                                      : 0;  // I8Pairs: either signedness as it is
        std::vector<std::vector<bool>> alone(static_cast<size_t>(groups), std::vector<bool>(static_cast<size_t>(inner)));
        if (steps)
            for (const DotSteps::Input &qi : steps->inputs)
                for (size_t gi = 0; gi < qi.singles.size(); gi++)
                    for (const DotSteps::Single &one : qi.singles[gi]) alone[gi][static_cast<size_t>(one.channel)] = true;
        std::vector<double> multiplier(static_cast<size_t>(node.out_channels)), bias(multiplier.size(), 0.0);
        for (int64_t co = 0; co < node.out_channels; co++) {
            multiplier[static_cast<size_t>(co)] = in_scale * scales[static_cast<size_t>(co)];
            if (node.bias)
                bias[static_cast<size_t>(co)] =
                    quantized_bias(packer.tensor(index, "bias").data[static_cast<size_t>(co)], multiplier[static_cast<size_t>(co)]);
        }
        std::vector<double> weight_sum(multiplier.size(), 0.0);  // of |w|
        for (int64_t co = 0; co < node.out_channels; co++)
            for (int64_t i = 0; i < inner; i++) weight_sum[static_cast<size_t>(co)] += std::abs(qw(co / group, co % group, i));
        double input_max = in_q.is_unsigned ? 255 : 128;
        auto fits = [&](double scale) {
            for (size_t co = 0; co < multiplier.size(); co++)
                if (!(weight_sum[co] * input_max * std::abs(multiplier[co] / scale) + std::abs(bias[co] / scale) < 0x1p30))
                    return false;
            return true;
        };
        if (plan_integer_out(packer, index, p, fits)) out_scale = packer.plan().quant[static_cast<size_t>(index)].scale;
        const int add = p.integer_out ? -1 : plan_conv_add(packer, index);
        if (add >= 0) out_scale = packer.plan().quant[static_cast<size_t>(add)].scale;
        // Fixed point (PackingOptions::fixed_point): the bias an int32 in the
        // accumulators' start, which stays exact as a float (below 2^24), and
        // the sum too (below 2^31).
        std::vector<int64_t> bias_steps(multiplier.size(), 0);
        // (An add in fixed point needs its other operand stored in int8 too.)
        const bool other_stored =
            add >= 0 && packer.plan().quant[static_cast<size_t>(other_operand(g.nodes[static_cast<size_t>(add)], index))].quantized;
        // Without a dot product, a general conv multiplies its integers as
        // floats by scaled weights, as a float conv (PackedNode::float_taps).
        // ARMv8.0's V1 stem in N1 cycles (qemu counts, llvm-mca-19): exact
        // integer sums then the fixed-point epilogue 1.59 M, the float one
        // 1.50 M, this 1.38 M; the float stem of a float input 1.32 M.
        const bool float_taps = general && !tap_rows;
        bool fixed = (p.integer_out || other_stored) && packer.fixed_point() && !float_taps;
        const double twice = fixed && is_depthwise(g, node) ? 2 : 1;  // PackedNode::doubled
        for (size_t co = 0; fixed && co < multiplier.size(); co++) {
            if (node.bias) bias_steps[co] = quantize_bias(packer.tensor(index, "bias").data[co], multiplier[co]);
            fixed = twice * (std::abs(bias_steps[co]) + 128 * weight_sum[co]) < 0x1p24 &&
                    twice * (weight_sum[co] * 255 + std::abs(bias_steps[co])) < 0x1p31;
        }
        // For an add (PackedNode::add_node): the other operand's integer in
        // the accumulator's units (its scale / an accumulator step's value).
        std::vector<double> other_units(multiplier.size(), 0.0);
        double other_max = 0;
        if (add >= 0) {
            const ValueQuant &oq = packer.plan().quant[static_cast<size_t>(other_operand(g.nodes[static_cast<size_t>(add)], index))];
            other_max = oq.is_unsigned ? 255 : 128;
            for (size_t co = 0; co < multiplier.size(); co++) {
                fixed = fixed && multiplier[co] > 0;
                other_units[co] = fixed ? oq.scale / (multiplier[co] / twice) : 0;
            }
        }
        // The sum (and an add's other operand) shifted left first, as far as
        // its bound allows (one shift for the conv), so that the rounding of
        // the doubling multiply is far below the final one (see below).
        double sum_max = 1;
        for (size_t co = 0; co < multiplier.size(); co++)
            sum_max = std::max(sum_max, twice * (weight_sum[co] * input_max + std::abs(bias_steps[co])) +
                                            other_max * other_units[co]);
        const int pre_shift = std::max(0, 30 - static_cast<int>(std::ceil(std::log2(sum_max + 1))));
        if (fixed && add >= 0) {
            // The sum in steps of the add's scale / 2^bits: 16 at most (one
            // rounding narrowing shift), and each channel's multiplier x
            // 2^(bits - pre_shift) below 1 (a Q31 multiplier); 12 at least
            // (a tie then needs the exact sum within 2^-12 of a half step),
            // and the shifted total below 2^30, else a float epilogue.
            double m_max = 0;
            for (size_t co = 0; co < multiplier.size(); co++) m_max = std::max(m_max, multiplier[co] / out_scale / twice);
            p.add_bits = std::min(16, pre_shift - 1 - static_cast<int>(std::floor(std::log2(m_max) + 1e-9)));
            fixed = p.add_bits >= 12 && sum_max < 0x1p30;
            if (fixed) p.add_node = add;
            else p.add_bits = 0;
        }
        // A float epilogue: the value in steps of the add's scale (the
        // multiplier and bias divided by it), which the add then sums without
        // rescaling this operand (x86: one vmulps fewer per vector of V1's
        // fused conv3 + add epilogues).
        if (add >= 0 && !fixed) p.add_scaled = add;
        p.doubled = fixed && twice == 2;
        std::vector<int64_t> init(static_cast<size_t>(node.out_channels), 0);
        bool flipped = steps || tap_rows;
        for (int64_t co = 0; flipped && co < node.out_channels; co++) {
            int64_t sum = 0;
            for (int64_t i = 0; i < inner; i++)
                if (!alone[static_cast<size_t>(co / group)][static_cast<size_t>(i)]) sum += qw(co / group, co % group, i);
            init[static_cast<size_t>(co)] = flip * sum;
            if (std::abs(flip * sum) >= (int64_t{1} << 24)) steps.reset(), flipped = false;
        }
        if (flipped && tap_rows) {
            // [group][step = input channel, tap row][k padded][slot = tap column]
            const int kw = node.kernel_w, kh = node.kernel_h;
            p.tap_rows = true;
            p.dot = packer.dot();
            p.weight_i8 = packer.append_dot(groups, group, cin_g * kh, [&](int64_t gi, int64_t q, int64_t kk, int64_t j) {
                return j < kw ? static_cast<float>(qw(gi, kk, q / kh * taps + q % kh * kw + j)) : 0.0f;
            });
        } else if (float_taps) {
            p.float_taps = true;
            std::fill(init.begin(), init.end(), 0);
            p.weight = packer.append_grouped(groups, group, inner, [&](int64_t gi, int64_t kk, int64_t i) {
                return static_cast<float>(qw(gi, kk, i) * multiplier[static_cast<size_t>(gi * group + kk)] / out_scale);
            });
        } else if (steps) {
            pack_dot_inputs(packer, index, p, *steps, groups, group,
                            [&](int64_t gi, int64_t kk, int64_t ci) { return static_cast<float>(qw(gi, kk, ci)); });
        } else {
            p.weight_i8 = packer.append_grouped_i8(groups, group, inner, qw);
            std::fill(init.begin(), init.end(), 0);
        }
        if (flipped || fixed)
            p.acc_init = packer.append_grouped(groups, group, 1, [&](int64_t gi, int64_t kk, int64_t) {
                size_t co = static_cast<size_t>(gi * group + kk);
                return static_cast<float>(init[co] + (fixed ? bias_steps[co] * static_cast<int64_t>(twice) : 0));
            });
        if (fixed) {
            // multiplier / output scale = m0 x 2^e, m0 in [2^30, 2^31) (Q31),
            // the sum shifted left by pre_shift: a rounding shift by e -
            // pre_shift then rounds once where it counts (a sum rounded twice
            // at close positions misses a half step often: 2^e of the values).
            // m0 and the shifts as int32 bit patterns: shl, sqrdmulh, srshl.
            // For an add, m0 = multiplier / the add's scale x 2^(add_bits + 31
            // - pre_shift) (below 2^31, add_bits chose so), no shift, and the
            // other operand's integers join the shifted sum times add_operand
            // (their scale in its units, rounded: on V1 1x g3 some 2^-14 of
            // a step, the window around a half step where the reference's
            // rounding may differ).
            p.fixed_point = true;
            p.pre_shift = pre_shift;
            std::vector<float> m0s, shifts;
            for (int64_t gi = 0; gi < groups; gi++)
                for (int64_t kk = 0; kk < p.padded_group; kk++) {
                    double m = kk < group ? multiplier[static_cast<size_t>(gi * group + kk)] / out_scale / twice : 0;
                    if (add >= 0) {
                        m0s.push_back(bits(std::llround(std::ldexp(m, p.add_bits + 31 - pre_shift))));
                        continue;
                    }
                    int e = 0;
                    double f = std::frexp(m, &e);  // m = f x 2^e, f in [0.5, 1)
                    int64_t m0 = std::llround(f * 0x1p31);
                    if (m0 == (int64_t{1} << 31)) m0 /= 2, e++;
                    if (m == 0 || e < -31) m0 = 0, e = 0;
                    int power = std::min(e, 30) - pre_shift;
                    if (power < -31) m0 = 0, power = 0;  // below half a step whatever the sum
                    m0s.push_back(bits(m0));
                    shifts.push_back(bits(power));
                }
            p.multiplier = packer.append(m0s);
            if (add < 0) {
                p.power = packer.append(shifts);
            } else {
                p.add_operand = packer.append_grouped(groups, group, 1, [&](int64_t gi, int64_t kk, int64_t) {
                    return bits(std::llround(std::ldexp(other_units[static_cast<size_t>(gi * group + kk)], pre_shift)));
                });
            }
        } else if (!float_taps) {
            p.multiplier = packer.append_grouped(groups, group, 1, [&](int64_t gi, int64_t kk, int64_t) {
                return static_cast<float>(multiplier[static_cast<size_t>(gi * group + kk)] / out_scale);
            });
        }
    } else if (packer.plan().fp16()) {
        if (steps) pack_dot_inputs(packer, index, p, *steps, groups, group, at);
        else p.weight_f16 = packer.append_grouped_f16(groups, group, inner, at);
    } else if (packer.plan().bf16()) {
        // Weights rounded to bfloat16: pairs of them in dot-product form where
        // the target has it, else float32 values (exactly the bfloat16 ones).
        auto bf = [&](int64_t gi, int64_t kk, int64_t i) { return round_to_bfloat16(at(gi, kk, i)); };
        if (steps) pack_dot_inputs(packer, index, p, *steps, groups, group, bf);
        else p.weight = packer.append_grouped(groups, group, inner, bf);
    } else if (steps) {
        pack_dot_inputs(packer, index, p, *steps, groups, group, at);
    } else {
        p.weight = packer.append_grouped(groups, group, inner, at);
    }
    if (node.bias && !p.fixed_point) {
        // An int8 conv's bias: rounded to its int32 step (quantize/quantization.h).
        const auto &b = packer.tensor(index, "bias").data;
        p.bias = packer.append_grouped(node.out_channels / group, group, 1, [&](int64_t gi, int64_t kk, int64_t) {
            int64_t co = gi * group + kk;
            return static_cast<float>((int8 ? quantized_bias(b[co], in_scale * scales[co]) : b[co]) / out_scale);
        });
    }
}

// The conv's loops, for floats, or for an int8 conv (int8 models): int8
// weights times the input's stored integers, summed exactly in int32, then a
// float epilogue with input scale x weight scale per output channel and the
// bias (the Lowering rounds the result to the output's scale where it is
// stored). In an fp16 model everything is halves: the stored input, the
// weights, the accumulator (starting at the bias) and the activation.
void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    const Graph &g = L.graph();
    const Var &k = Vars::k, &gv = Vars::g, &x = Vars::x, &y = Vars::y, &n = Vars::n, &c = Vars::c;
    bool int8 = L.plan().int8() && L.plan().int8_conv[index], half = L.plan().fp16();
    int64_t group = L.grouping(index);
    int64_t cout = node.out_channels, cin_g = input_channels(g, node) / node.groups;
    int kh = node.kernel_h, kw = node.kernel_w, taps = kh * kw;
    bool depthwise = is_depthwise(g, node), pointwise = is_pointwise(node);
    if (!node.parts.empty() && !pointwise) internal_error("conv '", node.name, "' reads parts");
    Stage &st = L.add_stage(index, depthwise ? Stage::Depthwise : pointwise ? Stage::Pointwise : Stage::Conv);
    const PackedNode &packed = L.packed(index);
    int pad = static_cast<int>(packed.padded_group), grp = static_cast<int>(group), icg = static_cast<int>(cin_g);
    int64_t inner = depthwise ? taps : cin_g * taps;
    // An int8 general conv multiplying its integers as floats by scaled
    // weights, from the bias, as a float conv (PackedNode::float_taps).
    const bool float_taps = packed.float_taps;
    auto wt = [&](Expr i) {
        Expr at = (gv * static_cast<int>(inner) + i) * pad + k;
        if (half) return L.weight_half_at(packed.weight_f16.offset * 2, at);
        return int8 && !float_taps ? cast<int32_t>(L.weight_int_at(packed.weight_i8, at))
                                   : L.weight_at(packed.weight.offset, at);
    };
    auto widen = [&](Expr v) { return int8 && !float_taps ? cast<int32_t>(v) : v; };
    // The dot product's input signedness (see DotProduct).
    auto flipped = [&](Expr a) {
        Expr flip = Halide::Internal::make_const(UInt(8), 128);
        if (packed.dot == DotProduct::U8S8 && a.type() == Int(8)) return reinterpret(UInt(8), a) ^ flip;
        if (packed.dot == DotProduct::S8S8 && a.type() == UInt(8)) return reinterpret(Int(8), a ^ flip);
        return a;
    };
    // What the products multiply: the stored integers (int8), halves (fp16) or floats.
    bool raw = int8 || half;
    Expr bias = packed.bias.offset >= 0 ? L.weight_at(packed.bias.offset, gv * pad + k) : Expr(0.0f);
    if (half) bias = cast(Float(16), bias);

    st.acc = Func(c_identifier(node.name) + "_acc");
    bool dot = !packed.dot_inputs.empty();
    Expr init = int8 && packed.acc_init.offset >= 0 ? L.weight_at(packed.acc_init.offset, gv * pad + k) : Expr(0.0f);
    st.acc(k, gv, x, y, n) = int8 && !float_taps ? cast<int32_t>(init) : bias;
    if (dot) {
        // Dot-product form (plan_dot_steps), one update per input tensor: r.x
        // the slots of a step, vectorized with the outputs into one sum per
        // lane: 4 int8 products (vpdpbusd, sdot), 2 int8 ones widened to 16 bits
        // (I8Pairs: vpmaddwd) or 2 bf16 ones (vdpbf16ps);
        // or by lane (F32Lanes, F16Lanes): a weight vector per slot times the
        // slot's input, the step's inputs one vector (fmla by element).
        int slots = dot_slots(packed.dot);
        for (size_t t = 0; t < packed.dot_inputs.size(); t++) {
            const PackedNode::DotInput &d = packed.dot_inputs[t];
            Value in = L.value(node.inputs[t]);
            int steps = static_cast<int>(d.steps), unit = static_cast<int>(d.unit_size);
            int units = static_cast<int>(g.nodes[node.inputs[t]].shape.c / d.unit_size);
            RDom r(0, slots, 0, steps, "r" + std::to_string(t));
            // Regular steps: the stored channel at `offset` from the group's first.
            auto regular = [&](Expr offset) {
                offset += static_cast<int>(d.first);
                if (d.group_stride == d.unit_size) return in.raw_at_group(offset, gv, unit, x, y, n);
                return in.raw_at(gv * static_cast<int>(d.group_stride) + offset, x, y, n);  // one unit
            };
            // Slot j of step q: the stored channel start + j of storage group unit (tables).
            auto slot = [&](Expr j, Expr q) {
                if (d.unit.offset < 0) {
                    Expr at = q * slots;
                    if (d.last_back) {  // the last step at the storage group's last channels
                        Expr group_first = static_cast<int>(d.first);
                        if (d.group_stride != d.unit_size) group_first += gv * static_cast<int>(d.group_stride);
                        at = min(at, unit - slots - group_first);
                    }
                    return regular(at + j);
                }
                Expr at = gv * steps + q;
                std::string table = c_identifier(node.name) + "_steps" + std::to_string(t);
                Expr u = L.table_at(d.unit, table + "_unit", at, 0, units - 1);
                Expr s = L.table_at(d.start, table + "_start", at, 0, unit - slots);
                return in.raw_at_group(s + j, u, unit, x, y, n);
            };
            // The channels read alone, one broadcast each (DotInput::singles),
            // after the steps: a weight vector (int8, halves, floats) times
            // the stored value.
            auto read_singles = [&]() {
                if (d.singles == 0) return;
                int singles = static_cast<int>(d.singles);
                RDom rs(0, singles, "s" + std::to_string(t));
                std::string table = c_identifier(node.name) + "_singles" + std::to_string(t);
                Expr at = gv * singles + rs.x;
                Expr u = L.table_at(d.single_unit, table + "_unit", at, 0, units - 1);
                Expr o = L.table_at(d.single_offset, table + "_offset", at, 0, unit - 1);
                Expr wat = (gv * singles + rs.x) * pad + k;
                Expr v = in.raw_at_group(o, u, unit, x, y, n);
                if (int8) {
                    Expr w = L.weight_int_at(d.single_weight, wat);
                    st.acc(k, gv, x, y, n) += cast<int32_t>(w) * cast<int32_t>(v);
                } else if (half) {
                    st.acc(k, gv, x, y, n) += L.weight_half_at(d.single_weight.offset * 2, wat) * v;
                } else {
                    st.acc(k, gv, x, y, n) += L.weight_at(d.single_weight.offset, wat) * cast<float>(v);
                }
                Stage::LaneInput alone;
                alone.tables = true;
                alone.single = true;
                st.lane_inputs.push_back(alone);
                st.r.push_back(rs);
            };
            if (by_lane(packed.dot)) {
                // The step's slots as a Func the schedule loads as one vector.
                if (steps > 0) {
                    Var j("j"), q("q");
                    Func lanes(c_identifier(node.name) + "_lanes" + std::to_string(t));
                    lanes(j, q, gv, x, y, n) = slot(j, q);
                    Expr at = ((gv * steps + r.y) * slots + r.x) * pad + k;
                    Expr w = half ? L.weight_half_at(d.weight.offset * 2, at) : L.weight_at(d.weight.offset, at);
                    st.acc(k, gv, x, y, n) += w * lanes(r.x, r.y, gv, x, y, n);
                    st.lane_inputs.push_back({lanes, 1, d.unit.offset >= 0});
                    st.r.push_back(r);
                }
                read_singles();
                continue;
            }
            if (steps == 0) {
                read_singles();
                continue;
            }
            // One update per run of steps: its input per step and its weights.
            auto add_steps = [&](const RDom &rs, Expr a, const Stage::LaneInput &lane) {
                st.lane_inputs.push_back(lane);
                Expr at = ((gv * steps + rs.y) * pad + k) * slots + rs.x;
                if (packed.dot == DotProduct::BF16) {
                    Expr w = L.weight_half_at(d.weight.offset * 2, at);
                    st.acc(k, gv, x, y, n) += cast<float>(a) * cast<float>(w);
                } else {
                    Expr w = d.int16 ? L.weight_pair_at(d.weight, at) : L.weight_int_at(d.weight, at);
                    st.acc(k, gv, x, y, n) += cast<int32_t>(a) * cast<int32_t>(w);
                }
                st.r.push_back(rs);
            };
            int whole = d.last_back ? steps - 1 : steps;  // steps at multiples of the slots from the first
            int blocked = packed.dot == DotProduct::S8S8 && d.unit.offset < 0 ? whole / 4 * 4 : 0;
            if (blocked > 0) {
                // ARM sdot by element: 4 regular steps are 16 adjacent stored
                // channels, one vector load per pixel (sign-flipped once), each
                // step's quad a 32-bit lane of it (sdot v.4s, v.16b, v.4b[i]).
                // The steps past the last block of 4 (V2's 29 steps of 116
                // channels: 1), and a last step moved back, are read a quad
                // per step, as with tables.
                Var b("b"), qo("qo");
                Stage::LaneInput lane = {Func(c_identifier(node.name) + "_lanes" + std::to_string(t)), 4};
                lane.f(b, qo, gv, x, y, n) = flipped(regular(qo * 16 + b));
                RDom rb(0, slots, 0, blocked, "r" + std::to_string(t));
                add_steps(rb, lane.f(rb.x + rb.y % 4 * 4, rb.y / 4, gv, x, y, n), lane);
            }
            if (blocked < steps) {
                RDom rq(0, slots, blocked, steps - blocked, (blocked > 0 ? "q" : "r") + std::to_string(t));
                add_steps(rq, flipped(slot(rq.x, rq.y)), Stage::LaneInput{});
            }
            read_singles();
        }
        st.dot = true;
    } else if (depthwise) {
        // Each channel alone: read the input in this grouping, vectors along k.
        Func in = raw ? L.padded_raw(node.inputs[0], group) : L.padded(node.inputs[0], 0.0f, group);
        RDom r(0, kw, 0, kh, "r");
        Expr ix = x * node.stride_w + r.x - node.pad_left, iy = y * node.stride_h + r.y - node.pad_top;
        Expr weight = wt(r.y * kw + r.x);
        if (packed.doubled) weight = cast<int32_t>(cast<int16_t>(weight) * 2);  // smlal (PackedNode::doubled)
        st.acc(k, gv, x, y, n) += weight * widen(in(k, gv, ix, iy, n));
        st.r = {r};
    } else if (pointwise && !node.parts.empty()) {
        // Several input tensors (a folded channel split and shuffle): one
        // reduction per part, over its own contiguous channels; the weights'
        // input order was permuted to the parts' order by the pass.
        int offset = 0;
        for (size_t p = 0; p < node.parts.size(); p++) {
            const InputPart &part = node.parts[p];
            Value in = L.value(node.inputs[part.input]);
            RDom r(0, static_cast<int>(part.count), "r" + std::to_string(p));
            Expr ch = static_cast<int>(part.begin) + r.x;
            st.acc(k, gv, x, y, n) += wt(offset + r.x) * (raw ? widen(in.raw_at(ch, x, y, n)) : in.at(ch, x, y, n));
            st.r.push_back(r);
            offset += static_cast<int>(part.count);
        }
    } else if (pointwise) {
        // One input channel at a time (a scalar broadcast against a vector of
        // weights): the folded shuffle costs index arithmetic, never a gather.
        Value in = L.value(node.inputs[0]);
        RDom r(0, icg, "r");
        Expr ch = Lowering::shuffle_index(node.input_shuffles, (grp == cout ? Expr(0) : gv * icg) + r.x);
        st.acc(k, gv, x, y, n) += wt(r.x) * widen(raw ? in.raw_at(ch, x, y, n) : in.at(ch, x, y, n));
        st.r = {r};
    } else {
        // A general conv (the stem): the padded input is a Func of its own,
        // copied per row task by the schedule. Left inline, every tap of every
        // pixel would test the border (the loops over a handful of taps are too
        // short for Halide to split off a border-free part).
        // int8: its integers, sign-flipped for the dot product (tap_rows)
        // or as floats (float_taps). Copied as four updates that each write
        // their part once (the border's rows, its columns left and right, the
        // image), the image's rows along x without a test or clamp (a border
        // clamp inside the vector, max(ramp(x - 1), 0), made Halide 14 load
        // each lane on its own on x86).
        Func in(c_identifier(node.name) + "_input");
        Func src = float_taps ? L.unpadded_steps(node.inputs[0]) : L.unpadded(node.inputs[0], raw);
        Type type = src.value().type();
        Expr zero = packed.tap_rows ? flipped(Halide::Internal::make_zero(type)) : Halide::Internal::make_zero(type);
        const Shape &image = g.nodes[node.inputs[0]].shape;
        const int height = static_cast<int>(image.h), width = static_cast<int>(image.w);
        const int left = static_cast<int>(node.pad_left);
        const int right = std::max(0, static_cast<int>((node.shape.w - 1) * node.stride_w + kw - left) - width);
        Expr inside = y >= 0 && y < height;
        in(c, x, y, n) = undef(zero.type());
        RDom border(-left, left + width + right, "border");
        border.where(!inside);
        in(c, border, y, n) = zero;
        for (auto [begin, count] : {std::pair{-left, left}, std::pair{width, right}}) {
            if (count == 0) continue;
            RDom side(begin, count, "side");
            side.where(inside);
            in(c, side, y, n) = zero;
        }
        RDom columns(0, width, "columns");
        columns.where(inside);
        in(c, columns, y, n) = packed.tap_rows ? flipped(src(c, columns, y, n)) : src(c, columns, y, n);
        st.staged_input = in;
        if (packed.tap_rows) {
            // PackedNode::tap_rows: r.x the slots (a tap row's columns, 4
            // adjacent input pixels of one channel), r.y the steps (input
            // channel, tap row), summed per lane as the 1x1 convs' quads.
            const int slots = dot_slots(packed.dot), steps = icg * kh;
            RDom r(0, slots, 0, steps, "r");
            Expr ch = Lowering::shuffle_index(node.input_shuffles, (grp == cout ? Expr(0) : gv * icg) + r.y / kh);
            Expr ix = x * node.stride_w + r.x - node.pad_left, iy = y * node.stride_h + r.y % kh - node.pad_top;
            Expr w = L.weight_int_at(packed.weight_i8, ((gv * steps + r.y) * pad + k) * slots + r.x);
            st.acc(k, gv, x, y, n) += cast<int32_t>(in(ch, ix, iy, n)) * cast<int32_t>(w);
            st.r = {r};
            st.dot = true;
        } else if (L.float_by_element() && (!raw || float_taps) && kw <= 4) {
            // By lane (NEON fmla by element): a row's kw taps of a pixel are
            // adjacent input pixels, one vector load (of the staged input's
            // planes) per pixel, channel and tap row; each tap its lane.
            // r.x: the tap column (lane), r.y: the input channel, r.z: the tap row.
            Var j("j"), ci("ci"), ry("ry");
            Func lanes(c_identifier(node.name) + "_lanes0");
            lanes(j, ci, ry, x, y, n) =
                in(ci, x * node.stride_w + j - node.pad_left, y * node.stride_h + ry - node.pad_top, n);
            RDom r(0, kw, 0, icg, 0, kh, "r");
            Expr ch = Lowering::shuffle_index(node.input_shuffles, (grp == cout ? Expr(0) : gv * icg) + r.y);
            st.acc(k, gv, x, y, n) += wt(r.y * taps + r.z * kw + r.x) * lanes(r.x, ch, r.z, x, y, n);
            st.lane_inputs.push_back({lanes, 1, false});
            st.r = {r};
        } else {
            RDom r(0, icg, 0, kw, 0, kh, "r");
            Expr ch = Lowering::shuffle_index(node.input_shuffles, (grp == cout ? Expr(0) : gv * icg) + r.x);
            Expr ix = x * node.stride_w + r.y - node.pad_left, iy = y * node.stride_h + r.z - node.pad_top;
            st.acc(k, gv, x, y, n) += wt(r.x * taps + r.z * kw + r.y) * widen(in(ch, ix, iy, n));
            st.r = {r};
        }
    }
    Expr sum = st.acc(k, gv, x, y, n);
    if (packed.fixed_point) {
        // The stored integers in fixed point (PackedNode::fixed_point): a
        // rounding doubling multiply by m0, a rounding shift (sqrdmulh, srshl).
        auto entry = [&](const PackedArray &a) { return reinterpret<int32_t>(L.weight_at(a.offset, gv * pad + k)); };
        Expr shifted = sum << packed.pre_shift;
        if (packed.add_node >= 0) {
            // The add's integers (PackedNode::add_node): the other operand
            // joins the shifted sum, one multiply and one rounding narrowing
            // shift to the add's steps, clamped to its activation's.
            const Node &add = L.node(packed.add_node);
            const ValueQuant &out = L.plan().quant[static_cast<size_t>(packed.add_node)];
            int lo, hi;
            Lowering::activation_steps(add, out, &lo, &hi);
            Value other = L.value(other_operand(add, index));
            Expr ch = gv * grp + k;
            Expr total = shifted + cast<int32_t>(Lowering::read_raw(other, grp, ch, k, gv, x, y, n)) * entry(packed.add_operand);
            Expr t = Internal::rounding_mul_shift_right(total, entry(packed.multiplier), 31);
            Expr q = saturating_cast<int16_t>(Internal::rounding_shift_right(t, packed.add_bits));  // sqrshrn
            q = clamp(q, static_cast<int16_t>(lo), static_cast<int16_t>(hi));
            st.value.f(k, gv, x, y, n) = cast(out.is_unsigned ? UInt(8) : Int(8), q);
            st.value.q = out;
            return;
        }
        Expr q = Internal::rounding_mul_shift_right(shifted, entry(packed.multiplier), 31);
        q = Internal::rounding_shift_left(q, entry(packed.power));
        const ValueQuant &out = L.plan().quant[static_cast<size_t>(index)];
        st.value.f(k, gv, x, y, n) = cast(out.is_unsigned ? UInt(8) : Int(8), clamp(q, packed.out_lo, packed.out_hi));
        st.value.q = out;
        return;
    }
    if (int8 && !float_taps) sum = cast<float>(sum) * L.weight_at(packed.multiplier.offset, gv * pad + k) + bias;
    if (packed.integer_out) {
        // The stored integers (PackedNode::integer_out), clamped and rounded
        // in float (Lowering::stored_steps).
        const ValueQuant &out = L.plan().quant[static_cast<size_t>(index)];
        st.value.f(k, gv, x, y, n) =
            Lowering::stored_steps(sum, packed.out_lo, packed.out_hi, out.is_unsigned ? UInt(8) : Int(8));
        st.value.q = out;
        return;
    }
    st.value.f(k, gv, x, y, n) = Lowering::activate(node, sum);
}

void import_onnx(OnnxNodeImport &o) {
    o.allow_attrs({"group", "strides", "pads", "dilations", "kernel_shape", "auto_pad"});
    const OnnxConstant &w = o.constant(1);
    if (w.dims.size() != 4) o.error("weights must be 4-D (2-D convolution)");
    std::vector<int64_t> dil = o.two("dilations");
    if (dil[0] != 1 || dil[1] != 1) o.error("dilated convolution is not supported");
    std::vector<int64_t> stride = o.two("strides"), pads = o.pads();
    OnnxTensor in = o.tensor_through_pad(0, pads, true);
    int64_t groups = o.attr_int("group", 1);
    if (groups < 1 || in.shape.size() != 4 || in.shape[1] != w.dims[1] * groups)
        o.error(cat("weights for ", w.dims[1] * groups, " input channels, the input has ",
                    in.shape.size() == 4 ? in.shape[1] : 0));
    std::string name = o.layer_name(o.input_name(1));
    bool bias = o.has_input(2);
    o.add_weight(name + ".weight", w.dims, w.values);
    if (bias) {
        const OnnxConstant &b = o.constant(2);
        if (b.elements() != w.dims[0]) o.error("bias size does not match the output channels");
        o.add_weight(name + ".bias", {w.dims[0]}, b.values);
    }
    o.emit({{"op", "conv"}, {"name", name}, {"out_channels", w.dims[0]}, {"kernel", {w.dims[2], w.dims[3]}},
            {"stride", stride}, {"pad", pads}, {"groups", groups}, {"bias", bias}},
           {in.layer}, o.window_output(in.shape, w.dims[0], w.dims[2], w.dims[3], stride, pads));
}

}  // namespace

const OpDef &conv_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Conv;
        d.name = "conv";
        d.fields = {"out_channels", "kernel", "stride", "pad", "groups", "bias"};
        d.parse = parse;
        d.params = params;
        d.infer = infer;
        d.stats = stats;
        d.reference = reference;
        d.grouping = grouping;
        d.pack = pack;
        d.lower = lower;
        d.onnx_ops = {"Conv"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
