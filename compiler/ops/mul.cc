// mul: x * s, elementwise. s has x's shape (x * sigmoid(x) is SiLU, EfficientNet's
// activation) or N x C x 1 x 1: one factor per channel (the squeeze-and-excitation gate).
#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

bool per_channel(const Shape &x, const Shape &s) { return s.h == 1 && s.w == 1 && (x.h != 1 || x.w != 1); }

Shape infer(const Graph &g, Node &node) {
    const Shape &x = g.nodes[node.inputs[0]].shape, &s = g.nodes[node.inputs[1]].shape;
    if (s.n != x.n || s.c != x.c || ((s.h != 1 || s.w != 1) && (s.h != x.h || s.w != x.w)))
        fail(node.origin, ": mul '", node.name, "': the second input ('", g.nodes[node.inputs[1]].name,
             "') must have the shape of the first, ", to_string(x), ", or ", x.n, "x", x.c,
             "x1x1 (one value per channel), got ", to_string(s));
    return x;
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    const Shape &o = node.shape;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    int64_t plane = per_channel(o, *in[1].shape) ? o.h * o.w : 1;
    for (size_t i = 0; i < out.size(); i++)
        out[i] = (*in[0].data)[i] * (*in[1].data)[i / static_cast<size_t>(plane)];
    return out;
}

// A channel scale follows x; an elementwise product follows its second input
// like add (the gate of x * sigmoid(x) is computed beside x).
int64_t grouping(const Graph &g, const std::vector<int64_t> &groupings, const Node &node) {
    bool scale = per_channel(g.nodes[node.inputs[0]].shape, g.nodes[node.inputs[1]].shape);
    if (!scale && groupings[node.inputs[1]]) return groupings[node.inputs[1]];
    return groupings[node.inputs[0]];
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Value a = L.value(node.inputs[0]), s = L.value(node.inputs[1]);
    bool scale = per_channel(L.graph().nodes[node.inputs[0]].shape, L.graph().nodes[node.inputs[1]].shape);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
        Expr sx = scale ? Expr(0) : Expr(Vars::x), sy = scale ? Expr(0) : Expr(Vars::y);
        return Lowering::read(a, group, ch, kk, gg, Vars::x, Vars::y, Vars::n) *
               Lowering::read(s, group, ch, kk, gg, sx, sy, Vars::n);
    });
}

void import_onnx(OnnxNodeImport &o) {
    OnnxTensor a = o.tensor(0), b = o.tensor(1);
    bool ok = a.shape == b.shape || (a.shape.size() == 4 && b.shape.size() == 4 && b.shape[0] == a.shape[0] && b.shape[1] == a.shape[1] &&
              ((b.shape[2] == 1 && b.shape[3] == 1) || (b.shape[2] == a.shape[2] && b.shape[3] == a.shape[3])));
    if (!ok) {
        // x * s with the scale first: swap, the product is the same.
        bool swapped = a.shape.size() == 4 && b.shape.size() == 4 && a.shape[0] == b.shape[0] &&
                       a.shape[1] == b.shape[1] && a.shape[2] == 1 && a.shape[3] == 1;
        if (!swapped)
            o.error("only x * s with s of x's shape or N x C x 1 x 1 (a channel scale) is supported (no other broadcasting)");
        std::swap(a, b);
    }
    o.emit({{"op", "mul"}, {"name", o.layer_name()}}, {a.layer, b.layer}, a.shape);
}

}  // namespace

const OpDef &mul_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Mul;
        d.name = "mul";
        d.min_inputs = d.max_inputs = 2;
        d.infer = infer;
        d.reference = reference;
        d.grouping = grouping;
        d.lower = lower;
        d.onnx_ops = {"Mul"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
