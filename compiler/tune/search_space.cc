#include "tune/search_space.h"

#include "schedule/knobs.h"

#include <algorithm>
#include <functional>
#include <sstream>

#include "emit/model_sources.h"
#include "lower/lower_segment.h"
#include "util/error.h"
#include "util/hash.h"

namespace shufflec {

namespace {

constexpr int kMaxVectors = 8, kMaxTileX = 8, kMaxUnroll = 8, kMinVector = 4,
              kMinReductionBlock = 16, kMaxReductionBlock = 128;

// The unit's structure without its names: what its speed depends on.
std::string workload_description(const Graph &g, const SegmentPlan &plan, int segment) {
    const Segment &seg = plan.segments[segment];
    std::map<int, std::string> local;
    for (size_t i = 0; i < seg.inputs.size(); i++) local[seg.inputs[i]] = "in" + std::to_string(i);
    for (size_t i = 0; i < seg.nodes.size(); i++) local[seg.nodes[i]] = "n" + std::to_string(i);
    auto ref = [&](int node) {
        auto it = local.find(node);
        return it != local.end() ? it->second : "ext:" + to_string(g.nodes[node].shape);
    };
    std::ostringstream o;
    for (const BufferLayout &b : segment_buffer_layouts(g, plan, segment)) {
        o << "buf";
        for (int64_t e : b.extent) o << " " << e;
        o << " /";
        for (int64_t s : b.stride) o << " " << s;
        o << "; ";
    }
    for (size_t i = 0; i < seg.nodes.size(); i++) {
        const Node &n = g.nodes[seg.nodes[i]];
        o << "n" << i << "=" << op_name(n.op) << "(";
        for (size_t k = 0; k < n.inputs.size(); k++) o << (k ? "," : "") << ref(n.inputs[k]);
        o << ") " << node_signature(n, plan.grouping[seg.nodes[i]]);
        o << "; ";
    }
    o << "out";
    for (int t : seg.outputs) o << " " << ref(t);
    return o.str();
}

std::string hex(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// The scheduler's choice when it is one of `values`, else `fallback`.
int chosen_or(const std::vector<int> &values, int chosen, int fallback) {
    return std::count(values.begin(), values.end(), chosen) ? chosen : fallback;
}

std::vector<int> range(int lo, int hi) {
    std::vector<int> v;
    for (int i = lo; i <= hi; i++) v.push_back(i);
    return v;
}

}  // namespace

const KnobSpace *RootSpace::knob(const std::string &name) const {
    for (const auto &k : knobs)
        if (k.name == name) return &k;
    return nullptr;
}

ModelSpace search_space(const PreparedModel &p, int threads) {
    ModelSpace space;
    space.target = p.target.short_name;
    space.threads = threads;
    int vector = *target_defaults(p.target.halide).vector;
    space.group_padding = {"group_padding", {}, group_padding(p.schedule, p.target.halide)};
    for (int lanes = 1; lanes <= 16; lanes *= 2)
        if (lanes >= vector / 2) space.group_padding.values.push_back(lanes);
    for (size_t s = 0; s < p.plan.segments.size(); s++) {
        const Segment &seg = p.plan.segments[s];
        UnitSpace u;
        u.segment = static_cast<int>(s);
        u.unit = seg.block;
        u.workload = workload_description(p.graph, p.plan, u.segment);
        u.key = hex(fnv1a(cat(u.workload, " | ", p.target.short_name, " | threads ", threads)));
        for (int node : seg.nodes) u.macs += node_stats(p.graph, p.graph.nodes[node]).macs;
        LoweredSegment lowered = lower_segment(p.graph, p.blob, p.plan, u.segment);
        for (const ScheduleChoice &c : apply_schedule(lowered, p.graph, p.plan, p.schedule, p.target.halide)) {
            RootSpace r;
            r.root = c.root;
            r.names = {c.root};
            for (const auto &red : c.reductions)
                if (red != c.root) r.names.push_back(red);
            r.kind = c.kind;
            r.channels = c.channels;
            r.width = c.width;
            r.height = c.height;
            r.registers = c.registers;
            bool spatial = c.width * c.height > 1;
            // An output's last channel block shifts inwards: no block wider
            // than its channels; an internal one rounds up: no block with a
            // whole vector of padding.
            int64_t lanes = std::max(1, c.vector);
            int64_t whole = c.output ? c.channels / lanes : (c.channels + lanes - 1) / lanes;
            int max_vectors = static_cast<int>(std::clamp<int64_t>(whole, 1, kMaxVectors));
            // Narrower vectors than the target's widest: fewer padding lanes for
            // groups that are not whole vectors (a group of 20 is 24 lanes in
            // 8s, 20 in 4s), at a narrower FMA. From 4 lanes up, within the
            // channels (the scheduler never uses more lanes than channels).
            KnobSpace lanes_knob{"vector", {}, c.vector};
            for (int v = kMinVector; v <= vector && v <= std::max<int64_t>(c.channels, kMinVector); v *= 2)
                lanes_knob.values.push_back(v);
            if (lanes_knob.values.size() > 1 && chosen_or(lanes_knob.values, c.vector, 0) == c.vector)
                r.knobs.push_back(lanes_knob);
            r.lanes = c.vector;
            r.max_channel_vectors = max_vectors;
            // Vectors over pixels count channels per tile, up to 8 (within the channels).
            int max_tile_channels = c.pixel_layout_allowed ? static_cast<int>(std::min<int64_t>(kMaxVectors, c.channels)) : 0;
            r.knobs.push_back({"channel_vectors", range(1, std::max(max_vectors, max_tile_channels)),
                               c.pixel_vectors ? c.channel_vectors : std::min(c.channel_vectors, max_vectors)});
            if (spatial) r.knobs.push_back({"tile_x", range(1, static_cast<int>(std::min<int64_t>(kMaxTileX, c.width))), c.tile_x});
            if (c.height > 1 && !c.fused) {
                // Small tasks keep a task's rows of the input and output in
                // L2 between channel blocks (2x g3, stage 2: 28 rows of 1.5 MB
                // tensors; 2-row tasks were up to 10% faster there, up to 12% slower
                // at 14 rows in stage 3).
                KnobSpace tasks{"tasks_per_thread", {}, 1};
                for (int v : {1, 2, 3, 4, 6, 8, 12, 16})
                    if (v <= c.height) tasks.values.push_back(v);
                tasks.default_value = chosen_or(tasks.values, c.tasks_per_thread, 1);
                r.knobs.push_back(tasks);
            }
            if (!c.output && spatial) r.knobs.push_back({"fuse", {0, 1}, c.fused ? 1 : 0});
            if (spatial && c.kind == "pointwise") {
                r.knobs.push_back({"channels_outer", {0, 1}, c.channels_outer ? 1 : 0});
                KnobSpace unroll{"unroll", {}, 1};
                for (int steps = 1; steps <= kMaxUnroll; steps *= 2)
                    if (c.reduction % steps == 0) unroll.values.push_back(steps);
                unroll.default_value = chosen_or(unroll.values, c.unroll, 1);
                r.knobs.push_back(unroll);
                KnobSpace blocks{"reduction_block", {0}, c.reduction_block};
                for (int b = kMinReductionBlock; b <= kMaxReductionBlock; b *= 2)
                    if (reduction_block_applies(c.reduction, b)) blocks.values.push_back(b);
                if (blocks.values.size() > 1) r.knobs.push_back(blocks);
            }
            if (c.staged_input) r.knobs.push_back({"planar_input", {0, 1}, c.planar_input ? 1 : 0});
            if (c.pixel_layout_allowed) r.knobs.push_back({"pixel_vectors", {0, 1}, c.pixel_vectors ? 1 : 0});
            u.roots.push_back(r);
        }
        space.units.push_back(u);
    }
    return space;
}

Config default_config(const UnitSpace &unit) {
    Config c(unit.roots.size());
    for (size_t i = 0; i < unit.roots.size(); i++)
        for (const auto &k : unit.roots[i].knobs) c[i][k.name] = k.default_value;
    return c;
}

bool tile_is_legal(const RootSpace &r, const std::map<std::string, int> &c) {
    auto value = [&](const char *name, int fallback) {
        auto it = c.find(name);
        return it != c.end() ? it->second : fallback;
    };
    int vectors = value("channel_vectors", 1), tile = value("tile_x", 1);
    if (value("pixel_vectors", 0)) {
        // As the scheduler vectorizes over pixels: lanes within the width.
        int lanes = value("vector", r.lanes);
        while (lanes > 1 && lanes > r.width) lanes /= 2;
        return vectors <= r.channels && int64_t{tile} * lanes <= r.width && register_tile_fits(tile, vectors, r.registers);
    }
    return vectors <= r.max_channel_vectors && (!r.knob("tile_x") || register_tile_fits(vectors, tile, r.registers));
}

bool config_is_legal(const UnitSpace &unit, const Config &config) {
    if (config.size() != unit.roots.size()) return false;
    for (size_t i = 0; i < unit.roots.size(); i++) {
        const RootSpace &r = unit.roots[i];
        if (config[i].size() != r.knobs.size()) return false;
        for (const auto &k : r.knobs) {
            auto it = config[i].find(k.name);
            if (it == config[i].end() || std::find(k.values.begin(), k.values.end(), it->second) == k.values.end())
                return false;
        }
        if (!tile_is_legal(r, config[i])) return false;
        // A blocked reduction implies channels_outer and vectors over
        // channels: one point, not several.
        if (r.knob("reduction_block") && config[i].at("reduction_block") > 0 &&
            (config[i].at("channels_outer") == 0 || (r.knob("pixel_vectors") && config[i].at("pixel_vectors"))))
            return false;
    }
    return true;
}

void apply_config(ScheduleFile &file, const UnitSpace &unit, const Config &config) {
    for (size_t i = 0; i < unit.roots.size() && i < config.size(); i++)
        for (const auto &name : unit.roots[i].names) {
            ScheduleKnobs &k = file.layers[name];
            for (const auto &[knob, value] : config[i]) knob_def(knob).set(k, value);
        }
}

nlohmann::json config_to_json(const Config &config) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto &root : config) {
        nlohmann::json o = nlohmann::json::object();
        for (const auto &[k, v] : root) o[k] = v;
        j.push_back(o);
    }
    return j;
}

std::optional<Config> config_from_json(const nlohmann::json &j, const UnitSpace &unit) {
    Config c;
    if (!j.is_array()) return std::nullopt;
    for (const auto &root : j) {
        if (!root.is_object()) return std::nullopt;
        std::map<std::string, int> knobs;
        for (auto it = root.begin(); it != root.end(); ++it) {
            if (!it.value().is_number_integer()) return std::nullopt;
            knobs[it.key()] = it.value().get<int>();
        }
        c.push_back(knobs);
    }
    // A record from before a knob was declared measured it at its default.
    for (size_t i = 0; i < c.size() && i < unit.roots.size(); i++)
        for (const auto &k : unit.roots[i].knobs) c[i].emplace(k.name, k.default_value);
    if (!config_is_legal(unit, c)) return std::nullopt;
    return c;
}

double space_size(const UnitSpace &unit) {
    double total = 1;
    for (const auto &r : unit.roots) {
        // The tile knobs together (their legality depends on each other), the
        // rest as a product.
        const std::vector<std::string> tile_knobs = {"channel_vectors", "tile_x", "pixel_vectors", "vector"};
        std::vector<const KnobSpace *> tk;
        for (const auto &name : tile_knobs)
            if (r.knob(name)) tk.push_back(r.knob(name));
        double points = 0;
        std::map<std::string, int> c;
        std::function<void(size_t)> count = [&](size_t i) {
            if (i == tk.size()) {
                points += tile_is_legal(r, c);
                return;
            }
            for (int v : tk[i]->values) {
                c[tk[i]->name] = v;
                count(i + 1);
            }
        };
        count(0);
        for (const auto &k : r.knobs)
            if (std::find(tile_knobs.begin(), tile_knobs.end(), k.name) == tile_knobs.end())
                points *= static_cast<double>(k.values.size());
        total *= points;
    }
    return total;
}

std::string describe_space(const ModelSpace &space) {
    std::ostringstream o;
    o << "search space for " << space.target << ", " << space.threads << " thread" << (space.threads > 1 ? "s" : "")
      << " (default: the cost model's choice, marked *)\n";
    o << "model-wide: group_padding {";
    for (size_t i = 0; i < space.group_padding.values.size(); i++)
        o << (i ? ", " : "") << space.group_padding.values[i]
          << (space.group_padding.values[i] == space.group_padding.default_value ? "*" : "");
    o << "} (lanes per group of a grouped conv's weights; set in the schedule file's defaults)\n";
    std::map<std::string, int> seen;
    for (const auto &u : space.units) {
        auto it = seen.find(u.key);
        if (it != seen.end()) {
            o << "\nunit " << u.unit << ": same workload as " << space.units[static_cast<size_t>(it->second)].unit << "\n";
            continue;
        }
        seen[u.key] = static_cast<int>(&u - &space.units[0]);
        o << "\nunit " << u.unit << " (workload " << u.key << ", " << static_cast<double>(u.macs) / 1e6 << " M MACs, "
          << space_size(u) << " points)\n";
        for (const auto &r : u.roots) {
            o << "  " << r.root;
            if (r.names.size() > 1) {
                o << " [";
                for (size_t i = 1; i < r.names.size(); i++) o << (i > 1 ? ", " : "") << r.names[i];
                o << "]";
            }
            o << ": " << r.kind << ", " << r.channels << " channels x " << r.width << " x " << r.height << "\n";
            for (const auto &k : r.knobs) {
                o << "    " << k.name << " {";
                for (size_t i = 0; i < k.values.size(); i++)
                    o << (i ? ", " : "") << k.values[i] << (k.values[i] == k.default_value ? "*" : "");
                o << "}\n";
            }
            if (r.knob("tile_x"))
                o << "    where channel_vectors * tile_x + channel_vectors + 1 <= " << r.registers << " registers"
                  << (r.knob("pixel_vectors") ? cat(" and channel_vectors <= ", r.max_channel_vectors,
                                                    "; with pixel_vectors: channel_vectors * tile_x + tile_x + 1 <= ",
                                                    r.registers, " and tile_x * lanes <= ", r.width)
                                              : std::string())
                  << "\n";
        }
    }
    return o.str();
}

}  // namespace shufflec
