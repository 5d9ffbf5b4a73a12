#include "tune/tuning_log.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <sstream>
#include <unistd.h>

#include "spec/json_view.h"
#include "tune/search_space.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/version.h"

namespace shufflec {

TuningLog::TuningLog(const std::string &path) : path_(path) {
    fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("--log: cannot open ", in_quotes(path), " for appending: ", std::strerror(errno));
}

TuningLog::~TuningLog() {
    if (fd_ >= 0) close(fd_);
}

void TuningLog::append(const nlohmann::json &record) {
    // One write per record (O_APPEND): a kill leaves at most a torn last line.
    std::string line = record.dump() + "\n";
    size_t done = 0;
    while (done < line.size()) {
        ssize_t n = write(fd_, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("--log: cannot write to ", in_quotes(path_), ": ", std::strerror(errno));
        done += static_cast<size_t>(n);
    }
    fsync(fd_);
}

namespace {

// Each field a record may have, with what it must hold; other fields are kept
// as they are (a newer shufflec may add some) but never read.
enum class Kind { Text, Count, Threads, Milliseconds, Ratio, Flag, Config, List };
const std::map<std::string, Kind> &record_fields() {
    static const std::map<std::string, Kind> fields = {
        {"format", Kind::Text},          {"session", Kind::Count},       {"trial", Kind::Count},
        {"time", Kind::Text},            {"model", Kind::Text},          {"unit", Kind::Text},
        {"units", Kind::List},           {"count", Kind::Count},         {"workload", Kind::Text},
        {"workload_desc", Kind::Text},   {"macs", Kind::Count},          {"config", Kind::Config},
        {"default", Kind::Flag},         {"check", Kind::Flag},          {"status", Kind::Text},
        {"error", Kind::Text},           {"target", Kind::Text},         {"threads", Kind::Threads},
        {"cpu", Kind::Text},             {"runner", Kind::Text},         {"search", Kind::Text},
        {"version", Kind::Text},         {"median_ms", Kind::Milliseconds}, {"min_ms", Kind::Milliseconds},
        {"incumbent_median_ms", Kind::Milliseconds}, {"est_ms", Kind::Milliseconds},
        {"spread", Kind::Ratio},         {"max_rel_diff", Kind::Ratio},  {"ratio_to_default", Kind::Ratio},
        {"peak_gmacs", Kind::Ratio},     {"calls", Kind::Count},         {"cost", Kind::Text}};
    return fields;
}

// Why `v` cannot be a field of this kind ("" when it can).
std::string field_problem(const nlohmann::json &v, Kind kind) {
    switch (kind) {
    case Kind::Text:
        return v.is_string() ? "" : "expected a string";
    case Kind::Count:
        return v.is_number_integer() && v.get<int64_t>() >= 0 ? "" : "expected a whole number >= 0";
    case Kind::Threads:
        return v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 1024
                   ? "" : "expected a whole number from 1 to 1024";
    case Kind::Milliseconds:
        return v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() > 0 ? "" : "expected a time in ms > 0";
    case Kind::Ratio:
        return v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0 ? "" : "expected a number >= 0";
    case Kind::Flag:
        return v.is_boolean() ? "" : "expected true or false";
    case Kind::Config:  // per root of a unit, or one model-wide knob (a check record)
        return v.is_array() || v.is_object() ? "" : "expected a list or an object";
    case Kind::List:
        return v.is_array() ? "" : "expected a list";
    }
    return "";
}

}  // namespace

std::string iso_time_now() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

namespace {

nlohmann::json record_of(const RunContext &run, const Runner &runner, const std::string &workload,
                         const nlohmann::json &config, const std::string &status) {
    return {{"format", kTuneLogFormat}, {"session", run.session}, {"time", iso_time_now()},
            {"model", run.model},       {"workload", workload},   {"config", config},
            {"status", status},         {"target", run.target},   {"threads", run.threads},
            {"runner", runner.name()},  {"version", kShufflecVersion}, {"cost", run.cost}};
}

}  // namespace

nlohmann::json trial_record(const RunContext &run, const Runner &runner, int trial, const Workload &w,
                            const Config &config, bool is_default, const TrialResult &result, double est_ms) {
    nlohmann::json r = record_of(run, runner, w.space->key, config_to_json(config), result.status);
    r["trial"] = trial;
    r["unit"] = w.units[0];
    r["units"] = w.units;
    r["count"] = w.count();
    r["macs"] = w.space->macs;
    r["default"] = is_default;
    r["cpu"] = machine_name(runner);
    r["search"] = run.search;
    if (!result.error.empty()) r["error"] = result.error;
    // What the workload key stands for, once per workload (with its default's record).
    if (is_default) r["workload_desc"] = w.space->workload;
    if (result.peak_gmacs > 0) r["peak_gmacs"] = result.peak_gmacs;
    if (result.status == "ok" || result.status == "wrong_output") {
        r["median_ms"] = result.candidate.median_ms;
        r["min_ms"] = result.candidate.min_ms;
        r["spread"] = timing_spread(result.candidate);
        r["incumbent_median_ms"] = result.incumbent.median_ms;
        r["max_rel_diff"] = result.max_rel_diff;
        r["calls"] = result.calls;
    }
    if (est_ms > 0) r["est_ms"] = est_ms;
    return r;
}

nlohmann::json check_record(const RunContext &run, const Runner &runner, const std::string &workload,
                            const nlohmann::json &config, double ratio) {
    nlohmann::json r = record_of(run, runner, workload, config,
                                 ratio < kImprovement ? "ok" : ratio >= 1e29 ? "failed" : "not_faster");
    r["check"] = true;
    r["ratio_to_default"] = ratio < 1e29 ? ratio : 0.0;
    return r;
}

std::vector<nlohmann::json> read_tuning_log(const std::string &path) {
    std::string text = read_file(path, "tuning log");
    std::vector<nlohmann::json> records;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    bool last_complete = !text.empty() && text.back() == '\n';
    while (std::getline(in, line)) {
        number++;
        if (line.empty()) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception &) {
            if (!last_complete && in.peek() == EOF) break;  // torn by a kill: the trial in flight is lost
            fail(path, ":", number, ": not a JSON record");
        }
        if (!j.is_object() || !j.contains("format") || j["format"] != kTuneLogFormat)
            fail(path, ":", number, ": not a ", kTuneLogFormat, " record");
        // A key given twice: parsers disagree on which one counts.
        std::string duplicate = duplicate_key_path(line);
        if (!duplicate.empty()) fail(path, ":", number, ": ", duplicate, ": given twice");
        for (const char *field : {"workload", "status", "target", "threads"})
            if (!j.contains(field)) fail(path, ":", number, ": the record has no \"", field, "\"");
        for (const auto &[field, kind] : record_fields()) {
            auto it = j.find(field);
            if (it == j.end()) continue;
            std::string problem = field_problem(*it, kind);
            if (!problem.empty()) fail(path, ":", number, ": ", field, ": ", problem, ", got ", in_quotes(it->dump()));
        }
        records.push_back(std::move(j));
    }
    return records;
}

int apply_tuning_log(PreparedModel &model, const std::string &path, int threads) {
    std::vector<nlohmann::json> all = read_tuning_log(path);
    std::string cost = "time";
    int last_threads = 1;
    for (const auto &r : all)
        if (r.value("target", "") == model.target.short_name)
            cost = r.value("cost", "time"), last_threads = r.value("threads", 1);
    if (threads <= 0) threads = last_threads;
    std::vector<nlohmann::json> records;  // of one cost: estimates of two costs do not compare
    for (auto &r : all)
        if (r.value("cost", "time") == cost) records.push_back(std::move(r));
    // Per workload: the default's and the best estimate.
    struct Best {
        double default_ms = 0, best_ms = 0;
        const nlohmann::json *best = nullptr;
    };
    std::map<std::string, Best> best;
    // The final checks of tuning runs (best against default, directly): where a
    // workload has one, its last check decides.
    std::map<std::string, const nlohmann::json *> check;
    for (const auto &r : records)
        if (r.value("check", false) && r.value("target", "") == model.target.short_name && r.value("threads", 0) == threads)
            check[r["workload"].get<std::string>()] = &r;
    for (const auto &r : records) {
        if (r.value("check", false)) continue;
        if (r.value("status", "") != "ok" || r.value("target", "") != model.target.short_name ||
            r.value("threads", 0) != threads || !r.contains("est_ms"))
            continue;
        Best &b = best[r["workload"].get<std::string>()];
        double est = r["est_ms"].get<double>();
        if (r.value("default", false) && (b.default_ms == 0 || est < b.default_ms)) b.default_ms = est;
        if (!b.best || est < b.best_ms) b.best = &r, b.best_ms = est;
    }
    // Only pipelines with records are scheduled here (for their roots, which a
    // config names); compile lowers and schedules every pipeline once more.
    ModelSpace space = search_space(model, threads, [&](const std::string &key) {
        return check.count(key) > 0 || best.count(key) > 0;
    });
    int changed = 0;
    for (const auto &u : space.units) {
        if (u.roots.empty()) continue;
        auto ck = check.find(u.key);
        if (ck != check.end()) {
            if (ck->second->value("status", "") != "ok") continue;
            if (auto c = config_from_json(ck->second->value("config", nlohmann::json()), u)) {
                apply_config(model.schedule, u, *c);
                changed++;
            }
            continue;
        }
        auto it = best.find(u.key);
        if (it == best.end() || !it->second.best || it->second.best->value("default", false)) continue;
        if (it->second.default_ms > 0 && it->second.best_ms >= it->second.default_ms * kImprovement) continue;
        // A record of another version of the space: the cost model decides.
        if (auto c = config_from_json(it->second.best->value("config", nlohmann::json()), u)) {
            apply_config(model.schedule, u, *c);
            changed++;
        }
    }
    model.schedule.source += cat(" + ", path, " (", changed, " pipeline", changed == 1 ? "" : "s", ")");
    return changed;
}

LogHistory read_log_history(const std::string &path, const ModelSpace &space, int threads, const std::string &cost) {
    std::map<std::string, const UnitSpace *> by_key;
    for (const auto &u : space.units) by_key.emplace(u.key, &u);
    LogHistory h;
    for (const auto &r : read_tuning_log(path)) {
        h.last_session = std::max(h.last_session, r.value("session", 0));
        if (r.value("check", false)) continue;  // a final check, not a trial
        auto it = by_key.find(r.value("workload", ""));
        if (it == by_key.end() || r.value("target", "") != space.target || r.value("threads", 0) != threads ||
            r.value("cost", "time") != cost)
            continue;
        std::optional<Config> c = config_from_json(r.value("config", nlohmann::json()), *it->second);
        if (!c) {
            h.other_space++;
            continue;
        }
        WorkloadHistory &w = h.workloads[it->first];
        h.trials++;
        w.trials++;
        w.tried.insert(config_to_json(*c).dump());
        if (r.value("status", "") != "ok" || !r.contains("est_ms")) continue;
        double est = r["est_ms"].get<double>();
        if (r.value("default", false)) w.default_done = true, w.default_ms = est;
        w.good.push_back({est, *c});
    }
    for (auto &[key, w] : h.workloads) {
        std::sort(w.good.begin(), w.good.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
        if (!w.default_done) w.good.clear();
    }
    return h;
}

}  // namespace shufflec
