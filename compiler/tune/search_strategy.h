// The tuner's search strategy (TVM meta-schedule's "search strategy"): the
// state of each workload's search, which workload to measure next, and which
// of its configs. It measures nothing and reads no files: the measurer
// (tune/measurer.h) times what it proposes, the tuning log (tune/tuning_log.h)
// is its database, and the whole-model steps (tune/whole_model.h) check the
// result.
#pragma once

#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tune/search_space.h"

namespace shufflec {

// One workload (units of the model that share a structure) and its search.
struct Workload {
    const UnitSpace *space = nullptr;
    std::vector<std::string> units;
    int index = 0;
    std::set<std::string> tried;                  // configs measured (or failed), as JSON text
    std::vector<std::pair<double, Config>> good;  // (est_ms, config) of ok trials, best first
    bool default_done = false;
    double default_ms = 0;
    Config incumbent;
    double incumbent_ms = 0;
    int incumbent_version = 0;  // bumped when the incumbent changes (its object is rebuilt)
    int trials = 0;
    bool busy = false;          // a trial of it is in flight (parallel runners)
    bool exhausted = false;
    int count() const { return static_cast<int>(units.size()); }
    // Whether its best is not the cost model's config (after its default was measured).
    bool improved() const;
    // An ok trial at `est_ms` (on the scale of the default's measurement): kept
    // among the good ones; returns whether it became the incumbent (beats it
    // by kImprovement, and the incumbent did not change while it was measured).
    bool add_ok(const Config &config, double est_ms, bool is_default, int measured_against_version);
};

// The model's workloads: units that share a key are tuned once, in the
// order their first unit appears.
std::vector<Workload> group_workloads(const ModelSpace &space);

// The model's latency as the sum of its units' times, at each workload's
// incumbent (best) or default; 0 until every default is measured.
double model_estimate(const std::vector<Workload> &workloads, bool best);

// The workload to measure next: one whose default is not measured first, then
// the one with the most model time per trial spent on it; null when none is
// free (busy or exhausted).
Workload *next_workload(std::vector<Workload> &workloads);

// The whole-unit fusion move: every root of `u` with a `fuse` knob that can
// be 1 fused into the output rows (1), or, where all of them already are, none
// (0). False (and `c` unchanged) where the unit has fewer than two such roots.
bool whole_unit_fusion(const UnitSpace &u, Config &c);

// Proposes the next config of a workload: the evolutionary search mutates one
// or two knobs of a good config (chosen by a tournament among the best
// measured, biased to the incumbent), or changes its unit's fusion as a whole
// (whole_unit_fusion), so what it measured steers where it looks; the random search samples the space uniformly (the baseline).
class SearchStrategy {
public:
    // `search`: "evolve" or "random" (checked by the caller).
    SearchStrategy(const std::string &search, uint64_t seed);

    // A legal config of `w` not tried yet; false when 200 attempts found none.
    bool propose(const Workload &w, Config &out);

private:
    double uniform();
    int pick(int n);
    const Config &parent(const Workload &w);
    Config mutate(const Workload &w, Config c);
    Config random_config(const UnitSpace &u);

    bool evolve_;
    std::mt19937_64 rng_;
};

}  // namespace shufflec
