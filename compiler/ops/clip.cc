// clip: clamp x to [min, max] (either may be absent: unbounded). ReLU6 is
// clip(0, 6) (MobileNet V2); the passes fuse it into the conv, FC or add before it.
#include <cmath>
#include <limits>

#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

void parse(const JsonView &e, Node &node) {
    node.clip_min = e.has("min") ? static_cast<float>(e.at("min").as_number(-1e30, 1e30)) : -INFINITY;
    node.clip_max = e.has("max") ? static_cast<float>(e.at("max").as_number(-1e30, 1e30)) : INFINITY;
    if (!(node.clip_min <= node.clip_max)) e.error(cat("min ", node.clip_min, " is larger than max ", node.clip_max));
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    std::vector<float> out = *in[0].data;
    for (auto &v : out) v = v < node.clip_min ? node.clip_min : v > node.clip_max ? node.clip_max : v;
    return out;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Value in = L.value(node.inputs[0]);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
        return Lowering::clamp_keeping_nan(Lowering::read(in, group, ch, kk, gg, Vars::x, Vars::y, Vars::n),
                                           node.clip_min, node.clip_max);
    });
}

// Bounds: attributes before opset 11, optional constant inputs 1 and 2 from 11 on.
void import_onnx(OnnxNodeImport &o) {
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

}  // namespace

const OpDef &clip_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Clip;
        d.name = "clip";
        d.fields = {"min", "max"};
        d.parse = parse;
        d.infer = same_shape;
        d.reference = reference;
        d.grouping = input_grouping;
        d.lower = lower;
        d.onnx_ops = {"Clip"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
