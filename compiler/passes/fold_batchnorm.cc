#include <cmath>

#include "passes/passes.h"
#include "util/error.h"

namespace shufflec {

void fold_batchnorm(Graph &graph, Weights &weights) {
    auto readers = graph.consumers();
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        Node &bn = graph.nodes[i];
        if (bn.op != Op::BatchNorm) continue;
        int p = bn.inputs[0];
        Node &producer = graph.nodes[p];
        bool foldable = (producer.op == Op::Conv || producer.op == Op::Dense) && !producer.activation.enabled &&
                        readers[p].size() == 1 && graph.output != p;
        if (!foldable) continue;

        const auto &gamma = weights.at(bn.param("weight")->tensor).data;
        const auto &beta = weights.at(bn.param("bias")->tensor).data;
        const auto &mean = weights.at(bn.param("running_mean")->tensor).data;
        const auto &var = weights.at(bn.param("running_var")->tensor).data;
        Tensor &w = weights.at(producer.param("weight")->tensor);
        int64_t channels = producer.shape.c;
        int64_t per_channel = static_cast<int64_t>(w.data.size()) / channels;

        std::vector<double> bias(channels, 0.0);
        if (producer.bias) {
            const auto &b = weights.at(producer.param("bias")->tensor).data;
            for (int64_t c = 0; c < channels; c++) bias[c] = b[c];
        }
        Tensor new_bias{{channels}, std::vector<float>(channels)};
        for (int64_t c = 0; c < channels; c++) {
            double s = gamma[c] / std::sqrt(static_cast<double>(var[c]) + bn.eps);
            for (int64_t k = 0; k < per_channel; k++)
                w.data[c * per_channel + k] = static_cast<float>(w.data[c * per_channel + k] * s);
            new_bias.data[c] = static_cast<float>((bias[c] - mean[c]) * s + beta[c]);
        }
        if (!producer.bias) {
            producer.bias = true;
            producer.params.push_back({"bias", producer.name + ".bias", {channels}});
        }
        weights[producer.param("bias")->tensor] = std::move(new_bias);
        for (const auto &param : bn.params) weights.erase(param.tensor);
        replace_uses(graph, static_cast<int>(i), p);
        readers = graph.consumers();
    }
    remove_dead_nodes(graph);
}

}  // namespace shufflec
