#include <utility>

#include "passes/passes.h"

namespace shufflec {

// A depthwise conv D works on each channel alone, so D(shuffle(x)) equals
// shuffle(D'(x)) where D' has its per-channel weights and bias permuted:
// w'[source(c)] = w[c]. Moving the shuffle below D puts it in front of the next
// pointwise conv, whose reduction reads input channels one at a time: there the
// permuted index costs nothing, while a vectorized depthwise conv would need a
// gather to read permuted channels.
void sink_shuffle_through_depthwise(Graph &graph, Weights &weights) {
    auto readers = graph.consumers();
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        if (graph.nodes[i].op != Op::ChannelShuffle || readers[i].size() != 1) continue;
        int j = readers[i][0];
        const Node &d = graph.nodes[j];
        int64_t channels = d.shape.c;
        if (!is_depthwise(graph, d) || graph.output == static_cast<int>(i)) continue;
        const Node &s = graph.nodes[i];
        for (const auto &param : d.params) {
            Tensor &t = weights.at(param.tensor);
            int64_t per_channel = static_cast<int64_t>(t.data.size()) / channels;
            std::vector<float> permuted(t.data.size());
            for (int64_t c = 0; c < channels; c++) {
                int64_t src = shuffle_source_channel(s.shuffle, s.groups, channels, c);
                for (int64_t k = 0; k < per_channel; k++) permuted[src * per_channel + k] = t.data[c * per_channel + k];
            }
            t.data = std::move(permuted);
        }
        // Swap the two nodes: D' takes the shuffle's place and input, the shuffle
        // takes D's place and reads D'; D's readers (all after j) now read the shuffle.
        std::swap(graph.nodes[i], graph.nodes[j]);
        graph.nodes[i].inputs = graph.nodes[j].inputs;
        graph.nodes[j].inputs = {static_cast<int>(i)};
        infer_node_shape(graph, j);  // a strided depthwise conv changes the shuffle's spatial size
        readers = graph.consumers();
    }
}

}  // namespace shufflec
