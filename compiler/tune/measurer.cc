#include "tune/measurer.h"

#include <functional>
#include <unistd.h>

#include "emit/toolchain.h"
#include "measure/qemu_count.h"
#include "tune/tuning_log.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/process.h"

namespace shufflec {

namespace {

// A copy of a candidate object whose entry points are renamed (ub_candidate ->
// ub_default / ub_incumbent): one compile serves every role. Halide's other
// globals (the parallel loop bodies, named after the function) become local
// first, so the copies link side by side.
void rename_object(const std::string &from, const std::string &to, const std::string &role) {
    std::string objcopy = find_toolchain().llvm_objcopy;
    std::vector<std::string> localize = {objcopy}, rename = {objcopy};
    for (const char *suffix : {"", "_argv", "_metadata"}) {
        localize.push_back(cat("--keep-global-symbol=ub_candidate", suffix));
        rename.push_back(cat("--redefine-sym=ub_candidate", suffix, "=ub_", role, suffix));
    }
    std::string tmp = to + ".tmp";
    localize.insert(localize.end(), {from, tmp});
    rename.insert(rename.end(), {tmp, to});
    run_tool(localize, "renaming a tuning candidate");
    run_tool(rename, "renaming a tuning candidate");
    unlink(tmp.c_str());
}

void copy_file(const std::string &from, const std::string &to) { run_tool({"cp", from, to}, "copying an object"); }

}  // namespace

Measurer::Measurer(const PreparedModel &model, const std::string &work_dir, const MeasureOptions &options)
    : model_(model), dir_(work_dir), options_(options), bench_(model, work_dir, options.threads) {
    // Built once before the workers start (several qemu runners would race to build it).
    if (options_.core) build_count_plugin(dir_);
}

std::string Measurer::object(const Workload &w, const std::string &role) const {
    return join_path(dir_, cat("w", w.index, "_", role, ".o"));
}

std::string Measurer::trial_object(int trial, const std::string &role) const {
    return join_path(dir_, cat("t", trial, "_", role, ".o"));
}

std::pair<std::string, std::string> Measurer::compile(const Workload &w, const Config &config,
                                                      const std::string &object) const {
    ScheduleFile s = model_.schedule;
    apply_config(s, *w.space, config);
    return bench_.compile(w.space->segment, s, "ub_candidate", object, options_.compile_timeout_s);
}

void Measurer::prepare(Workload &w) {
    std::string base = join_path(dir_, cat("w", w.index, "_base.o"));
    auto [status, error] = compile(w, default_config(*w.space), base);
    if (!status.empty()) fail("compiling unit ", w.units[0], " with the default schedule failed: ", error);
    rename_object(base, object(w, "default"), "default");
    rename_object(base, object(w, "default_as_incumbent"), "incumbent");  // for the final check
    if (w.incumbent_ms > 0) {
        bool compiled = compile(w, w.incumbent, base).first.empty();
        if (compiled) {
            copy_file(base, object(w, "incumbent_as_candidate"));
        } else {
            w.incumbent = default_config(*w.space), w.incumbent_ms = w.default_ms, w.good.clear();
        }
        rename_object(compiled ? base : object(w, "default"), object(w, "incumbent"), "incumbent");
    } else {
        rename_object(base, object(w, "incumbent"), "incumbent");
        w.incumbent_ms = w.default_ms;
    }
}

std::string Measurer::incumbent_snapshot(const Workload &w, int trial) {
    std::string path = trial_object(trial, "incumbent");
    copy_file(object(w, "incumbent"), path);
    return path;
}

TrialResult Measurer::trial(Runner &runner, const Workload &w, const Config &config, int trial,
                            const std::string &incumbent_object, bool peak, const std::string &fault) {
    std::string candidate = trial_object(trial, "candidate");
    auto [status, error] = compile(w, config, candidate);
    TrialResult result;
    if (!status.empty()) {
        result.status = status;
        result.error = error;
        return result;
    }
    if (options_.core) return modeled(runner, w, incumbent_object, candidate, cat("unit_bench_t", trial), fault);
    auto measure = [&](bool with_peak) {
        return bench_.measure(runner, w.space->segment, object(w, "default"), incumbent_object, candidate,
                              cat("unit_bench_t", trial), with_peak, fault, options_.run_timeout_s);
    };
    result = measure(peak);
    // An apparent improvement is measured again and the less favourable ratio
    // kept: one alternating measurement of two copies of the same code
    // differs by up to a few percent.
    auto ratio = [](const TrialResult &t) { return t.candidate.median_ms / t.incumbent.median_ms; };
    bool is_default = config_to_json(config) == config_to_json(default_config(*w.space));
    if (result.status == "ok" && !is_default && ratio(result) < kImprovement) {
        TrialResult again = measure(false);
        if (again.status != "ok" || ratio(again) > ratio(result)) {
            again.peak_gmacs = result.peak_gmacs;
            result = again;
        }
    }
    return result;
}

void Measurer::promote(const Workload &w, int trial) {
    std::string candidate = trial_object(trial, "candidate");
    rename_object(candidate, object(w, "incumbent"), "incumbent");
    copy_file(candidate, object(w, "incumbent_as_candidate"));
}

void Measurer::finish(int trial) {
    for (const char *role : {"candidate", "incumbent"}) unlink(trial_object(trial, role).c_str());
}

TrialResult Measurer::modeled(Runner &runner, const Workload &w, const std::string &incumbent_object,
                              const std::string &candidate_object, const std::string &program, const std::string &fault) {
    size_t key = std::hash<std::string>()(read_file(incumbent_object, "tuning object", kMaxDataFileBytes));
    double known = 0;
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = known_cost_.find(key);
        if (it != known_cost_.end()) known = it->second;
    }
    TrialResult r = bench_.model_cost(runner, w.space->segment, object(w, "default"), incumbent_object, candidate_object,
                                      program, *options_.core, known == 0, fault, options_.run_timeout_s);
    if (r.status != "ok") return r;
    if (known > 0) {
        r.incumbent = {known, known, known, known};
    } else {
        std::lock_guard<std::mutex> lock(mu_);
        known_cost_[key] = r.incumbent.median_ms;
    }
    return r;
}

double Measurer::check(Runner &runner, const Workload &w) {
    if (options_.core) {
        TrialResult r = modeled(runner, w, object(w, "default_as_incumbent"), object(w, "incumbent_as_candidate"),
                                cat("unit_bench_check", w.index), "");
        return r.status == "ok" ? r.candidate.median_ms / r.incumbent.median_ms : 1e30;
    }
    double ratio = 0;
    for (int rep = 0; rep < 2; rep++) {
        TrialResult r = bench_.measure(runner, w.space->segment, object(w, "default"), object(w, "default_as_incumbent"),
                                       object(w, "incumbent_as_candidate"), cat("unit_bench_check", w.index), false, "",
                                       options_.run_timeout_s);
        if (r.status != "ok") return 1e30;
        ratio = std::max(ratio, r.candidate.median_ms / r.incumbent.median_ms);
    }
    return ratio;
}

}  // namespace shufflec
