// Channel views (slice, concat, channel shuffle, channel permutation) never
// become copies: what ShuffleNet V2's channel split, concat and shuffle reduce
// to. Every channel of a view comes from some channel of a computed tensor
// (its provenance). A 1x1 conv sums over its input channels, so it can read
// them in any order: it reads the sources directly, one contiguous run of
// channels per input part, with its weights' input columns permuted to that
// order. A depthwise conv works on each channel alone: one that reads a view
// becomes one depthwise conv per source run, their outputs concatenated and
// permuted back, which the 1x1 convs reading it then fold in turn.
#include <algorithm>
#include <map>

#include "passes/passes.h"
#include "util/error.h"

namespace shufflec {

namespace {

// Reads through more runs than this are left as views (no network needs it).
constexpr size_t kMaxParts = 64;

using Source = std::pair<int, int64_t>;  // (computed node, channel)

class Provenance {
public:
    explicit Provenance(const Graph &g) : g_(g) {}
    const std::vector<Source> &of(int v) {
        auto it = memo_.find(v);
        if (it != memo_.end()) return it->second;
        const Node &n = g_.nodes[v];
        std::vector<Source> out;
        switch (n.op) {
        case Op::Slice: {
            const auto &p = of(n.inputs[0]);
            out.assign(p.begin() + n.begin, p.begin() + n.end);
            break;
        }
        case Op::Concat:
            for (int in : n.inputs) {
                const auto &p = of(in);
                out.insert(out.end(), p.begin(), p.end());
            }
            break;
        case Op::ChannelShuffle: {
            const auto &p = of(n.inputs[0]);
            for (int64_t c = 0; c < n.shape.c; c++) out.push_back(p[shuffle_source_channel(n.shuffle, n.groups, n.shape.c, c)]);
            break;
        }
        case Op::ChannelPermute: {
            const auto &p = of(n.inputs[0]);
            for (int64_t c : n.order) out.push_back(p[c]);
            break;
        }
        default:
            for (int64_t c = 0; c < n.shape.c; c++) out.push_back({v, c});
        }
        return memo_[v] = std::move(out);
    }

private:
    const Graph &g_;
    std::map<int, std::vector<Source>> memo_;
};

// Contiguous runs of source channels; `logical` lists, per run channel, the
// view channel it was.
struct Run {
    int source = 0;
    int64_t begin = 0, count = 0;
    std::vector<int64_t> logical;
};

std::vector<Run> runs_of(const std::vector<Source> &p) {
    std::vector<int64_t> order(p.size());
    for (size_t j = 0; j < p.size(); j++) order[j] = static_cast<int64_t>(j);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] < p[b]; });
    std::vector<Run> runs;
    for (int64_t j : order) {
        const Source &s = p[j];
        if (runs.empty() || runs.back().source != s.first || runs.back().begin + runs.back().count != s.second)
            runs.push_back({s.first, s.second, 0, {}});
        runs.back().count++;
        runs.back().logical.push_back(j);
    }
    return runs;
}

bool foldable_reader(const Graph &g, const Node &n) {
    return n.op == Op::Conv && is_pointwise(n) && n.groups == 1 && n.input_shuffles.empty() && n.parts.empty();
}

Tensor &tensor_of(Weights &w, const Node &node, const char *role) { return w.at(node.param(role)->tensor); }

// Splits each depthwise conv that reads a view into one per source run.
void split_depthwise(Graph &graph, Weights &weights) {
    Provenance prov(graph);
    auto readers = graph.consumers();
    std::map<int, std::vector<Run>> split;  // depthwise node -> its runs
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        const Node &d = graph.nodes[i];
        if (!is_depthwise(graph, d) || !is_channel_view(graph.nodes[d.inputs[0]].op) || graph.output == static_cast<int>(i)) continue;
        bool ok = !readers[i].empty();
        for (int r : readers[i]) ok = ok && foldable_reader(graph, graph.nodes[r]);
        std::vector<Run> runs = runs_of(prov.of(d.inputs[0]));
        if (ok && runs.size() <= kMaxParts) split[static_cast<int>(i)] = std::move(runs);
    }
    if (split.empty()) return;
    std::vector<Node> nodes;
    std::vector<int> moved(graph.nodes.size(), -1);
    auto push = [&](Node n) {
        nodes.push_back(std::move(n));
        return static_cast<int>(nodes.size() - 1);
    };
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        Node node = graph.nodes[i];
        for (int &in : node.inputs) in = moved[in];
        auto it = split.find(static_cast<int>(i));
        if (it == split.end()) {
            moved[i] = push(std::move(node));
            continue;
        }
        const Node &d = graph.nodes[i];
        std::vector<int> parts;
        std::vector<int64_t> position(static_cast<size_t>(d.shape.c));  // view channel -> channel of the concat
        int64_t at = 0;
        for (size_t r = 0; r < it->second.size(); r++) {
            const Run &run = it->second[r];
            int source = moved[run.source];
            const Node &src = nodes[source];
            if (run.begin != 0 || run.count != src.shape.c) {
                Node s;
                s.op = Op::Slice;
                s.name = cat(d.name, ".in", r);
                s.inputs = {source};
                s.begin = run.begin, s.end = run.begin + run.count;
                s.origin = d.origin, s.block = d.block;
                source = push(std::move(s));
            }
            Node part = d;
            part.name = cat(d.name, ".part", r);
            part.aliases.push_back(d.name);  // its channels of d's value
            part.inputs = {source};
            part.groups = part.out_channels = run.count;
            part.params.clear();
            for (const auto &p : d.params) {
                const Tensor &whole = weights.at(p.tensor);
                int64_t per_channel = static_cast<int64_t>(whole.data.size()) / d.shape.c;
                Tensor t;
                t.shape = whole.shape;
                t.shape[0] = run.count;
                for (int64_t j : run.logical)
                    t.data.insert(t.data.end(), whole.data.begin() + j * per_channel, whole.data.begin() + (j + 1) * per_channel);
                std::string name = part.name + "." + p.role;
                weights[name] = std::move(t);
                part.params.push_back({p.role, name, {}});
            }
            parts.push_back(push(std::move(part)));
            for (int64_t j : run.logical) position[static_cast<size_t>(j)] = at++;
        }
        int result = parts.front();
        if (parts.size() > 1) {
            Node c;
            c.op = Op::Concat;
            c.name = d.name + ".parts";
            c.aliases = d.aliases;
            c.aliases.push_back(d.name);
            c.inputs = parts;
            c.origin = d.origin, c.block = d.block;
            result = push(std::move(c));
        }
        bool identity = true;
        for (size_t j = 0; j < position.size(); j++) identity = identity && position[j] == static_cast<int64_t>(j);
        if (!identity) {
            Node p;
            p.op = Op::ChannelPermute;
            p.name = d.name;  // readers keep reading "the depthwise conv"
            p.inputs = {result};
            p.order = position;
            p.origin = d.origin, p.block = d.block;
            result = push(std::move(p));
        }
        for (const auto &p : d.params) weights.erase(p.tensor);
        moved[i] = result;
    }
    graph.nodes = std::move(nodes);
    graph.output = moved[graph.output];
    for (size_t i = 0; i < graph.nodes.size(); i++) infer_node_shape(graph, i);
}

// Folds the views 1x1 convs read into their input parts.
void fold_into_convs(Graph &graph, Weights &weights) {
    Provenance prov(graph);
    for (auto &conv : graph.nodes) {
        if (!foldable_reader(graph, conv) || !is_channel_view(graph.nodes[conv.inputs[0]].op)) continue;
        std::vector<Run> runs = runs_of(prov.of(conv.inputs[0]));
        if (runs.size() > kMaxParts) continue;
        std::vector<int> inputs;
        std::vector<InputPart> parts;
        std::vector<int64_t> logical;  // new input column -> old one
        for (const Run &run : runs) {
            auto it = std::find(inputs.begin(), inputs.end(), run.source);
            int index = static_cast<int>(it - inputs.begin());
            if (it == inputs.end()) inputs.push_back(run.source);
            parts.push_back({index, run.begin, run.count});
            logical.insert(logical.end(), run.logical.begin(), run.logical.end());
        }
        Tensor &w = tensor_of(weights, conv, "weight");
        int64_t cin = static_cast<int64_t>(logical.size());
        std::vector<float> permuted(w.data.size());
        for (int64_t o = 0; o < conv.out_channels; o++)
            for (int64_t k = 0; k < cin; k++) permuted[o * cin + k] = w.data[o * cin + logical[k]];
        w.data = std::move(permuted);
        conv.inputs = inputs;
        conv.parts = parts;
    }
}

}  // namespace

void fold_channel_views(Graph &graph, Weights &weights) {
    split_depthwise(graph, weights);
    fold_into_convs(graph, weights);
    remove_dead_nodes(graph);
}

}  // namespace shufflec
