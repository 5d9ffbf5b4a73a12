#include "quantize/calibrate.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "reference/interpreter.h"
#include "util/error.h"

namespace shufflec {

namespace {

// Magnitudes kept per tensor: the 99.99th percentile of 2^18 samples is set by
// its 26 largest, enough for a stable clip point.
constexpr size_t kSampleSize = size_t{1} << 18;

}  // namespace

Calibrator::Calibrator(const Graph &graph, const Weights &weights, CalibrationOptions options)
    : graph_(graph), weights_(weights), options_(std::move(options)), slot_(graph.nodes.size(), -1) {
    if (options_.method != "minmax" && options_.method != "percentile")
        internal_error("calibration method ", options_.method);
    std::vector<QuantRole> roles = quant_roles(graph);
    bool input = !options_.float_input && input_quantizable(graph);
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        if (input && graph.nodes[i].op == Op::Input) roles[i] = QuantRole::Quantized;
        if (roles[i] == QuantRole::Float || (roles[i] == QuantRole::Unstored && !options_.every_tensor)) continue;
        slot_[i] = static_cast<int>(tensors_.size());
        Tensor t;
        t.node = static_cast<int>(i);
        t.is_unsigned = never_negative(graph, static_cast<int>(i));
        t.min = INFINITY;
        t.max = -INFINITY;
        tensors_.push_back(std::move(t));
    }
}

void Calibrator::record(Tensor &t, const std::vector<float> &value) {
    for (float v : value) {
        if (std::isnan(v)) continue;
        t.min = std::min(t.min, static_cast<double>(v));
        t.max = std::max(t.max, static_cast<double>(v));
        float m = std::fabs(v);
        if (t.sample.size() < kSampleSize) {
            t.sample.push_back(m);
        } else {
            uint64_t j = std::uniform_int_distribution<uint64_t>(0, t.seen)(rng_);
            if (j < kSampleSize) t.sample[j] = m;
        }
        t.seen++;
    }
}

void Calibrator::add(const std::vector<float> &input) {
    run_reference(graph_, weights_, input, [&](int node, std::vector<float> &value) {
        if (slot_[node] >= 0) record(tensors_[slot_[node]], value);
    });
    images_++;
}

Quantization Calibrator::finish() const {
    Quantization q;
    q.model = graph_.name;
    q.method = options_.method;
    q.fc_int8_weights = true;
    q.percentile = options_.method == "percentile" ? options_.percentile : 0;
    q.images = images_;
    for (const Tensor &t : tensors_) {
        double bound = 0;
        if (!t.sample.empty()) {
            // The input: its largest magnitude whatever the method (an
            // image's extreme pixels are common, not outliers to clip).
            if (options_.method == "minmax" || graph_.nodes[static_cast<size_t>(t.node)].op == Op::Input) {
                bound = t.is_unsigned ? t.max : std::max(std::fabs(t.min), std::fabs(t.max));
            } else {
                std::vector<float> s = t.sample;
                size_t k = std::min(s.size() - 1, static_cast<size_t>(std::ceil(options_.percentile / 100.0 *
                                                                                 static_cast<double>(s.size()))) -
                                                      (options_.percentile > 0 ? 1 : 0));
                std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k), s.end());
                bound = s[k];
            }
        }
        q.tensors[graph_.nodes[t.node].name] =
            make_tensor_quant(bound, t.is_unsigned, t.sample.empty() ? 0 : t.min, t.sample.empty() ? 0 : t.max);
    }
    // The tensors a conv reads parts of (ShuffleNet V2's folded channel split)
    // share one scale, the largest of theirs, so that the conv sums their
    // integers in one accumulator (quantized_conv); they are ReLU outputs of
    // similar ranges (0.016 to 0.021 in one stage of the Fashion-MNIST V2).
    std::vector<int> parent(graph_.nodes.size());
    for (size_t i = 0; i < parent.size(); i++) parent[i] = static_cast<int>(i);
    std::function<int(int)> root = [&](int i) { return parent[i] == i ? i : parent[i] = root(parent[i]); };
    auto quant = [&](int node) {
        auto it = q.tensors.find(graph_.nodes[node].name);
        return it == q.tensors.end() ? nullptr : &it->second;
    };
    for (const Node &node : graph_.nodes) {
        if (node.op != Op::Conv || node.parts.empty()) continue;
        bool same_type = true;
        for (int in : node.inputs)
            same_type = same_type && quant(in) && quant(in)->is_unsigned == quant(node.inputs[0])->is_unsigned;
        if (same_type)
            for (int in : node.inputs) parent[root(in)] = root(node.inputs[0]);
    }
    std::map<int, double> shared;  // per set: the largest scale
    for (int i = 0; i < static_cast<int>(parent.size()); i++)
        if (const TensorQuant *t = quant(i)) shared[root(i)] = std::max(shared[root(i)], t->scale);
    for (int i = 0; i < static_cast<int>(parent.size()); i++)
        if (TensorQuant *t = quant(i)) t->scale = shared[root(i)];
    // A max pool of a quantized tensor keeps its scale: the max of rounded
    // values is the rounded max, so it is exact without requantizing.
    for (const Tensor &t : tensors_) {
        const Node &node = graph_.nodes[t.node];
        auto in = q.tensors.find(graph_.nodes[node.inputs.empty() ? 0 : node.inputs[0]].name);
        if (node.op != Op::MaxPool || in == q.tensors.end()) continue;
        TensorQuant &out = q.tensors[node.name];
        out.scale = in->second.scale;
        out.is_unsigned = in->second.is_unsigned;
    }
    // --every-tensor: a concat's unstored inputs take its scale, so that the
    // concat stores their integers as they are (as without the option).
    std::vector<QuantRole> roles = quant_roles(graph_);
    for (const Node &node : graph_.nodes) {
        auto concat = q.tensors.find(node.name);
        if (node.op != Op::Concat || concat == q.tensors.end()) continue;
        for (int in : node.inputs)
            if (TensorQuant *t = quant(in); t && roles[in] == QuantRole::Unstored) {
                t->scale = concat->second.scale;
                t->is_unsigned = concat->second.is_unsigned;
            }
    }
    return q;
}

}  // namespace shufflec
