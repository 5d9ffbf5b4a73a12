#include "lower/lower_segment.h"

#include <cmath>
#include <limits>

#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

Var Vars::c("c"), Vars::k("k"), Vars::g("g"), Vars::x("x"), Vars::y("y"), Vars::n("n");

Expr Value::at(Expr ch, Expr x, Expr y, Expr n) const {
    if (group == 0) return f(ch, x, y, n);
    if (group == channels) return f(ch, 0, x, y, n);
    return f(ch % static_cast<int>(group), ch / static_cast<int>(group), x, y, n);
}

Expr Value::at_group(Expr k, Expr g, int64_t group_size, Expr x, Expr y, Expr n) const {
    if (group == group_size) return f(k, g, x, y, n);
    return at(g * static_cast<int>(group_size) + k, x, y, n);
}

namespace {

const Var &c = Vars::c, &k = Vars::k, &g = Vars::g, &x = Vars::x, &y = Vars::y, &n = Vars::n;

// Constrains a buffer argument to the exact extents and strides the plan chose
// (segment_plan.h's buffer_layout), so Halide compiles for constants (and
// checks them at run time).
void constrain(OutputImageParam p, const BufferLayout &b) {
    for (size_t d = 0; d < b.extent.size(); d++)
        p.dim(static_cast<int>(d)).set_bounds(0, static_cast<int>(b.extent[d])).set_stride(static_cast<int>(b.stride[d]));
}

// The variables of a Func with this grouping.
std::vector<Var> vars_of(int64_t group) {
    if (group == 0) return {c, x, y, n};
    return {k, g, x, y, n};
}

}  // namespace

Lowering::Lowering(const Graph &graph, const PackedWeights &weights, const SegmentPlan &plan, int segment)
    : g_(graph), packed_(weights), plan_(plan), seg_(plan.segments[segment]), weights_(element_type(), 1, "weights") {
    out_.segment = segment;
    out_.stage_of.assign(graph.nodes.size(), -1);
}

LoweredSegment Lowering::run() {
    weights_.set_host_alignment(64);
    weights_.dim(0).set_min(0);
    out_.arguments.push_back(weights_);
    out_.weights_param = weights_;
    out_.threads.set_range(1, 1024);
    out_.arguments.push_back(out_.threads);
    for (int node : seg_.inputs) {
        // Tensors from other segments arrive as plain 4-D buffers.
        ImageParam p(element_type(), 4, "in_" + c_identifier(g_.nodes[node].name));
        constrain(p, buffer_layout(g_, plan_, node, false));
        Func f("read_" + c_identifier(g_.nodes[node].name));
        f(c, x, y, n) = p(c, x, y, n);
        inputs_[node] = Value{f, 0, g_.nodes[node].shape.c};
        out_.arguments.push_back(p);
        out_.input_params.push_back(p);
    }
    for (int node : seg_.nodes) {
        const OpDef &def = op_def(g_.nodes[node].op);
        if (!def.lower) internal_error(def.name, " '", g_.nodes[node].name, "' cannot be lowered");
        def.lower(*this, node);
    }
    for (int node : seg_.outputs) {
        Value v = value(node);
        if (v.group > 0 && v.group != plan_.grouping[node])
            internal_error("segment ", seg_.name, " writes '", g_.nodes[node].name, "' in groups of ", v.group,
                           ", the plan in groups of ", plan_.grouping[node]);
        constrain(v.f.output_buffer(), buffer_layout(g_, plan_, node, v.group > 0));
        out_.outputs.push_back(v.f);
    }
    return std::move(out_);
}

Value Lowering::value(int node) {
    if (out_.stage_of[node] >= 0) return out_.stages[out_.stage_of[node]].value;
    auto it = inputs_.find(node);
    if (it != inputs_.end()) return it->second;
    if (plan_.concat_view[node]) return Value{concat(g_.nodes[node]), 0, g_.nodes[node].shape.c};
    internal_error("segment ", seg_.name, " reads '", g_.nodes[node].name, "', which is not available");
}

Expr Lowering::weight_at(int64_t offset, Expr index) { return weights_(static_cast<int>(offset) + index); }

Func Lowering::padded(int node, float pad_value, int64_t group) {
    const Shape &s = g_.nodes[node].shape;
    Value in = value(node);
    Func src(in.f.name() + "_view");
    Region bounds;
    if (group == 0) {
        src(c, x, y, n) = in.at(c, x, y, n);
        bounds = {Range(), {0, static_cast<int>(s.w)}, {0, static_cast<int>(s.h)}};
    } else {
        src(k, g, x, y, n) = in.at_group(k, g, group, x, y, n);
        bounds = {Range(), Range(), {0, static_cast<int>(s.w)}, {0, static_cast<int>(s.h)}};
    }
    return BoundaryConditions::constant_exterior(src, pad_value, bounds);
}

Stage &Lowering::add_stage(int index, Stage::Kind kind) {
    const Node &node = g_.nodes[index];
    Stage st;
    st.node = index;
    st.kind = kind;
    st.value = Value{Func(c_identifier(node.name)), plan_.grouping[index], node.shape.c};
    out_.stage_of[index] = static_cast<int>(out_.stages.size());
    out_.stages.push_back(st);
    return out_.stages.back();
}

void Lowering::define(Func f, int64_t group, const ChannelExpr &e) {
    std::vector<Var> v = vars_of(group);
    std::vector<Expr> args(v.begin(), v.end());
    if (group == 0) {
        f(args) = e(c, Expr(), Expr());
    } else {
        f(args) = e(g * static_cast<int>(group) + k, k, g);
    }
}

void Lowering::update(Func f, int64_t group, const ChannelExpr &e) {
    std::vector<Var> v = vars_of(group);
    std::vector<Expr> args(v.begin(), v.end());
    Expr value = group == 0 ? e(c, Expr(), Expr()) : e(g * static_cast<int>(group) + k, k, g);
    f(args) = f(args) + value;
}

Expr Lowering::call(Func f, int64_t group) {
    std::vector<Var> v = vars_of(group);
    return f(std::vector<Expr>(v.begin(), v.end()));
}

Expr Lowering::read(const Value &v, int64_t group, Expr ch, Expr kk, Expr gg, Expr xx, Expr yy, Expr nn) {
    return group == 0 ? v.at(ch, xx, yy, nn) : v.at_group(kk, gg, group, xx, yy, nn);
}

Expr Lowering::activate(const Node &node, Expr e) {
    if (!node.activation.enabled) return e;
    if (node.activation.is_relu()) return clamp_keeping_nan(e, 0.0f, std::numeric_limits<float>::infinity());
    return clamp_keeping_nan(e, node.activation.lo, node.activation.hi);
}

Expr Lowering::clamp_keeping_nan(Expr e, float lo, float hi) {
    // A comparison with a NaN is false: the NaN falls through both selects.
    if (std::isfinite(lo)) e = select(e < lo, lo, e);
    if (std::isfinite(hi)) e = select(e > hi, hi, e);
    return strict_float(e);
}

Expr Lowering::max_keeping_nan(Expr acc, Expr tap) {
    // acc < tap is false for a NaN acc: one maxps(tap, acc) on x86 keeps it. A
    // NaN tap sets every bit of the result (all ones is a NaN): a compare and an
    // or, with no blend (a select of tap on both conditions took four
    // instructions and mask registers on AVX-512: the stem +23%).
    Expr larger = strict_float(select(acc < tap, tap, acc));
    Expr poison = select(strict_float(is_nan(tap)), UInt(32).max(), UInt(32).min());
    return reinterpret(Float(32), reinterpret(UInt(32), larger) | poison);
}

Expr Lowering::shuffle_index(const std::vector<ShuffleStep> &steps, Expr ch) {
    for (const auto &s : steps) ch = shuffle_source<Expr>(s.convention, s.groups, s.channels, ch);
    return ch;
}

Func Lowering::concat(const Node &node) {
    Func f(c_identifier(node.name) + "_concat");
    std::vector<Value> parts;
    for (int in : node.inputs) parts.push_back(value(in));
    // Channels [start_i, start_i + C_i) come from input i.
    std::vector<int> start = {0};
    for (int in : node.inputs) start.push_back(start.back() + static_cast<int>(g_.nodes[in].shape.c));
    Expr e;
    for (size_t i = node.inputs.size(); i-- > 0;) {
        int channels = start[i + 1] - start[i];
        Expr part = parts[i].at(clamp(c - start[i], 0, channels - 1), x, y, n);
        e = e.defined() ? select(c < start[i + 1], part, e) : part;
    }
    f(c, x, y, n) = e;
    return f;
}

LoweredSegment lower_segment(const Graph &graph, const PackedWeights &weights, const SegmentPlan &plan, int segment) {
    return Lowering(graph, weights, plan, segment).run();
}

}  // namespace shufflec
