// softmax: over channels, at every (n, y, x).
#include <cmath>
#include <limits>

#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    const Shape &o = node.shape;
    const std::vector<float> &x = *in[0].data;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    int64_t plane = o.h * o.w;
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t p = 0; p < plane; p++) {
            double m = -std::numeric_limits<double>::infinity(), sum = 0;
            for (int64_t c = 0; c < o.c; c++) m = std::max(m, static_cast<double>(x[(n * o.c + c) * plane + p]));
            for (int64_t c = 0; c < o.c; c++) sum += std::exp(x[(n * o.c + c) * plane + p] - m);
            for (int64_t c = 0; c < o.c; c++)
                out[(n * o.c + c) * plane + p] = static_cast<float>(std::exp(x[(n * o.c + c) * plane + p] - m) / sum);
        }
    return out;
}

// exp(x - max) / sum(exp(x - max)) over channels, per pixel; max and sum are helpers computed at root.
void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    const Var &c = Vars::c, &x = Vars::x, &y = Vars::y, &n = Vars::n;
    Value in = L.value(node.inputs[0]);
    RDom rc(0, static_cast<int>(node.shape.c), "rc");
    Func peak(c_identifier(node.name) + "_max"), total(c_identifier(node.name) + "_sum");
    peak(x, y, n) = maximum(in.at(rc, x, y, n));
    total(x, y, n) = sum(exp(in.at(rc, x, y, n) - peak(x, y, n)));
    Stage &st = L.add_stage(index, Stage::Elementwise);
    st.helpers = {peak, total};
    st.value.f(c, x, y, n) = exp(in.at(c, x, y, n) - peak(x, y, n)) / total(x, y, n);
}

void import_onnx(OnnxNodeImport &o) {
    OnnxTensor in = o.tensor(0);
    int64_t axis = o.attr_int("axis", o.opset() >= 13 ? -1 : 1);
    int64_t rank = static_cast<int64_t>(in.shape.size());
    if (axis < 0) axis += rank;
    if (axis != 1 || (o.opset() < 13 && rank != 2)) o.error("only a softmax over channels (axis 1) is supported");
    o.emit({{"op", "softmax"}, {"name", o.layer_name()}}, {in.layer}, in.shape);
}

}  // namespace

const OpDef &softmax_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Softmax;
        d.name = "softmax";
        d.infer = same_shape;
        d.reference = reference;
        d.grouping = no_grouping;
        d.lower = lower;
        d.onnx_ops = {"Softmax"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
