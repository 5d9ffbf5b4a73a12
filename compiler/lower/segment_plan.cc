#include "lower/segment_plan.h"

#include <algorithm>
#include <map>
#include <set>

#include "ops/op.h"
#include "quantize/quantization.h"
#include "util/error.h"

namespace shufflec {

namespace {

// Plain layers are grouped until a segment holds this many convolutions.
constexpr int kHeavyOpsPerPlainSegment = 3;
constexpr int64_t kArenaAlignFloats = 16;  // 64 bytes

bool is_heavy(Op op) { return op == Op::Conv || op == Op::Dense; }

void set_dense_strides(Placement &p, const Shape &s, bool planar) {
    if (planar) {  // NCHW, as the app passes its input and receives its output
        p.stride[0] = s.h * s.w, p.stride[1] = 1, p.stride[2] = s.w, p.stride[3] = s.c * s.h * s.w;
    } else {       // channels innermost, as every 1x1 convolution wants
        p.stride[0] = 1, p.stride[1] = s.c, p.stride[2] = s.c * s.w, p.stride[3] = s.c * s.w * s.h;
    }
}

// Concats whose inputs are written straight into the concat's storage. In an
// int8 model they are rounded to the concat's scale there, so an input with a
// scale of its own (quant_roles with the quantization) must have the concat's.
std::vector<bool> choose_concat_views(const Graph &graph, const Quantization *q) {
    std::vector<bool> view(graph.nodes.size(), false);
    auto same_scale = [&](int in, const Node &concat) {
        auto a = q->tensors.find(graph.nodes[in].name), b = q->tensors.find(concat.name);
        return a == q->tensors.end() || (b != q->tensors.end() && a->second.scale == b->second.scale &&
                                         a->second.is_unsigned == b->second.is_unsigned);
    };
    std::set<int> claimed;
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        const Node &node = graph.nodes[i];
        if (node.op != Op::Concat) continue;
        std::set<int> distinct(node.inputs.begin(), node.inputs.end());
        bool ok = distinct.size() == node.inputs.size();
        for (int in : node.inputs)
            ok = ok && graph.nodes[in].op != Op::Input && !view[in] && !claimed.count(in) && graph.output != in &&
                 (!q || same_scale(in, node));
        if (!ok) continue;
        view[i] = true;
        claimed.insert(node.inputs.begin(), node.inputs.end());
    }
    return view;
}

}  // namespace

int64_t value_grouping(const Graph &graph, const std::vector<int64_t> &groupings, int index) {
    const Node &node = graph.nodes[index];
    const OpDef &def = op_def(node.op);
    return def.grouping ? def.grouping(graph, groupings, node) : 0;
}

std::string c_identifier(const std::string &name) {
    std::string id;
    for (char ch : name) id += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0]))) id = "l" + id;
    return id;
}

const char *precision_name(const SegmentPlan &plan) {
    switch (plan.precision) {
    case Precision::FP32: return "fp32";
    case Precision::Int8: return "int8";
    case Precision::FP16: return "fp16";
    case Precision::BF16: return "bf16";
    }
    internal_error("precision");
}

int element_bytes(Element e) { return e == Element::F32 ? 4 : e == Element::F16 || e == Element::BF16 || e == Element::I16 ? 2 : 1; }

Element storage_element(const SegmentPlan &plan, int node) {
    Placement::Kind kind = plan.placement[node].kind;
    if (kind == Placement::Input || kind == Placement::Output) return Element::F32;
    if (plan.float_element() != Element::F32) return plan.float_element();
    if (!plan.int8() || !plan.quant[node].quantized) return Element::F32;
    return plan.quant[node].is_unsigned ? Element::U8 : Element::I8;
}

namespace {

// Each node's value representation in an int8 model: its own scale where
// quantization stores it, a view concat's for the concat's inputs (they are
// written straight into its storage).
void plan_quantization(const Graph &graph, const Quantization &q, SegmentPlan &plan) {
    std::vector<QuantRole> roles = quant_roles(graph, &q);
    plan.quant.assign(graph.nodes.size(), {});
    plan.int8_conv.assign(graph.nodes.size(), false);
    plan.fc_int8_weights = q.fc_int8_weights;
    auto of = [&](const std::string &name) {
        const TensorQuant &t = q.tensors.at(name);
        return ValueQuant{true, t.is_unsigned, t.scale};
    };
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        if (roles[i] == QuantRole::Quantized) plan.quant[i] = of(graph.nodes[i].name);
        plan.int8_conv[i] = quantized_conv(graph, roles, q, static_cast<int>(i));
    }
    for (size_t i = 0; i < graph.nodes.size(); i++)
        if (plan.concat_view[i] && plan.quant[i].quantized)
            for (int in : graph.nodes[i].inputs) plan.quant[in] = plan.quant[i];
    // A slice of a quantized tensor keeps its integers (quantize/quantization.h: stored_source).
    for (size_t i = 0; i < graph.nodes.size(); i++)
        if (graph.nodes[i].op == Op::Slice) plan.quant[i] = plan.quant[graph.nodes[i].inputs[0]];
}

}  // namespace

SegmentPlan plan_segments(const Graph &graph, Granularity granularity, const Quantization *quantization,
                          Precision precision) {
    const size_t count = graph.nodes.size();
    if (graph.output == 0) fail("the network's output is its input: there is nothing to compile");
    if ((precision == Precision::Int8) != (quantization != nullptr))
        internal_error("an int8 plan needs a quantization, and only an int8 plan");
    SegmentPlan plan;
    plan.precision = precision;
    plan.concat_view = choose_concat_views(graph, quantization);
    if (quantization) plan_quantization(graph, *quantization, plan);
    plan.segment_of.assign(count, -1);
    plan.placement.assign(count, {});
    plan.grouping.assign(count, 0);
    for (size_t i = 1; i < count; i++) plan.grouping[i] = value_grouping(graph, plan.grouping, static_cast<int>(i));

    // 1. Segments: one per unit (a node's `block`, which passes/mark_units
    // sets from the graph's structure), runs of single-node units (plain
    // layers) grouped up to a few convolutions.
    std::map<std::string, int> nodes_per_block;
    for (size_t i = 1; i < count; i++) nodes_per_block[graph.nodes[i].block]++;
    int heavy_in_segment = 0;
    std::string current_block;
    for (size_t i = 1; i < count; i++) {
        const Node &node = graph.nodes[i];
        if (plan.concat_view[i]) continue;
        bool composite = nodes_per_block[node.block] > 1;
        bool start = plan.segments.empty();
        if (!start && node.block != current_block && granularity == Granularity::Unit) {
            bool previous_composite = nodes_per_block[current_block] > 1;
            start = composite || previous_composite ||
                    (is_heavy(node.op) && heavy_in_segment >= kHeavyOpsPerPlainSegment);
        }
        if (start) {
            plan.segments.push_back({c_identifier(node.block), node.block, {}, {}, {}});
            heavy_in_segment = 0;
        }
        current_block = node.block;
        plan.segments.back().nodes.push_back(static_cast<int>(i));
        plan.segment_of[i] = static_cast<int>(plan.segments.size() - 1);
        if (is_heavy(node.op)) heavy_in_segment++;
    }
    // Segment names must be unique C identifiers.
    std::map<std::string, int> seen;
    for (auto &seg : plan.segments) {
        int k = seen[seg.name]++;
        if (k) seg.name += "_" + std::to_string(k);
    }

    // 2. Which tensors are materialized, and who reads them. Readers of a view
    // concat really read the concat's inputs.
    auto readers = graph.consumers();
    std::vector<std::set<int>> reading_segments(count);
    for (size_t i = 0; i < count; i++)
        for (int r : readers[i]) {
            if (plan.concat_view[r]) {
                for (int rr : readers[r]) reading_segments[i].insert(plan.segment_of[rr]);
            } else {
                reading_segments[i].insert(plan.segment_of[r]);
            }
        }
    std::vector<bool> materialized(count, false);
    materialized[0] = true;
    materialized[graph.output] = true;
    for (size_t i = 1; i < count; i++) {
        if (plan.concat_view[i]) {
            materialized[i] = true;
            for (int in : graph.nodes[i].inputs) materialized[in] = true;
        }
        for (int s : reading_segments[i])
            if (s != plan.segment_of[i]) materialized[i] = true;
    }
    for (size_t i = 0; i < count; i++)
        if (materialized[i] && !plan.concat_view[i] && plan.segment_of[i] >= 0)
            plan.segments[plan.segment_of[i]].outputs.push_back(static_cast<int>(i));
    // Inputs: what a segment's nodes read from elsewhere. A view concat is read
    // whole, as one tensor, unless the segment computes one of its parts (then
    // it reads the other parts and selects).
    for (size_t s = 0; s < plan.segments.size(); s++) {
        Segment &seg = plan.segments[s];
        auto computed_here = [&](int node) { return plan.segment_of[node] == static_cast<int>(s); };
        for (int r : seg.nodes)
            for (int in : graph.nodes[r].inputs) {
                if (computed_here(in)) continue;
                if (!plan.concat_view[in]) {
                    seg.inputs.push_back(in);
                    continue;
                }
                const auto &parts = graph.nodes[in].inputs;
                bool partly_here = std::any_of(parts.begin(), parts.end(), computed_here);
                if (!partly_here) {
                    seg.inputs.push_back(in);
                } else {
                    for (int part : parts)
                        if (!computed_here(part)) seg.inputs.push_back(part);
                }
            }
    }
    for (auto &seg : plan.segments) {
        std::sort(seg.inputs.begin(), seg.inputs.end());
        seg.inputs.erase(std::unique(seg.inputs.begin(), seg.inputs.end()), seg.inputs.end());
    }

    // 3. Storage. The view concat's storage is shared by its inputs.
    std::vector<int> storage_of(count, -1);  // node whose storage holds this node
    for (size_t i = 0; i < count; i++)
        if (materialized[i]) storage_of[i] = static_cast<int>(i);
    for (size_t i = 0; i < count; i++)
        if (plan.concat_view[i])
            for (int in : graph.nodes[i].inputs) storage_of[in] = storage_of[i];
    // Resolve chains (an input of a view concat that is itself an output...): one level suffices
    // since view concats never nest.

    // Lifetimes over segment indices: [first write, last read].
    std::map<int, std::pair<int, int>> lifetime;
    for (size_t i = 1; i < count; i++) {
        if (!materialized[i]) continue;
        int st = storage_of[i];
        auto &life = lifetime.try_emplace(st, std::make_pair(1 << 30, -1)).first->second;
        if (plan.segment_of[i] >= 0) {
            life.first = std::min(life.first, plan.segment_of[i]);
            life.second = std::max(life.second, plan.segment_of[i]);
        }
        for (int s : reading_segments[i]) life.second = std::max(life.second, s);
    }

    std::vector<std::pair<int64_t, int64_t>> placed;  // (offset, end) per arena storage, by index in `order`
    std::vector<int> order;
    for (auto &[st, life] : lifetime)
        if (st != graph.output && st != 0) order.push_back(st);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        return graph.nodes[a].shape.elements() > graph.nodes[b].shape.elements();
    });
    auto bytes_of = [&](int st) { return element_bytes(storage_element(plan, st)); };
    for (size_t k = 0; k < order.size(); k++) {
        int st = order[k];
        int64_t floats = (graph.nodes[st].shape.elements() * bytes_of(st) + 3) / 4;
        int64_t size = (floats + kArenaAlignFloats - 1) / kArenaAlignFloats * kArenaAlignFloats;
        // First fit among the storages already placed whose lifetimes overlap this one.
        std::vector<std::pair<int64_t, int64_t>> busy;
        for (size_t j = 0; j < k; j++) {
            auto a = lifetime[st], b = lifetime[order[j]];
            if (a.first <= b.second && b.first <= a.second) busy.push_back(placed[j]);
        }
        std::sort(busy.begin(), busy.end());
        int64_t offset = 0;
        for (auto [b, e] : busy) {
            if (offset + size <= b) break;
            offset = std::max(offset, e);
        }
        placed.push_back({offset, offset + size});
        plan.arena_floats = std::max(plan.arena_floats, offset + size);
        Placement &p = plan.placement[st];
        p.kind = Placement::Arena;
        p.offset = offset * 4 / bytes_of(st);
        set_dense_strides(p, graph.nodes[st].shape, false);
    }
    Placement &in = plan.placement[0];
    in.kind = Placement::Input;
    set_dense_strides(in, graph.nodes[0].shape, true);
    Placement &out = plan.placement[graph.output];
    out.kind = Placement::Output;
    set_dense_strides(out, graph.nodes[graph.output].shape, true);

    // Views: the inputs of a view concat take their channel range of its storage.
    for (size_t i = 0; i < count; i++) {
        if (!plan.concat_view[i]) continue;
        int64_t channel = 0;
        for (int in_node : graph.nodes[i].inputs) {
            Placement p = plan.placement[i];
            p.offset += channel * p.stride[0];
            plan.placement[in_node] = p;
            channel += graph.nodes[in_node].shape.c;
        }
    }
    return plan;
}

BufferLayout buffer_layout(const Graph &g, const SegmentPlan &plan, int node, bool grouped) {
    const Shape &s = g.nodes[node].shape;
    const Placement &p = plan.placement[node];
    int64_t group = plan.grouping[node];
    BufferLayout b;
    if (grouped && group > 0) {
        b.extent = {group, s.c / group};
        b.stride = {p.stride[0], group * p.stride[0]};
    } else {
        b.extent = {s.c};
        b.stride = {p.stride[0]};
    }
    for (int d = 1; d < 4; d++) b.stride.push_back(p.stride[d]);
    b.element = storage_element(plan, node);
    b.extent.push_back(s.w);
    b.extent.push_back(s.h);
    b.extent.push_back(s.n);
    return b;
}

std::vector<BufferLayout> segment_buffer_layouts(const Graph &g, const SegmentPlan &plan, int segment) {
    std::vector<BufferLayout> layouts;
    for (int t : plan.segments[segment].inputs) layouts.push_back(buffer_layout(g, plan, t, false));
    for (int t : plan.segments[segment].outputs) layouts.push_back(buffer_layout(g, plan, t, true));
    return layouts;
}

}  // namespace shufflec
