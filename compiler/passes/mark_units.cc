// Units from the graph's structure (each becomes one Halide pipeline, one
// profile row, one schedule key). After node i, the tensors still needed are
// those read after i (or the output); where only i's own output is left, the
// graph can be cut. Between two cuts lies either a single node (a chain of
// plain layers) or a region where several tensors are alive at once (a unit
// with its shortcut or branches). Each region is named by the longest dotted
// prefix its nodes' names share ("stage2.1" for stage2.1.conv1 ... stage2.1),
// else its first node's name; the name goes into every node's `block`.
//
// This runs before the view folding (fold_channel_views), which makes later
// units read earlier units' tensors directly: what was one ShuffleNet V2 unit
// stays one unit.
#include <algorithm>

#include "passes/passes.h"

namespace shufflec {

namespace {

std::string region_name(const Graph &graph, const std::vector<int> &nodes) {
    std::string prefix = graph.nodes[nodes.front()].name;
    for (int n : nodes) {
        const std::string &name = graph.nodes[n].name;
        size_t k = 0;
        while (k < prefix.size() && k < name.size() && prefix[k] == name[k]) k++;
        // Cut back to a whole component: the next character must end it in both names.
        auto boundary = [&](const std::string &s) { return k == s.size() || s[k] == '.'; };
        while (k > 0 && !(boundary(prefix) && boundary(name))) k--;
        prefix.resize(k);
    }
    return prefix.empty() ? graph.nodes[nodes.front()].name : prefix;
}

}  // namespace

void mark_units(Graph &graph) {
    const size_t count = graph.nodes.size();
    std::vector<int> last_use(count, -1);
    for (size_t i = 0; i < count; i++)
        for (int in : graph.nodes[i].inputs) last_use[in] = std::max(last_use[in], static_cast<int>(i));
    if (graph.output >= 0) last_use[graph.output] = static_cast<int>(count);
    std::vector<int> ends_at(count + 1, 0);
    int live = 0;  // tensors produced so far and read later
    if (count > 0 && last_use[0] > 0) live++, ends_at[last_use[0]]++;
    std::vector<int> region;
    auto close = [&]() {
        if (region.empty()) return;
        std::string name = region_name(graph, region);
        for (int n : region) graph.nodes[n].block = name;
        region.clear();
    };
    graph.nodes[0].block = graph.nodes[0].name;
    for (size_t i = 1; i < count; i++) {
        region.push_back(static_cast<int>(i));
        live -= ends_at[i];
        if (last_use[i] > static_cast<int>(i)) live++, ends_at[std::min<size_t>(last_use[i], count)]++;
        if (live == 1 && last_use[i] > static_cast<int>(i)) close();
    }
    close();
}

}  // namespace shufflec
