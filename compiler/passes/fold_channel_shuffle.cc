#include "passes/passes.h"

namespace shufflec {

void fold_channel_shuffle(Graph &graph) {
    // Later shuffles first, so that a conv behind two shuffles composes both
    // permutations. A folded shuffle has no readers left; it stays in the graph
    // (dead) until the end, so it must not count as a reader of an earlier one.
    std::vector<bool> folded(graph.nodes.size(), false);
    for (size_t i = graph.nodes.size(); i-- > 0;) {
        const Node &shuffle = graph.nodes[i];
        if (shuffle.op != Op::ChannelShuffle || graph.output == static_cast<int>(i)) continue;
        // A shuffle of a view (ShuffleNet V2's concat) is left to fold_channel_views,
        // which folds the whole chain of views into the readers' input parts.
        Op source = graph.nodes[shuffle.inputs[0]].op;
        if (source != Op::ChannelShuffle && is_channel_view(source)) continue;
        std::vector<int> readers;
        const auto all_readers = graph.consumers();
        for (int r : all_readers[i])
            if (!folded[r]) readers.push_back(r);
        bool all_convs = !readers.empty();
        for (int r : readers) all_convs = all_convs && graph.nodes[r].op == Op::Conv;
        if (!all_convs) continue;
        folded[i] = true;
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
