#include "tune/search_strategy.h"

#include <algorithm>
#include <map>

#include "tune/tuning_log.h"

namespace shufflec {

bool Workload::improved() const {
    return default_done && config_to_json(incumbent) != config_to_json(default_config(*space));
}

bool Workload::add_ok(const Config &config, double est_ms, bool is_default, int measured_against_version) {
    good.push_back({est_ms, config});
    std::sort(good.begin(), good.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    if (is_default || est_ms >= incumbent_ms * kImprovement || measured_against_version != incumbent_version)
        return false;
    incumbent = config;
    incumbent_ms = est_ms;
    incumbent_version++;
    return true;
}

std::vector<Workload> group_workloads(const ModelSpace &space) {
    std::vector<Workload> workloads;
    std::map<std::string, size_t> by_key;
    for (const auto &u : space.units) {
        auto it = by_key.find(u.key);
        if (it == by_key.end()) {
            Workload w;
            w.space = &u;
            w.index = static_cast<int>(workloads.size());
            w.incumbent = default_config(u);
            it = by_key.emplace(u.key, workloads.size()).first;
            workloads.push_back(w);
        }
        workloads[it->second].units.push_back(u.unit);
    }
    return workloads;
}

double model_estimate(const std::vector<Workload> &workloads, bool best) {
    double total = 0;
    for (const auto &w : workloads) {
        if (!w.default_done) return 0.0;
        total += w.count() * (best ? w.incumbent_ms : w.default_ms);
    }
    return total;
}

Workload *next_workload(std::vector<Workload> &workloads) {
    for (auto &w : workloads)
        if (!w.default_done && !w.busy) return &w;
    Workload *chosen = nullptr;
    double best = -1;
    for (auto &w : workloads) {
        if (w.busy || w.exhausted || !w.default_done) continue;
        double priority = w.count() * w.default_ms / (1 + w.trials);
        if (priority > best) best = priority, chosen = &w;
    }
    return chosen;
}

SearchStrategy::SearchStrategy(const std::string &search, uint64_t seed) : evolve_(search == "evolve"), rng_(seed) {}

bool SearchStrategy::propose(const Workload &w, Config &out) {
    for (int attempt = 0; attempt < 200; attempt++) {
        Config c = evolve_ && !w.good.empty() && uniform() < 0.9 ? mutate(w, parent(w)) : random_config(*w.space);
        if (!config_is_legal(*w.space, c)) continue;
        if (w.tried.count(config_to_json(c).dump())) continue;
        out = c;
        return true;
    }
    return false;
}

double SearchStrategy::uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

int SearchStrategy::pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

const Config &SearchStrategy::parent(const Workload &w) {
    if (uniform() < 0.5) return w.incumbent;
    int top = std::min<int>(4, static_cast<int>(w.good.size()));
    int a = pick(top), b = pick(top);
    return w.good[static_cast<size_t>(std::min(a, b))].second;
}

bool whole_unit_fusion(const UnitSpace &u, Config &c) {
    std::vector<size_t> fusible;
    bool all_fused = true;
    for (size_t r = 0; r < u.roots.size(); r++) {
        const auto &knobs = u.roots[r].knobs;
        auto k = std::find_if(knobs.begin(), knobs.end(), [](const KnobSpace &x) { return x.name == "fuse"; });
        if (k == knobs.end() || std::find(k->values.begin(), k->values.end(), 1) == k->values.end()) continue;
        fusible.push_back(r);
        all_fused = all_fused && c[r]["fuse"] == 1;
    }
    if (fusible.size() < 2) return false;
    for (size_t r : fusible) c[r]["fuse"] = all_fused ? 0 : 1;
    return true;
}

Config SearchStrategy::mutate(const Workload &w, Config c) {
    // One move in eight changes the unit's fusion as a whole: fusing one of
    // its layers alone rarely pays, so single-knob steps walk past the point
    // where all of them do (issue 21: 480x640 needed two fuse knobs at once).
    if (uniform() < 0.125) {
        Config whole = c;
        if (whole_unit_fusion(*w.space, whole)) return whole;
    }
    int changes = uniform() < 0.7 ? 1 : 2;
    for (int i = 0; i < changes; i++) {
        size_t r = static_cast<size_t>(pick(static_cast<int>(w.space->roots.size())));
        const RootSpace &root = w.space->roots[r];
        const KnobSpace &k = root.knobs[static_cast<size_t>(pick(static_cast<int>(root.knobs.size())))];
        auto at = std::find(k.values.begin(), k.values.end(), c[r][k.name]);
        int pos = static_cast<int>(at - k.values.begin());
        // Mostly a neighbouring value (tiles change gradually), sometimes any.
        if (uniform() < 0.6 && k.values.size() > 1) {
            pos += uniform() < 0.5 ? -1 : 1;
            pos = std::clamp(pos, 0, static_cast<int>(k.values.size()) - 1);
        } else {
            pos = pick(static_cast<int>(k.values.size()));
        }
        c[r][k.name] = k.values[static_cast<size_t>(pos)];
        // Keep the register tile legal by shrinking the other side.
        const char *other = k.name == "tile_x" ? "channel_vectors" : "tile_x";
        while (!tile_is_legal(root, c[r]) && c[r].count(other) && c[r][other] > 1) c[r][other]--;
        while (!tile_is_legal(root, c[r]) && c[r].count("channel_vectors") && c[r]["channel_vectors"] > 1)
            c[r]["channel_vectors"]--;
    }
    return c;
}

Config SearchStrategy::random_config(const UnitSpace &u) {
    Config c(u.roots.size());
    for (size_t r = 0; r < u.roots.size(); r++) {
        const RootSpace &root = u.roots[r];
        for (int attempt = 0; attempt < 100; attempt++) {
            for (const auto &k : root.knobs) c[r][k.name] = k.values[static_cast<size_t>(pick(static_cast<int>(k.values.size())))];
            if (tile_is_legal(root, c[r])) break;
        }
    }
    return c;
}

}  // namespace shufflec
