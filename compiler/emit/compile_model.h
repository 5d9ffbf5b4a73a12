// `shufflec compile`: spec + weights -> standalone objects an app links.
//
//   spec -> graph -> passes -> segments -> Halide lowering + schedule
//        -> one object per segment (no runtime) + the shared runtime object
//        -> C glue (clang) -> NAME.a / NAME.o, NAME.h
//
// Outputs appear atomically: everything is built in a temporary folder inside
// the output folder and renamed into place only when all of it succeeded.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <Halide.h>

#include "emit/targets.h"
#include "graph/graph.h"
#include "lower/segment_plan.h"
#include "lower/weight_packing.h"
#include "schedule/schedule.h"
#include "weights/weights.h"

namespace shufflec {

struct PreparedModel;

struct CompileOptions {
    std::string spec_path;
    std::string weights_path;   // --weights
    std::string random_seed;    // --random-weights
    std::string target = "host";
    std::string name;           // C prefix; default from the spec name
    std::string out_dir;
    std::optional<Shape> input_shape;
    std::string precision = "fp32";  // or "int8" (with quantization_path), "fp16", "bf16"
    std::string quantization_path;   // --quantization: shufflec quantize's scales
    std::string schedule_path;  // --schedule; default schedules/<target>/<spec name>.json if present
    bool ignore_model_schedule = false;  // only the target's default.json (+ --schedule): tune's baseline
    // Run on the prepared model after the schedule files and the weight
    // packing (the CLI's --tuning-log applies a tune log's records here:
    // emit knows nothing of tuning).
    std::function<void(PreparedModel &)> refine_schedule;
    bool external_weights = false;
    // --emit: lib (NAME.a), obj (NAME.o + the shared runtime object), so (NAME.so, e.g. for Python)
    enum class Emit { Library, Objects, Shared } emit = Emit::Library;
    bool profile = false;         // per-pipeline timers in the glue (NAME_profile_* functions)
    bool profile_halide = false;  // Halide's own per-Func sampling profiler (prints at exit)
    int jobs = 0;               // parallel segment compiles (0: number of cores)
    // Instead of shufflec's schedules, let one of Halide's autoschedulers
    // (Mullapudi2016, Li2018, Adams2019) schedule every pipeline: a baseline for bench/compare.
    std::string autoscheduler;
    bool one_pipeline = false;    // the whole network as one Halide pipeline (for comparison)
    bool save_temps = false;    // keep the temporary folder (glue source, objects) for inspection
    bool progress = false;      // an updating "[k/n] pipeline ... ETA" line on stderr (terminals only)
};

struct CompileReport {
    double seconds = 0;
    int segments = 0;
    int64_t weight_bytes = 0, scratch_bytes = 0;
    std::string schedule_source;
    std::string target_folder;  // the concrete target (`host` resolved)
    std::vector<std::string> files;
    std::vector<std::string> notes;  // worth telling the user (e.g. why NAME_run_rgb8 is missing)
};

CompileReport compile_model(const CompileOptions &options);

// Everything before code generation: the optimized graph, its pipelines, the
// schedule (target defaults, model file or --schedule, --tuning-log records)
// and the packed weights. `compile`, `tune` and `--print-schedule` share it.
struct PreparedModel {
    TargetInfo target;
    Graph graph;
    Weights weights;
    LayerStats stats;
    std::string name;
    SegmentPlan plan;
    ScheduleFile schedule;
    PackedWeights blob;
};
PreparedModel prepare_model(const CompileOptions &options);

// The one step from a pipeline to code: segment `segment` lowered, scheduled
// with `schedule` (or a Halide autoscheduler, by name) and compiled to
// `object` as C function `function` for `target` (features such as
// NoRuntime included by the caller); with `stmt`, its lowered statement too.
// compile and tune's candidates both go through it.
void compile_segment_object(const PreparedModel &model, const ScheduleFile &schedule, int segment,
                            const std::string &function, const std::string &object, const Halide::Target &target,
                            const std::string &autoscheduler = "", const std::string &stmt = "");

// The shared runtime objects of a target in `dir`: halide_runtime.o (Halide's
// runtime) and shufflec_helpers.o (runtime/shufflec_runtime.c: thread pool,
// allocation cache, error codes).
void build_runtime_objects(const TargetInfo &target, const std::string &dir);

// The scheduler's choices for every pipeline of a spec, one line per root Func
// ("<pipeline> <root> [<fused reductions>]: vector V x N, tile_x T, rows R").
std::vector<std::string> describe_schedule(const CompileOptions &options);

// Checks that `name` can prefix C symbols.
void check_model_name(const std::string &name);

// What an external weights file of this compile is tied to: the model
// fingerprint (emit/model_fingerprint.h) and the folded weights' size.
struct WeightsIdentity {
    uint64_t fingerprint = 0;
    int64_t floats = 0;
};
WeightsIdentity weights_identity(const CompileOptions &options);

}  // namespace shufflec
