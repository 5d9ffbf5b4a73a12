// channel_permute: output channel c is input channel order[c], any
// permutation. The passes make it when they split a depthwise conv that reads
// several tensors, and fold it into the convs that read it; read by anything
// else, it is a table lookup in the channel index.
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

void parse(const JsonView &e, Node &node) {
    JsonView list = e.at("order");
    list.expect_array();
    for (size_t i = 0; i < list.size(); i++) node.order.push_back(list[i].as_int(0, 1 << 20));
}

Shape infer(const Graph &g, Node &node) {
    const Shape &x = g.nodes[node.inputs[0]].shape;
    std::vector<bool> seen(static_cast<size_t>(x.c), false);
    bool ok = static_cast<int64_t>(node.order.size()) == x.c;
    for (int64_t c : node.order) {
        ok = ok && c >= 0 && c < x.c && !seen[static_cast<size_t>(c)];
        if (ok) seen[static_cast<size_t>(c)] = true;
    }
    if (!ok)
        fail(node.origin, ": channel_permute '", node.name, "': order must list each of the ", x.c,
             " input channels exactly once");
    return x;
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    const Shape &o = node.shape;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    int64_t plane = o.h * o.w;
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t c = 0; c < o.c; c++)
            for (int64_t p = 0; p < plane; p++)
                out[(n * o.c + c) * plane + p] = (*in[0].data)[(n * o.c + node.order[c]) * plane + p];
    return out;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    Value in = L.value(node.inputs[0]);
    Buffer<int32_t> table(static_cast<int>(node.order.size()), c_identifier(node.name) + "_order");
    for (size_t c = 0; c < node.order.size(); c++) table(static_cast<int>(c)) = static_cast<int32_t>(node.order[c]);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, 0, [&](Expr ch, Expr, Expr) { return in.at(table(ch), Vars::x, Vars::y, Vars::n); });
}

}  // namespace

const OpDef &channel_permute_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::ChannelPermute;
        d.name = "channel_permute";
        d.fields = {"order"};
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
