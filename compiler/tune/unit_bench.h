// Measuring one pipeline (unit) of a model with a candidate schedule:
// compile the candidate in a child process (a crash or endless loop in Halide
// or LLVM is a failed trial, not a failed run), link it with the unit's
// default and incumbent objects into a small program (unit_bench_main.c) and
// run that on a runner with a time limit. The program alternates incumbent
// and candidate and checks the candidate's outputs against the default's.
#pragma once

#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "emit/compile_model.h"
#include "measure/qemu_count.h"
#include "measure/runner.h"
#include "schedule/schedule.h"

namespace shufflec {

struct TrialTiming {
    double median_ms = 0, min_ms = 0, p10_ms = 0, p90_ms = 0;
};

struct TrialResult {
    // ok, compile_failed, compile_timeout, crashed, timeout, wrong_output, failed
    std::string status;
    std::string error;  // one line
    double max_rel_diff = 0;
    TrialTiming incumbent, candidate;
    double peak_gmacs = 0;
    int calls = 0;
};

class UnitBench {
public:
    // `work_dir`: a folder of this run (objects, programs); `threads` per call.
    UnitBench(const PreparedModel &model, const std::string &work_dir, int threads);

    // Compiles pipeline `segment` with `schedule` into `object` (function
    // `function`) in a child process; "" on success, else a status and error.
    std::pair<std::string, std::string> compile(int segment, const ScheduleFile &schedule, const std::string &function,
                                                const std::string &object, double timeout_s) const;

    // Links default/incumbent/candidate objects of `segment` into a program for
    // `runner` and runs it there. `fault` ("", crash, hang, wrong) is for tests.
    TrialResult measure(Runner &runner, int segment, const std::string &default_object,
                        const std::string &incumbent_object, const std::string &candidate_object,
                        const std::string &program_name, bool peak, const std::string &fault, double timeout_s);

    // The modeled cost instead of timings (the qemu runner only): one warm call
    // of the candidate (and with `incumbent_too` of the incumbent) counted
    // under qemu's plugin and modeled by llvm-mca for `core`, in milliseconds
    // at the core's clock (all four timing fields alike); deterministic. The
    // outputs are checked as by measure(); a failed run gives its status.
    TrialResult model_cost(Runner &runner, int segment, const std::string &default_object,
                           const std::string &incumbent_object, const std::string &candidate_object,
                           const std::string &program_name, const CoreModel &core, bool incumbent_too,
                           const std::string &fault, double timeout_s);

    const std::string &work_dir() const { return dir_; }

private:
    // Links the unit's program and puts it on `runner`; "" or the error.
    std::string link(Runner &runner, int segment, const std::string &default_object,
                     const std::string &incumbent_object, const std::string &candidate_object,
                     const std::string &program_name);
    // Runs the linked program with `options`; its report as a trial result.
    TrialResult run(Runner &runner, int segment, const std::string &program_name,
                    const std::vector<std::string> &options, double timeout_s);
    void prepare_runner(Runner &runner);
    std::string layout_file(int segment);

    const PreparedModel &model_;
    std::string dir_;
    int threads_;
    std::string arch_;
    std::mutex ready_mu_;                 // guards runners_ready_ (one worker thread per runner)
    std::set<const Runner *> runners_ready_;  // the weights were put there (two qemu runners: two folders)
    std::map<std::string, std::string> driver_;  // arch -> compiled unit_bench_main.o
};

// Median and spread of `t` (for logs): (p90 - p10) / median.
double timing_spread(const TrialTiming &t);

}  // namespace shufflec
