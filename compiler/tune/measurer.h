// The tuner's measurer (TVM meta-schedule's builder + runner): per workload
// the objects of its default and of its incumbent (the best so far), a
// candidate compiled in a worker process and timed against the incumbent in
// one alternating program (tune/unit_bench.h) on a runner, an apparent
// improvement measured twice. The search strategy decides what to measure;
// this says how fast it is.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "measure/runner.h"
#include "tune/search_strategy.h"
#include "tune/unit_bench.h"

namespace shufflec {

struct MeasureOptions {
    int threads = 1;
    double compile_timeout_s = 120;
    double run_timeout_s = 60;
    // The cost: timings (none), or this core's cycles as modeled from exact
    // counts under qemu (deterministic: measured once, no alternation).
    std::optional<CoreModel> core;
};

class Measurer {
public:
    // `work_dir`: this run's folder (objects, programs).
    Measurer(const PreparedModel &model, const std::string &work_dir, const MeasureOptions &options);

    // Compiles a workload's default (and, when the search resumed with a best,
    // that best: its incumbent); an incumbent that no longer compiles falls
    // back to the default. A default that does not compile is an error.
    void prepare(Workload &w);

    // The incumbent's object as it is now, copied for trial `trial` (the
    // incumbent may change while the trial runs); call under the search's lock.
    std::string incumbent_snapshot(const Workload &w, int trial);

    // Trial `trial`: `config` compiled and measured against `incumbent_object`
    // (and checked against the default's outputs) on `runner`; an apparent
    // improvement by kImprovement is measured again and the less favourable
    // ratio kept. `fault` ("", crash, hang, wrong) is for tests.
    TrialResult trial(Runner &runner, const Workload &w, const Config &config, int trial,
                      const std::string &incumbent_object, bool peak, const std::string &fault);

    // The candidate of `trial` becomes `w`'s incumbent object (call under the lock).
    void promote(const Workload &w, int trial);
    // Removes the objects of `trial`.
    void finish(int trial);

    // `w`'s incumbent against its default, measured twice: the less favourable
    // ratio incumbent / default (>= 1e29: a measurement failed).
    double check(Runner &runner, const Workload &w);

private:
    std::string object(const Workload &w, const std::string &role) const;
    std::string trial_object(int trial, const std::string &role) const;
    // ("", "") when `config` compiled to `object`, else a trial status and its error.
    std::pair<std::string, std::string> compile(const Workload &w, const Config &config, const std::string &object) const;

    // Modeled: `w`'s incumbent and candidate objects' cost (the incumbent's
    // remembered by its object's bytes).
    TrialResult modeled(Runner &runner, const Workload &w, const std::string &incumbent_object,
                        const std::string &candidate_object, const std::string &program, const std::string &fault);

    const PreparedModel &model_;
    std::string dir_;
    std::mutex mu_;                              // guards known_cost_
    std::map<size_t, double> known_cost_;  // hash of an object's bytes -> modeled ms
    MeasureOptions options_;
    UnitBench bench_;
};

}  // namespace shufflec
