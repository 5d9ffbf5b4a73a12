// Schedules are data: a JSON file ("shufflec-schedule/1", docs/schedules.md)
// of knobs, resolved per layer as
//   built-in target defaults < "defaults" < "kinds"[kind] < "layers"[unit] < "layers"[layer].
// apply_schedule turns the knobs into Halide scheduling directives for one
// lowered segment. The algorithm (compiler/lower/) never changes.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <Halide.h>

#include "graph/graph.h"
#include "lower/lower_segment.h"
#include "lower/segment_plan.h"

namespace shufflec {

struct ScheduleKnobs {
    std::optional<int> vector;           // SIMD lanes over channels (1: scalar)
    std::optional<int> channel_vectors;  // vectors of output channels per register tile
    std::optional<int> tile_x;           // output pixels per register tile
    std::optional<int> rows_per_task;    // output rows per parallel task (0: no threads)
    // Compute this layer's result inside the rows of the unit output that reads
    // it (a sliding window of rows) instead of as a whole tensor first.
    // Unset: when this layer's output exceeds 1 MB (apply_schedule.cc).
    std::optional<bool> fuse;
    // Target facts the tiling cost model needs (usually set per target in
    // schedules/<target>/default.json): vector registers.
    std::optional<int> registers;
    // Parallel tasks per thread of a row loop (1: each thread gets one
    // contiguous block of rows; more: smaller blocks that balance better when
    // other work shares the cores).
    std::optional<int> tasks_per_thread;
    // Lanes each group of a grouped conv's weights is padded to (model-wide:
    // only read from "defaults"; unset: the widest vector the schedule uses).
    std::optional<int> group_padding;
    // Loop order of a 1x1 conv's tiles: pixels outside the channel blocks
    // (false: for every pixel tile all channel blocks, the input stays in L1)
    // or channel blocks outside the pixels of a row task (true: one block's
    // weights stay in cache while every pixel of the task streams past).
    // Unset: true when the conv's weights exceed 32 KB (apply_schedule.cc).
    std::optional<bool> channels_outer;
    // Input channels of a 1x1 conv's reduction per loop iteration (unrolled;
    // applied only where it divides the reduction).
    std::optional<int> unroll;
    // A 1x1 conv's reduction in blocks of this many input channels (0: whole):
    // its accumulators live in a row buffer (in L1) instead of registers, and
    // each block's weights are reused by every pixel tile of the row before
    // the next block's are loaded. Applied only where it divides the
    // reduction; implies channels_outer.
    std::optional<int> reduction_block;
    // A general conv's (the stem's) input, copied per row task: stored as
    // planes, x innermost (vectors along x for the copy), or channels
    // innermost. Unset: planes when the input has fewer channels than a vector.
    std::optional<bool> planar_input;
    // Vectors over pixels instead of channels (an internal 1x1 or depthwise
    // conv's root): each output channel's weight is a broadcast scalar, so a
    // group that is not a whole number of vectors computes no padding lanes;
    // the result is stored x innermost, where a reader vectorized over pixels
    // loads it densely. The register tile is then channel_vectors channels x
    // tile_x vectors of pixels.
    std::optional<bool> pixel_vectors;
    void merge(const ScheduleKnobs &over);
};

struct ScheduleFile {
    std::string source;  // file name, or "built-in"
    ScheduleKnobs defaults;
    std::map<std::string, ScheduleKnobs> kinds;   // pointwise, depthwise, conv, maxpool, avgpool, global_pool, dense
    std::map<std::string, ScheduleKnobs> layers;  // unit (block) or layer name
};

ScheduleFile load_schedule(const std::string &path);
// `over` on top of `base` (defaults, kinds and layers merged knob by knob).
void merge_schedule(ScheduleFile &base, const ScheduleFile &over);
ScheduleFile parse_schedule_text(const std::string &text, const std::string &source);
// The built-in knobs for a target (used where no schedule file says more):
// vector width and register count from its SIMD unit, one row task per thread.
ScheduleKnobs target_defaults(const Halide::Target &target);

const char *stage_kind_name(Stage::Kind kind);

// The group padding of the model's weights (ScheduleKnobs::group_padding).
int group_padding(const ScheduleFile &file, const Halide::Target &target);

// The knobs in force for one node of the pipeline (unit) `unit`.
ScheduleKnobs resolve_knobs(const ScheduleFile &file, const Halide::Target &target, const std::string &unit,
                           const Node &node, Stage::Kind kind);

// What the scheduler chose for one root Func (for --print-schedule and the autotuner).
struct ScheduleChoice {
    std::string root;                  // the node computed at root
    std::vector<std::string> reductions;  // reductions computed in its tiles
    int vector = 0, channel_vectors = 0, tile_x = 0;
    int rows_per_task = 0;     // 0: serial; -1: the rows split among the threads at run time
    int tasks_per_thread = 1;  // with rows_per_task -1
    int height = 0;            // of the root's output
    bool fused = false;        // computed in the rows of the root that reads it
    // What the search space of this root depends on (tune/search_space.h).
    bool output = false;       // a segment output (never fused into another root)
    std::string kind;          // stage_kind_name of the reduction it computes
    int64_t channels = 0;      // channels per group (grouped) or channels
    int64_t width = 0;         // of the root's output
    int registers = 16;        // vector registers of the target (knob)
    bool channels_outer = false;
    int unroll = 1;
    int reduction_block = 0;   // applied to its 1x1 conv reductions (0: none)
    int64_t reduction = 0;     // input channels per step of its 1x1 conv reductions (their gcd; 0: none)
    bool staged_input = false; // a general conv whose input is copied per row task (the stem)
    bool planar_input = false; // ... stored as planes
    bool pixel_vectors = false;  // vectors over pixels (ScheduleKnobs::pixel_vectors)
    bool pixel_layout_allowed = false;  // an internal root whose reduction may use them
};

// Whether a register tile of `vectors` x `tile_x` accumulators (plus the
// weight vectors and one broadcast input) fits in `registers`: the cost model
// and the tuner's search space share this limit.
bool register_tile_fits(int vectors, int tile_x, int registers);

std::vector<ScheduleChoice> apply_schedule(LoweredSegment &lowered, const Graph &graph, const SegmentPlan &plan,
                                           const ScheduleFile &file, const Halide::Target &target);

}  // namespace shufflec
