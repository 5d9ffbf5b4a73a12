#include "import/onnx_export.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <onnx/onnx_pb.h>

#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

namespace {

// Builds the GraphProto: initializers, nodes and the names of their values.
class Writer {
public:
    Writer(const Graph &graph, const Weights &weights, const Quantization *q)
        : g_(graph), w_(weights), q_(q), value_(graph.nodes.size()) {
        if (q_) {
            roles_ = quant_roles(g_, q_);
            for (size_t i = 0; i < g_.nodes.size(); i++) int8_conv_.push_back(quantized_conv(g_, roles_, *q_, static_cast<int>(i)));
        }
    }

    std::string run() {
        onnx::ModelProto model;
        model.set_ir_version(8);
        model.set_producer_name("shufflec");
        model.set_model_version(1);
        auto *opset = model.add_opset_import();
        opset->set_domain("");
        opset->set_version(13);
        gp_ = model.mutable_graph();
        gp_->set_name(g_.name);
        io(gp_->add_input(), "input", g_.input().shape);
        value_[0] = store(0, "input");  // rounded where the int8 model quantizes its input
        for (size_t i = 1; i < g_.nodes.size(); i++) value_[i] = store(static_cast<int>(i), lower(static_cast<int>(i)));
        std::string output = names_.count("output") ? fresh("output") : "output";
        node("Identity", {value_[static_cast<size_t>(g_.output)]}, output);
        io(gp_->add_output(), output, g_.output_node().shape);
        std::string bytes;
        if (!model.SerializeToString(&bytes)) internal_error("ONNX serialization of '", g_.name, "'");
        return bytes;
    }

private:
    const Graph &g_;
    const Weights &w_;
    const Quantization *q_;
    std::vector<QuantRole> roles_;
    std::vector<bool> int8_conv_;  // per node (empty: a float model)
    bool int8(int i) const { return q_ && int8_conv_[static_cast<size_t>(i)]; }
    std::vector<std::string> value_;  // per node: the float value its readers read
    onnx::GraphProto *gp_ = nullptr;
    int counter_ = 0;
    std::set<std::string> names_ = {"input"};  // every value and initializer so far

    // ONNX names each value once; layer names that would collide (a layer
    // "a.q" beside a quantized "a") are an error naming both.
    const std::string &claim(const std::string &name) {
        if (!names_.insert(name).second)
            fail("export-onnx: two ONNX values would be named '", name,
                 "' (layer names and the suffixes the export adds collide); rename the layer");
        return name;
    }

    void io(onnx::ValueInfoProto *v, const std::string &name, const Shape &s) {
        v->set_name(name);
        auto *t = v->mutable_type()->mutable_tensor_type();
        t->set_elem_type(onnx::TensorProto::FLOAT);
        for (int64_t d : s.dims()) t->mutable_shape()->add_dim()->set_dim_value(d);
    }

    std::string fresh(const std::string &base) {
        std::string name;
        do name = base + "_" + std::to_string(counter_++);
        while (names_.count(name));
        return name;
    }

    onnx::NodeProto *node(const std::string &op, const std::vector<std::string> &inputs, const std::string &output) {
        onnx::NodeProto *n = gp_->add_node();
        n->set_op_type(op);
        n->set_name(output);
        for (const auto &in : inputs) n->add_input(in);
        n->add_output(claim(output));
        return n;
    }
    static void attr(onnx::NodeProto *n, const std::string &name, int64_t v) {
        auto *a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(v);
    }
    static void attr(onnx::NodeProto *n, const std::string &name, float v) {
        auto *a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(v);
    }
    static void attr(onnx::NodeProto *n, const std::string &name, const std::vector<int64_t> &v) {
        auto *a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (int64_t i : v) a->add_ints(i);
    }

    // Initializers (an empty shape is a scalar).
    onnx::TensorProto *initializer(const std::string &name, const std::vector<int64_t> &shape, int type) {
        onnx::TensorProto *t = gp_->add_initializer();
        t->set_name(claim(name));
        t->set_data_type(type);
        for (int64_t d : shape) t->add_dims(d);
        return t;
    }
    std::string floats(const std::string &name, const std::vector<int64_t> &shape, const std::vector<float> &v) {
        onnx::TensorProto *t = initializer(name, shape, onnx::TensorProto::FLOAT);
        t->set_raw_data(std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float)));
        return name;
    }
    std::string ints64(const std::string &name, const std::vector<int64_t> &v) {
        onnx::TensorProto *t = initializer(name, {static_cast<int64_t>(v.size())}, onnx::TensorProto::INT64);
        for (int64_t i : v) t->add_int64_data(i);
        return name;
    }
    std::string bytes8(const std::string &name, const std::vector<int64_t> &shape, const std::vector<int> &v,
                       bool is_unsigned) {
        onnx::TensorProto *t =
            initializer(name, shape, is_unsigned ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8);
        std::string raw(v.size(), '\0');
        for (size_t i = 0; i < v.size(); i++) raw[i] = static_cast<char>(static_cast<uint8_t>(v[i] & 0xff));
        t->set_raw_data(raw);
        return name;
    }
    std::string ints32(const std::string &name, const std::vector<int64_t> &shape, const std::vector<int32_t> &v) {
        onnx::TensorProto *t = initializer(name, shape, onnx::TensorProto::INT32);
        for (int32_t i : v) t->add_int32_data(i);
        return name;
    }

    const Tensor &weight(const Node &node, const std::string &role) {
        const Param *p = node.param(role);
        if (!p) internal_error(node.name, " has no ", role);
        return w_.at(p->tensor);
    }

    // x -> QuantizeLinear -> DequantizeLinear at scale `t` (zero point 0).
    std::string quantize(const std::string &x, const TensorQuant &t, const std::string &base) {
        std::string scale = floats(fresh(base + ".scale"), {}, {static_cast<float>(t.scale)});
        std::string zero = bytes8(fresh(base + ".zero_point"), {}, {0}, t.is_unsigned);
        std::string qv = base + ".q", dq = base + ".dq";
        node("QuantizeLinear", {x, scale, zero}, qv);
        node("DequantizeLinear", {qv, scale, zero}, dq);
        return dq;
    }

    // The node's output as its readers read it: rounded to its scale where the
    // int8 model stores it quantized.
    std::string store(int i, const std::string &out) {
        if (!q_ || roles_[static_cast<size_t>(i)] != QuantRole::Quantized || i == g_.output) return out;
        return quantize(out, q_->tensors.at(g_.nodes[static_cast<size_t>(i)].name), g_.nodes[static_cast<size_t>(i)].name);
    }

    // The fused activation after `x`.
    std::string activation(const Node &n, const std::string &x, const std::string &out) {
        if (!n.activation.enabled) return x;
        if (n.activation.is_relu()) {
            node("Relu", {x}, out);
        } else {
            std::string lo = floats(fresh(n.name + ".min"), {}, {n.activation.lo});
            std::string hi = floats(fresh(n.name + ".max"), {}, {n.activation.hi});
            node("Clip", {x, lo, hi}, out);
        }
        return out;
    }

    void window(onnx::NodeProto *o, const Node &n, bool kernel) {
        if (kernel) attr(o, "kernel_shape", std::vector<int64_t>{n.kernel_h, n.kernel_w});
        attr(o, "strides", std::vector<int64_t>{n.stride_h, n.stride_w});
        attr(o, "pads", std::vector<int64_t>{n.pad_top, n.pad_left, n.pad_bottom, n.pad_right});
    }

    // A channel gather: output channel c is input channel source[c].
    std::string gather(const std::string &x, const std::vector<int64_t> &source, const std::string &out) {
        auto *o = node("Gather", {x, ints64(fresh(out + ".indices"), source)}, out);
        attr(o, "axis", int64_t{1});
        return out;
    }

    // A conv's logical input: its input tensor, or its parts (Slice, Concat),
    // through its folded shuffles as one Gather of channels (ONNX Runtime ran
    // the int8 1x g3 1 ms slower with exporters' Reshape -> Transpose ->
    // Reshape form). Views of an int8 conv's input are quantized again with its
    // scale (a no-op on the values) so that ONNX Runtime keeps them in int8.
    std::string conv_input(int i) {
        const Node &n = g_.nodes[static_cast<size_t>(i)];
        auto requantized = [&](const std::string &v) { return int8(i) ? requantize_like(v, n.inputs[0]) : v; };
        std::string x = value_[static_cast<size_t>(n.inputs[0])];
        if (!n.parts.empty()) {
            std::vector<std::string> pieces;
            for (size_t k = 0; k < n.parts.size(); k++) {
                const InputPart &p = n.parts[k];
                const Node &src = g_.nodes[static_cast<size_t>(n.inputs[static_cast<size_t>(p.input)])];
                std::string v = value_[static_cast<size_t>(n.inputs[static_cast<size_t>(p.input)])];
                if (p.begin != 0 || p.count != src.shape.c) {
                    std::string piece = n.name + ".part" + std::to_string(k);
                    node("Slice", {v, ints64(fresh(piece + ".starts"), {p.begin}),
                                   ints64(fresh(piece + ".ends"), {p.begin + p.count}), ints64(fresh(piece + ".axes"), {1})},
                         piece);
                    v = requantized(piece);
                }
                pieces.push_back(v);
            }
            x = pieces[0];
            if (pieces.size() > 1) {
                x = n.name + ".inputs";
                attr(node("Concat", pieces, x), "axis", int64_t{1});
                x = requantized(x);
            }
        }
        if (n.input_shuffles.empty()) {
            bool view = g_.nodes[static_cast<size_t>(n.inputs[0])].op == Op::Slice;  // a Gather: quantized again
            return view && n.parts.empty() ? requantized(x) : x;
        }
        std::vector<int64_t> source;
        for (int64_t c = 0; c < input_channels(g_, n); c++) source.push_back(shuffled_channel(n.input_shuffles, c));
        return requantized(gather(x, source, n.name + ".shuffled"));
    }
    // `x` (a view of `source`) quantized again with source's scale.
    std::string requantize_like(const std::string &x, int source) {
        return quantize(x, q_->tensors.at(g_.nodes[static_cast<size_t>(stored_source(g_, source))].name), x);
    }

    // A weight tensor as int8 per output channel (axis 0), dequantized:
    // the int8 model's conv and FC weights (quantize/quantization.h). Its
    // name; its scales in `*channel_scales` where given.
    std::string int8_weights(const Node &n, std::vector<double> *channel_scales = nullptr) {
        const Tensor &w = weight(n, "weight");
        std::vector<double> scales = weight_channel_scales(w);
        if (channel_scales) *channel_scales = scales;
        size_t per = w.data.size() / scales.size();
        std::vector<int> wq(w.data.size());
        for (size_t j = 0; j < w.data.size(); j++) wq[j] = quantize_weight(w.data[j], scales[j / per]);
        std::vector<float> ws(scales.begin(), scales.end());
        int64_t co = static_cast<int64_t>(scales.size());
        std::string wname = bytes8(n.name + ".weight_q", w.shape, wq, false);
        std::string sname = floats(n.name + ".weight_scale", {co}, ws);
        std::string zname = bytes8(n.name + ".weight_zero_point", {co}, std::vector<int>(scales.size(), 0), false);
        attr(node("DequantizeLinear", {wname, sname, zname}, n.name + ".weight"), "axis", int64_t{0});
        return n.name + ".weight";
    }

    std::string conv(int i) {
        const Node &n = g_.nodes[static_cast<size_t>(i)];
        std::string x = conv_input(i);
        const Tensor &w = weight(n, "weight");
        std::vector<std::string> inputs = {x};
        if (int8(i)) {
            std::vector<double> scales;
            inputs.push_back(int8_weights(n, &scales));
            int64_t co = static_cast<int64_t>(scales.size());
            if (n.bias) {
                // int32 at scale input x weight[c], as shufflec and ONNX Runtime's QDQ convs use it.
                const Tensor &b = weight(n, "bias");
                double in_scale = q_->tensors.at(g_.nodes[static_cast<size_t>(stored_source(g_, n.inputs[0]))].name).scale;
                std::vector<float> bs(scales.size());
                std::vector<int32_t> bq(scales.size());
                for (size_t c = 0; c < scales.size(); c++) {
                    bs[c] = static_cast<float>(in_scale * scales[c]);
                    bq[c] = quantize_bias(b.data[c], in_scale * scales[c]);
                }
                std::string bname = ints32(n.name + ".bias_q", {co}, bq);
                std::string bsname = floats(n.name + ".bias_scale", {co}, bs);
                std::string bzname = ints32(n.name + ".bias_zero_point", {co}, std::vector<int32_t>(scales.size(), 0));
                attr(node("DequantizeLinear", {bname, bsname, bzname}, n.name + ".bias"), "axis", int64_t{0});
                inputs.push_back(n.name + ".bias");
            }
        } else {
            inputs.push_back(floats(n.name + ".weight", w.shape, w.data));
            if (n.bias) inputs.push_back(floats(n.name + ".bias", weight(n, "bias").shape, weight(n, "bias").data));
        }
        std::string out = n.activation.enabled ? n.name + ".conv" : n.name;
        auto *o = node("Conv", inputs, out);
        window(o, n, true);
        attr(o, "group", n.groups);
        return activation(n, out, n.name);
    }

    std::string lower(int i) {
        const Node &n = g_.nodes[static_cast<size_t>(i)];
        auto in = [&](size_t k) { return value_[static_cast<size_t>(n.inputs[k])]; };
        const std::string &name = n.name;
        switch (n.op) {
        case Op::Conv:
            return conv(i);
        case Op::BatchNorm: {
            std::vector<std::string> ins = {in(0)};
            for (const char *role : {"weight", "bias", "running_mean", "running_var"}) {
                const Tensor &t = weight(n, role);
                ins.push_back(floats(name + "." + role, t.shape, t.data));
            }
            attr(node("BatchNormalization", ins, name), "epsilon", static_cast<float>(n.eps));
            return name;
        }
        case Op::Relu:
            node("Relu", {in(0)}, name);
            return name;
        case Op::Clip: {
            std::string lo = floats(name + ".min", {}, {n.clip_min}), hi = floats(name + ".max", {}, {n.clip_max});
            node("Clip", {in(0), lo, hi}, name);
            return name;
        }
        case Op::Sigmoid:
            node("Sigmoid", {in(0)}, name);
            return name;
        case Op::HardSigmoid: {
            auto *o = node("HardSigmoid", {in(0)}, name);
            attr(o, "alpha", n.alpha);
            attr(o, "beta", n.beta);
            return name;
        }
        case Op::HardSwish: {  // x * hardsigmoid(x, 1/6, 1/2) (HardSwish itself is opset 14)
            auto *o = node("HardSigmoid", {in(0)}, name + ".gate");
            attr(o, "alpha", 1.0f / 6.0f);
            attr(o, "beta", 0.5f);
            node("Mul", {in(0), name + ".gate"}, name);
            return name;
        }
        case Op::MaxPool:
        case Op::AvgPool: {
            auto *o = node(n.op == Op::MaxPool ? "MaxPool" : "AveragePool", {in(0)}, name);
            window(o, n, true);
            if (n.op == Op::AvgPool) attr(o, "count_include_pad", int64_t{n.count_include_pad ? 1 : 0});
            return name;
        }
        case Op::GlobalAvgPool:
            node("GlobalAveragePool", {in(0)}, name);
            return name;
        case Op::Dense: {
            std::string x = in(0);
            if (g_.nodes[static_cast<size_t>(n.inputs[0])].shape.rank != 2) {
                attr(node("Flatten", {x}, name + ".flat"), "axis", int64_t{1});
                x = name + ".flat";
            }
            // An int8 model's FC weights: int8 (Quantization::fc_int8_weights), or floats.
            const Tensor &w = weight(n, "weight");
            std::vector<std::string> ins = {x, q_ && q_->fc_int8_weights ? int8_weights(n)
                                                                        : floats(name + ".weight", w.shape, w.data)};
            if (n.bias) ins.push_back(floats(name + ".bias", weight(n, "bias").shape, weight(n, "bias").data));
            std::string out = n.activation.enabled ? name + ".gemm" : name;
            attr(node("Gemm", ins, out), "transB", int64_t{1});
            return activation(n, out, name);
        }
        case Op::Add:
        case Op::Mul: {
            std::string out = n.activation.enabled ? name + ".sum" : name;
            node(n.op == Op::Add ? "Add" : "Mul", {in(0), in(1)}, out);
            return activation(n, out, name);
        }
        case Op::Concat: {
            std::vector<std::string> all;
            for (size_t k = 0; k < n.inputs.size(); k++) all.push_back(in(k));
            attr(node("Concat", all, name), "axis", int64_t{1});
            return name;
        }
        case Op::ChannelShuffle:
        case Op::ChannelPermute:
        case Op::Slice: {
            // A Slice op is a Gather too: ONNX Runtime moves a DequantizeLinear
            // through a Slice (not a Gather), and would then quantize the
            // weights of a float conv reading it (a split depthwise conv of
            // ShuffleNet V2) its own way: no longer shufflec's network.
            std::vector<int64_t> source;
            for (int64_t c = 0; c < n.shape.c; c++)
                source.push_back(n.op == Op::Slice            ? n.begin + c
                                 : n.op == Op::ChannelPermute ? n.order[static_cast<size_t>(c)]
                                                              : shuffle_source_channel(n.shuffle, n.groups, n.shape.c, c));
            return gather(in(0), source, name);
        }
        case Op::Flatten:
            attr(node("Flatten", {in(0)}, name), "axis", int64_t{1});
            return name;
        case Op::Softmax:
            attr(node("Softmax", {in(0)}, name), "axis", int64_t{1});
            return name;
        case Op::Input:
            break;
        }
        fail("export-onnx: ", op_name(n.op), " '", name, "' has no ONNX form");
    }
};

}  // namespace

std::string export_onnx(const Graph &graph, const Weights &weights, const Quantization *q) {
    return Writer(graph, weights, q).run();
}

}  // namespace shufflec
