// `shufflec tune`: searches each pipeline's schedule on the machine (or the
// boards) it will run on, logs every trial, and writes the best schedule as an
// ordinary schedule file after confirming it against the default on the
// whole model. docs/schedules.md describes the space, records and search.
#pragma once

#include <string>
#include <vector>

#include "emit/compile_model.h"

namespace shufflec {

struct TuneOptions {
    CompileOptions compile;          // spec, weights, target, input shape
    int threads = 1;                 // threads per run the schedule is tuned for
    int trials = 0;                  // trials in all (with --resume: including the log's); 0: --budget decides
    double budget_minutes = 10;      // used when trials is 0
    std::string log_path;            // JSON lines (default: tune-<spec>-<target>-t<threads>.jsonl)
    bool resume = false;             // continue the log: its trials count and are not measured again
    std::string out_path;            // default: schedules/<target>/<spec name>.json
    std::vector<std::string> runners = {"local"};
    // What a trial costs: "time" (measured), or a core whose cycles llvm-mca
    // models from exact counts under qemu ("neoverse-n1", "cortex-a55"; the
    // qemu runner and 1 thread only).
    std::string cost = "time";
    std::string search = "evolve";   // evolve (learns from what it measured) or random (the baseline)
    uint64_t seed = 1;
    bool progress = false;
    bool confirm = true;             // whole-model A/B against the default before writing
    int confirm_rounds = 11;
    int padding_rounds = 11;         // per group padding tried on the whole model (0: keep the default)
    double compile_timeout_s = 120;
    double run_timeout_s = 60;
    // For tests: "crash:N,hang:N,wrong:N" makes trial N's program misbehave.
    std::string faults;
};

// Runs the search; prints a summary on stdout. Returns the process exit code.
int run_tune(const TuneOptions &options);

// `tune --print-space`.
std::string print_space(const CompileOptions &options, int threads);

// `tune --report LOG [--plot FILE.svg]`: a table per unit and, with a plot
// file, best-so-far model latency over trials, one line per tuning session.
std::string tune_report(const std::string &log_path, const std::string &plot_path);

}  // namespace shufflec
