// hard_sigmoid: clamp(alpha * x + beta, 0, 1), ONNX's HardSigmoid (MobileNet V3's
// gate: PyTorch's relu6(x + 3) / 6 exports as alpha 1/6, beta 1/2); hard_swish:
// x * hard_sigmoid(x) with those constants, ONNX's HardSwish. A NaN stays a NaN.
#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

constexpr float kSwishAlpha = 1.0f / 6.0f, kSwishBeta = 0.5f;

void parse(const JsonView &e, Node &node) {
    node.alpha = static_cast<float>(e.has("alpha") ? e.at("alpha").as_number(-1e30, 1e30) : 0.2);  // ONNX's defaults
    node.beta = static_cast<float>(e.has("beta") ? e.at("beta").as_number(-1e30, 1e30) : 0.5);
}

double gate(double a, double b, double v) {
    double t = a * v + b;
    return t < 0 ? 0 : t > 1 ? 1 : t;  // NaN passes through
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    std::vector<float> out = *in[0].data;
    bool swish = node.op == Op::HardSwish;
    for (auto &v : out)
        v = static_cast<float>(swish ? v * gate(kSwishAlpha, kSwishBeta, v) : gate(node.alpha, node.beta, v));
    return out;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Value in = L.value(node.inputs[0]);
    bool swish = node.op == Op::HardSwish;
    float a = swish ? kSwishAlpha : node.alpha, b = swish ? kSwishBeta : node.beta;
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
        Expr v = Lowering::read(in, group, ch, kk, gg, Vars::x, Vars::y, Vars::n);
        Expr h = Lowering::clamp_keeping_nan(v * a + b, 0.0f, 1.0f);
        return swish ? v * h : h;
    });
}

void import_onnx(OnnxNodeImport &o) {
    bool swish = o.op_type() == "HardSwish";
    o.allow_attrs(swish ? std::set<std::string>{} : std::set<std::string>{"alpha", "beta"});
    OnnxTensor in = o.tensor(0);
    nlohmann::ordered_json e = {{"op", swish ? "hard_swish" : "hard_sigmoid"}, {"name", o.layer_name()}};
    if (!swish) e["alpha"] = o.attr_float("alpha", 0.2f), e["beta"] = o.attr_float("beta", 0.5f);
    o.emit(e, {in.layer}, in.shape);
}

OpDef make(Op op, const char *name) {
    OpDef d;
    d.op = op;
    d.name = name;
    if (op == Op::HardSigmoid) d.fields = {"alpha", "beta"}, d.parse = parse;
    d.infer = same_shape;
    d.reference = reference;
    d.grouping = input_grouping;
    d.lower = lower;
    d.onnx_ops = {op == Op::HardSigmoid ? "HardSigmoid" : "HardSwish"};
    d.import_onnx = import_onnx;
    return d;
}

}  // namespace

const OpDef &hard_sigmoid_op() {
    static const OpDef def = make(Op::HardSigmoid, "hard_sigmoid");
    return def;
}

const OpDef &hard_swish_op() {
    static const OpDef def = make(Op::HardSwish, "hard_swish");
    return def;
}

}  // namespace shufflec
