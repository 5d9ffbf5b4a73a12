#include "graph/graph.h"

#include <limits>

#include "util/error.h"

namespace shufflec {

const char *op_name(Op op) {
    switch (op) {
    case Op::Input: return "input";
    case Op::Conv: return "conv";
    case Op::BatchNorm: return "batchnorm";
    case Op::Relu: return "relu";
    case Op::Sigmoid: return "sigmoid";
    case Op::MaxPool: return "maxpool";
    case Op::AvgPool: return "avgpool";
    case Op::GlobalAvgPool: return "global_avgpool";
    case Op::Dense: return "fc";
    case Op::Add: return "add";
    case Op::ChannelScale: return "channel_scale";
    case Op::Concat: return "concat";
    case Op::ChannelShuffle: return "channel_shuffle";
    case Op::Flatten: return "flatten";
    case Op::Softmax: return "softmax";
    }
    return "?";
}

int64_t shuffle_source_channel(ShuffleConvention convention, int64_t groups, int64_t channels, int64_t c) {
    int64_t n = channels / groups;
    if (convention == ShuffleConvention::Paper) {
        // out[j*g + i] = in[i*n + j]
        return (c % groups) * n + c / groups;
    }
    // out[b*n + a] = in[a*g + b]
    return (c % n) * groups + c / n;
}

int64_t shuffled_channel(const std::vector<ShuffleStep> &steps, int64_t c) {
    for (const auto &step : steps) c = shuffle_source_channel(step.convention, step.groups, step.channels, c);
    return c;
}

std::vector<int64_t> Shape::dims() const {
    if (rank == 2) return {n, c};
    return {n, c, h, w};
}

std::string to_string(const Shape &s) {
    if (s.rank == 2) return cat(s.n, "x", s.c);
    return cat(s.n, "x", s.c, "x", s.h, "x", s.w);
}

int64_t Param::elements() const {
    // Saturates instead of overflowing, so absurd shapes fail the size check.
    int64_t e = 1;
    for (int64_t d : shape) e = (d > 0 && e > std::numeric_limits<int64_t>::max() / d) ? std::numeric_limits<int64_t>::max() : e * d;
    return e;
}

const Param *Node::param(const std::string &role) const {
    for (const auto &p : params)
        if (p.role == role) return &p;
    return nullptr;
}

int Graph::find(const std::string &node_name) const {
    for (size_t i = 0; i < nodes.size(); i++)
        if (nodes[i].name == node_name) return static_cast<int>(i);
    return -1;
}

std::vector<std::vector<int>> Graph::consumers() const {
    std::vector<std::vector<int>> result(nodes.size());
    for (size_t i = 0; i < nodes.size(); i++)
        for (int in : nodes[i].inputs) result[in].push_back(static_cast<int>(i));
    return result;
}

namespace {

constexpr int64_t kMaxElements = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxTensorElements = kMaxElements / 4;

int64_t window_output(const Node &node, int64_t size, int kernel, int stride, int pad_a, int pad_b, const char *axis) {
    int64_t padded = size + pad_a + pad_b;
    if (padded < kernel)
        fail(node.origin, ": ", op_name(node.op), " '", node.name, "': input ", axis, " ", size, " plus padding ",
             pad_a + pad_b, " is smaller than the kernel (", kernel, ")");
    return (padded - kernel) / stride + 1;
}

void set_param(Node &node, const std::string &role, std::vector<int64_t> shape) {
    for (auto &p : node.params)
        if (p.role == role) p.shape = std::move(shape);
}

Shape infer(const Graph &g, Node &node) {
    auto in = [&](size_t i) -> const Shape & { return g.nodes[node.inputs[i]].shape; };
    auto where = [&]() { return cat(node.origin, ": ", op_name(node.op), " '", node.name, "'"); };
    Shape s;
    switch (node.op) {
    case Op::Input: return node.shape;
    case Op::Conv: {
        const Shape &x = in(0);
        if (x.rank == 2) fail(where(), ": needs a 4-D input, got ", to_string(x));
        if (x.c % node.groups != 0)
            fail(where(), ": input channels ", x.c, " are not divisible by groups ", node.groups);
        if (node.out_channels % node.groups != 0)
            fail(where(), ": output channels ", node.out_channels, " are not divisible by groups ", node.groups);
        s = {x.n, node.out_channels,
             window_output(node, x.h, node.kernel_h, node.stride_h, node.pad_top, node.pad_bottom, "height"),
             window_output(node, x.w, node.kernel_w, node.stride_w, node.pad_left, node.pad_right, "width")};
        set_param(node, "weight", {node.out_channels, x.c / node.groups, node.kernel_h, node.kernel_w});
        set_param(node, "bias", {node.out_channels});
        return s;
    }
    case Op::BatchNorm:
        for (const char *role : {"weight", "bias", "running_mean", "running_var"}) set_param(node, role, {in(0).c});
        return in(0);
    case Op::Relu:
    case Op::Sigmoid:
    case Op::Softmax: return in(0);
    case Op::MaxPool:
    case Op::AvgPool: {
        const Shape &x = in(0);
        if (x.rank == 2) fail(where(), ": needs a 4-D input, got ", to_string(x));
        if (node.pad_top >= node.kernel_h || node.pad_bottom >= node.kernel_h || node.pad_left >= node.kernel_w ||
            node.pad_right >= node.kernel_w)
            fail(where(), ": padding must be smaller than the kernel");
        return {x.n, x.c,
                window_output(node, x.h, node.kernel_h, node.stride_h, node.pad_top, node.pad_bottom, "height"),
                window_output(node, x.w, node.kernel_w, node.stride_w, node.pad_left, node.pad_right, "width")};
    }
    case Op::GlobalAvgPool: {
        const Shape &x = in(0);
        if (x.rank == 2) fail(where(), ": needs a 4-D input, got ", to_string(x));
        return {x.n, x.c, 1, 1};
    }
    case Op::Dense: {
        const Shape &x = in(0);
        int64_t features = x.c * x.h * x.w;
        set_param(node, "weight", {node.out_channels, features});
        set_param(node, "bias", {node.out_channels});
        s = {x.n, node.out_channels, 1, 1};
        s.rank = 2;
        return s;
    }
    case Op::Add:
        if (in(0) != in(1))
            fail(where(), ": input shapes differ: ", to_string(in(0)), " ('", g.nodes[node.inputs[0]].name, "') vs ",
                 to_string(in(1)), " ('", g.nodes[node.inputs[1]].name, "')");
        s = in(0);
        s.rank = std::max(in(0).rank, in(1).rank);
        return s;
    case Op::ChannelScale:
        if (in(1).n != in(0).n || in(1).c != in(0).c || in(1).h != 1 || in(1).w != 1)
            fail(where(), ": the scale (second input, '", g.nodes[node.inputs[1]].name, "') must have shape ",
                 in(0).n, "x", in(0).c, "x1x1 (one value per channel of ", to_string(in(0)), "), got ", to_string(in(1)));
        return in(0);
    case Op::Concat: {
        s = in(0);
        s.c = 0;
        for (size_t i = 0; i < node.inputs.size(); i++) {
            const Shape &x = in(i);
            if (x.n != s.n || x.h != s.h || x.w != s.w || x.rank != s.rank)
                fail(where(), ": input '", g.nodes[node.inputs[i]].name, "' has shape ", to_string(x),
                     "; concat needs equal batch, height and width (first input: ", to_string(in(0)), ")");
            s.c += x.c;
        }
        return s;
    }
    case Op::ChannelShuffle:
        if (in(0).c % node.groups != 0)
            fail(where(), ": channels ", in(0).c, " are not divisible by groups ", node.groups);
        return in(0);
    case Op::Flatten:
        s = {in(0).n, in(0).c * in(0).h * in(0).w, 1, 1};
        s.rank = 2;
        return s;
    }
    return s;
}

}  // namespace

void infer_shapes(Graph &graph) {
    for (size_t i = 0; i < graph.nodes.size(); i++) infer_node_shape(graph, i);
}

void infer_node_shape(Graph &graph, size_t index) {
    {
        Node &node = graph.nodes[index];
        node.shape = infer(graph, node);
        const Shape &s = node.shape;
        if (s.n <= 0 || s.c <= 0 || s.h <= 0 || s.w <= 0)
            fail(node.origin, ": '", node.name, "' would have an empty output (", to_string(s), ")");
        // The compiled code indexes tensors with 32-bit integers, and a tensor a
        // pipeline keeps internally is one allocation of at most 2^31-1 bytes.
        bool overflow = s.c > kMaxTensorElements / s.n || s.h > kMaxTensorElements / (s.n * s.c) ||
                        s.w > kMaxTensorElements / (s.n * s.c * s.h);
        if (overflow)
            fail(node.origin, ": '", node.name, "' output ", to_string(s),
                 " has more than 2^29-1 elements (2 GiB of float32, the most one tensor may take)");
        for (const auto &p : node.params)
            if (p.elements() > kMaxElements)
                fail(node.origin, ": tensor '", p.tensor, "' has more than 2^31-1 elements");
    }
}

void set_input_shape(Graph &graph, const Shape &input) {
    Shape s = input;
    s.rank = 4;
    graph.nodes[0].shape = s;
    infer_shapes(graph);
}

LayerStats node_stats(const Graph &graph, const Node &node) {
    LayerStats st;
    const Shape &s = node.shape;
    switch (node.op) {
    case Op::Conv: {
        int64_t cin = graph.nodes[node.inputs[0]].shape.c;
        int64_t per_output = (cin / node.groups) * node.kernel_h * node.kernel_w;
        st.macs = s.elements() * per_output;
        st.params = node.out_channels * per_output + (node.bias ? node.out_channels : 0);
        break;
    }
    case Op::Dense: {
        int64_t features = graph.nodes[node.inputs[0]].shape.elements() / s.n;
        st.macs = s.n * node.out_channels * features;
        st.params = node.out_channels * features + (node.bias ? node.out_channels : 0);
        break;
    }
    case Op::BatchNorm: st.params = 2 * s.c; break;
    default: break;
    }
    return st;
}

LayerStats graph_stats(const Graph &graph) {
    LayerStats total;
    for (const auto &node : graph.nodes) {
        LayerStats st = node_stats(graph, node);
        total.macs += st.macs;
        total.params += st.params;
    }
    return total;
}

}  // namespace shufflec
