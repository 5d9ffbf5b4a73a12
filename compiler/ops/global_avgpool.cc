// global_avgpool: the mean over H x W of every channel (N x C x 1 x 1).
#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

Shape infer(const Graph &g, Node &node) {
    const Shape &x = g.nodes[node.inputs[0]].shape;
    if (x.rank == 2) fail(node.origin, ": global_avgpool '", node.name, "': needs a 4-D input, got ", to_string(x));
    return {x.n, x.c, 1, 1};
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    const Shape &o = node.shape, &xs = *in[0].shape;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    int64_t plane = xs.h * xs.w;
    for (int64_t k = 0; k < o.n * o.c; k++) {
        double acc = 0;
        for (int64_t i = 0; i < plane; i++) acc += (*in[0].data)[k * plane + i];
        out[k] = static_cast<float>(acc / static_cast<double>(plane));
    }
    return out;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Stage &st = L.add_stage(index, Stage::GlobalPool);
    const Shape &s = L.graph().nodes[node.inputs[0]].shape;
    Value in = L.value(node.inputs[0]);
    st.acc = Func(c_identifier(node.name) + "_sum");
    RDom r(0, static_cast<int>(s.w), 0, static_cast<int>(s.h), "r");
    st.r = {r};
    Lowering::define(st.acc, group, [&](Expr, Expr, Expr) { return Expr(0.0f); });
    Lowering::update(st.acc, group, [&](Expr ch, Expr kk, Expr gg) {
        return Lowering::read(in, group, ch, kk, gg, r.x, r.y, Vars::n);
    });
    Func acc = st.acc;
    Lowering::define(st.value.f, group, [&](Expr, Expr, Expr) {
        return Lowering::call(acc, group) * (1.0f / static_cast<float>(s.w * s.h));
    });
}

// GlobalAveragePool, or a ReduceMean over H and W (torchvision's x.mean([2, 3])
// drops them: keepdims 0 adds a flatten, a no-op on NCHW memory).
void import_onnx(OnnxNodeImport &o) {
    OnnxTensor in = o.tensor(0);
    bool keep = true;
    if (o.op_type() == "ReduceMean") {
        o.allow_attrs({"axes", "keepdims"});
        std::vector<int64_t> axes = o.attr_ints("axes", {});
        if (axes != std::vector<int64_t>{2, 3} && axes != std::vector<int64_t>{-2, -1} &&
            axes != std::vector<int64_t>{3, 2} && axes != std::vector<int64_t>{-1, -2})
            o.error("only a mean over H and W (axes 2, 3) is supported");
        keep = o.attr_int("keepdims", 1) != 0;
    }
    if (in.shape.size() != 4) o.error("needs a 4-D input");
    std::string name = o.layer_name();
    o.emit({{"op", "global_avgpool"}, {"name", name}}, {in.layer}, {in.shape[0], in.shape[1], 1, 1});
    if (!keep) o.emit({{"op", "flatten"}, {"name", o.layer_name()}}, {name}, {in.shape[0], in.shape[1]});
}

}  // namespace

const OpDef &global_avgpool_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::GlobalAvgPool;
        d.name = "global_avgpool";
        d.infer = infer;
        d.reference = reference;
        d.grouping = input_grouping;
        d.lower = lower;
        d.onnx_ops = {"GlobalAveragePool", "ReduceMean"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
