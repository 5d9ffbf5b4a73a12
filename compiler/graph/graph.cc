#include "graph/graph.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "ops/op.h"
#include "util/error.h"
#include "util/hash.h"

namespace shufflec {

Activation Activation::relu() { return clamp(0.0f, INFINITY); }

Activation Activation::clamp(float lo, float hi) {
    Activation a;
    a.enabled = true, a.lo = lo, a.hi = hi;
    return a;
}

bool Activation::is_relu() const { return enabled && lo == 0.0f && std::isinf(hi) && hi > 0; }

int64_t shuffled_channel(const std::vector<ShuffleStep> &steps, int64_t c) {
    for (const auto &step : steps) c = shuffle_source_channel(step.convention, step.groups, step.channels, c);
    return c;
}

int64_t input_channels(const Graph &graph, const Node &node) {
    if (node.parts.empty()) return graph.nodes[node.inputs[0]].shape.c;
    int64_t c = 0;
    for (const auto &p : node.parts) c += p.count;
    return c;
}

bool is_depthwise(const Graph &graph, const Node &node) {
    if (node.op != Op::Conv || !node.parts.empty() || !node.input_shuffles.empty()) return false;
    int64_t cin = graph.nodes[node.inputs[0]].shape.c;
    return node.groups == cin && node.out_channels == cin;
}

bool is_pointwise(const Node &node) {
    return node.op == Op::Conv && node.kernel_h == 1 && node.kernel_w == 1 && node.stride_h == 1 && node.stride_w == 1 &&
           node.pad_top + node.pad_left + node.pad_bottom + node.pad_right == 0;
}

std::string describe(const Preprocess &pre) {
    std::ostringstream o;
    if (pre.resize)
        o << "resize shorter side to " << pre.resize << " (" << (pre.antialias ? "antialias" : "no antialias")
          << (pre.round_long_side ? ", long side rounded" : "") << "), ";
    if (pre.crop_h) o << "center crop " << pre.crop_h << "x" << pre.crop_w << ", ";
    o << (pre.bgr ? "BGR" : "RGB") << ", x * " << pre.scale << ", mean [" << pre.mean[0] << ", " << pre.mean[1] << ", "
      << pre.mean[2] << "], std [" << pre.std[0] << ", " << pre.std[1] << ", " << pre.std[2] << "]";
    return o.str();
}

bool is_channel_view(Op op) {
    return op == Op::Slice || op == Op::Concat || op == Op::ChannelShuffle || op == Op::ChannelPermute;
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

}  // namespace

void infer_shapes(Graph &graph) {
    for (size_t i = 0; i < graph.nodes.size(); i++) infer_node_shape(graph, i);
}

void infer_node_shape(Graph &graph, size_t index) {
    {
        Node &node = graph.nodes[index];
        node.shape = op_def(node.op).infer(graph, node);
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
    const OpDef &def = op_def(node.op);
    return def.stats ? def.stats(graph, node) : LayerStats{};
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

std::string node_signature(const Node &n, int64_t grouping, bool packing) {
    std::ostringstream o;
    o << to_string(n.shape) << " k" << n.kernel_h << "x" << n.kernel_w << " s" << n.stride_h << "x" << n.stride_w << " p"
      << n.pad_top << "," << n.pad_left << "," << n.pad_bottom << "," << n.pad_right << " g" << n.groups << " grp"
      << grouping;
    if (n.activation.enabled) o << " act[" << n.activation.lo << "," << n.activation.hi << "]";
    for (const ShuffleStep &st : n.input_shuffles)
        o << " shuffle(" << (st.convention == ShuffleConvention::Paper ? "paper" : "inverse") << "," << st.groups << ","
          << st.channels << ")";
    for (const InputPart &p : n.parts) o << " part(" << p.input << "," << p.begin << "," << p.count << ")";
    if (n.op == Op::AvgPool) o << " cip" << n.count_include_pad;
    if (n.op == Op::Slice) o << " [" << n.begin << "," << n.end << ")";
    if (n.op == Op::Clip) o << " [" << n.clip_min << "," << n.clip_max << "]";
    if (n.op == Op::HardSigmoid) o << " a" << n.alpha << " b" << n.beta;
    if (n.op == Op::ChannelPermute) {
        uint64_t h = kFnvOffset;
        for (int64_t v : n.order) h = fnv1a(&v, sizeof v, h);
        o << " order" << h;
    }
    if (n.op == Op::ChannelShuffle) o << " shuffle" << (n.shuffle == ShuffleConvention::Paper ? "paper" : "inverse");
    if (packing) o << " rank" << n.shape.rank << " out" << n.out_channels << " bias" << n.bias << " eps" << n.eps;
    return o.str();
}

}  // namespace shufflec
