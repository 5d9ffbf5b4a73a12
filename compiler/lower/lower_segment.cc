#include "lower/lower_segment.h"

#include <cmath>
#include <limits>

#include "util/error.h"

namespace shufflec {

using namespace Halide;

Var Vars::c("c"), Vars::x("x"), Vars::y("y"), Vars::n("n");

int64_t WeightBlob::append(const std::vector<float> &values) {
    int64_t offset = size();
    data.insert(data.end(), values.begin(), values.end());
    data.resize((data.size() + 15) / 16 * 16, 0.0f);
    return offset;
}

namespace {

const Var &c = Vars::c, &x = Vars::x, &y = Vars::y, &n = Vars::n;

// Constrains a buffer argument to the exact extents and strides the plan chose,
// so Halide compiles for constants (and checks them at run time).
void constrain(OutputImageParam p, const Shape &s, const Placement &place) {
    int64_t extent[4] = {s.c, s.w, s.h, s.n};
    for (int d = 0; d < 4; d++) p.dim(d).set_bounds(0, static_cast<int>(extent[d])).set_stride(static_cast<int>(place.stride[d]));
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
        out_.arguments.push_back(weights_);
        for (int node : seg_.inputs) {
            ImageParam p(element_type(), 4, "in_" + c_identifier(g_.nodes[node].name));
            constrain(p, g_.nodes[node].shape, plan_.placement[node]);
            Func f("read_" + c_identifier(g_.nodes[node].name));
            f(c, x, y, n) = p(c, x, y, n);
            inputs_[node] = f;
            out_.arguments.push_back(p);
        }
        for (int node : seg_.nodes) lower(node);
        for (int node : seg_.outputs) {
            Func f = value(node);
            constrain(f.output_buffer(), g_.nodes[node].shape, plan_.placement[node]);
            out_.outputs.push_back(f);
        }
        weights_.dim(0).set_min(0);  // the extent grows as later segments append weights
        return std::move(out_);
    }

private:
    // The value of a node as seen from this segment.
    Func value(int node) {
        if (out_.stage_of[node] >= 0) return out_.stages[out_.stage_of[node]].value;
        auto it = inputs_.find(node);
        if (it != inputs_.end()) return it->second;
        if (plan_.concat_view[node]) return concat(g_.nodes[node]);
        fail("internal: segment ", seg_.name, " reads '", g_.nodes[node].name, "', which is not available");
    }

    Expr weight_at(int64_t offset, Expr index) { return weights_(static_cast<int>(offset) + index); }

    // x read with a border of `pad_value` outside [0, W) x [0, H).
    Func padded(int node, float pad_value) {
        const Shape &s = g_.nodes[node].shape;
        Func in = value(node);
        Func p(in.name() + "_padded");
        Expr inside = x >= 0 && x < static_cast<int>(s.w) && y >= 0 && y < static_cast<int>(s.h);
        p(c, x, y, n) = select(inside, in(c, clamp(x, 0, static_cast<int>(s.w) - 1), clamp(y, 0, static_cast<int>(s.h) - 1), n),
                               pad_value);
        return p;
    }

    Stage &add_stage(const Node &node, Stage::Kind kind, int index) {
        Stage st;
        st.node = index;
        st.kind = kind;
        st.value = Func(c_identifier(node.name));
        out_.stage_of[index] = static_cast<int>(out_.stages.size());
        out_.stages.push_back(st);
        return out_.stages.back();
    }

    static Expr relu_if(bool on, Expr e) { return on ? max(e, 0.0f) : e; }

    void lower(int index) {
        const Node &node = g_.nodes[index];
        switch (node.op) {
        case Op::Conv: return conv(node, index);
        case Op::Dense: return dense(node, index);
        case Op::MaxPool:
        case Op::AvgPool: return pool(node, index);
        case Op::GlobalAvgPool: {
            Stage &st = add_stage(node, Stage::GlobalPool, index);
            const Shape &s = g_.nodes[node.inputs[0]].shape;
            Func in = value(node.inputs[0]);
            st.acc = Func(st.value.name() + "_sum");
            st.r = RDom(0, static_cast<int>(s.w), 0, static_cast<int>(s.h), "r");
            st.acc(c, x, y, n) = 0.0f;
            st.acc(c, x, y, n) += in(c, st.r.x, st.r.y, n);
            st.value(c, x, y, n) = st.acc(c, x, y, n) * (1.0f / static_cast<float>(s.w * s.h));
            return;
        }
        case Op::BatchNorm: {
            // Not after a conv (those are folded): a per-channel affine map.
            const Shape &s = node.shape;
            std::vector<float> scale(s.c), shift(s.c);
            const auto &gamma = w_.at(node.param("weight")->tensor).data, &beta = w_.at(node.param("bias")->tensor).data;
            const auto &mean = w_.at(node.param("running_mean")->tensor).data;
            const auto &var = w_.at(node.param("running_var")->tensor).data;
            for (int64_t k = 0; k < s.c; k++) {
                double sc = gamma[k] / std::sqrt(static_cast<double>(var[k]) + node.eps);
                scale[k] = static_cast<float>(sc);
                shift[k] = static_cast<float>(beta[k] - mean[k] * sc);
            }
            int64_t so = blob_.append(scale), ho = blob_.append(shift);
            Func in = value(node.inputs[0]);
            add_stage(node, Stage::Elementwise, index).value(c, x, y, n) =
                in(c, x, y, n) * weight_at(so, c) + weight_at(ho, c);
            return;
        }
        case Op::Relu: {
            Func in = value(node.inputs[0]);
            add_stage(node, Stage::Elementwise, index).value(c, x, y, n) = max(in(c, x, y, n), 0.0f);
            return;
        }
        case Op::Sigmoid: {
            Func in = value(node.inputs[0]);
            add_stage(node, Stage::Elementwise, index).value(c, x, y, n) = 1.0f / (1.0f + exp(-in(c, x, y, n)));
            return;
        }
        case Op::Add: {
            Func a = value(node.inputs[0]), b = value(node.inputs[1]);
            add_stage(node, Stage::Elementwise, index).value(c, x, y, n) =
                relu_if(node.fused_relu, a(c, x, y, n) + b(c, x, y, n));
            return;
        }
        case Op::ChannelScale: {
            Func a = value(node.inputs[0]), s = value(node.inputs[1]);
            add_stage(node, Stage::Elementwise, index).value(c, x, y, n) = a(c, x, y, n) * s(c, 0, 0, n);
            return;
        }
        case Op::Concat: {
            Func f = concat(node);
            add_stage(node, Stage::Elementwise, index).value(c, x, y, n) = f(c, x, y, n);
            return;
        }
        case Op::ChannelShuffle: {
            // Only when a non-conv reads the shuffle; still an index expression, never a copy.
            Func in = value(node.inputs[0]);
            int64_t C = node.shape.c;
            add_stage(node, Stage::Elementwise, index).value(c, x, y, n) =
                in(shuffle_index({{node.shuffle, node.groups, C}}, c), x, y, n);
            return;
        }
        case Op::Flatten: {
            const Shape &s = g_.nodes[node.inputs[0]].shape;
            Func in = value(node.inputs[0]);
            int hw = static_cast<int>(s.h * s.w), w = static_cast<int>(s.w);
            add_stage(node, Stage::Elementwise, index).value(c, x, y, n) = in(c / hw, (c % hw) % w, (c % hw) / w, n);
            return;
        }
        case Op::Input: break;
        }
        fail("internal: cannot lower ", op_name(node.op));
    }

    // The channel a conv reads for logical channel `ch`: the folded shuffles as arithmetic.
    static Expr shuffle_index(const std::vector<ShuffleStep> &steps, Expr ch) {
        for (const auto &s : steps) {
            int g = static_cast<int>(s.groups), per = static_cast<int>(s.channels / s.groups);
            ch = s.convention == ShuffleConvention::Paper ? (ch % g) * per + ch / g  // out[j*g+i] = in[i*n+j]
                                                          : (ch % per) * g + ch / per;  // out[b*n+a] = in[a*g+b]
        }
        return ch;
    }

    Func concat(const Node &node) {
        Func f(c_identifier(node.name) + "_concat");
        std::vector<Func> parts;
        for (int in : node.inputs) parts.push_back(value(in));
        // Channels [start_i, start_i + C_i) come from input i.
        std::vector<int> start = {0};
        for (int in : node.inputs) start.push_back(start.back() + static_cast<int>(g_.nodes[in].shape.c));
        Expr e;
        for (size_t i = node.inputs.size(); i-- > 0;) {
            int channels = start[i + 1] - start[i];
            Expr part = parts[i](clamp(c - start[i], 0, channels - 1), x, y, n);
            e = e.defined() ? select(c < start[i + 1], part, e) : part;
        }
        f(c, x, y, n) = e;
        return f;
    }

    void conv(const Node &node, int index) {
        const Shape &in_shape = g_.nodes[node.inputs[0]].shape;
        int64_t cout = node.out_channels, cin_g = in_shape.c / node.groups, cout_g = cout / node.groups;
        bool depthwise = cin_g == 1 && node.groups == in_shape.c && cout == in_shape.c;
        bool pointwise = node.kernel_h == 1 && node.kernel_w == 1 && node.stride_h == 1 && node.stride_w == 1 &&
                         node.pad_top + node.pad_left + node.pad_bottom + node.pad_right == 0;
        Stage &st = add_stage(node, depthwise ? Stage::Depthwise : pointwise ? Stage::Pointwise : Stage::Conv, index);

        // Weights as [ky][kx][ci][co], output channels innermost so one vector
        // load feeds one vector of outputs.
        const auto &w = w_.at(node.param("weight")->tensor).data;
        int kh = node.kernel_h, kw = node.kernel_w;
        std::vector<float> laid(w.size());
        for (int64_t co = 0; co < cout; co++)
            for (int64_t ci = 0; ci < cin_g; ci++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++)
                        laid[((ky * kw + kx) * cin_g + ci) * cout + co] = w[((co * cin_g + ci) * kh + ky) * kw + kx];
        int64_t woff = blob_.append(laid);
        int64_t boff = node.bias ? blob_.append(w_.at(node.param("bias")->tensor).data) : -1;

        Func in = pointwise ? value(node.inputs[0]) : padded(node.inputs[0], 0.0f);
        st.acc = Func(st.value.name() + "_acc");
        st.acc(c, x, y, n) = boff >= 0 ? weight_at(boff, c) : Expr(0.0f);
        int icg = static_cast<int>(cin_g), ocg = static_cast<int>(cout_g), co = static_cast<int>(cout);
        Expr group_base = depthwise ? Expr(0) : (c / ocg) * icg;
        if (depthwise) {
            st.r = RDom(0, kw, 0, kh, "r");
            Expr ch = shuffle_index(node.input_shuffles, c);
            Expr ix = x * node.stride_w + st.r.x - node.pad_left, iy = y * node.stride_h + st.r.y - node.pad_top;
            st.acc(c, x, y, n) += weight_at(woff, (st.r.y * kw + st.r.x) * co + c) * in(ch, ix, iy, n);
        } else if (pointwise) {
            st.r = RDom(0, icg, "r");
            Expr ch = shuffle_index(node.input_shuffles, group_base + st.r.x);
            st.acc(c, x, y, n) += weight_at(woff, st.r.x * co + c) * in(ch, x, y, n);
        } else {
            st.r = RDom(0, icg, 0, kw, 0, kh, "r");
            Expr ch = shuffle_index(node.input_shuffles, group_base + st.r.x);
            Expr ix = x * node.stride_w + st.r.y - node.pad_left, iy = y * node.stride_h + st.r.z - node.pad_top;
            st.acc(c, x, y, n) +=
                weight_at(woff, ((st.r.z * kw + st.r.y) * icg + st.r.x) * co + c) * in(ch, ix, iy, n);
        }
        st.value(c, x, y, n) = relu_if(node.fused_relu, st.acc(c, x, y, n));
    }

    void dense(const Node &node, int index) {
        Stage &st = add_stage(node, Stage::Dense, index);
        const Shape &s = g_.nodes[node.inputs[0]].shape;
        int64_t k = node.out_channels, features = s.c * s.h * s.w;
        const auto &w = w_.at(node.param("weight")->tensor).data;
        std::vector<float> laid(w.size());  // [feature][out], outputs innermost
        for (int64_t o = 0; o < k; o++)
            for (int64_t f = 0; f < features; f++) laid[f * k + o] = w[o * features + f];
        int64_t woff = blob_.append(laid);
        int64_t boff = node.bias ? blob_.append(w_.at(node.param("bias")->tensor).data) : -1;
        Func in = value(node.inputs[0]);
        st.acc = Func(st.value.name() + "_acc");
        st.acc(c, x, y, n) = boff >= 0 ? weight_at(boff, c) : Expr(0.0f);
        // Features in NCHW flatten order: f = (ci * H + iy) * W + ix.
        st.r = RDom(0, static_cast<int>(s.w), 0, static_cast<int>(s.h), 0, static_cast<int>(s.c), "r");
        Expr f = (st.r.z * static_cast<int>(s.h) + st.r.y) * static_cast<int>(s.w) + st.r.x;
        st.acc(c, x, y, n) += weight_at(woff, f * static_cast<int>(k) + c) * in(st.r.z, st.r.x, st.r.y, n);
        st.value(c, x, y, n) = relu_if(node.fused_relu, st.acc(c, x, y, n));
    }

    void pool(const Node &node, int index) {
        bool is_max = node.op == Op::MaxPool;
        Stage &st = add_stage(node, is_max ? Stage::MaxPool : Stage::AvgPool, index);
        const Shape &s = g_.nodes[node.inputs[0]].shape;
        Func in = padded(node.inputs[0], is_max ? -std::numeric_limits<float>::infinity() : 0.0f);
        st.r = RDom(0, node.kernel_w, 0, node.kernel_h, "r");
        Expr ix = x * node.stride_w + st.r.x - node.pad_left, iy = y * node.stride_h + st.r.y - node.pad_top;
        st.acc = Func(st.value.name() + "_acc");
        if (is_max) {
            st.acc(c, x, y, n) = -std::numeric_limits<float>::infinity();
            st.acc(c, x, y, n) = max(st.acc(c, x, y, n), in(c, ix, iy, n));
            st.value(c, x, y, n) = st.acc(c, x, y, n);
            return;
        }
        st.acc(c, x, y, n) = 0.0f;
        st.acc(c, x, y, n) += in(c, ix, iy, n);
        // PyTorch's divisor: the window clipped to the padded input, or to the input itself.
        auto count = [&](Expr out, int stride, int pad_a, int pad_b, int kernel, int64_t size) {
            Expr start = out * stride - pad_a;
            Expr end = min(start + kernel, static_cast<int>(size) + pad_b);
            if (!node.count_include_pad) start = max(start, 0), end = min(end, static_cast<int>(size));
            return end - start;
        };
        Expr area = count(y, node.stride_h, node.pad_top, node.pad_bottom, node.kernel_h, s.h) *
                    count(x, node.stride_w, node.pad_left, node.pad_right, node.kernel_w, s.w);
        st.value(c, x, y, n) = st.acc(c, x, y, n) / cast<float>(area);
    }

    const Graph &g_;
    const Weights &w_;
    const SegmentPlan &plan_;
    const Segment &seg_;
    WeightBlob &blob_;
    ImageParam weights_;
    std::map<int, Func> inputs_;
    LoweredSegment out_;
};

}  // namespace

LoweredSegment lower_segment(const Graph &graph, const Weights &weights, const SegmentPlan &plan, int segment,
                             WeightBlob &blob) {
    return SegmentLowering(graph, weights, plan, segment, blob).run();
}

}  // namespace shufflec
