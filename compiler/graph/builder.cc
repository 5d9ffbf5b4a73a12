#include "graph/builder.h"

#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

int GraphBuilder::append(Node node) {
    auto [it, inserted] = name_origins_.emplace(node.name, origin_);
    if (!inserted) fail(origin_, ": name \"", node.name, "\" is already used (by ", it->second, ")");
    node.origin = origin_;
    node.block = block_;
    const OpDef &def = op_def(node.op);
    if (def.params)
        for (auto &role : def.params(node)) node.params.push_back({role, node.name + "." + role, {}});
    graph_.nodes.push_back(std::move(node));
    infer_node_shape(graph_, graph_.nodes.size() - 1);
    return static_cast<int>(graph_.nodes.size() - 1);
}

static Node make(Op op, const std::string &name, std::vector<int> inputs) {
    Node n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(inputs);
    return n;
}

static void set_window(Node &n, const Window &w) {
    n.kernel_h = w.kernel_h, n.kernel_w = w.kernel_w;
    n.stride_h = w.stride_h, n.stride_w = w.stride_w;
    n.pad_top = w.pad[0], n.pad_left = w.pad[1], n.pad_bottom = w.pad[2], n.pad_right = w.pad[3];
}

int GraphBuilder::input(const std::string &name, const Shape &shape) {
    Node n = make(Op::Input, name, {});
    n.shape = shape;
    return append(std::move(n));
}

int GraphBuilder::conv(const std::string &name, int x, int64_t out_channels, const Window &window, int64_t groups,
                       bool bias) {
    Node n = make(Op::Conv, name, {x});
    set_window(n, window);
    n.out_channels = out_channels;
    n.groups = groups;
    n.bias = bias;
    return append(std::move(n));
}

int GraphBuilder::batchnorm(const std::string &name, int x, double eps) {
    Node n = make(Op::BatchNorm, name, {x});
    n.eps = eps;
    return append(std::move(n));
}

int GraphBuilder::relu(const std::string &name, int x) { return append(make(Op::Relu, name, {x})); }
int GraphBuilder::sigmoid(const std::string &name, int x) { return append(make(Op::Sigmoid, name, {x})); }

int GraphBuilder::maxpool(const std::string &name, int x, const Window &window) {
    Node n = make(Op::MaxPool, name, {x});
    set_window(n, window);
    return append(std::move(n));
}

int GraphBuilder::avgpool(const std::string &name, int x, const Window &window, bool count_include_pad) {
    Node n = make(Op::AvgPool, name, {x});
    set_window(n, window);
    n.count_include_pad = count_include_pad;
    return append(std::move(n));
}

int GraphBuilder::global_avgpool(const std::string &name, int x) {
    return append(make(Op::GlobalAvgPool, name, {x}));
}

int GraphBuilder::dense(const std::string &name, int x, int64_t out_features, bool bias) {
    Node n = make(Op::Dense, name, {x});
    n.out_channels = out_features;
    n.bias = bias;
    return append(std::move(n));
}

int GraphBuilder::add(const std::string &name, int a, int b) { return append(make(Op::Add, name, {a, b})); }

int GraphBuilder::mul(const std::string &name, int x, int scale) {
    return append(make(Op::Mul, name, {x, scale}));
}

int GraphBuilder::concat(const std::string &name, const std::vector<int> &inputs) {
    return append(make(Op::Concat, name, inputs));
}

int GraphBuilder::shuffle(const std::string &name, int x, int64_t groups, ShuffleConvention convention) {
    Node n = make(Op::ChannelShuffle, name, {x});
    n.groups = groups;
    n.shuffle = convention;
    return append(std::move(n));
}

int GraphBuilder::flatten(const std::string &name, int x) { return append(make(Op::Flatten, name, {x})); }
int GraphBuilder::softmax(const std::string &name, int x) { return append(make(Op::Softmax, name, {x})); }

}  // namespace shufflec

namespace shufflec {

int GraphBuilder::clip(const std::string &name, int x, float lo, float hi) {
    Node n = make(Op::Clip, name, {x});
    n.clip_min = lo, n.clip_max = hi;
    return append(std::move(n));
}

int GraphBuilder::slice(const std::string &name, int x, int64_t begin, int64_t end) {
    Node n = make(Op::Slice, name, {x});
    n.begin = begin, n.end = end;
    return append(std::move(n));
}

}  // namespace shufflec
