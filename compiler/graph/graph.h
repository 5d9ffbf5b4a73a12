// The graph IR: a DAG of primitive tensor operations in topological order.
//
// Every later stage works on this: shape inference and statistics, weight
// binding, the reference interpreter, the optimization passes and the Halide
// lowering. Composite spec entries (shufflenet_unit, se, the family shorthands)
// are expanded into these primitives by the graph builder. What the compiler
// knows about each primitive op (spec fields, shape rule, MACs, reference,
// weight packing, lowering, ONNX mapping) lives in one file per op,
// compiler/ops/<op>.cc, registered in compiler/ops/registry.cc.
//
// Tensors are 4-D NCHW in the IR (rank-2 tensors, from flatten/dense, are
// N x C x 1 x 1 with rank 2 recorded for output files).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shufflec {

enum class Op {
    Input,
    Conv,            // kernel, stride, pads, groups, optional bias
    BatchNorm,       // inference-mode: (x - mean) / sqrt(var + eps) * gamma + beta
    Relu,
    Clip,            // clamp to [min, max] (ReLU6: [0, 6])
    Sigmoid,
    HardSigmoid,     // clamp(alpha * x + beta, 0, 1) (MobileNet V3)
    HardSwish,       // x * clamp(x / 6 + 1 / 2, 0, 1)
    MaxPool,         // padding never wins (acts as -inf)
    AvgPool,         // count_include_pad chooses the divisor at the borders
    GlobalAvgPool,
    Dense,           // fully connected over C*H*W of its input
    Add,             // elementwise, two inputs of the same shape
    Mul,             // x * s: s of the same shape, or N x C x 1 x 1 (a channel scale: squeeze-and-excitation)
    Concat,          // along channels
    ChannelShuffle,  // a channel permutation, see ShuffleConvention
    Slice,           // channels [begin, end) (ShuffleNet V2's channel split)
    ChannelPermute,  // output channel c is input channel order[c] (any permutation)
    Flatten,         // N x (C*H*W); a no-op on NCHW memory
    Softmax,         // over channels, at every (n, y, x)
};
// How many ops there are (Softmax must stay the last value; OpRegistry.EveryOpIsComplete
// checks that each one has its definition in compiler/ops/).
constexpr int kOpCount = static_cast<int>(Op::Softmax) + 1;

// The op's name in specs and messages (compiler/ops/).
const char *op_name(Op op);

// The two channel shuffles found in published ShuffleNet weights. With C channels
// in g groups of n = C / g:
//   Paper:   reshape (g, n) -> transpose -> flatten: out[j*g + i] = in[i*n + j]
//   Inverse: megvii's code, reshape (n, g) -> transpose: out[b*n + a] = in[a*g + b]
enum class ShuffleConvention { Paper, Inverse };

// Index of the input channel that output channel `c` reads: the one formula,
// for integers (passes, reference) and for Halide expressions (the lowering's
// index arithmetic) alike.
template <typename T>
T shuffle_source(ShuffleConvention convention, int64_t groups, int64_t channels, T c) {
    T g = static_cast<int>(groups), per = static_cast<int>(channels / groups);
    // Paper: out[j*g + i] = in[i*n + j]. Inverse: out[b*n + a] = in[a*g + b].
    return convention == ShuffleConvention::Paper ? (c % g) * per + c / g : (c % per) * g + c / per;
}
inline int64_t shuffle_source_channel(ShuffleConvention convention, int64_t groups, int64_t channels, int64_t c) {
    return shuffle_source<int64_t>(convention, groups, channels, c);
}

// One channel shuffle folded into a conv's input read (see Node::input_shuffles).
struct ShuffleStep {
    ShuffleConvention convention = ShuffleConvention::Paper;
    int64_t groups = 1;
    int64_t channels = 1;
};
// The channel a conv reads for its logical input channel `c`, after every folded shuffle.
int64_t shuffled_channel(const std::vector<ShuffleStep> &steps, int64_t c);

// The most channels (and groups, slice bounds) a spec may give a layer.
constexpr int64_t kMaxChannels = int64_t{1} << 20;

struct Shape {
    int64_t n = 0, c = 0, h = 0, w = 0;
    int rank = 4;
    int64_t elements() const { return n * c * h * w; }
    std::vector<int64_t> dims() const;  // as written to .npy: rank 4 or rank 2
    bool operator==(const Shape &o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
    bool operator!=(const Shape &o) const { return !(*this == o); }
};
std::string to_string(const Shape &s);

// A weight tensor a node needs, looked up by name in the weights file.
struct Param {
    std::string role;    // "weight", "bias", "running_mean", "running_var"
    std::string tensor;  // full name in the weights file, e.g. "stage2.0.conv1.weight"
    std::vector<int64_t> shape;
    int64_t elements() const;
};

// An activation fused into a node's output by the passes: clamp to [lo, hi]
// (ReLU: [0, inf), ReLU6: [0, 6]).
struct Activation {
    bool enabled = false;
    float lo = 0, hi = 0;
    static Activation relu();
    static Activation clamp(float lo, float hi);
    bool is_relu() const;
};

// One run of input channels of a conv that reads several tensors (the
// ShuffleNet V2 channel split and shuffle, folded): channels [begin, begin +
// count) of inputs[input]. The conv's logical input is the parts concatenated.
struct InputPart {
    int input = 0;
    int64_t begin = 0, count = 0;
};

struct Node {
    Op op = Op::Input;
    std::string name;         // unique; e.g. "stage2.0.conv1"
    std::vector<int> inputs;  // node indices, all smaller than this node's index
    Shape shape;              // output shape (filled by shape inference)

    // Conv and pooling windows.
    int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
    int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
    int64_t groups = 1;       // Conv groups; ChannelShuffle groups
    int64_t out_channels = 0; // Conv output channels, Dense output features
    bool bias = false;        // Conv, Dense
    double eps = 1e-5;        // BatchNorm
    bool count_include_pad = true;  // AvgPool
    ShuffleConvention shuffle = ShuffleConvention::Paper;
    float clip_min = 0, clip_max = 0;   // Clip
    float alpha = 0, beta = 0;          // HardSigmoid
    int64_t begin = 0, end = 0;         // Slice: channels [begin, end)
    std::vector<int64_t> order;         // ChannelPermute: the source of each output channel

    // Set by passes (never by the spec): the activation fused after this node,
    // the channel shuffles folded into a conv's input read (where the conv would
    // read channel c it reads shuffled_channel(input_shuffles, c); formulas, not
    // a table, so the lowering emits index arithmetic), and the input parts of a
    // conv that reads several tensors (empty: all of inputs[0]).
    Activation activation;
    std::vector<ShuffleStep> input_shuffles;
    std::vector<InputPart> parts;

    // Set by passes: the names of the nodes they replaced by this one (it
    // computes their value: a folded BatchNorm, a fused activation), in the
    // order they were folded. An imported QDQ model's scales name spec layers;
    // the quantization of an optimized graph finds them here.
    std::vector<std::string> aliases;

    std::vector<Param> params;
    std::string origin;  // JSON path of the spec entry this node came from
    std::string block;   // name of the spec entry (unit or layer) it belongs to

    const Param *param(const std::string &role) const;
};

// How an app's RGB8 image becomes the network's input (the spec's
// input.preprocess; compiled into NAME_run_rgb8): optional resize of the
// shorter side and center crop (torchvision's Resize + CenterCrop), channel
// order, then (x * scale - mean) / std per channel.
struct Preprocess {
    bool enabled = false;
    bool bgr = false;               // the network wants B, G, R (megvii's checkpoints)
    float scale = 1.0f / 255.0f;    // pixel value -> [0, 1] (ConvertImageDtype); 1: 0..255
    float mean[3] = {0, 0, 0};
    float std[3] = {1, 1, 1};
    int64_t resize = 0;             // shorter side after resizing (0: no resize)
    bool antialias = true;          // the resize filter widens when shrinking (torchvision antialias=True)
    // The long side: int(resize * long / short) (torchvision), or rounded as
    // megvii's OpenCV-based eval code does: int(resize / short * long + 0.5).
    bool round_long_side = false;
    int64_t crop_h = 0, crop_w = 0; // center crop (0: none)
};

// In words, for `shufflec info` and the generated header: "resize shorter side
// to 256 (antialias), center crop 224x224, RGB, x * 0.00392157, mean [...], std [...]".
std::string describe(const Preprocess &pre);

struct Graph {
    std::string name;
    std::string weights_file;  // from the spec (resolved relative to it), may be empty
    Preprocess preprocess;
    std::string preprocess_dropped;  // why a spec's preprocess does not apply to the input shape given, if so
    std::vector<Node> nodes;   // nodes[0] is the input
    int output = -1;

    const Node &input() const { return nodes.front(); }
    const Node &output_node() const { return nodes[output]; }
    int find(const std::string &name) const;  // -1 if absent
    // For each node, the indices of the nodes that read it.
    std::vector<std::vector<int>> consumers() const;
};

// Computes node `index`'s output shape (and its parameter shapes) from its inputs.
void infer_node_shape(Graph &graph, size_t index);
// Recomputes every node's output shape from the input shape; errors name the node's spec origin.
void infer_shapes(Graph &graph);
// Re-runs shape inference for a new input shape (e.g. --input-shape, or an .npy file).
void set_input_shape(Graph &graph, const Shape &input);

// Channels a node's (first) input provides: all of inputs[0], or the sum of its parts.
int64_t input_channels(const Graph &graph, const Node &node);
// A conv that filters each channel alone (groups = channels in = channels out).
bool is_depthwise(const Graph &graph, const Node &node);
// A 1x1 conv with stride 1 and no padding.
bool is_pointwise(const Node &node);
// Ops that only pick channels of their inputs (slice, concat, shuffle, permutation).
bool is_channel_view(Op op);

// What a node is, without its name and its inputs: shape, window, groups, the
// channel grouping of its value (`grouping`, the segment plan's), the fused
// activation, folded shuffles, input parts and the op's own attributes. The
// tuner's workload keys and the weights fingerprint are both built from it, so
// they agree on what makes two nodes different; `packing` adds the fields only
// the weights' layout depends on (bias, output channels, rank, eps).
std::string node_signature(const Node &node, int64_t grouping, bool packing = false);

// Cost and size of a graph.
struct LayerStats {
    int64_t macs = 0;    // multiply-accumulates for the whole batch
    int64_t params = 0;  // learnable parameters (conv/dense weights and biases, BN gamma and beta)
};
LayerStats node_stats(const Graph &graph, const Node &node);
LayerStats graph_stats(const Graph &graph);

}  // namespace shufflec
