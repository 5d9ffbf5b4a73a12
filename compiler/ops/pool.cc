// maxpool and avgpool: windows over each channel. Max pooling's padding never
// wins (it acts as -inf); average pooling follows PyTorch's divisor rules
// (count_include_pad counts padding cells, not cells beyond it).
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "ops/window.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

void parse_max(const JsonView &e, Node &node) { parse_window(e, node, true); }

void parse_avg(const JsonView &e, Node &node) {
    parse_window(e, node, true);
    node.count_include_pad = e.get_bool("count_include_pad", true);
}

Shape infer(const Graph &g, Node &node) {
    if (node.pad_top >= node.kernel_h || node.pad_bottom >= node.kernel_h || node.pad_left >= node.kernel_w ||
        node.pad_right >= node.kernel_w)
        fail(node.origin, ": ", op_name(node.op), " '", node.name, "': padding must be smaller than the kernel");
    const Shape &x = g.nodes[node.inputs[0]].shape;
    return window_output(node, x, x.c);
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    const Shape &o = node.shape, &xs = *in[0].shape;
    bool is_max = node.op == Op::MaxPool;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t c = 0; c < o.c; c++)
            for (int64_t oy = 0; oy < o.h; oy++)
                for (int64_t ox = 0; ox < o.w; ox++) {
                    double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
                    int64_t count = 0, padded_count = 0;
                    for (int ky = 0; ky < node.kernel_h; ky++)
                        for (int kx = 0; kx < node.kernel_w; kx++) {
                            int64_t iy = oy * node.stride_h + ky - node.pad_top;
                            int64_t ix = ox * node.stride_w + kx - node.pad_left;
                            // PyTorch counts padding cells (not cells beyond it) in the divisor.
                            if (iy < xs.h + node.pad_bottom && ix < xs.w + node.pad_right) padded_count++;
                            if (iy < 0 || iy >= xs.h || ix < 0 || ix >= xs.w) continue;
                            double v = in[0].at(n, c, iy, ix);
                            acc = !is_max ? acc + v : v > acc || std::isnan(v) ? v : acc;  // max keeps a NaN, as PyTorch
                            count++;
                        }
                    if (!is_max) acc /= static_cast<double>(node.count_include_pad ? padded_count : count);
                    out[((n * o.c + c) * o.h + oy) * o.w + ox] = static_cast<float>(acc);
                }
    return out;
}

// The window areas (divisors) an average pool's outputs take, as count() in lower().
std::set<int> window_areas(const Node &node, const Shape &in, const Shape &out) {
    auto counts = [&](int64_t outs, int stride, int pad_a, int pad_b, int kernel, int64_t size) {
        std::set<int64_t> c;
        for (int64_t o = 0; o < outs; o++) {
            int64_t start = o * stride - pad_a, end = std::min<int64_t>(start + kernel, size + pad_b);
            if (!node.count_include_pad) start = std::max<int64_t>(start, 0), end = std::min(end, size);
            c.insert(end - start);
        }
        return c;
    };
    std::set<int> areas;
    for (int64_t h : counts(out.h, node.stride_h, node.pad_top, node.pad_bottom, node.kernel_h, in.h))
        for (int64_t w : counts(out.w, node.stride_w, node.pad_left, node.pad_right, node.kernel_w, in.w))
            areas.insert(static_cast<int>(h * w));
    return areas;
}

// An int8 model's average pool of a quantized tensor stored quantized
// (ShuffleNet V1's stride-2 shortcut, into its concat) sums the stored
// integers in 16 bits (at most 128 taps of 255: uaddw, saddw) and scales the
// sum to the output's steps by the scale ratio / the window's area, rounded
// to its integers: in fixed point (ARM) a 32-bit multiplier per area and one
// rounding shift, unless a multiplier is exact (an exact one can meet a tie,
// which the reference rounds to even); else in float. Returns the scale
// ratio, or 0 where the pool computes in float.
double integer_average_ratio(const Lowering &L, int index) {
    const Node &node = L.node(index);
    if (node.op != Op::AvgPool || !L.plan().int8()) return 0;
    const ValueQuant &in_q = L.plan().quant[node.inputs[0]], &out_q = L.plan().quant[static_cast<size_t>(index)];
    if (!in_q.quantized || !out_q.quantized || int64_t{node.kernel_h} * node.kernel_w * 255 >= 32768) return 0;
    return in_q.scale / out_q.scale;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    const Var &x = Vars::x, &y = Vars::y, &n = Vars::n, &c = Vars::c, &k = Vars::k, &g = Vars::g;
    bool is_max = node.op == Op::MaxPool;
    int64_t group = L.grouping(index);
    Stage &st = L.add_stage(index, is_max ? Stage::MaxPool : Stage::AvgPool);
    const Shape &s = L.graph().nodes[node.inputs[0]].shape;
    const float lowest = -std::numeric_limits<float>::infinity();
    // An fp16 model's max pool compares its halves (exact, no conversions);
    // an int8 model's, of a quantized tensor whose scale it keeps (quantize:
    // calibrate.cc), the stored integers: the max of rounded values is the
    // rounded max, so its value is those integers, never requantized.
    bool halves = is_max && L.plan().fp16();
    const ValueQuant *keep = nullptr;
    if (is_max && L.plan().int8()) {
        const ValueQuant &in_q = L.plan().quant[node.inputs[0]], &out_q = L.plan().quant[index];
        if (in_q.quantized && out_q.quantized && in_q.scale == out_q.scale && in_q.is_unsigned == out_q.is_unsigned)
            keep = &out_q;
    }
    const double ratio = integer_average_ratio(L, index);
    Func in = halves || keep ? L.padded_raw(node.inputs[0], group, lowest)
              : ratio > 0    ? L.padded_raw(node.inputs[0], group, 0.0f)
                             : L.padded(node.inputs[0], is_max ? lowest : 0.0f, group);
    RDom r(0, node.kernel_w, 0, node.kernel_h, "r");
    st.r = {r};
    Expr ix = x * node.stride_w + r.x - node.pad_left, iy = y * node.stride_h + r.y - node.pad_top;
    auto tap = [&](Expr ch, Expr kk, Expr gg) { return group == 0 ? in(ch, ix, iy, n) : in(kk, gg, ix, iy, n); };
    st.acc = Func(c_identifier(node.name) + "_acc");
    Func acc = st.acc;
    if (is_max) {
        Type integers = keep && keep->is_unsigned ? UInt(8) : Int(8);
        Lowering::define(acc, group, [&](Expr, Expr, Expr) {
            return halves ? cast(Float(16), lowest) : keep ? integers.min() : Expr(lowest);
        });
        if (keep) st.value.q = *keep;
        std::vector<Expr> args = group == 0 ? std::vector<Expr>{c, x, y, n} : std::vector<Expr>{k, g, x, y, n};
        acc(args) = L.max_keeping_nan(acc(args), group == 0 ? tap(c, Expr(), Expr()) : tap(Expr(), k, g));
        Lowering::define(st.value.f, group, [&](Expr, Expr, Expr) { return Lowering::call(acc, group); });
        return;
    }
    // PyTorch's divisor: the window clipped to the padded input, or to the input itself.
    auto count = [&](Expr out, int stride, int pad_a, int pad_b, int kernel, int64_t size) {
        Expr start = out * stride - pad_a;
        Expr end = min(start + kernel, static_cast<int>(size) + pad_b);
        if (!node.count_include_pad) start = max(start, 0), end = min(end, static_cast<int>(size));
        return end - start;
    };
    Expr area = count(y, node.stride_h, node.pad_top, node.pad_bottom, node.kernel_h, s.h) *
                count(x, node.stride_w, node.pad_left, node.pad_right, node.kernel_w, s.w);
    if (ratio == 0) {
        Lowering::define(acc, group, [&](Expr, Expr, Expr) { return Expr(0.0f); });
        Lowering::update(acc, group, tap);
        Lowering::define(st.value.f, group, [&](Expr, Expr, Expr) { return Lowering::call(acc, group) / cast<float>(area); });
        return;
    }
    const ValueQuant &out_q = L.plan().quant[static_cast<size_t>(index)];
    const Type sum_type = L.plan().quant[node.inputs[0]].is_unsigned ? UInt(16) : Int(16);
    Lowering::define(acc, group, [&](Expr, Expr, Expr) { return Internal::make_zero(sum_type); });
    Lowering::update(acc, group, [&](Expr ch, Expr kk, Expr gg) { return cast(sum_type, tap(ch, kk, gg)); });
    // Each area's multiplier (a select over the few areas the outputs have).
    const std::set<int> areas = window_areas(node, s, node.shape);
    auto per_area = [&](const std::function<Expr(int)> &value) {
        Expr e = value(*areas.rbegin());
        for (auto it = std::next(areas.rbegin()); it != areas.rend(); ++it) e = select(area == *it, value(*it), e);
        return e;
    };
    // The largest sum times the largest multiplier below 2^30.
    const int bits = static_cast<int>(std::floor(30 - std::log2(255 * ratio)));
    bool fixed = L.fixed_point() && bits >= 12;
    for (int a : areas) {
        double m = std::ldexp(ratio / a, bits);
        fixed = fixed && m != std::nearbyint(m);
    }
    const int lo = out_q.is_unsigned ? 0 : -128, hi = out_q.is_unsigned ? 255 : 127;
    const Type stored = out_q.is_unsigned ? UInt(8) : Int(8);
    Lowering::define(st.value.f, group, [&](Expr, Expr, Expr) {
        Expr sum = Lowering::call(acc, group);
        if (fixed) {
            Expr m = per_area([&](int a) { return Expr(static_cast<int32_t>(std::llround(std::ldexp(ratio / a, bits)))); });
            return cast(stored, clamp(Internal::rounding_shift_right(cast<int32_t>(sum) * m, bits), lo, hi));
        }
        Expr m = per_area([&](int a) { return Expr(static_cast<float>(ratio / a)); });
        return Lowering::stored_steps(cast<float>(sum) * m, lo, hi, stored);
    });
    st.value.q = out_q;
}

void import_onnx(OnnxNodeImport &o) {
    o.allow_attrs({"kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad", "auto_pad", "dilations",
                   "storage_order"});
    std::vector<int64_t> k = o.attr_ints("kernel_shape", {});
    if (k.size() != 2) o.error("kernel_shape must have 2 values");
    if (o.has_attr("dilations") && o.two("dilations") != std::vector<int64_t>{1, 1})
        o.error("dilated pooling is not supported");
    std::vector<int64_t> stride = o.two("strides"), pads = o.pads(), own = pads;
    bool avg = o.op_type() == "AveragePool";
    OnnxTensor in = o.tensor_through_pad(0, pads, avg);
    bool include = o.attr_int("count_include_pad", 0) != 0;
    if (pads != own) {  // a zero Pad node before: those zeros count, like count_include_pad
        if (own != std::vector<int64_t>{0, 0, 0, 0} && !include)
            o.error("a Pad node before an average pool that also pads without counting is not supported");
        include = true;
    }
    nlohmann::ordered_json e = {{"op", avg ? "avgpool" : "maxpool"}, {"name", o.layer_name()}, {"kernel", k},
                                {"stride", stride}, {"pad", pads}};
    if (avg) e["count_include_pad"] = include;
    if (o.attr_int("ceil_mode", 0) != 0 && in.shape.size() == 4) {
        // Output sizes rounded up, as PyTorch: a last window that starts inside the
        // input (or its top/left padding) and hangs over it. For a max pool that is
        // more bottom/right padding (padding never wins); an average pool would
        // count those cells, so it is refused when it has such a window.
        for (int axis = 0; axis < 2; axis++) {
            int64_t size = in.shape[2 + axis], before = pads[axis], after = pads[2 + axis];
            int64_t span = size + before + after - k[axis];
            if (span < 0) break;  // window_output names the error
            int64_t out = (span + stride[axis] - 1) / stride[axis] + 1;
            if ((out - 1) * stride[axis] >= size + before) out--;
            int64_t extra = (out - 1) * stride[axis] - span;
            if (extra <= 0) continue;
            if (avg) o.error("ceil_mode 1 with a window past the padded input is supported for MaxPool only");
            pads[2 + axis] += extra;
        }
        e["pad"] = pads;
    }
    o.emit(e, {in.layer}, o.window_output(in.shape, in.shape.size() == 4 ? in.shape[1] : 0, k[0], k[1], stride, pads));
}

}  // namespace

const OpDef &maxpool_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::MaxPool;
        d.name = "maxpool";
        d.fields = {"kernel", "stride", "pad"};
        d.parse = parse_max;
        d.infer = infer;
        d.reference = reference;
        d.grouping = input_grouping;
        d.lower = lower;
        d.onnx_ops = {"MaxPool"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

const OpDef &avgpool_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::AvgPool;
        d.name = "avgpool";
        d.fields = {"kernel", "stride", "pad", "count_include_pad"};
        d.parse = parse_avg;
        d.infer = infer;
        d.reference = reference;
        d.grouping = input_grouping;
        d.lower = lower;
        d.onnx_ops = {"AveragePool"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
