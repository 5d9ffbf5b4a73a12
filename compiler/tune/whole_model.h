// The tuner's whole-model steps, after the per-unit search: what cannot be
// measured one unit at a time. The group padding packs every weight of the
// model, so each value is compiled into the whole model and timed against
// the tuned schedule; and the tuned model is confirmed against the default
// before its schedule is written. Both time two complete models alternately
// (paired rounds: a slow minute of the machine hits both halves of a round),
// or, with a modeled cost (TuneOptions::cost), count one inference of each
// under qemu and model its cycles (deterministic: once each).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "measure/bench_program.h"
#include "measure/runner.h"
#include "tune/tuner.h"
#include "tune/tuning_log.h"
#include "util/progress.h"

namespace shufflec {

// Paired A/B from per-round medians of a and b: a's median, and b's time as
// a's times the median per-round ratio b / a.
std::pair<double, double> paired_times(const std::vector<double> &a, const std::vector<double> &b);

// A schedule file (JSON) with the tuned layers and a model-wide group padding.
nlohmann::json schedule_json(const PreparedModel &model, const ScheduleFile &tuned, const std::string &description);

class WholeModel {
public:
    // Models are built in `dir`; `eta(paddings_left, confirmation)` is the
    // time left for the progress line.
    WholeModel(const TuneOptions &options, const PreparedModel &model, Runner &runner, const std::string &dir,
               Progress &progress, std::function<double(int, bool)> eta);

    // Each group padding of `values` other than `current` against the tuned
    // schedule (`tuned_path`, at `current`); a gain by kImprovement must show
    // twice. A check record per value goes to `log`. Returns the padding to
    // use, `current` when none was faster.
    int best_group_padding(const ScheduleFile &tuned, const std::string &tuned_path, const std::vector<int> &values,
                           int current, const std::string &description, TuningLog &log, const RunContext &run);

    // The tuned model (`tuned_path`) against the default, alternating
    // `confirm_rounds` rounds: (default ms, tuned ms).
    std::pair<double, double> confirm(const std::string &tuned_path);

private:
    struct Variant {
        CompiledModel model;
        std::string program;
    };
    Variant build(const std::string &name, const std::string &schedule_path);
    // (a ms, b ms): timed alternately for `rounds` rounds, or modeled.
    std::pair<double, double> alternate(const Variant &a, const Variant &b, int rounds);
    double modeled_ms(const Variant &v);

    const TuneOptions &options_;
    const PreparedModel &model_;
    Runner &runner_;
    std::string dir_;
    Progress &progress_;
    std::function<double(int, bool)> eta_;
    std::optional<Variant> tuned_;       // the tuned model as last built
    std::string tuned_schedule_;         // ... from this schedule file's text
    std::map<std::string, double> modeled_;  // program -> modeled ms (a modeled cost)
};

}  // namespace shufflec
