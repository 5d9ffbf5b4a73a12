// channel_shuffle: the permutation of ShuffleNet (graph.h, ShuffleConvention).
// Never materialized: the passes move it below depthwise convs and fold it into
// the next conv's input index; read by anything else it is an index expression.
// ONNX writes it as Reshape -> Transpose -> Reshape (import/onnx_import.cc).
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

void parse(const JsonView &e, Node &node) {
    node.groups = e.at("groups").as_int(1, kMaxChannels);
    node.shuffle = e.get_choice("shuffle_convention", "paper", {"paper", "inverse"}) == "paper" ? ShuffleConvention::Paper
                                                                                                : ShuffleConvention::Inverse;
}

Shape infer(const Graph &g, Node &node) {
    const Shape &x = g.nodes[node.inputs[0]].shape;
    if (x.c % node.groups != 0)
        fail(node.origin, ": channel_shuffle '", node.name, "': channels ", x.c, " are not divisible by groups ", node.groups);
    return x;
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    const Shape &o = node.shape;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    int64_t plane = o.h * o.w;
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t c = 0; c < o.c; c++) {
            int64_t src = shuffle_source_channel(node.shuffle, node.groups, o.c, c);
            for (int64_t p = 0; p < plane; p++) out[(n * o.c + c) * plane + p] = (*in[0].data)[(n * o.c + src) * plane + p];
        }
    return out;
}

// Only when something other than a conv reads the shuffle: still an index expression, never a copy.
void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    Value in = L.value(node.inputs[0]);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, 0, [&](Expr ch, Expr, Expr) {
        return in.at(shuffle_source<Expr>(node.shuffle, node.groups, node.shape.c, ch), Vars::x, Vars::y, Vars::n);
    });
}

}  // namespace

const OpDef &channel_shuffle_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::ChannelShuffle;
        d.name = "channel_shuffle";
        d.fields = {"groups", "shuffle_convention"};
        d.parse = parse;
        d.infer = infer;
        d.reference = reference;
        d.grouping = no_grouping;
        d.lower = lower;
        return d;
    }();
    return def;
}

}  // namespace shufflec
