// mul: x * s with s of shape N x C x 1 x 1, one factor per channel (the
// squeeze-and-excitation gate).
#include "import/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

Shape infer(const Graph &g, Node &node) {
    const Shape &x = g.nodes[node.inputs[0]].shape, &s = g.nodes[node.inputs[1]].shape;
    if (s.n != x.n || s.c != x.c || s.h != 1 || s.w != 1)
        fail(node.origin, ": mul '", node.name, "': the scale (second input, '", g.nodes[node.inputs[1]].name,
             "') must have shape ", x.n, "x", x.c, "x1x1 (one value per channel of ", to_string(x), "), got ", to_string(s));
    return x;
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    const Shape &o = node.shape;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    int64_t plane = o.h * o.w;
    for (int64_t k = 0; k < o.n * o.c; k++)
        for (int64_t i = 0; i < plane; i++) out[k * plane + i] = (*in[0].data)[k * plane + i] * (*in[1].data)[k];
    return out;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Value a = L.value(node.inputs[0]), s = L.value(node.inputs[1]);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
        return Lowering::read(a, group, ch, kk, gg, Vars::x, Vars::y, Vars::n) *
               Lowering::read(s, group, ch, kk, gg, 0, 0, Vars::n);
    });
}

void import_onnx(OnnxNodeImport &o) {
    OnnxTensor a = o.tensor(0), b = o.tensor(1);
    bool scale = a.shape.size() == 4 && b.shape.size() == 4 && b.shape[0] == a.shape[0] && b.shape[1] == a.shape[1] &&
                 b.shape[2] == 1 && b.shape[3] == 1;
    if (!scale) o.error("only x * s with s of shape N x C x 1 x 1 (a channel scale) is supported");
    o.emit({{"op", "mul"}, {"name", o.layer_name()}}, {a.layer, b.layer}, a.shape);
}

}  // namespace

const OpDef &channel_scale_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::ChannelScale;
        d.name = "mul";
        d.min_inputs = d.max_inputs = 2;
        d.infer = infer;
        d.reference = reference;
        d.grouping = input_grouping;  // the scale is per channel anyway
        d.lower = lower;
        d.onnx_ops = {"Mul"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
