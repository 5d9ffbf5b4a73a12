#include "lower/lower_segment.h"

#include <cmath>
#include <functional>
#include <limits>

#include "util/error.h"

namespace shufflec {

using namespace Halide;

Var Vars::c("c"), Vars::k("k"), Vars::g("g"), Vars::x("x"), Vars::y("y"), Vars::n("n");

int64_t WeightBlob::append(const std::vector<float> &values) {
    int64_t offset = size();
    arrays.push_back({offset, static_cast<int64_t>(values.size())});
    data.insert(data.end(), values.begin(), values.end());
    data.resize((data.size() + 15) / 16 * 16, 0.0f);
    return offset;
}

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

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Constrains a buffer argument to the exact extents and strides the plan chose,
// so Halide compiles for constants (and checks them at run time).
void constrain(OutputImageParam p, const Shape &s, const Placement &place, int64_t group) {
    std::vector<std::pair<int64_t, int64_t>> dims;  // extent, stride
    if (group == 0) {
        dims = {{s.c, place.stride[0]}};
    } else {
        dims = {{group, place.stride[0]}, {s.c / group, group * place.stride[0]}};
    }
    dims.push_back({s.w, place.stride[1]});
    dims.push_back({s.h, place.stride[2]});
    dims.push_back({s.n, place.stride[3]});
    for (size_t d = 0; d < dims.size(); d++)
        p.dim(static_cast<int>(d)).set_bounds(0, static_cast<int>(dims[d].first)).set_stride(static_cast<int>(dims[d].second));
}

// The variables of a Func with this grouping, and a Halide call of it.
std::vector<Var> vars_of(int64_t group) {
    if (group == 0) return {c, x, y, n};
    return {k, g, x, y, n};
}

class SegmentLowering {
public:
    SegmentLowering(const Graph &graph, const Weights &weights, const SegmentPlan &plan, int segment, WeightBlob &blob)
        : g_(graph), w_(weights), plan_(plan), seg_(plan.segments[segment]), blob_(blob),
          weights_(element_type(), 1, "weights") {
        out_.segment = segment;
        out_.stage_of.assign(graph.nodes.size(), -1);
    }

    LoweredSegment run() {
        weights_.set_host_alignment(64);
        weights_.dim(0).set_min(0);  // the extent grows as later segments append weights
        out_.arguments.push_back(weights_);
        out_.weights_param = weights_;
        out_.threads.set_range(1, 1024);
        out_.arguments.push_back(out_.threads);
        for (int node : seg_.inputs) {
            // Tensors from other segments arrive as plain 4-D buffers.
            ImageParam p(element_type(), 4, "in_" + c_identifier(g_.nodes[node].name));
            constrain(p, g_.nodes[node].shape, plan_.placement[node], 0);
            Func f("read_" + c_identifier(g_.nodes[node].name));
            f(c, x, y, n) = p(c, x, y, n);
            inputs_[node] = Value{f, 0, g_.nodes[node].shape.c};
            out_.arguments.push_back(p);
            out_.input_params.push_back(p);
        }
        for (int node : seg_.nodes) lower(node);
        for (int node : seg_.outputs) {
            Value v = value(node);
            constrain(v.f.output_buffer(), g_.nodes[node].shape, plan_.placement[node], v.group);
            out_.outputs.push_back(v.f);
        }
        return std::move(out_);
    }

private:
    // The value of a node as seen from this segment.
    Value value(int node) {
        if (out_.stage_of[node] >= 0) return out_.stages[out_.stage_of[node]].value;
        auto it = inputs_.find(node);
        if (it != inputs_.end()) return it->second;
        if (plan_.concat_view[node]) return Value{concat(g_.nodes[node]), 0, g_.nodes[node].shape.c};
        fail("internal: segment ", seg_.name, " reads '", g_.nodes[node].name, "', which is not available");
    }

    Expr weight_at(int64_t offset, Expr index) { return weights_(static_cast<int>(offset) + index); }

    // `in` read with a border of `pad_value` outside the input's [0, W) x [0, H),
    // in the grouping `group` (0: over c). Halide's constant_exterior marks the
    // interior as likely, so loops split into a border part and an interior part
    // free of clamps and selects.
    Func padded(int node, float pad_value, int64_t group) {
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

    Stage &add_stage(int index, Stage::Kind kind) {
        const Node &node = g_.nodes[index];
        Stage st;
        st.node = index;
        st.kind = kind;
        st.value = Value{Func(c_identifier(node.name)), plan_.grouping[index], node.shape.c};
        out_.stage_of[index] = static_cast<int>(out_.stages.size());
        out_.stages.push_back(st);
        return out_.stages.back();
    }

    // Defines f at this stage's variables: f(vars) = e(channel expression for
    // 4-D, or (k, g) for grouped).
    static void define(Func f, int64_t group, const std::function<Expr(Expr ch, Expr kk, Expr gg)> &e) {
        std::vector<Var> v = vars_of(group);
        std::vector<Expr> args(v.begin(), v.end());
        if (group == 0) {
            f(args) = e(c, Expr(), Expr());
        } else {
            f(args) = e(g * static_cast<int>(group) + k, k, g);
        }
    }

    // Reads `v` at the current stage's channel (grouped or not).
    static Expr read(const Value &v, int64_t group, Expr ch, Expr kk, Expr gg, Expr xx, Expr yy, Expr nn) {
        return group == 0 ? v.at(ch, xx, yy, nn) : v.at_group(kk, gg, group, xx, yy, nn);
    }

    static Expr relu_if(bool on, Expr e) { return on ? max(e, 0.0f) : e; }

    void lower(int index) {
        const Node &node = g_.nodes[index];
        int64_t group = plan_.grouping[index];
        auto elementwise = [&](const std::function<Expr(Expr ch, Expr kk, Expr gg)> &e) {
            Stage &st = add_stage(index, Stage::Elementwise);
            define(st.value.f, group, e);
        };
        auto input = [&](size_t i) { return value(node.inputs[i]); };
        switch (node.op) {
        case Op::Conv: return conv(node, index);
        case Op::Dense: return dense(node, index);
        case Op::MaxPool:
        case Op::AvgPool: return pool(node, index);
        case Op::GlobalAvgPool: {
            Stage &st = add_stage(index, Stage::GlobalPool);
            const Shape &s = g_.nodes[node.inputs[0]].shape;
            Value in = input(0);
            st.acc = Func(st.value.f.name() + "_sum");
            st.r = RDom(0, static_cast<int>(s.w), 0, static_cast<int>(s.h), "r");
            RDom r = st.r;
            define(st.acc, group, [&](Expr, Expr, Expr) { return Expr(0.0f); });
            update(st.acc, group, [&](Expr ch, Expr kk, Expr gg) { return read(in, group, ch, kk, gg, r.x, r.y, n); });
            Func acc = st.acc;
            define(st.value.f, group, [&](Expr, Expr, Expr) {
                return call(acc, group) * (1.0f / static_cast<float>(s.w * s.h));
            });
            return;
        }
        case Op::BatchNorm: {
            // Not after a conv (those are folded): a per-channel affine map.
            const Shape &s = node.shape;
            std::vector<float> scale(s.c), shift(s.c);
            const auto &gamma = w_.at(node.param("weight")->tensor).data, &beta = w_.at(node.param("bias")->tensor).data;
            const auto &mean = w_.at(node.param("running_mean")->tensor).data;
            const auto &var = w_.at(node.param("running_var")->tensor).data;
            for (int64_t i = 0; i < s.c; i++) {
                double sc = gamma[i] / std::sqrt(static_cast<double>(var[i]) + node.eps);
                scale[i] = static_cast<float>(sc);
                shift[i] = static_cast<float>(beta[i] - mean[i] * sc);
            }
            int64_t so = blob_.append(scale), ho = blob_.append(shift);
            Value in = input(0);
            return elementwise([&](Expr ch, Expr kk, Expr gg) {
                return read(in, group, ch, kk, gg, x, y, n) * weight_at(so, ch) + weight_at(ho, ch);
            });
        }
        case Op::Relu: {
            Value in = input(0);
            return elementwise([&](Expr ch, Expr kk, Expr gg) { return max(read(in, group, ch, kk, gg, x, y, n), 0.0f); });
        }
        case Op::Sigmoid: {
            Value in = input(0);
            return elementwise([&](Expr ch, Expr kk, Expr gg) {
                return 1.0f / (1.0f + exp(-read(in, group, ch, kk, gg, x, y, n)));
            });
        }
        case Op::Add: {
            Value a = input(0), b = input(1);
            return elementwise([&](Expr ch, Expr kk, Expr gg) {
                return relu_if(node.fused_relu, read(a, group, ch, kk, gg, x, y, n) + read(b, group, ch, kk, gg, x, y, n));
            });
        }
        case Op::ChannelScale: {
            Value a = input(0), s = input(1);
            return elementwise([&](Expr ch, Expr kk, Expr gg) {
                return read(a, group, ch, kk, gg, x, y, n) * read(s, group, ch, kk, gg, 0, 0, n);
            });
        }
        case Op::Concat: {
            Func f = concat(node);
            return elementwise([&](Expr ch, Expr, Expr) { return f(ch, x, y, n); });
        }
        case Op::ChannelShuffle: {
            // Only when a non-conv reads the shuffle; still an index expression, never a copy.
            Value in = input(0);
            std::vector<ShuffleStep> steps = {{node.shuffle, node.groups, node.shape.c}};
            return elementwise([&](Expr ch, Expr, Expr) { return in.at(shuffle_index(steps, ch), x, y, n); });
        }
        case Op::Flatten: {
            const Shape &s = g_.nodes[node.inputs[0]].shape;
            Value in = input(0);
            int hw = static_cast<int>(s.h * s.w), w = static_cast<int>(s.w);
            return elementwise([&](Expr ch, Expr, Expr) { return in.at(ch / hw, (ch % hw) % w, (ch % hw) / w, n); });
        }
        case Op::Softmax: {
            // exp(x - max) / sum(exp(x - max)) over channels, per pixel.
            Value in = input(0);
            RDom rc(0, static_cast<int>(node.shape.c), "rc");
            Func peak(c_identifier(node.name) + "_max"), total(c_identifier(node.name) + "_sum");
            peak(x, y, n) = maximum(in.at(rc, x, y, n));
            total(x, y, n) = sum(exp(in.at(rc, x, y, n) - peak(x, y, n)));
            Stage &st = add_stage(index, Stage::Elementwise);
            st.helpers = {peak, total};
            st.value.f(c, x, y, n) = exp(in.at(c, x, y, n) - peak(x, y, n)) / total(x, y, n);
            return;
        }
        case Op::Input: break;
        }
        fail("internal: cannot lower ", op_name(node.op));
    }

    // f(vars of `group`) as an Expr.
    static Expr call(Func f, int64_t group) {
        std::vector<Var> v = vars_of(group);
        return f(std::vector<Expr>(v.begin(), v.end()));
    }

    // f(vars) += e(...) (a reduction's update).
    static void update(Func f, int64_t group, const std::function<Expr(Expr ch, Expr kk, Expr gg)> &e) {
        std::vector<Var> v = vars_of(group);
        std::vector<Expr> args(v.begin(), v.end());
        Expr value = group == 0 ? e(c, Expr(), Expr()) : e(g * static_cast<int>(group) + k, k, g);
        f(args) = f(args) + value;
    }

    // The channel a conv reads for logical channel `ch`: the folded shuffles as arithmetic.
    static Expr shuffle_index(const std::vector<ShuffleStep> &steps, Expr ch) {
        for (const auto &s : steps) {
            int gs = static_cast<int>(s.groups), per = static_cast<int>(s.channels / s.groups);
            ch = s.convention == ShuffleConvention::Paper ? (ch % gs) * per + ch / gs  // out[j*g+i] = in[i*n+j]
                                                          : (ch % per) * gs + ch / per;  // out[b*n+a] = in[a*g+b]
        }
        return ch;
    }

    Func concat(const Node &node) {
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

    // Appends per-group weights padded to whole vectors: values(grp, k, i) for
    // k < per_group, zeros for the padding, laid out [grp][i][k_padded].
    int64_t append_grouped(int64_t groups, int64_t per_group, int64_t inner,
                           const std::function<float(int64_t grp, int64_t kk, int64_t i)> &values) {
        int64_t padded = round_up(per_group, kGroupPadding);
        std::vector<float> laid(static_cast<size_t>(groups * inner * padded), 0.0f);
        for (int64_t gi = 0; gi < groups; gi++)
            for (int64_t i = 0; i < inner; i++)
                for (int64_t kk = 0; kk < per_group; kk++) laid[(gi * inner + i) * padded + kk] = values(gi, kk, i);
        return blob_.append(laid);
    }

    void conv(const Node &node, int index) {
        const Shape &in_shape = g_.nodes[node.inputs[0]].shape;
        int64_t group = plan_.grouping[index];
        int64_t cout = node.out_channels, cin_g = in_shape.c / node.groups;
        int kh = node.kernel_h, kw = node.kernel_w, taps = kh * kw;
        bool depthwise = cin_g == 1 && node.groups == in_shape.c && cout == in_shape.c && node.input_shuffles.empty();
        bool pointwise = kh == 1 && kw == 1 && node.stride_h == 1 && node.stride_w == 1 &&
                         node.pad_top + node.pad_left + node.pad_bottom + node.pad_right == 0;
        Stage &st = add_stage(index, depthwise ? Stage::Depthwise : pointwise ? Stage::Pointwise : Stage::Conv);
        int64_t groups = cout / group;  // groups of the value's grouping
        int64_t padded_group = round_up(group, kGroupPadding);

        const auto &w = w_.at(node.param("weight")->tensor).data;
        const float *bias = node.bias ? w_.at(node.param("bias")->tensor).data.data() : nullptr;
        // Weights [group][input channel][tap][k], bias [group][k]; k padded with zeros.
        int64_t inner = depthwise ? taps : cin_g * taps;
        int64_t woff = append_grouped(groups, group, inner, [&](int64_t gi, int64_t kk, int64_t i) {
            int64_t co = gi * group + kk;
            return w[co * cin_g * taps + i];  // PyTorch layout [co][ci][ky][kx]: i = ci * taps + tap
        });
        int64_t boff = bias ? append_grouped(groups, group, 1, [&](int64_t gi, int64_t kk, int64_t) {
            return bias[gi * group + kk];
        }) : -1;

        st.acc = Func(st.value.f.name() + "_acc");
        st.acc(k, g, x, y, n) = boff >= 0 ? weight_at(boff, g * static_cast<int>(padded_group) + k) : Expr(0.0f);
        int icg = static_cast<int>(cin_g), pad = static_cast<int>(padded_group), grp = static_cast<int>(group);
        auto wt = [&](Expr i) { return weight_at(woff, (g * static_cast<int>(inner) + i) * pad + k); };
        if (depthwise) {
            // Each channel alone: read the input in this grouping, vectors along k.
            Func in = padded_input(node, group);
            st.r = RDom(0, kw, 0, kh, "r");
            Expr ix = x * node.stride_w + st.r.x - node.pad_left, iy = y * node.stride_h + st.r.y - node.pad_top;
            st.acc(k, g, x, y, n) += wt(st.r.y * kw + st.r.x) * in(k, g, ix, iy, n);
        } else if (pointwise) {
            // One input channel at a time (a scalar broadcast against a vector of
            // weights): the folded shuffle costs index arithmetic, never a gather.
            Value in = value(node.inputs[0]);
            st.r = RDom(0, icg, "r");
            Expr ch = shuffle_index(node.input_shuffles, (grp == cout ? Expr(0) : g * icg) + st.r.x);
            st.acc(k, g, x, y, n) += wt(st.r.x) * in.at(ch, x, y, n);
        } else {
            // A general conv (the stem): the padded input is a Func of its own,
            // copied per row task by the schedule. Left inline, every tap of
            // every pixel would test the border (the loops over a handful of
            // taps are too short for Halide to split off a border-free part).
            Func in(st.value.f.name() + "_input");
            in(c, x, y, n) = padded(node.inputs[0], 0.0f, 0)(c, x, y, n);
            st.staged_input = in;
            st.r = RDom(0, icg, 0, kw, 0, kh, "r");
            Expr ch = shuffle_index(node.input_shuffles, (grp == cout ? Expr(0) : g * icg) + st.r.x);
            Expr ix = x * node.stride_w + st.r.y - node.pad_left, iy = y * node.stride_h + st.r.z - node.pad_top;
            st.acc(k, g, x, y, n) += wt(st.r.x * taps + st.r.z * kw + st.r.y) * in(ch, ix, iy, n);
        }
        st.value.f(k, g, x, y, n) = relu_if(node.fused_relu, st.acc(k, g, x, y, n));
    }

    // A depthwise conv's input, zero-padded, in the conv's grouping.
    Func padded_input(const Node &node, int64_t group) { return padded(node.inputs[0], 0.0f, group); }

    void dense(const Node &node, int index) {
        Stage &st = add_stage(index, Stage::Dense);
        const Shape &s = g_.nodes[node.inputs[0]].shape;
        int64_t outs = node.out_channels, features = s.c * s.h * s.w;
        const auto &w = w_.at(node.param("weight")->tensor).data;
        std::vector<float> laid(w.size());  // [feature][out], outputs innermost
        for (int64_t o = 0; o < outs; o++)
            for (int64_t f = 0; f < features; f++) laid[f * outs + o] = w[o * features + f];
        int64_t woff = blob_.append(laid);
        int64_t boff = node.bias ? blob_.append(w_.at(node.param("bias")->tensor).data) : -1;
        Value in = value(node.inputs[0]);
        st.acc = Func(st.value.f.name() + "_acc");
        st.acc(c, x, y, n) = boff >= 0 ? weight_at(boff, c) : Expr(0.0f);
        // Features in NCHW flatten order: f = (ci * H + iy) * W + ix.
        st.r = RDom(0, static_cast<int>(s.w), 0, static_cast<int>(s.h), 0, static_cast<int>(s.c), "r");
        Expr f = (st.r.z * static_cast<int>(s.h) + st.r.y) * static_cast<int>(s.w) + st.r.x;
        st.acc(c, x, y, n) += weight_at(woff, f * static_cast<int>(outs) + c) * in.at(st.r.z, st.r.x, st.r.y, n);
        st.value.f(c, x, y, n) = relu_if(node.fused_relu, st.acc(c, x, y, n));
    }

    void pool(const Node &node, int index) {
        bool is_max = node.op == Op::MaxPool;
        int64_t group = plan_.grouping[index];
        Stage &st = add_stage(index, is_max ? Stage::MaxPool : Stage::AvgPool);
        const Shape &s = g_.nodes[node.inputs[0]].shape;
        const float lowest = -std::numeric_limits<float>::infinity();
        Func in = padded(node.inputs[0], is_max ? lowest : 0.0f, group);
        st.r = RDom(0, node.kernel_w, 0, node.kernel_h, "r");
        RDom r = st.r;
        Expr ix = x * node.stride_w + r.x - node.pad_left, iy = y * node.stride_h + r.y - node.pad_top;
        auto tap = [&](Expr ch, Expr kk, Expr gg) {
            return group == 0 ? in(ch, ix, iy, n) : in(kk, gg, ix, iy, n);
        };
        st.acc = Func(st.value.f.name() + "_acc");
        Func acc = st.acc;
        if (is_max) {
            define(acc, group, [&](Expr, Expr, Expr) { return Expr(lowest); });
            std::vector<Var> v = vars_of(group);
            std::vector<Expr> args(v.begin(), v.end());
            acc(args) = max(acc(args), group == 0 ? tap(c, Expr(), Expr()) : tap(Expr(), k, g));
            define(st.value.f, group, [&](Expr, Expr, Expr) { return call(acc, group); });
            return;
        }
        define(acc, group, [&](Expr, Expr, Expr) { return Expr(0.0f); });
        update(acc, group, tap);
        // PyTorch's divisor: the window clipped to the padded input, or to the input itself.
        auto count = [&](Expr out, int stride, int pad_a, int pad_b, int kernel, int64_t size) {
            Expr start = out * stride - pad_a;
            Expr end = min(start + kernel, static_cast<int>(size) + pad_b);
            if (!node.count_include_pad) start = max(start, 0), end = min(end, static_cast<int>(size));
            return end - start;
        };
        Expr area = count(y, node.stride_h, node.pad_top, node.pad_bottom, node.kernel_h, s.h) *
                    count(x, node.stride_w, node.pad_left, node.pad_right, node.kernel_w, s.w);
        define(st.value.f, group, [&](Expr, Expr, Expr) { return call(acc, group) / cast<float>(area); });
    }

    const Graph &g_;
    const Weights &w_;
    const SegmentPlan &plan_;
    const Segment &seg_;
    WeightBlob &blob_;
    ImageParam weights_;
    std::map<int, Value> inputs_;
    LoweredSegment out_;
};

}  // namespace

LoweredSegment lower_segment(const Graph &graph, const Weights &weights, const SegmentPlan &plan, int segment,
                             WeightBlob &blob) {
    return SegmentLowering(graph, weights, plan, segment, blob).run();
}

}  // namespace shufflec
