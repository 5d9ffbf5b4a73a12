#include <algorithm>

#include "passes/passes.h"

namespace shufflec {

void replace_uses(Graph &graph, int from, int to) {
    Node &target = graph.nodes[to];
    const Node &source = graph.nodes[from];
    target.aliases.insert(target.aliases.end(), source.aliases.begin(), source.aliases.end());
    target.aliases.push_back(source.name);
    for (auto &node : graph.nodes)
        for (auto &in : node.inputs)
            if (in == from) in = to;
    if (graph.output == from) graph.output = to;
}

void remove_dead_nodes(Graph &graph) {
    std::vector<bool> live(graph.nodes.size(), false);
    live[0] = true;
    live[graph.output] = true;
    for (size_t i = graph.nodes.size(); i-- > 0;)
        if (live[i])
            for (int in : graph.nodes[i].inputs) live[in] = true;
    std::vector<int> new_index(graph.nodes.size(), -1);
    std::vector<Node> kept;
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        if (!live[i]) continue;
        new_index[i] = static_cast<int>(kept.size());
        kept.push_back(std::move(graph.nodes[i]));
    }
    for (auto &node : kept)
        for (auto &in : node.inputs) in = new_index[in];
    graph.output = new_index[graph.output];
    graph.nodes = std::move(kept);
}

}  // namespace shufflec
