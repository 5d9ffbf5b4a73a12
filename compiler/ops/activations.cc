// The elementwise activations of one input, each a scalar formula written
// twice, for the reference (double) and for Halide; a NaN stays a NaN in both:
//   relu          max(x, 0) (the passes fuse it into the conv, FC or add before it)
//   clip          clamp x to [min, max] (either may be absent: unbounded); ReLU6 is
//                 clip(0, 6) (MobileNet V2), fused like relu
//   sigmoid       1 / (1 + exp(-x)) (the gate of squeeze-and-excitation blocks)
//   hard_sigmoid  clamp(alpha * x + beta, 0, 1), ONNX's HardSigmoid (MobileNet V3's
//                 gate: PyTorch's relu6(x + 3) / 6 exports as alpha 1/6, beta 1/2)
//   hard_swish    x * hard_sigmoid(x) with those constants, ONNX's HardSwish
#include <cmath>
#include <limits>

#include "lower/lower_segment.h"
#include "ops/onnx_node_import.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

constexpr float kSwishAlpha = 1.0f / 6.0f, kSwishBeta = 0.5f;
const float kInfinity = std::numeric_limits<float>::infinity();

double gate(double a, double b, double v) {
    double t = a * v + b;
    return t < 0 ? 0 : t > 1 ? 1 : t;  // NaN passes through
}

double reference_value(const Node &node, double v) {
    switch (node.op) {
    case Op::Relu: return v < 0 ? 0 : v;
    case Op::Clip: return v < node.clip_min ? node.clip_min : v > node.clip_max ? node.clip_max : v;
    case Op::Sigmoid: return 1.0 / (1.0 + std::exp(-v));
    case Op::HardSigmoid: return gate(node.alpha, node.beta, v);
    default: return v * gate(kSwishAlpha, kSwishBeta, v);  // HardSwish
    }
}

Expr halide_value(const Node &node, Expr v) {
    switch (node.op) {
    case Op::Relu: return Lowering::clamp_keeping_nan(v, 0.0f, kInfinity);
    case Op::Clip: return Lowering::clamp_keeping_nan(v, node.clip_min, node.clip_max);
    case Op::Sigmoid: return 1.0f / (1.0f + exp(-v));
    case Op::HardSigmoid: return Lowering::clamp_keeping_nan(v * node.alpha + node.beta, 0.0f, 1.0f);
    default: return v * Lowering::clamp_keeping_nan(v * kSwishAlpha + kSwishBeta, 0.0f, 1.0f);
    }
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    std::vector<float> out = *in[0].data;
    for (auto &v : out) v = static_cast<float>(reference_value(node, v));
    return out;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Value in = L.value(node.inputs[0]);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
        return halide_value(node, Lowering::read(in, group, ch, kk, gg, Vars::x, Vars::y, Vars::n));
    });
}

void parse_hard_sigmoid(const JsonView &e, Node &node) {
    node.alpha = static_cast<float>(e.has("alpha") ? e.at("alpha").as_number(-1e30, 1e30) : 0.2);  // ONNX's defaults
    node.beta = static_cast<float>(e.has("beta") ? e.at("beta").as_number(-1e30, 1e30) : 0.5);
}

void parse_clip(const JsonView &e, Node &node) {
    node.clip_min = e.has("min") ? static_cast<float>(e.at("min").as_number(-1e30, 1e30)) : -INFINITY;
    node.clip_max = e.has("max") ? static_cast<float>(e.at("max").as_number(-1e30, 1e30)) : INFINITY;
    if (!(node.clip_min <= node.clip_max)) e.error(cat("min ", node.clip_min, " is larger than max ", node.clip_max));
}

// Bounds: attributes before opset 11, optional constant inputs 1 and 2 from 11 on.
void import_clip(OnnxNodeImport &o) {
    o.allow_attrs({"min", "max"});
    OnnxTensor in = o.tensor(0);
    nlohmann::ordered_json e = {{"op", "clip"}, {"name", o.layer_name()}};
    const char *keys[2] = {"min", "max"};
    for (int i = 0; i < 2; i++) {
        if (o.opset() < 11) {
            if (o.has_attr(keys[i])) e[keys[i]] = o.attr_float(keys[i], 0);
            continue;
        }
        if (!o.has_input(i + 1)) continue;
        if (!o.is_constant(i + 1)) o.error(cat("the ", keys[i], " bound (input ", i + 1, ") must be a constant"));
        const OnnxConstant &c = o.constant(i + 1);
        if (c.values.size() != 1) o.error(cat("the ", keys[i], " bound must be a single value"));
        if (std::isfinite(c.values[0]) && std::fabs(c.values[0]) < 1e30) e[keys[i]] = c.values[0];
    }
    o.emit(e, {in.layer}, in.shape);
}

const char *spec_name(const std::string &onnx_op) {
    return onnx_op == "Relu" ? "relu" : onnx_op == "Clip" ? "clip" : onnx_op == "Sigmoid" ? "sigmoid"
           : onnx_op == "HardSigmoid" ? "hard_sigmoid" : "hard_swish";
}

void import_onnx(OnnxNodeImport &o) {
    bool hard_sigmoid = o.op_type() == "HardSigmoid";
    o.allow_attrs(hard_sigmoid ? std::set<std::string>{"alpha", "beta"} : std::set<std::string>{});
    OnnxTensor in = o.tensor(0);
    nlohmann::ordered_json e = {{"op", spec_name(o.op_type())}, {"name", o.layer_name()}};
    if (hard_sigmoid) e["alpha"] = o.attr_float("alpha", 0.2f), e["beta"] = o.attr_float("beta", 0.5f);
    o.emit(e, {in.layer}, in.shape);
}

OpDef make(Op op, const char *onnx_op) {
    OpDef d;
    d.op = op;
    d.name = spec_name(onnx_op);
    if (op == Op::HardSigmoid) d.fields = {"alpha", "beta"}, d.parse = parse_hard_sigmoid;
    if (op == Op::Clip) d.fields = {"min", "max"}, d.parse = parse_clip;
    d.infer = same_shape;
    d.reference = reference;
    d.grouping = input_grouping;
    d.lower = lower;
    d.onnx_ops = {onnx_op};
    d.import_onnx = op == Op::Clip ? import_clip : import_onnx;
    return d;
}

}  // namespace

const OpDef &relu_op() {
    static const OpDef def = make(Op::Relu, "Relu");
    return def;
}

const OpDef &clip_op() {
    static const OpDef def = make(Op::Clip, "Clip");
    return def;
}

const OpDef &sigmoid_op() {
    static const OpDef def = make(Op::Sigmoid, "Sigmoid");
    return def;
}

const OpDef &hard_sigmoid_op() {
    static const OpDef def = make(Op::HardSigmoid, "HardSigmoid");
    return def;
}

const OpDef &hard_swish_op() {
    static const OpDef def = make(Op::HardSwish, "HardSwish");
    return def;
}

}  // namespace shufflec
