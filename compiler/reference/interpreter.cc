#include "reference/interpreter.h"

#include <cmath>
#include <limits>

#include "util/error.h"

namespace shufflec {

namespace {

using Buffer = std::vector<float>;

struct View {
    const Shape &s;
    const Buffer &d;
    float at(int64_t n, int64_t c, int64_t y, int64_t x) const { return d[((n * s.c + c) * s.h + y) * s.w + x]; }
};

const Tensor &param(const Weights &w, const Node &node, const char *role) {
    const Param *p = node.param(role);
    auto it = w.find(p->tensor);
    if (it == w.end()) fail("reference interpreter: missing tensor '", p->tensor, "'");
    return it->second;
}

Buffer conv(const Node &node, const View &x, const Weights &w) {
    const Shape &o = node.shape;
    const Tensor &weight = param(w, node, "weight");
    const float *bias = node.bias ? param(w, node, "bias").data.data() : nullptr;
    int64_t cin_g = x.s.c / node.groups, cout_g = node.out_channels / node.groups;
    Buffer out(o.elements());
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t co = 0; co < o.c; co++) {
            int64_t g = co / cout_g;
            for (int64_t oy = 0; oy < o.h; oy++)
                for (int64_t ox = 0; ox < o.w; ox++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int64_t ci = 0; ci < cin_g; ci++) {
                        int64_t c = g * cin_g + ci;
                        c = shuffled_channel(node.input_shuffles, c);
                        for (int ky = 0; ky < node.kernel_h; ky++) {
                            int64_t iy = oy * node.stride_h + ky - node.pad_top;
                            if (iy < 0 || iy >= x.s.h) continue;
                            for (int kx = 0; kx < node.kernel_w; kx++) {
                                int64_t ix = ox * node.stride_w + kx - node.pad_left;
                                if (ix < 0 || ix >= x.s.w) continue;
                                double wv = weight.data[((co * cin_g + ci) * node.kernel_h + ky) * node.kernel_w + kx];
                                acc += wv * x.at(n, c, iy, ix);
                            }
                        }
                    }
                    float v = static_cast<float>(acc);
                    out[((n * o.c + co) * o.h + oy) * o.w + ox] = node.fused_relu ? std::max(v, 0.0f) : v;
                }
        }
    return out;
}

Buffer pool(const Node &node, const View &x) {
    const Shape &o = node.shape;
    bool is_max = node.op == Op::MaxPool;
    Buffer out(o.elements());
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
                            if (iy < x.s.h + node.pad_bottom && ix < x.s.w + node.pad_right) padded_count++;
                            if (iy < 0 || iy >= x.s.h || ix < 0 || ix >= x.s.w) continue;
                            double v = x.at(n, c, iy, ix);
                            acc = is_max ? std::max(acc, v) : acc + v;
                            count++;
                        }
                    if (!is_max) acc /= static_cast<double>(node.count_include_pad ? padded_count : count);
                    out[((n * o.c + c) * o.h + oy) * o.w + ox] = static_cast<float>(acc);
                }
    return out;
}

Buffer evaluate(const Graph &graph, const Node &node, const std::vector<Buffer> &values, const Weights &w) {
    auto in = [&](size_t i) { return View{graph.nodes[node.inputs[i]].shape, values[node.inputs[i]]}; };
    const Shape &o = node.shape;
    switch (node.op) {
    case Op::Input: return {};
    case Op::Conv: return conv(node, in(0), w);
    case Op::BatchNorm: {
        View x = in(0);
        const auto &gamma = param(w, node, "weight").data, &beta = param(w, node, "bias").data;
        const auto &mean = param(w, node, "running_mean").data, &var = param(w, node, "running_var").data;
        Buffer out(o.elements());
        int64_t plane = o.h * o.w;
        for (int64_t n = 0; n < o.n; n++)
            for (int64_t c = 0; c < o.c; c++) {
                double scale = gamma[c] / std::sqrt(static_cast<double>(var[c]) + node.eps);
                for (int64_t i = 0; i < plane; i++) {
                    int64_t k = (n * o.c + c) * plane + i;
                    out[k] = static_cast<float>((x.d[k] - static_cast<double>(mean[c])) * scale + beta[c]);
                }
            }
        return out;
    }
    case Op::Relu: {
        Buffer out = in(0).d;
        for (auto &v : out) v = std::max(v, 0.0f);
        return out;
    }
    case Op::Sigmoid: {
        Buffer out = in(0).d;
        for (auto &v : out) v = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
        return out;
    }
    case Op::MaxPool:
    case Op::AvgPool: return pool(node, in(0));
    case Op::GlobalAvgPool: {
        View x = in(0);
        Buffer out(o.elements());
        int64_t plane = x.s.h * x.s.w;
        for (int64_t k = 0; k < o.n * o.c; k++) {
            double acc = 0;
            for (int64_t i = 0; i < plane; i++) acc += x.d[k * plane + i];
            out[k] = static_cast<float>(acc / static_cast<double>(plane));
        }
        return out;
    }
    case Op::Dense: {
        View x = in(0);
        const auto &weight = param(w, node, "weight").data;
        int64_t features = x.s.c * x.s.h * x.s.w;
        Buffer out(o.elements());
        for (int64_t n = 0; n < o.n; n++)
            for (int64_t j = 0; j < o.c; j++) {
                double acc = node.bias ? param(w, node, "bias").data[j] : 0.0;
                for (int64_t i = 0; i < features; i++)
                    acc += static_cast<double>(weight[j * features + i]) * x.d[n * features + i];
                float v = static_cast<float>(acc);
                out[n * o.c + j] = node.fused_relu ? std::max(v, 0.0f) : v;
            }
        return out;
    }
    case Op::Add: {
        Buffer out(o.elements());
        const Buffer &a = in(0).d, &b = in(1).d;
        for (size_t k = 0; k < out.size(); k++) {
            float v = a[k] + b[k];
            out[k] = node.fused_relu ? std::max(v, 0.0f) : v;
        }
        return out;
    }
    case Op::ChannelScale: {
        Buffer out(o.elements());
        const Buffer &x = in(0).d, &s = in(1).d;
        int64_t plane = o.h * o.w;
        for (int64_t k = 0; k < o.n * o.c; k++)
            for (int64_t i = 0; i < plane; i++) out[k * plane + i] = x[k * plane + i] * s[k];
        return out;
    }
    case Op::Concat: {
        Buffer out(o.elements());
        int64_t plane = o.h * o.w, offset = 0;
        for (size_t i = 0; i < node.inputs.size(); i++) {
            View x = in(i);
            for (int64_t n = 0; n < o.n; n++)
                for (int64_t c = 0; c < x.s.c; c++)
                    for (int64_t p = 0; p < plane; p++)
                        out[(n * o.c + offset + c) * plane + p] = x.d[(n * x.s.c + c) * plane + p];
            offset += x.s.c;
        }
        return out;
    }
    case Op::ChannelShuffle: {
        View x = in(0);
        Buffer out(o.elements());
        int64_t plane = o.h * o.w;
        for (int64_t n = 0; n < o.n; n++)
            for (int64_t c = 0; c < o.c; c++) {
                int64_t src = shuffle_source_channel(node.shuffle, node.groups, o.c, c);
                for (int64_t p = 0; p < plane; p++) out[(n * o.c + c) * plane + p] = x.d[(n * o.c + src) * plane + p];
            }
        return out;
    }
    case Op::Flatten: return in(0).d;
    case Op::Softmax: {
        View x = in(0);
        Buffer out(o.elements());
        int64_t plane = o.h * o.w;
        for (int64_t n = 0; n < o.n; n++)
            for (int64_t p = 0; p < plane; p++) {
                double m = -std::numeric_limits<double>::infinity(), sum = 0;
                for (int64_t c = 0; c < o.c; c++) m = std::max(m, static_cast<double>(x.d[(n * o.c + c) * plane + p]));
                for (int64_t c = 0; c < o.c; c++) sum += std::exp(x.d[(n * o.c + c) * plane + p] - m);
                for (int64_t c = 0; c < o.c; c++)
                    out[(n * o.c + c) * plane + p] = static_cast<float>(std::exp(x.d[(n * o.c + c) * plane + p] - m) / sum);
            }
        return out;
    }
    }
    return {};
}

void check_input(const Graph &graph, const std::vector<float> &input) {
    if (static_cast<int64_t>(input.size()) != graph.input().shape.elements())
        fail("reference interpreter: input has ", input.size(), " values, the graph's input ",
             to_string(graph.input().shape), " needs ", graph.input().shape.elements());
}

}  // namespace

std::vector<std::vector<float>> run_reference_all(const Graph &graph, const Weights &weights,
                                                  const std::vector<float> &input) {
    check_input(graph, input);
    std::vector<Buffer> values(graph.nodes.size());
    values[0] = input;
    for (size_t i = 1; i < graph.nodes.size(); i++) values[i] = evaluate(graph, graph.nodes[i], values, weights);
    return values;
}

std::vector<float> run_reference(const Graph &graph, const Weights &weights, const std::vector<float> &input) {
    // Keep only what later nodes still need, so large inputs stay within memory.
    check_input(graph, input);
    std::vector<int> last_use(graph.nodes.size(), -1);
    for (size_t i = 0; i < graph.nodes.size(); i++)
        for (int in : graph.nodes[i].inputs) last_use[in] = static_cast<int>(i);
    std::vector<Buffer> values(graph.nodes.size());
    values[0] = input;
    for (size_t i = 1; i < graph.nodes.size(); i++) {
        values[i] = evaluate(graph, graph.nodes[i], values, weights);
        for (int in : graph.nodes[i].inputs)
            if (last_use[in] == static_cast<int>(i) && in != graph.output) Buffer().swap(values[in]);
    }
    return values[graph.output];
}

}  // namespace shufflec
