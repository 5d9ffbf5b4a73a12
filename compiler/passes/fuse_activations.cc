#include "passes/passes.h"

namespace shufflec {

void fuse_activations(Graph &graph) {
    auto readers = graph.consumers();
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        Node &node = graph.nodes[i];
        int p = node.inputs.empty() ? -1 : node.inputs[0];
        if (node.op == Op::Relu || node.op == Op::Clip) {
            Node &producer = graph.nodes[p];
            bool fusable = (producer.op == Op::Conv || producer.op == Op::Dense || producer.op == Op::Add) &&
                           !producer.activation.enabled && readers[p].size() == 1 && graph.output != p;
            if (!fusable) continue;
            producer.activation = node.op == Op::Relu ? Activation::relu() : Activation::clamp(node.clip_min, node.clip_max);
            replace_uses(graph, static_cast<int>(i), p);
        } else if (node.op == Op::Flatten) {
            bool only_dense = !readers[i].empty() && graph.output != static_cast<int>(i);
            for (int r : readers[i]) only_dense = only_dense && graph.nodes[r].op == Op::Dense;
            if (!only_dense) continue;
            replace_uses(graph, static_cast<int>(i), p);
        } else {
            continue;
        }
        readers = graph.consumers();
    }
    remove_dead_nodes(graph);
}

void optimize(Graph &graph, Weights &weights) {
    remove_dead_nodes(graph);
    fold_batchnorm(graph, weights);
    sink_shuffle_through_depthwise(graph, weights);
    fold_channel_shuffle(graph);
    fuse_activations(graph);
    mark_units(graph);
    fold_channel_views(graph, weights);
}

}  // namespace shufflec
