#include "lower/segment_plan.h"

#include <algorithm>
#include <map>
#include <set>

#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

namespace {

// Plain layers are grouped until a segment holds this many convolutions.
constexpr int kHeavyOpsPerPlainSegment = 3;
constexpr int64_t kArenaAlignFloats = 16;  // 64 bytes

bool is_heavy(Op op) { return op == Op::Conv || op == Op::Dense; }

// What a segment is called: the longest dotted prefix its nodes' names share
// ("stage2.1" for stage2.1.conv1 ... stage2.1.add), else its first node's name.
std::string unit_name(const Graph &graph, const std::vector<int> &nodes) {
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

void set_dense_strides(Placement &p, const Shape &s, bool planar) {
    if (planar) {  // NCHW, as the app passes its input and receives its output
        p.stride[0] = s.h * s.w, p.stride[1] = 1, p.stride[2] = s.w, p.stride[3] = s.c * s.h * s.w;
    } else {       // channels innermost, as every 1x1 convolution wants
        p.stride[0] = 1, p.stride[1] = s.c, p.stride[2] = s.c * s.w, p.stride[3] = s.c * s.w * s.h;
    }
}

std::vector<bool> choose_concat_views(const Graph &graph) {
    std::vector<bool> view(graph.nodes.size(), false);
    std::set<int> claimed;
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        const Node &node = graph.nodes[i];
        if (node.op != Op::Concat) continue;
        std::set<int> distinct(node.inputs.begin(), node.inputs.end());
        bool ok = distinct.size() == node.inputs.size();
        for (int in : node.inputs)
            ok = ok && graph.nodes[in].op != Op::Input && !view[in] && !claimed.count(in) && graph.output != in;
        if (!ok) continue;
        view[i] = true;
        claimed.insert(node.inputs.begin(), node.inputs.end());
    }
    return view;
}

}  // namespace

int64_t value_grouping(const Graph &graph, const std::vector<int64_t> &groupings, int index) {
    const Node &node = graph.nodes[index];
    const OpDef &def = op_def(node.op);
    return def.grouping ? def.grouping(graph, groupings, node) : 0;
}

std::string c_identifier(const std::string &name) {
    std::string id;
    for (char ch : name) id += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0]))) id = "l" + id;
    return id;
}

SegmentPlan plan_segments(const Graph &graph, Granularity granularity) {
    const size_t count = graph.nodes.size();
    if (graph.output == 0) fail("the network's output is its input: there is nothing to compile");
    SegmentPlan plan;
    plan.concat_view = choose_concat_views(graph);
    plan.segment_of.assign(count, -1);
    plan.placement.assign(count, {});
    plan.grouping.assign(count, 0);
    for (size_t i = 1; i < count; i++) plan.grouping[i] = value_grouping(graph, plan.grouping, static_cast<int>(i));

    // 1. Segments, cut from the graph's structure. After node i, the tensors
    // still needed later are those read after i (or the output). Where only
    // i's own output is left, the graph can be cut. Between two cuts lies
    // either a single node (a chain of plain layers) or a region where several
    // tensors are alive at once: a unit with its shortcut or its branches,
    // which becomes one segment. Runs of plain layers are grouped up to a few
    // convolutions. The spec's entry names play no part (an ONNX import of a
    // network gets the same pipelines as its spec).
    std::vector<int> last_use(count, -1);
    for (size_t i = 0; i < count; i++)
        for (int in : graph.nodes[i].inputs) last_use[in] = std::max(last_use[in], static_cast<int>(i));
    last_use[graph.output] = static_cast<int>(count);
    std::vector<std::vector<int>> regions;
    int live = 0;  // tensors produced so far and read later
    std::vector<int> ends_at(count + 1, 0);
    if (last_use[0] > 0) live++, ends_at[last_use[0]]++;
    std::vector<int> region;
    for (size_t i = 1; i < count; i++) {
        region.push_back(static_cast<int>(i));
        live -= ends_at[i];
        if (last_use[i] > static_cast<int>(i)) live++, ends_at[std::min<size_t>(last_use[i], count)]++;
        bool cut = live == 1 && last_use[i] > static_cast<int>(i);
        if (cut || i + 1 == count || granularity == Granularity::Network) {
            if (granularity == Granularity::Network && i + 1 < count) continue;
            regions.push_back(region);
            region.clear();
        }
    }
    if (!region.empty()) regions.push_back(region);
    int heavy_in_segment = 0;
    bool previous_composite = false;
    for (const auto &nodes : regions) {
        bool composite = nodes.size() > 1;
        bool heavy = std::any_of(nodes.begin(), nodes.end(), [&](int n) { return is_heavy(graph.nodes[n].op); });
        bool start = plan.segments.empty() || composite || previous_composite ||
                     (heavy && heavy_in_segment >= kHeavyOpsPerPlainSegment);
        if (start) {
            plan.segments.push_back({});
            heavy_in_segment = 0;
        }
        for (int n : nodes) {
            if (plan.concat_view[n]) continue;
            plan.segments.back().nodes.push_back(n);
            plan.segment_of[n] = static_cast<int>(plan.segments.size() - 1);
            if (is_heavy(graph.nodes[n].op)) heavy_in_segment++;
        }
        previous_composite = composite;
    }
    plan.segments.erase(std::remove_if(plan.segments.begin(), plan.segments.end(),
                                       [](const Segment &seg) { return seg.nodes.empty(); }),
                        plan.segments.end());
    for (size_t s = 0; s < plan.segments.size(); s++) {
        Segment &seg = plan.segments[s];
        for (int n : seg.nodes) plan.segment_of[n] = static_cast<int>(s);
        seg.block = unit_name(graph, seg.nodes);
        seg.name = c_identifier(seg.block);
    }
    // Segment names must be unique C identifiers.
    std::map<std::string, int> seen;
    for (auto &seg : plan.segments) {
        int k = seen[seg.name]++;
        if (k) seg.name += "_" + std::to_string(k);
    }

    // 2. Which tensors are materialized, and who reads them. Readers of a view
    // concat really read the concat's inputs.
    auto readers = graph.consumers();
    std::vector<std::set<int>> reading_segments(count);
    for (size_t i = 0; i < count; i++)
        for (int r : readers[i]) {
            if (plan.concat_view[r]) {
                for (int rr : readers[r]) reading_segments[i].insert(plan.segment_of[rr]);
            } else {
                reading_segments[i].insert(plan.segment_of[r]);
            }
        }
    std::vector<bool> materialized(count, false);
    materialized[0] = true;
    materialized[graph.output] = true;
    for (size_t i = 1; i < count; i++) {
        if (plan.concat_view[i]) {
            materialized[i] = true;
            for (int in : graph.nodes[i].inputs) materialized[in] = true;
        }
        for (int s : reading_segments[i])
            if (s != plan.segment_of[i]) materialized[i] = true;
    }
    for (size_t i = 0; i < count; i++)
        if (materialized[i] && !plan.concat_view[i] && plan.segment_of[i] >= 0)
            plan.segments[plan.segment_of[i]].outputs.push_back(static_cast<int>(i));
    // Inputs: what a segment's nodes read from elsewhere. A view concat is read
    // whole, as one tensor, unless the segment computes one of its parts (then
    // it reads the other parts and selects).
    for (size_t s = 0; s < plan.segments.size(); s++) {
        Segment &seg = plan.segments[s];
        auto computed_here = [&](int node) { return plan.segment_of[node] == static_cast<int>(s); };
        for (int r : seg.nodes)
            for (int in : graph.nodes[r].inputs) {
                if (computed_here(in)) continue;
                if (!plan.concat_view[in]) {
                    seg.inputs.push_back(in);
                    continue;
                }
                const auto &parts = graph.nodes[in].inputs;
                bool partly_here = std::any_of(parts.begin(), parts.end(), computed_here);
                if (!partly_here) {
                    seg.inputs.push_back(in);
                } else {
                    for (int part : parts)
                        if (!computed_here(part)) seg.inputs.push_back(part);
                }
            }
    }
    for (auto &seg : plan.segments) {
        std::sort(seg.inputs.begin(), seg.inputs.end());
        seg.inputs.erase(std::unique(seg.inputs.begin(), seg.inputs.end()), seg.inputs.end());
    }

    // 3. Storage. The view concat's storage is shared by its inputs.
    std::vector<int> storage_of(count, -1);  // node whose storage holds this node
    for (size_t i = 0; i < count; i++)
        if (materialized[i]) storage_of[i] = static_cast<int>(i);
    for (size_t i = 0; i < count; i++)
        if (plan.concat_view[i])
            for (int in : graph.nodes[i].inputs) storage_of[in] = storage_of[i];
    // Resolve chains (an input of a view concat that is itself an output...): one level suffices
    // since view concats never nest.

    // Lifetimes over segment indices: [first write, last read].
    std::map<int, std::pair<int, int>> lifetime;
    for (size_t i = 1; i < count; i++) {
        if (!materialized[i]) continue;
        int st = storage_of[i];
        auto &life = lifetime.try_emplace(st, std::make_pair(1 << 30, -1)).first->second;
        if (plan.segment_of[i] >= 0) {
            life.first = std::min(life.first, plan.segment_of[i]);
            life.second = std::max(life.second, plan.segment_of[i]);
        }
        for (int s : reading_segments[i]) life.second = std::max(life.second, s);
    }

    std::vector<std::pair<int64_t, int64_t>> placed;  // (offset, end) per arena storage, by index in `order`
    std::vector<int> order;
    for (auto &[st, life] : lifetime)
        if (st != graph.output && st != 0) order.push_back(st);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        return graph.nodes[a].shape.elements() > graph.nodes[b].shape.elements();
    });
    for (size_t k = 0; k < order.size(); k++) {
        int st = order[k];
        int64_t size = (graph.nodes[st].shape.elements() + kArenaAlignFloats - 1) / kArenaAlignFloats * kArenaAlignFloats;
        // First fit among the storages already placed whose lifetimes overlap this one.
        std::vector<std::pair<int64_t, int64_t>> busy;
        for (size_t j = 0; j < k; j++) {
            auto a = lifetime[st], b = lifetime[order[j]];
            if (a.first <= b.second && b.first <= a.second) busy.push_back(placed[j]);
        }
        std::sort(busy.begin(), busy.end());
        int64_t offset = 0;
        for (auto [b, e] : busy) {
            if (offset + size <= b) break;
            offset = std::max(offset, e);
        }
        placed.push_back({offset, offset + size});
        plan.arena_floats = std::max(plan.arena_floats, offset + size);
        Placement &p = plan.placement[st];
        p.kind = Placement::Arena;
        p.offset = offset;
        set_dense_strides(p, graph.nodes[st].shape, false);
    }
    Placement &in = plan.placement[0];
    in.kind = Placement::Input;
    set_dense_strides(in, graph.nodes[0].shape, true);
    Placement &out = plan.placement[graph.output];
    out.kind = Placement::Output;
    set_dense_strides(out, graph.nodes[graph.output].shape, true);

    // Views: the inputs of a view concat take their channel range of its storage.
    for (size_t i = 0; i < count; i++) {
        if (!plan.concat_view[i]) continue;
        int64_t channel = 0;
        for (int in_node : graph.nodes[i].inputs) {
            Placement p = plan.placement[i];
            p.offset += channel * p.stride[0];
            plan.placement[in_node] = p;
            channel += graph.nodes[in_node].shape.c;
        }
    }
    return plan;
}

}  // namespace shufflec
