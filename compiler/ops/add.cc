// add: elementwise sum of two tensors of the same shape (a residual
// connection; the passes fuse the ReLU after it).
#include <algorithm>

#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

Shape infer(const Graph &g, Node &node) {
    const Shape &a = g.nodes[node.inputs[0]].shape, &b = g.nodes[node.inputs[1]].shape;
    if (a != b)
        fail(node.origin, ": add '", node.name, "': input shapes differ: ", to_string(a), " ('",
             g.nodes[node.inputs[0]].name, "') vs ", to_string(b), " ('", g.nodes[node.inputs[1]].name, "')");
    Shape s = a;
    s.rank = std::max(a.rank, b.rank);
    return s;
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    std::vector<float> out(in[0].data->size());
    for (size_t k = 0; k < out.size(); k++) out[k] = apply_activation(node, (*in[0].data)[k] + (*in[1].data)[k]);
    return out;
}

// ReLU(x + branch) in a unit: follow the branch (input 1), computed in the same
// segment, so the add fuses into its last conv's tiles.
int64_t grouping(const Graph &, const std::vector<int64_t> &groupings, const Node &node) {
    return groupings[node.inputs[1]] ? groupings[node.inputs[1]] : groupings[node.inputs[0]];
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    int64_t group = L.grouping(index);
    Value a = L.value(node.inputs[0]), b = L.value(node.inputs[1]);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    const Var &x = Vars::x, &y = Vars::y, &n = Vars::n;
    // An int8 model's add stored in int8 (ShuffleNet V1's ReLU(x + branch)):
    // each operand in steps of the output's scale (a stored operand's integers
    // x its scale / the output's, a float one x 1 / the output's), rounded and
    // clamped to the activation's steps (Lowering::activation_steps): no
    // float activation or rescaling after the sum.
    const ValueQuant out = L.plan().int8() ? L.plan().quant[static_cast<size_t>(index)] : ValueQuant{};
    int lo = 0, hi = 0;
    // In fixed point (ARM) a conv operand may have computed the sum's
    // integers itself (PackedNode::add_node): the add reads them.
    for (int operand : node.inputs)
        if (L.packed(operand).add_node == index) {
            const Value v = L.value(operand);
            Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
                return Lowering::read_raw(v, group, ch, kk, gg, x, y, n);
            });
            st.value.q = out;
            return;
        }
    if (out.quantized && Lowering::activation_steps(node, out, &lo, &hi)) {
        auto steps = [&](int operand, const Value &v, Expr ch, Expr kk, Expr gg) {
            if (L.packed(operand).add_scaled == index)  // in these steps already (PackedNode::add_scaled)
                return Lowering::read(v, group, ch, kk, gg, x, y, n);
            if (v.q.quantized)
                return cast<float>(Lowering::read_raw(v, group, ch, kk, gg, x, y, n)) * static_cast<float>(v.q.scale / out.scale);
            return Lowering::read(v, group, ch, kk, gg, x, y, n) * static_cast<float>(1 / out.scale);
        };
        Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
            return Lowering::stored_steps(steps(node.inputs[0], a, ch, kk, gg) + steps(node.inputs[1], b, ch, kk, gg), lo, hi,
                                          out.is_unsigned ? UInt(8) : Int(8));
        });
        st.value.q = out;
        return;
    }
    // An fp16 model adds its halves (one rounding, as the stored sum has).
    auto read = L.plan().fp16() ? Lowering::read_raw : Lowering::read;
    Lowering::define(st.value.f, group, [&](Expr ch, Expr kk, Expr gg) {
        return Lowering::activate(node, read(a, group, ch, kk, gg, x, y, n) + read(b, group, ch, kk, gg, x, y, n));
    });
}

void import_onnx(OnnxNodeImport &o) {
    OnnxTensor a = o.tensor(0), b = o.tensor(1);
    if (a.shape != b.shape) o.error("only an add of two tensors of the same shape is supported (no broadcasting)");
    o.emit({{"op", "add"}, {"name", o.layer_name()}}, {a.layer, b.layer}, a.shape);
}

}  // namespace

const OpDef &add_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Add;
        d.name = "add";
        d.min_inputs = d.max_inputs = 2;
        d.infer = infer;
        d.reference = reference;
        d.grouping = grouping;
        d.lower = lower;
        d.onnx_ops = {"Add"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
