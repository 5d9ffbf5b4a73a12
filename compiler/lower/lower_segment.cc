#include "lower/lower_segment.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

Var Vars::c("c"), Vars::k("k"), Vars::g("g"), Vars::x("x"), Vars::y("y"), Vars::n("n");

Expr Value::raw_at(Expr ch, Expr x, Expr y, Expr n) const {
    if (group == 0) return f(ch, x, y, n);
    if (group == channels) return f(ch, 0, x, y, n);
    return f(ch % static_cast<int>(group), ch / static_cast<int>(group), x, y, n);
}

Expr Value::raw_at_group(Expr k, Expr g, int64_t group_size, Expr x, Expr y, Expr n) const {
    if (group == group_size) return f(k, g, x, y, n);
    return raw_at(g * static_cast<int>(group_size) + k, x, y, n);
}

Expr Value::real(Expr raw) const {
    if (q.quantized) return cast<float>(raw) * static_cast<float>(q.scale);
    return raw.type() == Float(32) ? raw : cast<float>(raw);
}

Expr Value::at(Expr ch, Expr x, Expr y, Expr n) const { return real(raw_at(ch, x, y, n)); }

Expr Value::at_group(Expr k, Expr g, int64_t group_size, Expr x, Expr y, Expr n) const {
    return real(raw_at_group(k, g, group_size, x, y, n));
}

Type halide_type(Element e) {
    switch (e) {
    case Element::F32: return Float(32);
    case Element::F16: return Float(16);
    case Element::BF16: return BFloat(16);
    case Element::I8: return Int(8);
    case Element::U8: return UInt(8);
    case Element::I16: return Int(16);
    }
    internal_error("element type");
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

// The type of a defined Func's values.
Type stored_type(const Func &f) {
    if (!f.defined()) internal_error("Func '", f.name(), "' has no definition");
    return f.value().type();
}

// The variables of a Func with this grouping.
std::vector<Var> vars_of(int64_t group) {
    if (group == 0) return {c, x, y, n};
    return {k, g, x, y, n};
}

// The name of the weights' second view (PackedWeights::narrow) as a pipeline argument.
const char *narrow_weights_name(Element e) {
    switch (e) {
    case Element::I8: return "weights_i8";
    case Element::F16: return "weights_f16";
    case Element::BF16: return "weights_bf16";
    default: return "weights_none";  // (not an argument)
    }
}

// f's values cast to `t`, as a Func of its own (same variables).
Func cast_func(const Func &f, int64_t group, Type t, const std::string &name) {
    Func out(name);
    std::vector<Var> vars = vars_of(group);
    std::vector<Expr> args(vars.begin(), vars.end());
    out(args) = cast(t, f(args));
    return out;
}

}  // namespace

Lowering::Lowering(const Graph &graph, const PackedWeights &weights, const SegmentPlan &plan, int segment)
    : g_(graph), packed_(weights), plan_(plan), seg_(plan.segments[segment]), weights_(Float(32), 1, "weights"),
      narrow_weights_(halide_type(weights.narrow), 1, narrow_weights_name(weights.narrow)),
      pair_weights_(Int(16), 1, "weights_i16") {
    out_.segment = segment;
    out_.stage_of.assign(graph.nodes.size(), -1);
}

LoweredSegment Lowering::run() {
    weights_.set_host_alignment(64);
    weights_.dim(0).set_min(0);
    out_.arguments.push_back(weights_);
    out_.weights_param = weights_;
    if (packed_.narrow != Element::F32) {
        narrow_weights_.dim(0).set_min(0);
        out_.arguments.push_back(narrow_weights_);
        out_.narrow_weights_param = narrow_weights_;
    }
    if (packed_.pair_weights) {
        pair_weights_.dim(0).set_min(0);
        out_.arguments.push_back(pair_weights_);
        out_.pair_weights_param = pair_weights_;
    }
    out_.threads.set_range(1, 1024);
    out_.arguments.push_back(out_.threads);
    for (int node : seg_.inputs) {
        // Tensors from other segments arrive as plain 4-D buffers.
        BufferLayout layout = buffer_layout(g_, plan_, node, false);
        std::string id = c_identifier(g_.nodes[node].name);
        ImageParam p(halide_type(layout.element), 4, "in_" + id);
        constrain(p, layout);
        Func f("read_" + id);
        f(c, x, y, n) = p(c, x, y, n);
        Value v{f, 0, g_.nodes[node].shape.c, {}, {}};
        if (plan_.int8() && layout.element != Element::F32) v.q = plan_.quant[node];
        // A float tensor of a quantized value (the app's input): quantized as it is read.
        if (plan_.int8() && plan_.quant[node].quantized && layout.element == Element::F32) {
            v = quantized(v, plan_.quant[node], "quantize_" + id);
            v.unrounded = f;
        }
        // fp16 and bf16 models round the app's float input as they read it.
        if (plan_.float_element() != Element::F32) v = rounded_16(v, "half_" + id);
        inputs_[node] = v;
        out_.arguments.push_back(p);
        out_.input_params.push_back(p);
    }
    for (int node : seg_.nodes) {
        const OpDef &def = op_def(g_.nodes[node].op);
        if (!def.lower) internal_error(def.name, " '", g_.nodes[node].name, "' cannot be lowered");
        def.lower(*this, node);
        // int8 models: a quantized value is stored as its integers, rounded in
        // the epilogue of the Func that computes it (the float Func stays inline).
        int st = out_.stage_of[node];
        if (plan_.int8() && plan_.quant[node].quantized && st >= 0 && !out_.stages[st].value.q.quantized) {
            Value &v = out_.stages[st].value;
            v = quantized(v, plan_.quant[node], v.f.name() + "_q");
        }
        // fp16 and bf16 models: every value is rounded to the 16-bit float
        // where it is computed (ops that compute in float32 round their
        // result; fp16 convolutions compute in halves).
        if (plan_.float_element() != Element::F32 && st >= 0) {
            Value &v = out_.stages[st].value;
            v = rounded_16(v, v.f.name() + "_h");
        }
    }
    for (int node : seg_.outputs) {
        Value v = value(node);
        if (v.group > 0 && v.group != plan_.grouping[node])
            internal_error("segment ", seg_.name, " writes '", g_.nodes[node].name, "' in groups of ", v.group,
                           ", the plan in groups of ", plan_.grouping[node]);
        BufferLayout layout = buffer_layout(g_, plan_, node, v.group > 0);
        if (stored_type(v.f) != halide_type(layout.element)) {
            // The app's float output of an fp16 or bf16 model: its 16-bit floats widened.
            if (!stored_type(v.f).is_float() || layout.element != Element::F32)
                internal_error("segment ", seg_.name, " writes '", g_.nodes[node].name, "' as ", stored_type(v.f),
                               " into a buffer of ", halide_type(layout.element));
            v.f = cast_func(v.f, v.group, halide_type(layout.element), v.f.name() + "_out");
        }
        constrain(v.f.output_buffer(), layout);
        out_.outputs.push_back(v.f);
    }
    return std::move(out_);
}

Value Lowering::value(int node) {
    if (out_.stage_of[node] >= 0) return out_.stages[out_.stage_of[node]].value;
    auto it = inputs_.find(node);
    if (it != inputs_.end()) return it->second;
    if (plan_.concat_view[node]) {
        Value v{concat(g_.nodes[node]), 0, g_.nodes[node].shape.c, {}, {}};
        // Its parts hold its integers (or 16-bit floats) already: rounding
        // their real values again is exact, and gives readers the stored type.
        if (plan_.int8() && plan_.quant[node].quantized) v = quantized(v, plan_.quant[node], v.f.name() + "_q");
        if (plan_.float_element() != Element::F32) v = rounded_16(v, v.f.name() + "_h");
        return v;
    }
    internal_error("segment ", seg_.name, " reads '", g_.nodes[node].name, "', which is not available");
}

Expr Lowering::weight_at(int64_t offset, Expr index) { return weights_(static_cast<int>(offset) + index); }

Expr Lowering::weight_int_at(const PackedArray &array, Expr index) {
    if (packed_.narrow != Element::I8) internal_error("int8 weights in a float model");
    return narrow_weights_(static_cast<int>(array.offset * 4) + index);
}

Expr Lowering::weight_pair_at(const PackedArray &array, Expr index) {
    if (!packed_.pair_weights) internal_error("int16 pair weights in another model");
    return pair_weights_(static_cast<int>(array.offset * 2) + index);
}

Expr Lowering::weight_half_at(int64_t offset, Expr index) {
    if (plan_.float_element() == Element::F32) internal_error("16-bit float weights in another model");
    return narrow_weights_(static_cast<int>(offset) + index);
}

Expr Lowering::table_at(const PackedArray &table, const std::string &name, Expr index, int lo, int hi) {
    // For the autoschedulers, from the weights and clamped (they reject the
    // promise, and Mullapudi2016 fails on a constant buffer).
    if (!packed_.promise_table_ranges) return clamp(reinterpret<int32_t>(weight_at(table.offset, index)), lo, hi);
    Buffer<int32_t> entries(static_cast<int>(table.floats), name);
    for (int64_t i = 0; i < table.floats; i++) {
        int32_t v;
        std::memcpy(&v, &packed_.data[static_cast<size_t>(table.offset + i)], sizeof v);
        if (v < lo || v > hi) internal_error("table '", name, "' entry ", i, " = ", v, " outside [", lo, ", ", hi, "]");
        entries(static_cast<int>(i)) = v;
    }
    return unsafe_promise_clamped(entries(index), lo, hi);
}

Value Lowering::rounded_16(const Value &v, const std::string &name) const {
    Type t = halide_type(plan_.float_element());
    if (v.q.quantized) internal_error("a 16-bit float model with a quantized value");
    if (stored_type(v.f) == t) return v;
    Value out = v;
    out.f = cast_func(v.f, v.group, t, name);
    return out;
}

Value Lowering::quantized(const Value &real, const ValueQuant &q, const std::string &name) const {
    Value out = real;
    out.q = q;
    out.f = Func(name);
    std::vector<Var> v = vars_of(real.group);
    std::vector<Expr> args(v.begin(), v.end());
    // q = saturate(round_half_even(x / scale)), as the reference (quantize/quantization.h).
    Expr value = real.q.quantized ? real.real(real.f(args)) : Expr(real.f(args));
    Type t = q.is_unsigned ? UInt(8) : Int(8);
    out.f(args) = stored_steps(value * static_cast<float>(1.0 / q.scale), q.is_unsigned ? 0 : -128, q.is_unsigned ? 255 : 127, t);
    return out;
}


Func Lowering::padded(int node, float pad_value, int64_t group) { return exterior(node, group, false, pad_value); }

Func Lowering::padded_raw(int node, int64_t group, float pad_value) { return exterior(node, group, true, pad_value); }

Func Lowering::padded_steps(int node) {
    const Shape &s = g_.nodes[node].shape;
    return BoundaryConditions::constant_exterior(unpadded_steps(node), 0.0f,
                                                 {Range(), {0, static_cast<int>(s.w)}, {0, static_cast<int>(s.h)}});
}

Func Lowering::unpadded(int node, bool raw) {
    Value in = value(node);
    if (raw && !in.q.quantized && plan_.float_element() == Element::F32) internal_error("'", g_.nodes[node].name, "' is not stored narrow");
    Func src(in.f.name() + (raw ? "_raw_view" : "_view"));
    src(c, x, y, n) = raw ? in.raw_at(c, x, y, n) : in.at(c, x, y, n);
    return src;
}

Func Lowering::unpadded_steps(int node) {
    Value in = value(node);
    if (!in.q.quantized) internal_error("'", g_.nodes[node].name, "' is not quantized");
    Func steps(in.f.name() + "_steps");
    if (!in.unrounded.defined()) {
        steps(c, x, y, n) = cast<float>(unpadded(node, true)(c, x, y, n));
        return steps;
    }
    // Halide's round is to nearest even, as stored_steps' (one vroundps or
    // frintn per vector on the targets without a dot product, which take this).
    const float lo = in.q.is_unsigned ? 0.0f : -128.0f, hi = in.q.is_unsigned ? 255.0f : 127.0f;
    steps(c, x, y, n) = round(clamp(in.unrounded(c, x, y, n) * static_cast<float>(1.0 / in.q.scale), lo, hi));
    return steps;
}

Func Lowering::exterior(int node, int64_t group, bool raw, Expr pad_value) {
    const Shape &s = g_.nodes[node].shape;
    Value in = value(node);
    if (raw && !in.q.quantized && plan_.float_element() == Element::F32) internal_error("'", g_.nodes[node].name, "' is not stored narrow");
    if (raw) {
        // Integers pad with zero, or with their lowest value for -infinity (max pooling).
        Type t = stored_type(in.f);
        const double *v = Internal::as_const_float(pad_value);
        bool lowest = v && std::isinf(*v) && *v < 0;
        if (!t.is_float() && !Internal::is_const_zero(pad_value) && !lowest) internal_error("integers padded with ", pad_value);
        pad_value = t.is_float() ? cast(t, pad_value) : lowest ? t.min() : Internal::make_zero(t);
    }
    Func src;
    Region bounds;
    if (group == 0) {
        src = unpadded(node, raw);
        bounds = {Range(), {0, static_cast<int>(s.w)}, {0, static_cast<int>(s.h)}};
    } else {
        src = Func(in.f.name() + (raw ? "_raw_view" : "_view"));
        src(k, g, x, y, n) = raw ? in.raw_at_group(k, g, group, x, y, n) : in.at_group(k, g, group, x, y, n);
        bounds = {Range(), Range(), {0, static_cast<int>(s.w)}, {0, static_cast<int>(s.h)}};
    }
    return BoundaryConditions::constant_exterior(src, pad_value, bounds);
}

Stage &Lowering::add_stage(int index, Stage::Kind kind) {
    const Node &node = g_.nodes[index];
    Stage st;
    st.node = index;
    st.kind = kind;
    st.value = Value{Func(c_identifier(node.name)), plan_.grouping[index], node.shape.c, {}, {}};
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

Expr Lowering::read_raw(const Value &v, int64_t group, Expr ch, Expr kk, Expr gg, Expr xx, Expr yy, Expr nn) {
    return group == 0 ? v.raw_at(ch, xx, yy, nn) : v.raw_at_group(kk, gg, group, xx, yy, nn);
}

Expr Lowering::activate(const Node &node, Expr e) {
    if (!node.activation.enabled) return e;
    if (node.activation.is_relu()) return clamp_keeping_nan(e, 0.0f, std::numeric_limits<float>::infinity());
    return clamp_keeping_nan(e, node.activation.lo, node.activation.hi);
}

bool Lowering::activation_steps(const Node &node, const ValueQuant &out, int *lo, int *hi) {
    double l = out.is_unsigned ? 0 : -128, h = out.is_unsigned ? 255 : 127;
    if (node.activation.enabled) {
        if (std::isfinite(node.activation.lo)) l = std::max(l, std::nearbyint(node.activation.lo / out.scale));
        if (std::isfinite(node.activation.hi)) h = std::min(h, std::nearbyint(node.activation.hi / out.scale));
    }
    *lo = static_cast<int>(l), *hi = static_cast<int>(h);
    return l <= h;
}

Expr Lowering::stored_steps(Expr t, int lo, int hi, Type stored) {
    // 1.5 x 2^23: for |v| <= 2^22 the sum's exponent is fixed, its ulp is 1,
    // and its bits are those of the magic plus round_half_even(v) (the FPU's
    // default rounding), whose low byte is the stored integer's (the magic's
    // is zero): a truncating narrow (vpmovdb) stores it. No reassociation
    // reaches the sum through the clamp's min and max (Halide's fast-math
    // flags would allow it on a plain sum).
    constexpr float magic = 12582912.0f;
    if (lo > hi || lo < -(1 << 22) || hi > (1 << 22)) internal_error("stored steps [", lo, ", ", hi, "]");
    Expr v = clamp(t, static_cast<float>(lo), static_cast<float>(hi));
    return cast(stored, reinterpret<int32_t>(v + magic));
}

Expr Lowering::clamp_keeping_nan(Expr e, float lo, float hi) {
    // A comparison with a NaN is false: the NaN falls through both selects.
    // The bounds take e's type (halves in an fp16 model's convolutions).
    if (std::isfinite(lo)) {
        Expr bound = Internal::make_const(e.type(), lo);
        e = select(e < bound, bound, e);
    }
    if (std::isfinite(hi)) {
        Expr bound = Internal::make_const(e.type(), hi);
        e = select(e > bound, bound, e);
    }
    return strict_float(e);
}

Expr Lowering::max_keeping_nan(Expr acc, Expr tap) const {
    // ARM: fmax returns a NaN operand (Halide's float32 max, scalar or vector):
    // one instruction where the form below took seven (V1 1x g3's max pool:
    // see bench/results/qemu_aarch64_counts.md).
    if (packed_.max_keeps_nan && acc.type() == Float(32)) return max(acc, tap);
    if (!acc.type().is_float()) return max(acc, tap);  // integers have no NaN
    // acc < tap is false for a NaN acc: one maxps(tap, acc) on x86 keeps it. A
    // NaN tap sets every bit of the result (all ones is a NaN): a compare and an
    // or, with no blend (a select of tap on both conditions took four
    // instructions and mask registers on AVX-512: the stem +23%).
    Expr larger = strict_float(select(acc < tap, tap, acc));
    Type bits = UInt(acc.type().bits());
    // (Halide 14 cannot emulate is_nan on halves: their bits say it, exponent all ones and a mantissa.)
    Expr nan = acc.type() == Float(16) ? (reinterpret(bits, tap) & 0x7fff) > 0x7c00 : strict_float(is_nan(tap));
    Expr poison = select(nan, bits.max(), bits.min());
    return reinterpret(acc.type(), reinterpret(bits, larger) | poison);
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
