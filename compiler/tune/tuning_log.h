// The tuning log: JSON lines, one record per trial, appended and flushed (and
// fsync'ed) as each trial ends, so an interrupted run (Ctrl-C, kill -9) loses
// at most the trial in flight. `tune --resume` reads it back instead of
// measuring again; `compile --tuning-log` applies the best record per workload.
//
// A record: {"format": "shufflec-tune/1", "session", "trial", "time", "model",
//   "unit", "workload" (key), "workload_desc" (in the default's record), "count" (units of the model with
//   this workload), "macs", "config", "default" (the cost model's config),
//   "status" (ok, compile_failed, compile_timeout, crashed, timeout,
//   wrong_output, failed), "error", "median_ms", "min_ms", "spread",
//   "incumbent_median_ms", "est_ms" (the candidate's time on the scale of the
//   unit's default measurement), "max_rel_diff", "target", "threads", "cpu",
//   "runner", "search", "version", "peak_gmacs" (when measured), "cost" ("time",
//   or a modeled core: its times are modeled milliseconds, from exact counts)}
// After the search, one "check" record per workload whose best is not the
// default: the best measured directly against the default ("ratio_to_default",
// status ok or not_faster); compile --tuning-log applies only bests that passed.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "emit/compile_model.h"
#include "tune/search_space.h"
#include "tune/search_strategy.h"
#include "tune/unit_bench.h"

namespace shufflec {

constexpr const char *kTuneLogFormat = "shufflec-tune/1";

// A candidate must beat the best so far by this much to replace it (and a
// checked best its default to be kept): smaller differences are within the
// noise of one alternating measurement.
constexpr double kImprovement = 0.99;

class TuningLog {
public:
    // Opens `path` for appending (created if missing).
    explicit TuningLog(const std::string &path);
    ~TuningLog();
    TuningLog(const TuningLog &) = delete;
    TuningLog &operator=(const TuningLog &) = delete;
    void append(const nlohmann::json &record);

private:
    int fd_ = -1;
    std::string path_;
};

// What every record of one tuning run shares.
struct RunContext {
    int session = 1;
    std::string model, target, search;
    int threads = 1;
    std::string cost = "time";  // what the times are (TuneOptions::cost)
};

// The UTC time now, as records and schedule descriptions give it.
std::string iso_time_now();

// The record of trial `trial` of workload `w` on `runner`; `est_ms` (> 0: an
// ok trial) on the scale of the workload's default measurement.
nlohmann::json trial_record(const RunContext &run, const Runner &runner, int trial, const Workload &w,
                            const Config &config, bool is_default, const TrialResult &result, double est_ms);

// A check record: a best measured directly against its default (`ratio` =
// best / default; >= 1e29: the measurement failed), for a workload's config or
// a model-wide knob ({"group_padding": N}).
nlohmann::json check_record(const RunContext &run, const Runner &runner, const std::string &workload,
                            const nlohmann::json &config, double ratio);

// Every well-formed record of a log (a torn last line, from a kill in the
// middle of a write, is skipped; other malformed lines are errors naming the line).
std::vector<nlohmann::json> read_tuning_log(const std::string &path);

// What a log holds for one workload (tune --resume continues from it).
struct WorkloadHistory {
    int trials = 0;                               // records with a config of this space
    std::set<std::string> tried;                  // their configs, as JSON text
    std::vector<std::pair<double, Config>> good;  // (est_ms, config) of ok trials, best first; none
                                                  // without the default's measurement (estimates need it)
    bool default_done = false;
    double default_ms = 0;
};

struct LogHistory {
    int last_session = 0;  // of any record
    int trials = 0;        // over all workloads
    int other_space = 0;   // records of these workloads whose config is not a point of `space` (another version's)
    std::map<std::string, WorkloadHistory> workloads;  // by workload key
};

// The trial records of `path` for `space`'s workloads, target, `threads` and `cost`.
LogHistory read_log_history(const std::string &path, const ModelSpace &space, int threads, const std::string &cost);

// compile --tuning-log: for every pipeline whose workload has records for the
// model's target and `threads` (0: the thread count of the log's last record),
// the config of its last passed check, or without checks its best ok record
// faster than its default by 1%, set as layers knobs. Records of one cost
// only: that of the log's last record for the target (a record without one: time).
// Returns the number of pipelines it changed.
int apply_tuning_log(PreparedModel &model, const std::string &path, int threads);

}  // namespace shufflec
