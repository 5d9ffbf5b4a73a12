#include "tune/search_space.h"

#include "schedule/knobs.h"

#include <algorithm>
#include <functional>
#include <sstream>

#include "lower/lower_segment.h"
#include "util/error.h"
#include "util/hash.h"

namespace shufflec {

namespace {

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

}  // namespace

const KnobSpace *RootSpace::knob(const std::string &name) const {
    for (const auto &k : knobs)
        if (k.name == name) return &k;
    return nullptr;
}

ModelSpace search_space(const PreparedModel &p, int threads, const std::function<bool(const std::string &)> &wanted) {
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
        // (int8 pipelines are other workloads: 8-bit tensors, integer kernels)
        u.key = hex(fnv1a(cat(u.workload, " | ", p.target.short_name, " | threads ", threads,
                              p.plan.int8() ? " | int8" : "")));
        for (int node : seg.nodes) u.macs += node_stats(p.graph, p.graph.nodes[node]).macs;
        if (wanted && !wanted(u.key)) {
            space.units.push_back(u);
            continue;
        }
        LoweredSegment lowered = lower_segment(p.graph, p.blob, p.plan, u.segment);
        for (const ScheduleChoice &c : apply_schedule(lowered, p.graph, p.plan, p.schedule, p.target.halide)) {
            RootSpace r;
            static_cast<ScheduleChoice &>(r) = c;
            r.names = {c.root};
            for (const auto &red : c.reductions)
                if (red != c.root) r.names.push_back(red);
            r.knobs = root_knob_spaces(c);
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

bool config_is_legal(const UnitSpace &unit, const Config &config) {
    if (config.size() != unit.roots.size()) return false;
    for (size_t i = 0; i < unit.roots.size(); i++)
        if (!point_is_legal(unit.roots[i], unit.roots[i].knobs, config[i])) return false;
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
        const std::vector<std::string> &tile_knobs = tile_knob_names();
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
            std::string rule = tile_rule(r, r.knob("pixel_vectors") != nullptr);
            if (!rule.empty()) o << "    where " << rule << "\n";
        }
    }
    return o.str();
}

}  // namespace shufflec
