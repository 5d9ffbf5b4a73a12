// The schedule search space, declared: for every pipeline (unit) of a model,
// each root Func the scheduler computes, the knobs it accepts and their legal
// values. `shufflec tune` searches it, `tune --print-space` prints it, and a
// point of it (a Config) becomes ordinary schedule-file knobs (layers[name]),
// so `compile` reads tuned and hand-written schedules alike.
//
// Knobs per root (compiler/schedule/apply_schedule.cc explains the loop nest):
//   channel_vectors  vectors of output channels per register tile (1-8)
//   tile_x           output pixels per register tile (1-8, at most the width)
//     constraint: the tile fits the target's vector registers (register_tile_fits)
//   tasks_per_thread parallel row tasks per thread (1, 2, 3, 4, 6, 8, 12, 16 up
//                    to the height; roots with rows)
//   fuse             compute inside the rows of the root that reads it (0/1;
//                    internal roots with rows)
//   channels_outer   1x1 convs: channel blocks outside the pixels of a row
//                    task (0/1; default 1 when the weights exceed 32 KB)
//   unroll           1x1 convs: input channels per reduction step (1, 2, 4,
//                    8 where they divide the group's input channels)
//   reduction_block  1x1 convs: input channels per block of the reduction,
//                    accumulators in a row buffer between blocks (0, or 16-128
//                    dividing it; > 0 only with channels_outer 1)
//   vector           SIMD lanes (4 up to the target's vector; where that is
//                    more than one choice)
//   planar_input     general convs with a staged input (the stem): the copy
//                    stored as planes, x innermost (0/1)
//   pixel_vectors    the layout choice of an internal 1x1 or depthwise root:
//                    vectors over channels (0: groups padded to whole
//                    vectors, stored channels innermost) or over pixels (1:
//                    broadcast weights, no padding lanes, stored x innermost;
//                    channel_vectors then counts channels and tile_x vectors
//                    of pixels, with tile_x * lanes <= the width; roots
//                    whose channels per group are not whole vectors)
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

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "emit/compile_model.h"

namespace shufflec {

struct KnobSpace {
    std::string name;
    std::vector<int> values;  // legal values, ascending
    int default_value = 0;    // the cost model's choice
};

struct RootSpace {
    std::string root;                // node computed at root (this model's name)
    std::vector<std::string> names;  // the root and the reductions computed in its tiles: where knobs are set
    std::string kind;                // pointwise, depthwise, conv, ...
    int64_t channels = 0, width = 0, height = 0;
    int registers = 16;
    int lanes = 8;             // the scheduler's vector width for this root
    int max_channel_vectors = 8;  // vectors over channels: at most this many per tile
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
using Config = std::vector<std::map<std::string, int>>;

struct ModelSpace {
    std::string target;  // concrete target folder
    int threads = 1;
    std::vector<UnitSpace> units;   // one per pipeline, in order
    KnobSpace group_padding;        // model-wide
};

// Lowers every pipeline of `model` with its schedule to find the roots.
ModelSpace search_space(const PreparedModel &model, int threads);

Config default_config(const UnitSpace &unit);
// Whether one root's register tile (channel_vectors x tile_x, over channels or
// pixels, at its vector width) is legal; the other knobs' values are not checked.
bool tile_is_legal(const RootSpace &root, const std::map<std::string, int> &knobs);
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
