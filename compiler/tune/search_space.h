// The schedule search space, declared: for every pipeline (unit) of a model,
// each root Func the scheduler computes, the knobs it accepts and their legal
// values. `shufflec tune` searches it, `tune --print-space` prints it, and a
// point of it (a Config) becomes ordinary schedule-file knobs (layers[name]),
// so `compile` reads tuned and hand-written schedules alike.
//
// The knobs per root, their legal values and defaults are declared once, in
// compiler/schedule/knobs.cc (the table that docs/schedules.md prints), from
// what the scheduler reports about the root (ScheduleChoice);
// compiler/schedule/apply_schedule.cc explains the loop nest they shape.
// Model-wide (one packing of the weights for all units, so not searched per
// unit): group_padding, the lanes each group of a grouped conv is padded to.
//
// Workloads: a unit's measured speed depends on its structure, shapes, target
// and thread count, not on its name, so records are keyed by a canonical
// description of the unit (ops in order, shapes, kernels, strides, groups,
// fused epilogues, folded shuffles, buffer layouts); a record tuned on one
// model serves every model with the same unit (all of stage3's stride-1 units
// of 1x g3 share one workload).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "emit/compile_model.h"
#include "schedule/knobs.h"

namespace shufflec {

// One root Func: what the scheduler chose and reported for it (the facts its
// space depends on, and the defaults), the names its knobs are set under, and
// the knobs searched there.
struct RootSpace : ScheduleChoice {
    std::vector<std::string> names;  // the root and the reductions computed in its tiles
    std::vector<KnobSpace> knobs;
    const KnobSpace *knob(const std::string &name) const;
};

struct UnitSpace {
    int segment = -1;
    std::string unit;      // the pipeline's unit (block) name
    std::string workload;  // canonical description (no node names)
    std::string key;       // hash of workload, target and threads
    int64_t macs = 0;
    std::vector<RootSpace> roots;
};

// One point: per root (same order as UnitSpace::roots), knob -> value.
using Config = std::vector<KnobValues>;

struct ModelSpace {
    std::string target;  // concrete target folder
    int threads = 1;
    std::vector<UnitSpace> units;   // one per pipeline, in order
    KnobSpace group_padding;        // model-wide
};

// Lowers every pipeline of `model` with its schedule to find the roots; with
// `wanted`, only the pipelines whose workload key it accepts (the others get
// their key and no roots: workload keys need no lowering).
ModelSpace search_space(const PreparedModel &model, int threads,
                        const std::function<bool(const std::string &key)> &wanted = {});

Config default_config(const UnitSpace &unit);
bool config_is_legal(const UnitSpace &unit, const Config &config);
// Sets the config's knobs as layers[name] entries of `file`.
void apply_config(ScheduleFile &file, const UnitSpace &unit, const Config &config);
nlohmann::json config_to_json(const Config &config);
// The config `j` describes; none if it is not a legal point of `unit`'s space
// (a record of another version of the space: logs outlive compilers).
std::optional<Config> config_from_json(const nlohmann::json &j, const UnitSpace &unit);
// Number of legal points of a unit (for messages).
double space_size(const UnitSpace &unit);
// Human-readable listing for `tune --print-space`.
std::string describe_space(const ModelSpace &space);

}  // namespace shufflec
