// sigmoid: 1 / (1 + exp(-x)) (the gate of squeeze-and-excitation blocks).
#include <cmath>

#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"

namespace shufflec {

using namespace Halide;

namespace {

std::vector<float> reference(const Graph &, const Node &, const std::vector<RefTensor> &in, const Weights &) {
    std::vector<float> out = *in[0].data;
    for (auto &v : out) v = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
    return out;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Value in = L.value(node.inputs[0]);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
        return 1.0f / (1.0f + exp(-Lowering::read(in, group, ch, kk, gg, Vars::x, Vars::y, Vars::n)));
    });
}

void import_onnx(OnnxNodeImport &o) {
    OnnxTensor in = o.tensor(0);
    o.emit({{"op", "sigmoid"}, {"name", o.layer_name()}}, {in.layer}, in.shape);
}

}  // namespace

const OpDef &sigmoid_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Sigmoid;
        d.name = "sigmoid";
        d.infer = same_shape;
        d.reference = reference;
        d.grouping = input_grouping;
        d.lower = lower;
        d.onnx_ops = {"Sigmoid"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
