// batchnorm: inference-mode batch normalization, (x - mean) / sqrt(var + eps) * gamma + beta.
// After a conv or an FC the passes fold it into their weights; what remains is
// a per-channel affine map.
#include <cmath>

#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"

namespace shufflec {

using namespace Halide;

namespace {

void parse(const JsonView &e, Node &node) { node.eps = e.get_number("eps", 1e-5, 0.0, 1.0); }

std::vector<std::string> params(const Node &) { return {"weight", "bias", "running_mean", "running_var"}; }

Shape infer(const Graph &g, Node &node) {
    const Shape &x = g.nodes[node.inputs[0]].shape;
    for (auto &p : node.params) p.shape = {x.c};
    return x;
}

LayerStats stats(const Graph &, const Node &node) { return {0, 2 * node.shape.c}; }

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &w) {
    const Shape &o = node.shape;
    const auto &gamma = w.at(node.param("weight")->tensor).data, &beta = w.at(node.param("bias")->tensor).data;
    const auto &mean = w.at(node.param("running_mean")->tensor).data, &var = w.at(node.param("running_var")->tensor).data;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    int64_t plane = o.h * o.w;
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t c = 0; c < o.c; c++) {
            double scale = gamma[c] / std::sqrt(static_cast<double>(var[c]) + node.eps);
            for (int64_t i = 0; i < plane; i++) {
                int64_t k = (n * o.c + c) * plane + i;
                out[k] = static_cast<float>(((*in[0].data)[k] - static_cast<double>(mean[c])) * scale + beta[c]);
            }
        }
    return out;
}

void pack(WeightPacker &packer, int index) {
    const Node &node = packer.node(index);
    int64_t channels = node.shape.c;
    const auto &gamma = packer.tensor(index, "weight").data, &beta = packer.tensor(index, "bias").data;
    const auto &mean = packer.tensor(index, "running_mean").data, &var = packer.tensor(index, "running_var").data;
    std::vector<float> scale(channels), shift(channels);
    for (int64_t i = 0; i < channels; i++) {
        double sc = gamma[i] / std::sqrt(static_cast<double>(var[i]) + node.eps);
        scale[i] = static_cast<float>(sc);
        shift[i] = static_cast<float>(beta[i] - mean[i] * sc);
    }
    PackedNode &p = packer.packed(index);
    p.scale = packer.append(scale);
    p.shift = packer.append(shift);
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Value in = L.value(node.inputs[0]);
    const PackedNode &p = L.packed(index);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
        return Lowering::read(in, group, ch, kk, gg, Vars::x, Vars::y, Vars::n) * L.weight_at(p.scale.offset, ch) +
               L.weight_at(p.shift.offset, ch);
    });
}

void import_onnx(OnnxNodeImport &o) {
    o.allow_attrs({"epsilon", "momentum", "training_mode", "spatial"});
    if (o.attr_int("training_mode", 0) != 0) o.error("training mode is not supported");
    OnnxTensor in = o.tensor(0);
    std::string name = o.layer_name(o.input_name(1));
    const char *roles[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++) {
        const OnnxConstant &c = o.constant(i + 1);
        if (in.shape.size() < 2 || c.elements() != in.shape[1]) o.error("statistics do not match the channels");
        o.add_weight(name + "." + roles[i], {in.shape[1]}, c.values);
    }
    o.emit({{"op", "batchnorm"}, {"name", name}, {"eps", o.attr_float("epsilon", 1e-5f)}}, {in.layer}, in.shape);
}

}  // namespace

const OpDef &batchnorm_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::BatchNorm;
        d.name = "batchnorm";
        d.fields = {"eps"};
        d.parse = parse;
        d.params = params;
        d.infer = infer;
        d.stats = stats;
        d.reference = reference;
        d.grouping = input_grouping;
        d.pack = pack;
        d.lower = lower;
        d.onnx_ops = {"BatchNormalization"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
