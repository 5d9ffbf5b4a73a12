// channel_permute: output channel c is input channel order[c], any
// permutation. The passes make it when they split a depthwise conv that reads
// several tensors, and fold it into the convs that read it; read by anything
// else, it is a table lookup in the channel index.
#include <cmath>

#include "lower/lower_segment.h"
#include "ops/onnx_node_import.h"
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

// Gather along the channels with constant indices: a channel shuffle (what
// shufflec's ONNX export writes for a folded one), any other permutation, or
// a run of consecutive channels (a slice).
void import_onnx(OnnxNodeImport &o) {
    OnnxTensor in = o.tensor(0);
    int64_t axis = o.attr_int("axis", 0);
    if (in.shape.size() != 4 || (axis != 1 && axis != -3))
        o.error("only a gather of the channels (axis 1) of a 4-D tensor is supported");
    if (!o.is_constant(1) || o.constant(1).dims.size() != 1)
        o.error("the channel indices must be a 1-D constant");
    int64_t channels = in.shape[1];
    std::vector<int64_t> order;
    std::vector<bool> seen(static_cast<size_t>(channels), false);
    bool permutation = static_cast<int64_t>(o.constant(1).values.size()) == channels, run = true;
    for (double v : o.constant(1).values) {
        if (!(v >= static_cast<double>(-channels) && v < static_cast<double>(channels)) || v != std::floor(v))
            o.error(cat("index ", v, " is not a channel of ", channels));
        int64_t c = static_cast<int64_t>(v) + (v < 0 ? channels : 0);
        run = run && (order.empty() || c == order.back() + 1);
        permutation = permutation && !seen[static_cast<size_t>(c)];
        seen[static_cast<size_t>(c)] = true;
        order.push_back(c);
    }
    if (order.empty()) o.error("gathers no channel");
    std::vector<int64_t> shape = in.shape;
    shape[1] = static_cast<int64_t>(order.size());
    if (run && static_cast<int64_t>(order.size()) == channels) return o.alias(in);
    if (run)
        return o.emit({{"op", "slice"}, {"name", o.layer_name()}, {"begin", order.front()}, {"end", order.back() + 1}},
                      {in.layer}, shape);
    if (!permutation) o.error("only a permutation or a run of consecutive channels is supported");
    // A channel shuffle (the paper's with g groups is megvii's with C / g: name
    // it by the smaller factor, as the Reshape -> Transpose -> Reshape import).
    for (int64_t g = 2; g < channels; g++) {
        if (channels % g) continue;
        bool shuffle = true;
        for (int64_t c = 0; c < channels && shuffle; c++)
            shuffle = order[static_cast<size_t>(c)] == shuffle_source_channel(ShuffleConvention::Paper, g, channels, c);
        if (!shuffle) continue;
        nlohmann::ordered_json e = {{"op", "channel_shuffle"}, {"name", o.layer_name()}};
        if (g * g <= channels) e["groups"] = g, e["shuffle_convention"] = "paper";
        else e["groups"] = channels / g, e["shuffle_convention"] = "inverse";
        return o.emit(e, {in.layer}, shape);
    }
    o.emit({{"op", "channel_permute"}, {"name", o.layer_name()}, {"order", order}}, {in.layer}, shape);
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
        d.onnx_ops = {"Gather"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
