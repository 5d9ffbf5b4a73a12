// fc: fully connected over the C*H*W values of its input (N x out_features).
#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "quantize/quantization.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

constexpr int64_t kMaxFeatures = 1 << 24;

void parse(const JsonView &e, Node &node) {
    node.out_channels = e.at("out_features").as_int(1, kMaxFeatures);
    node.bias = e.get_bool("bias", true);
}

std::vector<std::string> params(const Node &node) {
    if (node.bias) return {"weight", "bias"};
    return {"weight"};
}

Shape infer(const Graph &g, Node &node) {
    const Shape &x = g.nodes[node.inputs[0]].shape;
    for (auto &p : node.params) {
        if (p.role == "weight") p.shape = {node.out_channels, x.c * x.h * x.w};
        if (p.role == "bias") p.shape = {node.out_channels};
    }
    Shape s = {x.n, node.out_channels, 1, 1};
    s.rank = 2;
    return s;
}

LayerStats stats(const Graph &g, const Node &node) {
    int64_t features = g.nodes[node.inputs[0]].shape.elements() / node.shape.n;
    return {node.shape.n * node.out_channels * features, node.out_channels * features + (node.bias ? node.out_channels : 0)};
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &w) {
    const Shape &o = node.shape, &xs = *in[0].shape;
    const auto &weight = w.at(node.param("weight")->tensor).data;
    int64_t features = xs.c * xs.h * xs.w;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t j = 0; j < o.c; j++) {
            double acc = node.bias ? w.at(node.param("bias")->tensor).data[j] : 0.0;
            for (int64_t i = 0; i < features; i++) acc += static_cast<double>(weight[j * features + i]) * (*in[0].data)[n * features + i];
            out[n * o.c + j] = apply_activation(node, static_cast<float>(acc));
        }
    return out;
}

// Weights in panels of `panel` outputs (WeightPacker::dense_panel: the
// register block's vectors on x86, one vector on ARM), each panel
// [feature][output in panel], outputs past the last one zero: a block of
// outputs reads one contiguous stream. The plain [feature][out] layout put
// consecutive features 4 KB apart (1000 outputs): every load touched a new
// page, which the hardware prefetchers do not follow, and the FC of a
// ShuffleNet ran at memory latency (0.3 ms for 1 M MACs).
void pack(WeightPacker &packer, int index) {
    const Node &node = packer.node(index);
    const Shape &s = packer.graph().nodes[node.inputs[0]].shape;
    int64_t outs = node.out_channels, features = s.c * s.h * s.w, vector = packer.group_padding();
    // (No wider than the outputs: 10 classes need not pad to a block of 128.)
    int64_t panel = std::min(packer.dense_panel(index), (outs + vector - 1) / vector * vector);
    int64_t panels = (outs + panel - 1) / panel;
    const Tensor &weight = packer.tensor(index, "weight");
    const auto &w = weight.data;
    PackedNode &p = packer.packed(index);
    p.panel = panel;
    if (node.bias) p.bias = packer.append(packer.tensor(index, "bias").data);
    // An int8 model's FC (Quantization::fc_int8_weights): int8 weights per
    // output channel (symmetric, as the convs'), float inputs and sums.
    std::vector<double> scales =
        packer.plan().int8() && packer.plan().fc_int8_weights ? weight_channel_scales(weight) : std::vector<double>{};
    auto value = [&](int64_t o, int64_t f) {
        float v = w[o * features + f];
        return scales.empty() ? v : static_cast<float>(quantize_weight(v, scales[o]) * scales[o]);
    };
    if (!scales.empty() && !packer.float_by_element()) {
        // x86: stored as int8, the scale in the epilogue: a quarter of the
        // float weights' bytes (V1 1x g3: 3.84 MB of its 5.06), which the FC
        // reads once per run (memory-bound: 0.082 -> 0.057 ms same run). On
        // ARM they stay floats (q x scale): widening and converting took 4
        // instructions per vector of 4 (V1 int8: +1.05 M instructions).
        p.weight_i8 = packer.append_grouped_i8(panels, panel, features, [&](int64_t pi, int64_t k, int64_t f) {
            int64_t o = pi * panel + k;
            return o < outs ? quantize_weight(w[o * features + f], scales[o]) : 0;
        });
        std::vector<float> multiplier(static_cast<size_t>(panels * panel), 0.0f);
        for (int64_t o = 0; o < outs; o++) multiplier[static_cast<size_t>(o)] = static_cast<float>(scales[o]);
        p.multiplier = packer.append(multiplier);
        return;
    }
    std::vector<float> laid(static_cast<size_t>(panels * features * panel), 0.0f);
    for (int64_t o = 0; o < outs; o++)
        for (int64_t f = 0; f < features; f++) laid[((o / panel) * features + f) * panel + o % panel] = value(o, f);
    p.weight = packer.append(laid);
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    const Var &c = Vars::c, &x = Vars::x, &y = Vars::y, &n = Vars::n;
    Stage &st = L.add_stage(index, Stage::Dense);
    const Shape &s = L.graph().nodes[node.inputs[0]].shape;
    const PackedNode &p = L.packed(index);
    Value in = L.value(node.inputs[0]);
    st.acc = Func(c_identifier(node.name) + "_acc");
    Expr bias = p.bias.offset >= 0 ? L.weight_at(p.bias.offset, c) : Expr(0.0f);
    bool int8 = p.weight_i8.offset >= 0;  // int8 weights (pack): the scale and bias after the sum
    st.acc(c, x, y, n) = int8 ? Expr(0.0f) : bias;
    int panel = static_cast<int>(p.panel), features = static_cast<int>(s.c * s.h * s.w);
    auto weight = [&](Expr f) {
        Expr at = ((c / panel) * features + f) * panel + c % panel;
        return int8 ? cast<float>(L.weight_int_at(p.weight_i8, at)) : L.weight_at(p.weight.offset, at);
    };
    // Features in NCHW flatten order: f = (ci * H + iy) * W + ix.
    auto input = [&](Expr f) {
        int hw = static_cast<int>(s.h * s.w), w = static_cast<int>(s.w);
        return in.at(f / hw, f % hw % w, f % hw / w, n);
    };
    constexpr int kSlots = 4;
    if (L.float_by_element() && features % kSlots == 0 && in.at(0, 0, 0, n).type() == Float(32)) {
        // By lane (NEON fmla by element): 4 features' inputs loaded as one
        // vector per step, each a lane times its weight vector (where one
        // scalar load per feature took 24 instructions per 8 fmla on ARM).
        Var j("j"), q("q");
        Func lanes(c_identifier(node.name) + "_lanes");
        lanes(j, q, n) = input(q * kSlots + j);
        RDom r(0, kSlots, 0, features / kSlots, "r");
        st.acc(c, x, y, n) += weight(r.y * kSlots + r.x) * lanes(r.x, r.y, n);
        st.lane_inputs.push_back({lanes, 1, false});
        st.r = {r};
    } else {
        RDom r(0, static_cast<int>(s.w), 0, static_cast<int>(s.h), 0, static_cast<int>(s.c), "r");
        st.r = {r};
        Expr f = (r.z * static_cast<int>(s.h) + r.y) * static_cast<int>(s.w) + r.x;
        st.acc(c, x, y, n) += weight(f) * in.at(r.z, r.x, r.y, n);
    }
    Expr sum = st.acc(c, x, y, n);
    if (int8) sum = sum * L.weight_at(p.multiplier.offset, c) + bias;
    st.value.f(c, x, y, n) = Lowering::activate(node, sum);
}

// Gemm (alpha = beta = 1, transA = 0) with a constant weight matrix; a MatMul
// is an FC without bias (the importer attaches an Add of a constant after it
// as the bias).
void import_onnx(OnnxNodeImport &o) {
    OnnxTensor in = o.tensor(0);
    const OnnxConstant &w = o.constant(1);
    bool matmul = o.op_type() == "MatMul";
    if (!matmul) {
        o.allow_attrs({"alpha", "beta", "transA", "transB"});
        if (o.attr_float("alpha", 1) != 1 || o.attr_float("beta", 1) != 1 || o.attr_int("transA", 0) != 0)
            o.error("only alpha = beta = 1 and transA = 0 are supported");
    }
    bool trans_b = !matmul && o.attr_int("transB", 0) != 0;
    if (in.shape.size() != 2 || w.dims.size() != 2)
        o.error(matmul ? "only a matrix product of an N x K input with a constant K x M matrix is supported"
                       : "needs a 2-D input and 2-D weights");
    int64_t outs = trans_b ? w.dims[0] : w.dims[1], ins = trans_b ? w.dims[1] : w.dims[0];
    if (ins != in.shape[1]) o.error(cat("weights for ", ins, " inputs, the input has ", in.shape[1]));
    std::vector<double> t = w.values;  // to [out][in]
    if (!trans_b)
        for (int64_t i = 0; i < ins; i++)
            for (int64_t k = 0; k < outs; k++) t[k * ins + i] = w.values[i * outs + k];
    std::string name = o.layer_name(o.input_name(1));
    o.add_weight(name + ".weight", {outs, ins}, t);
    bool bias = !matmul && o.has_input(2);
    if (bias) {
        const OnnxConstant &b = o.constant(2);
        if (b.elements() != outs) o.error("only a bias of one value per output is supported");
        o.add_weight(name + ".bias", {outs}, b.values);
    }
    o.emit({{"op", "fc"}, {"name", name}, {"out_features", outs}, {"bias", bias}}, {in.layer}, {in.shape[0], outs});
}

}  // namespace

const OpDef &dense_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Dense;
        d.name = "fc";
        d.fields = {"out_features", "bias"};
        d.parse = parse;
        d.params = params;
        d.infer = infer;
        d.stats = stats;
        d.reference = reference;
        d.grouping = no_grouping;
        d.pack = pack;
        d.lower = lower;
        d.onnx_ops = {"Gemm", "MatMul"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
