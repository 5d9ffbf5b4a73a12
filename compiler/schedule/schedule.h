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

// The knobs of one layer, kind or model, each unset unless a schedule gives it
// (what each means, its name and range: schedule/knobs.cc, the one table).
struct ScheduleKnobs {
    std::optional<int> vector, channel_vectors, tile_x, tile_y, rows_per_task, registers, tasks_per_thread, group_padding,
        unroll, reduction_block;
    std::optional<bool> fuse, channels_outer, planar_input, pixel_vectors, dot_product;
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

// The dot product a model's 1x1 convs are written for on the target: int8,
// AVX512-VNNI (avx512_sapphirerapids) or ARM dotprod (arm_dot_prod); bf16,
// AVX512-BF16 (avx512_sapphirerapids); elsewhere and for other precisions
// none (one input channel per step).
DotProduct dot_product(const Halide::Target &target, Precision precision);

// Whether 1x1 conv `node` of an int8 or bf16 model is packed and lowered in
// dot-product form (PackingOptions::use_dot): where the target has one (the
// model's `dot`) and its dot_product knob is not false.
// `unit`: the block of the segment that computes it (as the scheduler resolves knobs).
bool dot_product_wanted(const ScheduleFile &file, const Halide::Target &target, const std::string &unit,
                        const Node &node);

// Vectors of outputs per weight panel of fully connected `node`
// (PackingOptions::dense_panel_vectors): on x86 its register block, the
// channel_vectors knob or what the tiling takes for a root of one pixel
// (kMaxTileVectors where the accumulators, their weights and the input fit:
// 8 on AVX-512, 7 on AVX2), so a block reads one sequential stream; one on
// ARM, where the Cortex-A55 model charges the paired loads a wide panel
// invites 6 cycles each (V2's FC 0.37 -> 0.81 M A55 cycles).
int64_t dense_panel_vectors(const ScheduleFile &file, const Halide::Target &target, const std::string &unit,
                            const Node &node);

// Whether 1x1 conv `node` of an int8 model in pairs form (DotProduct::I8Pairs,
// `channels` outputs per group) takes its weights as int16
// (PackingOptions::pairs_int16): vpmaddwd reads them as they are, where int8
// weights take a widening per weight vector and step, but the pair of input
// bytes then takes 4 instructions per pixel and step instead of 2 (LLVM
// widens it before broadcasting it). So where the register tile (the
// throughput model's, as the scheduler chooses it) has more than twice as
// many channel vectors as pixels, on x86. Measured on V1 1x g3 (AVX2 build,
// same run, every conv in int16): stages 3 and 4 (5 x 2 tiles) x0.87-0.95,
// stage 2's 3 x 4 and 2 x 6 tiles x1.04-1.08; so chosen: the model x0.913,
// V2 1.0x x0.970. Not on ARM (ARMv8.0's pairs: V1 68.6 -> 84.6 M
// instructions under qemu with int16 weights).
bool pairs_weights_int16(const ScheduleFile &file, const Halide::Target &target, const std::string &unit,
                         const Node &node, int64_t channels);

// The knobs in force for one node of the pipeline (unit) `unit`.
ScheduleKnobs resolve_knobs(const ScheduleFile &file, const Halide::Target &target, const std::string &unit,
                           const Node &node, Stage::Kind kind);

// What the scheduler chose for one root Func (for --print-schedule and the autotuner).
struct ScheduleChoice {
    std::string root;                  // the node computed at root
    std::vector<std::string> reductions;  // reductions computed in its tiles
    int vector = 0, channel_vectors = 0, tile_x = 0, tile_y = 1;
    int lanes = 0;  // of each vector as compiled: `vector` float32 lanes x the stage's lanes per float32 lane
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
    int target_lanes = 8;      // the target's widest vector
    bool lane_inputs = false;  // its 1x1 conv multiplies by lane: an input vector per pixel (DotProduct)
};

// The largest register tile side the cost model and the tuner consider:
// vectors (or channels, over pixels) and pixels (or vectors of pixels).
constexpr int kMaxTileVectors = 8, kMaxTileX = 8;

// One line for --print-schedule: "<root> [<fused reductions>]: vector V x N,
// tile_x T, rows R, ...".
std::string describe_choice(const ScheduleChoice &choice);

// Whether a register tile of `vectors` x `tile_x` accumulators (plus the
// weight vectors and one broadcast input, or with `input_vectors` one input
// vector per pixel) fits in `registers`: the cost model and the tuner's
// search space share this limit.
bool register_tile_fits(int vectors, int tile_x, int registers, bool input_vectors = false);

// Whether a 1x1 conv's reduction of `reduction` input channels splits into
// blocks of `block` (ScheduleKnobs::reduction_block): whole blocks, more than
// one. The scheduler and the tuner's search space share this rule.
bool reduction_block_applies(int64_t reduction, int64_t block);

std::vector<ScheduleChoice> apply_schedule(LoweredSegment &lowered, const Graph &graph, const SegmentPlan &plan,
                                           const ScheduleFile &file, const Halide::Target &target);

}  // namespace shufflec
