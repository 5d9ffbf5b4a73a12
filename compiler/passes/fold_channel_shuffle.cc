#include "passes/passes.h"

namespace shufflec {

void fold_channel_shuffle(Graph &graph) {
    // Later shuffles first, so that a conv behind two shuffles composes both permutations.
    for (size_t i = graph.nodes.size(); i-- > 0;) {
        const Node &shuffle = graph.nodes[i];
        if (shuffle.op != Op::ChannelShuffle || graph.output == static_cast<int>(i)) continue;
        auto readers = graph.consumers()[i];
        bool all_convs = !readers.empty();
        for (int r : readers) all_convs = all_convs && graph.nodes[r].op == Op::Conv;
        if (!all_convs) continue;
        for (int r : readers) {
            // The conv read channel v of the shuffle's output, i.e. channel source(v) of its input.
            Node &conv = graph.nodes[r];
            conv.input_shuffles.push_back({shuffle.shuffle, shuffle.groups, shuffle.shape.c});
            conv.inputs[0] = shuffle.inputs[0];
        }
    }
    remove_dead_nodes(graph);
}

}  // namespace shufflec
