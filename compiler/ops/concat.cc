// concat: along channels. When all its inputs are materialized it costs
// nothing: each input is written into its channel range of one buffer (a
// "view", lower/segment_plan.h); the passes fold a concat read by convs into
// their input parts.
#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

Shape infer(const Graph &g, Node &node) {
    Shape s = g.nodes[node.inputs[0]].shape;
    s.c = 0;
    for (int in : node.inputs) {
        const Shape &x = g.nodes[in].shape;
        if (x.n != s.n || x.h != s.h || x.w != s.w || x.rank != s.rank)
            fail(node.origin, ": concat '", node.name, "': input '", g.nodes[in].name, "' has shape ", to_string(x),
                 "; concat needs equal batch, height and width (first input: ", to_string(g.nodes[node.inputs[0]].shape),
                 ")");
        s.c += x.c;
    }
    return s;
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    const Shape &o = node.shape;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    int64_t plane = o.h * o.w, offset = 0;
    for (const RefTensor &x : in) {
        for (int64_t n = 0; n < o.n; n++)
            for (int64_t c = 0; c < x.shape->c; c++)
                for (int64_t p = 0; p < plane; p++)
                    out[(n * o.c + offset + c) * plane + p] = (*x.data)[(n * x.shape->c + c) * plane + p];
        offset += x.shape->c;
    }
    return out;
}

void lower(Lowering &L, int index) {
    Func f = L.concat(L.node(index));
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, 0, [&](Expr ch, Expr, Expr) { return f(ch, Vars::x, Vars::y, Vars::n); });
}

void import_onnx(OnnxNodeImport &o) {
    if (o.attr_int("axis", 1) != 1) o.error("only a concat along channels (axis 1) is supported");
    std::vector<std::string> layers;
    std::vector<int64_t> shape;
    for (int i = 0; i < o.inputs(); i++) {
        OnnxTensor t = o.tensor(i);
        layers.push_back(t.layer);
        if (shape.empty()) shape = t.shape;
        else if (shape.size() >= 2 && t.shape.size() >= 2) shape[1] += t.shape[1];
    }
    o.emit({{"op", "concat"}, {"name", o.layer_name()}}, layers, shape);
}

}  // namespace

const OpDef &concat_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Concat;
        d.name = "concat";
        d.min_inputs = 2;
        d.max_inputs = 1024;
        d.infer = infer;
        d.reference = reference;
        d.grouping = no_grouping;
        d.lower = lower;
        d.onnx_ops = {"Concat"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
