// The benchmark program around a compiled model (compiler/measure/bench_main.c),
// built for the machine a runner runs on and run there: what `shufflec bench`
// and `shufflec profile` measure with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "measure/qemu_count.h"
#include "measure/runner.h"

namespace shufflec {

// A folder written by `shufflec compile` (static library flavour).
struct CompiledModel {
    std::string dir, name;
    std::string target;  // the concrete target (NAME_TARGET)
    int64_t macs = 0;
    bool external_weights = false;
    bool unit_profile = false;   // built with --profile
    bool halide_profile = false; // built with --profile-halide
};

// Reads DIR/NAME.h (NAME: given, or the only model header in DIR).
CompiledModel read_compiled_model(const std::string &dir, const std::string &name);

// The architecture a target's binaries are for ("x86-64" or "arm-64").
std::string target_arch(const std::string &target);

// The C compiler (and flags) for benchmark programs of `target` on a runner of
// `arch`: $SHUFFLEC_CC, else cc or aarch64-linux-gnu-gcc; the FMA peak loop's
// vector width and FMA flags (bench_common.h).
std::vector<std::string> bench_c_compiler(const std::string &arch, const std::string &target);

// Compiles bench_main.c against `model` for `arch` into `work_dir`; returns the program's path.
std::string build_bench_program(const CompiledModel &model, const std::string &arch, bool static_link,
                                const std::string &work_dir);

struct BenchOptions {
    std::vector<int> threads = {1};
    int runs = 100;
    int warmup = 5;
    bool peak = true;        // measure the FMA peak too
    bool report = true;      // false: runs only, no report (for instruction counts); returns {}
    double timeout_s = 900;  // for the whole program
};

// Puts the program (and external weights) on the runner, runs it, returns its JSON report.
nlohmann::json run_bench_program(Runner &runner, const CompiledModel &model, const std::string &program,
                                 const BenchOptions &options);

// One inference's executed blocks, exact, under qemu's counting plugin (the
// qemu runner only; built into `dir`, which must not hold a comma): the
// program runs with one warm-up and one, then two, timed runs, and no report;
// the second count less the first is one inference, 1 thread.
BlockMap count_inference(Runner &runner, const CompiledModel &model, const std::string &program,
                         const std::string &dir);

// Parses "1,2,4" (--threads); errors name `flag`.
std::vector<int> parse_int_list(const std::string &text, const std::string &flag, int min, int max);

}  // namespace shufflec
