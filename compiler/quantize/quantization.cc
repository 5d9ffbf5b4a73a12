#include "quantize/quantization.h"

#include <algorithm>
#include <cmath>

#include "reference/interpreter.h"
#include "spec/json_view.h"
#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

bool never_negative(const Graph &graph, int index) {
    const Node &node = graph.nodes[index];
    if (node.activation.enabled && node.activation.lo >= 0) return true;
    switch (node.op) {
        case Op::Relu:
        case Op::Sigmoid:
        case Op::HardSigmoid:
            return true;
        case Op::Clip:
            return node.clip_min >= 0;
        case Op::MaxPool:
        case Op::AvgPool:
        case Op::GlobalAvgPool:
        case Op::Slice:
        case Op::ChannelShuffle:
        case Op::ChannelPermute:
        case Op::Flatten:
            return never_negative(graph, node.inputs[0]);
        case Op::Concat:
            return std::all_of(node.inputs.begin(), node.inputs.end(), [&](int in) { return never_negative(graph, in); });
        default:
            return false;
    }
}

std::vector<QuantRole> quant_roles(const Graph &graph, const Quantization *q) {
    std::vector<std::vector<int>> consumers = graph.consumers();
    std::vector<QuantRole> roles(graph.nodes.size(), QuantRole::Float);
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        Op op = graph.nodes[i].op;
        // The network input: quantized where `q` gives it a scale and convs
        // read it (input_quantizable); the app's floats are rounded to it as
        // the stem reads them. Else it stays float and so does the stem.
        if (op == Op::Input) {
            if (q && q->tensors.count(graph.nodes[i].name) && input_quantizable(graph)) roles[i] = QuantRole::Quantized;
            continue;
        }
        bool stored = op == Op::Conv || op == Op::Add || op == Op::Concat || op == Op::MaxPool || op == Op::AvgPool;
        if (!stored || static_cast<int>(i) == graph.output) continue;
        const auto &readers = consumers[i];
        bool merged = !readers.empty() && std::all_of(readers.begin(), readers.end(), [&](int r) {
            return graph.nodes[r].op == Op::Add || graph.nodes[r].op == Op::Concat;
        });
        roles[i] = merged && !(q && q->tensors.count(graph.nodes[i].name)) ? QuantRole::Unstored : QuantRole::Quantized;
    }
    return roles;
}

bool input_quantizable(const Graph &graph) {
    bool read = false;
    for (const Node &node : graph.nodes)
        for (int in : node.inputs)
            if (graph.nodes[static_cast<size_t>(in)].op == Op::Input) {
                if (node.op != Op::Conv || !node.parts.empty() || node.inputs.size() != 1) return false;
                read = true;
            }
    return read;
}

bool quantized_conv(const Graph &graph, const std::vector<QuantRole> &roles, const Quantization &q, int index) {
    const Node &node = graph.nodes[index];
    if (node.op != Op::Conv || node.inputs.empty()) return false;
    if (node.inputs.size() > 1 && node.parts.empty()) return false;
    // Parts of several tensors are summed in one accumulator: one scale for all.
    const TensorQuant *first = nullptr;
    for (int input : node.inputs) {
        int in = stored_source(graph, input);
        if (roles[in] != QuantRole::Quantized) return false;
        auto it = q.tensors.find(graph.nodes[in].name);
        if (it == q.tensors.end()) return false;
        if (first && (it->second.scale != first->scale || it->second.is_unsigned != first->is_unsigned)) return false;
        first = &it->second;
    }
    return true;
}

int stored_source(const Graph &graph, int node) {
    while (graph.nodes[node].op == Op::Slice) node = graph.nodes[node].inputs[0];
    return node;
}

TensorQuant make_tensor_quant(double bound, bool is_unsigned, double min, double max) {
    TensorQuant q;
    q.is_unsigned = is_unsigned;
    q.scale = bound > 0 && std::isfinite(bound) ? bound / q.qmax() : 1.0;
    q.min = min;
    q.max = max;
    return q;
}

double fake_quantize(const TensorQuant &q, double x) {
    if (std::isnan(x)) return x;
    double v = std::nearbyint(x / q.scale);  // the default rounding mode: half to even
    return std::clamp(v, static_cast<double>(q.qmin()), static_cast<double>(q.qmax())) * q.scale;
}

std::vector<double> weight_channel_scales(const Tensor &w) {
    int64_t channels = w.shape[0], per = static_cast<int64_t>(w.data.size()) / channels;
    std::vector<double> scales(static_cast<size_t>(channels));
    for (int64_t co = 0; co < channels; co++) {
        double amax = 0;
        for (int64_t j = 0; j < per; j++) amax = std::max(amax, std::fabs(static_cast<double>(w.data[co * per + j])));
        scales[co] = amax > 0 ? amax / 127.0 : 1.0;
    }
    return scales;
}

int quantize_weight(double w, double scale) {
    return static_cast<int>(std::clamp(std::nearbyint(w / scale), -127.0, 127.0));
}

int32_t quantize_bias(double b, double scale) {
    return static_cast<int32_t>(std::clamp(std::nearbyint(b / scale), -2147483647.0, 2147483647.0));
}

float quantized_bias(double b, double scale) { return static_cast<float>(quantize_bias(b, scale) * scale); }

Weights fake_quantize_weights(const Graph &graph, const Weights &weights, const Quantization &q) {
    Weights out = weights;
    std::vector<QuantRole> roles = quant_roles(graph, &q);
    // w = q * scale, per output channel; the scales.
    auto quantize_channels = [](Tensor &w) {
        std::vector<double> scales = weight_channel_scales(w);
        size_t per = w.data.size() / scales.size();
        for (size_t j = 0; j < w.data.size(); j++)
            w.data[j] = static_cast<float>(quantize_weight(w.data[j], scales[j / per]) * scales[j / per]);
        return scales;
    };
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        const Node &node = graph.nodes[i];
        // Fully connected layers: int8 weights, float inputs and bias (dense.cc).
        if (node.op == Op::Dense && q.fc_int8_weights) quantize_channels(out.at(node.param("weight")->tensor));
        if (!quantized_conv(graph, roles, q, static_cast<int>(i))) continue;
        std::vector<double> scales = quantize_channels(out.at(node.param("weight")->tensor));
        if (const Param *bias = node.param("bias")) {
            double in_scale = q.tensors.at(graph.nodes[stored_source(graph, node.inputs[0])].name).scale;
            Tensor &b = out.at(bias->tensor);
            for (size_t c = 0; c < b.data.size(); c++) b.data[c] = quantized_bias(b.data[c], in_scale * scales[c]);
        }
    }
    return out;
}

void check_quantization(const Graph &graph, const Quantization &q, const std::string &source) {
    std::vector<QuantRole> roles = quant_roles(graph, &q);
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        const Node &node = graph.nodes[i];
        auto it = q.tensors.find(node.name);
        if (roles[i] != QuantRole::Quantized) {
            if (it != q.tensors.end())
                fail(source, ": $.tensors.", node.name, ": this tensor of model '", graph.name,
                     "' is not stored quantized (", op_name(node.op), "); was the file made for another model?");
            continue;
        }
        if (it == q.tensors.end())
            fail(source, ": no scale for tensor '", node.name, "' of model '", graph.name,
                 "' (made for another model? run shufflec quantize again)");
        // (An input may be uint8: the app's negative values then round to 0.)
        if (it->second.is_unsigned && node.op != Op::Input && !never_negative(graph, static_cast<int>(i)))
            fail(source, ": $.tensors.", node.name, ".dtype: uint8, but this tensor can be negative");
    }
    for (const auto &[name, tq] : q.tensors)
        if (graph.find(name) < 0)
            fail(source, ": $.tensors.", name, ": model '", graph.name, "' has no such tensor (made for model '",
                 q.model, "'?)");
}

std::vector<float> run_reference_quantized(const Graph &graph, const Weights &weights, const Quantization &q,
                                           const std::vector<float> &input, const NodeHook &observe) {
    std::vector<QuantRole> roles = quant_roles(graph, &q);
    std::vector<const TensorQuant *> scale(graph.nodes.size(), nullptr);
    for (size_t i = 0; i < graph.nodes.size(); i++)
        if (roles[i] == QuantRole::Quantized) scale[i] = &q.tensors.at(graph.nodes[i].name);
    Weights quantized = fake_quantize_weights(graph, weights, q);
    return run_reference(graph, quantized, input, [&](int node, std::vector<float> &value) {
        if (scale[node])
            for (float &v : value) v = static_cast<float>(fake_quantize(*scale[node], v));
        if (observe) observe(node, value);
    });
}

namespace {

// The reference with conv parameters (weights, and biases if `biases`) and
// every node's value rounded by `round`.
std::vector<float> run_reference_rounded(const Graph &graph, const Weights &weights, const std::vector<float> &input,
                                         float (*round)(float), bool biases, const NodeHook &observe) {
    Weights rounded = weights;
    for (const Node &node : graph.nodes) {
        if (node.op != Op::Conv) continue;
        for (const Param &p : node.params)
            if (p.role == "weight" || biases)
                for (float &v : rounded.at(p.tensor).data) v = round(v);
    }
    return run_reference(graph, rounded, input, [&](int node, std::vector<float> &value) {
        for (float &v : value) v = round(v);
        if (observe) observe(node, value);
    });
}

}  // namespace

std::vector<float> run_reference_fp16(const Graph &graph, const Weights &weights, const std::vector<float> &input,
                                      const NodeHook &observe) {
    return run_reference_rounded(graph, weights, input, round_to_half, true, observe);
}

std::vector<float> run_reference_bf16(const Graph &graph, const Weights &weights, const std::vector<float> &input,
                                      const NodeHook &observe) {
    return run_reference_rounded(graph, weights, input, round_to_bfloat16, false, observe);
}

Quantization quantization_from_layers(const Graph &graph, const std::map<std::string, TensorQuant> &by_layer,
                                      const std::string &source) {
    Quantization q;
    q.model = graph.name;
    q.method = "qdq";
    for (const Node &node : graph.nodes) {
        std::vector<std::string> names = {node.name};
        names.insert(names.end(), node.aliases.begin(), node.aliases.end());
        const TensorQuant *found = nullptr;
        std::string found_name;
        for (auto it = names.rbegin(); it != names.rend(); ++it) {
            auto f = by_layer.find(*it);
            if (f == by_layer.end()) continue;
            // Rounded before an op folded into this one (a conv's output before
            // its ReLU): exact only with the same scale, which rounds nothing more.
            if (found && (f->second.scale != found->scale || f->second.is_unsigned != found->is_unsigned))
                fail(source, ": '", *it, "' is quantized, then again with another scale after '", found_name,
                     "', which shufflec fuses into it: quantize only after the fused op (as ONNX Runtime's "
                     "quantizer does)");
            if (!found) found = &f->second, found_name = *it;
        }
        if (found) q.tensors[node.name] = *found;
    }
    std::vector<QuantRole> roles = quant_roles(graph, &q);
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        const Node &node = graph.nodes[i];
        if (roles[i] == QuantRole::Float) q.tensors.erase(node.name);
        if (roles[i] != QuantRole::Quantized || q.tensors.count(node.name)) continue;
        auto in = node.inputs.empty() ? q.tensors.end() : q.tensors.find(graph.nodes[node.inputs[0]].name);
        if (node.op == Op::MaxPool && in != q.tensors.end()) {
            q.tensors[node.name] = in->second;
            continue;
        }
        fail(source, ": no QuantizeLinear on the output of '", node.name, "' (", op_name(node.op),
             "), which shufflec stores in int8: a QDQ model for shufflec quantizes every conv, pool, add and concat "
             "output it stores");
    }
    check_quantization(graph, q, source);
    return q;
}

Quantization parse_quantization_text(const std::string &text, const std::string &source) {
    Quantization q;
    try {
        json root = parse_json_text(text, source);
        JsonView v(root, "$");
        v.check_fields({"format", "model", "calibration", "fc_weights", "tensors"});
        std::string format = v.at("format").as_string();
        if (format != kQuantizationFormat)
            v.at("format").error(cat("unsupported format \"", format, "\" (this compiler reads \"", kQuantizationFormat,
                                     "\")"));
        q.model = v.at("model").as_string();
        q.fc_int8_weights = v.get_choice("fc_weights", "float", {"float", "int8"}) == "int8";
        if (v.has("calibration")) {
            JsonView c = v.at("calibration");
            c.check_fields({"method", "percentile", "images"});
            q.method = c.get_choice("method", "minmax", {"minmax", "percentile", "qdq"});
            q.percentile = c.get_number("percentile", 0, 0, 100);
            q.images = c.get_int("images", 0, 0, int64_t{1} << 40);
        }
        JsonView tensors = v.at("tensors");
        tensors.expect_object();
        for (auto it = tensors.raw().begin(); it != tensors.raw().end(); ++it) {
            JsonView t = tensors.at(it.key());
            t.check_fields({"dtype", "scale", "min", "max"});
            if (!t.has("dtype")) t.error("missing field \"dtype\" (\"int8\" or \"uint8\")");
            TensorQuant tq;
            tq.is_unsigned = t.get_choice("dtype", "", {"int8", "uint8"}) == "uint8";
            tq.scale = t.at("scale").as_number(1e-30, 1e30);
            tq.min = t.get_number("min", 0, -1e30, 1e30);
            tq.max = t.get_number("max", 0, -1e30, 1e30);
            q.tensors[it.key()] = tq;
        }
    } catch (const Error &e) {
        fail(source, ": ", e.what());
    }
    return q;
}

Quantization load_quantization(const std::string &path) {
    return parse_quantization_text(read_file(path, "quantization file"), path);
}

std::string quantization_to_json(const Quantization &q, const Graph &graph) {
    nlohmann::ordered_json root;
    root["format"] = kQuantizationFormat;
    root["model"] = q.model;
    nlohmann::ordered_json c;
    c["method"] = q.method;
    if (q.method == "percentile") c["percentile"] = q.percentile;
    c["images"] = q.images;
    root["calibration"] = c;
    root["fc_weights"] = q.fc_int8_weights ? "int8" : "float";
    nlohmann::ordered_json tensors = nlohmann::ordered_json::object();
    for (const Node &node : graph.nodes) {
        auto it = q.tensors.find(node.name);
        if (it == q.tensors.end()) continue;
        const TensorQuant &t = it->second;
        nlohmann::ordered_json e;
        e["dtype"] = t.is_unsigned ? "uint8" : "int8";
        e["scale"] = t.scale;
        e["min"] = t.min;
        e["max"] = t.max;
        tensors[node.name] = e;
    }
    root["tensors"] = tensors;
    return root.dump(1) + "\n";
}

}  // namespace shufflec
