// flatten: N x (C*H*W), a no-op on NCHW memory (the passes drop it before an FC).
#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

Shape infer(const Graph &g, Node &node) {
    const Shape &x = g.nodes[node.inputs[0]].shape;
    Shape s = {x.n, x.c * x.h * x.w, 1, 1};
    s.rank = 2;
    return s;
}

std::vector<float> reference(const Graph &, const Node &, const std::vector<RefTensor> &in, const Weights &) {
    return *in[0].data;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    const Shape &s = L.graph().nodes[node.inputs[0]].shape;
    Value in = L.value(node.inputs[0]);
    int hw = static_cast<int>(s.h * s.w), w = static_cast<int>(s.w);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, 0, [&](Expr ch, Expr, Expr) {
        return in.at(ch / hw, (ch % hw) % w, (ch % hw) / w, Vars::n);
    });
}

void import_onnx(OnnxNodeImport &o) {
    OnnxTensor in = o.tensor(0);
    if (o.attr_int("axis", 1) != 1) o.error("only Flatten with axis 1 is supported");
    int64_t f = 1;
    for (size_t i = 1; i < in.shape.size(); i++) f *= in.shape[i];
    o.emit({{"op", "flatten"}, {"name", o.layer_name()}}, {in.layer}, {in.shape.empty() ? 1 : in.shape[0], f});
}

}  // namespace

const OpDef &flatten_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Flatten;
        d.name = "flatten";
        d.infer = infer;
        d.reference = reference;
        d.grouping = no_grouping;
        d.lower = lower;
        d.onnx_ops = {"Flatten"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
