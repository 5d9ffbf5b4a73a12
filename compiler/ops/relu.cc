// relu: max(x, 0). The passes fuse it into the conv, FC or add before it.
#include <algorithm>
#include <limits>

#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"

namespace shufflec {

using namespace Halide;

namespace {

std::vector<float> reference(const Graph &, const Node &, const std::vector<RefTensor> &in, const Weights &) {
    std::vector<float> out = *in[0].data;
    for (auto &v : out) v = std::max(v, 0.0f);
    return out;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Value in = L.value(node.inputs[0]);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
        return Lowering::clamp_keeping_nan(Lowering::read(in, group, ch, kk, gg, Vars::x, Vars::y, Vars::n), 0.0f,
                                           std::numeric_limits<float>::infinity());
    });
}

void import_onnx(OnnxNodeImport &o) {
    OnnxTensor in = o.tensor(0);
    o.emit({{"op", "relu"}, {"name", o.layer_name()}}, {in.layer}, in.shape);
}

}  // namespace

const OpDef &relu_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Relu;
        d.name = "relu";
        d.infer = same_shape;
        d.reference = reference;
        d.grouping = input_grouping;
        d.lower = lower;
        d.onnx_ops = {"Relu"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
