#include "tune/tuner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

#include "measure/runner.h"
#include "tune/measurer.h"
#include "tune/search_space.h"
#include "tune/search_strategy.h"
#include "tune/tuning_log.h"
#include "tune/whole_model.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/install_paths.h"
#include "util/progress.h"
#include "util/temp_folder.h"
#include "util/version.h"

namespace shufflec {

namespace {

// $SHUFFLEC_TUNE_FAULTS ("crash:N,hang:N,wrong:N"): trial N's program misbehaves (tests).
std::map<int, std::string> parse_faults(const std::string &text) {
    std::map<int, std::string> faults;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t comma = text.find(',', pos);
        std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        size_t colon = item.find(':');
        if (colon == std::string::npos) fail("$SHUFFLEC_TUNE_FAULTS: expected KIND:TRIAL items, got ", in_quotes(item));
        faults[std::atoi(item.substr(colon + 1).c_str())] = item.substr(0, colon);
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return faults;
}

std::string minutes(double s) {
    int m = static_cast<int>(s / 60), sec = static_cast<int>(s) % 60;
    return cat(m, ":", sec < 10 ? "0" : "", sec);
}

// Where the run reads and writes: the log (--resume continues it) and the
// schedule (by default in the user's folder, which compile reads after the
// project's, never the install's). Files named after the model: its name must
// be a file name (never a path).
struct RunFiles {
    std::string log, out;
};

RunFiles run_files(const TuneOptions &opt, const PreparedModel &model) {
    const std::string &model_file_name = checked_file_name(model.graph.name, "the model name");
    RunFiles f;
    f.log = opt.log_path.empty() ? cat("tune-", model_file_name, "-", model.target.short_name, "-t", opt.threads, ".jsonl")
                                 : opt.log_path;
    f.out = opt.out_path;
    if (f.out.empty()) {
        std::string user = user_schedules_dir();
        if (user.empty()) fail("no folder for tuned schedules ($HOME is not set): give -o FILE");
        f.out = cat(user, "/", model.target.short_name, "/", model_file_name, ".json");
    }
    return f;
}

// --resume: the log's trials of these workloads become their search state.
// Returns the trials done and sets the session the run continues.
int resume_from_log(const std::string &log_path, const ModelSpace &space, int threads, const std::string &cost,
                    std::vector<Workload> &workloads, int &session) {
    if (access(log_path.c_str(), R_OK) != 0) fail("--resume: no log ", in_quotes(log_path), " to continue");
    LogHistory history = read_log_history(log_path, space, threads, cost);
    for (auto &w : workloads) {
        auto it = history.workloads.find(w.space->key);
        if (it == history.workloads.end()) continue;
        const WorkloadHistory &h = it->second;
        w.trials = h.trials, w.tried = h.tried, w.good = h.good;
        w.default_done = h.default_done, w.default_ms = h.default_ms;
        if (!w.good.empty()) w.incumbent = w.good[0].second, w.incumbent_ms = w.good[0].first;
    }
    session = std::max(1, history.last_session);  // a resumed run continues its session
    if (history.other_space > 0)
        std::printf("--resume: %d record%s of %s %s not a point of this compiler's search space (another "
                    "version's); measured again where the search reaches %s\n",
                    history.other_space, history.other_space == 1 ? "" : "s", log_path.c_str(),
                    history.other_space == 1 ? "is" : "are", history.other_space == 1 ? "it" : "them");
    return history.trials;
}

// The search's table: per workload its trials, default and best, and what
// the final check found.
void print_summary(const std::string &model, const std::string &target, int threads, int trials, int this_run,
                   double seconds, const std::vector<Workload> &workloads, const std::map<int, double> &checked,
                   const std::optional<CoreModel> &core) {
    std::printf("tuned %s for %s, %d thread%s: %d trials in this log (%d in this run), %.0f s\n", model.c_str(),
                target.c_str(), threads, threads == 1 ? "" : "s", trials, this_run, seconds);
    if (core)
        std::printf("(times are %s cycles modeled by llvm-mca from exact counts under qemu, in ms at %.1f GHz)\n",
                    core->cpu.c_str(), core->ghz);
    std::printf("%-14s %5s %6s %11s %11s %8s %9s\n", "unit", "units", "trials", "default ms", "best ms", "speedup",
                "checked");
    for (const auto &w : workloads)
        if (w.default_done) {
            auto c = checked.find(w.index);
            std::string check = c == checked.end() ? "-" : c->second >= 1e29 ? "failed" : cat(std::round(100 / c->second) / 100, "x");
            if (c != checked.end() && c->second >= kImprovement) check += " (kept default)";
            std::printf("%-14s %5d %6d %11.4f %11.4f %7.2fx %9s\n", w.units[0].c_str(), w.count(), w.trials, w.default_ms,
                        w.incumbent_ms, w.default_ms / w.incumbent_ms, check.c_str());
        }
    double model_ms = model_estimate(workloads, true), base = model_estimate(workloads, false);
    if (base > 0) std::printf("sum of units: default %.3f ms, tuned %.3f ms (x%.2f)\n", base, model_ms, base / model_ms);
}

}  // namespace

std::string print_space(const CompileOptions &options, int threads) {
    CompileOptions c = options;
    c.ignore_model_schedule = true;
    if (c.weights_path.empty() && c.random_seed.empty()) c.random_seed = "1";  // the space does not depend on values
    PreparedModel p = prepare_model(c);
    return describe_space(search_space(p, threads));
}

int run_tune(const TuneOptions &opt) {
    if (opt.search != "evolve" && opt.search != "random")
        fail("--search: \"", opt.search, "\" is not one of evolve, random");
    auto started = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
    std::optional<CoreModel> core;
    if (opt.cost != "time") {
        try {
            core = find_core_model(opt.cost);
        } catch (const Error &e) {
            fail("--cost: ", one_line(e.what()), "; or time");
        }
        for (const auto &r : opt.runners)
            if (r != "qemu") fail("--cost ", opt.cost, ": modeled cycles need exact counts, from --runner qemu (not ", r, ")");
        if (opt.threads != 1) fail("--cost ", opt.cost, ": modeled cycles are of 1 thread (--threads 1)");
    }
    CompileOptions copt = opt.compile;
    copt.ignore_model_schedule = true;
    copt.refine_schedule = nullptr;
    PreparedModel model = prepare_model(copt);
    std::vector<std::unique_ptr<Runner>> runners;
    for (const auto &spec : opt.runners) runners.push_back(make_runner(spec));
    ModelSpace space = search_space(model, opt.threads);
    std::vector<Workload> workloads = group_workloads(space);

    RunFiles files = run_files(opt, model);
    int session = 1, done = 0;
    if (opt.resume) {
        done = resume_from_log(files.log, space, opt.threads, opt.cost, workloads, session);
    } else if (access(files.log.c_str(), R_OK) == 0) {
        for (const auto &r : read_tuning_log(files.log)) session = std::max(session, r.value("session", 0) + 1);
    }
    TuningLog log(files.log);
    const RunContext run{session, model.graph.name, space.target, opt.search, opt.threads, opt.cost};

    int total_trials = opt.trials;
    const double budget_s = opt.trials > 0 ? 1e30 : opt.budget_minutes * 60;
    std::map<int, std::string> faults = parse_faults(opt.faults);

    TempFolder work("shufflec-tune-");
    const std::string &dir = work.path();
    Measurer measurer(model, dir, {opt.threads, opt.compile_timeout_s, opt.run_timeout_s, core});

    // Every workload's default (and, after --resume, incumbent) object.
    Progress progress("tune " + model.graph.name, 0, opt.progress);
    for (auto &w : workloads) {
        progress.show(cat("defaults ", w.index + 1, "/", workloads.size()), "compiling the default of " + w.units[0], -1);
        measurer.prepare(w);
    }

    std::mutex mu;
    SearchStrategy strategy(opt.search, opt.seed + static_cast<uint64_t>(session) * 7919);
    bool peak_measured = false;
    int next_trial = done;

    // The time left, for the progress line: the search (its budget, or its
    // trials at the mean trial time), then two measurements per improved unit
    // (the checks), the model-wide group paddings and the confirmation (a model
    // build and alternating rounds each), from what was measured so far.
    const double build_s = elapsed() + 2;  // compiling every default above: about one model build
    double trials_s = 0;                   // summed over the trials of this run (under mu)
    int timed_trials = 0;
    const int paddings = opt.confirm && opt.padding_rounds > 0 ? static_cast<int>(space.group_padding.values.size()) - 1 : 0;
    auto improved = [&] {
        return static_cast<int>(std::count_if(workloads.begin(), workloads.end(), [](const Workload &w) { return w.improved(); }));
    };
    auto tail_s = [&](int checks, int paddings_left, bool confirmation) {
        double trial_s = timed_trials > 0 ? trials_s / timed_trials : 5;
        double round_s = 2 * (0.2 + 23 * model_estimate(workloads, false) / 1000);  // two bench programs of 23 runs
        double t = checks * 2 * trial_s;
        if (paddings_left > 0) t += (paddings_left + 1) * build_s + paddings_left * opt.padding_rounds * round_s;
        if (confirmation) t += build_s + opt.confirm_rounds * round_s;
        return t;
    };

    // The next trial (under the lock): the strategy's workload and config,
    // false when the budget is spent or every workload is busy or exhausted.
    auto next = [&](Workload *&chosen, Config &config, int &trial) {
        if (total_trials > 0 ? next_trial >= total_trials : elapsed() >= budget_s) return false;
        for (;;) {
            chosen = next_workload(workloads);
            if (!chosen) return false;
            if (!chosen->default_done) {
                config = default_config(*chosen->space);
                break;
            }
            if (strategy.propose(*chosen, config)) break;
            chosen->exhausted = true;
        }
        chosen->busy = true;
        chosen->tried.insert(config_to_json(config).dump());
        trial = next_trial++;
        return true;
    };

    auto worker = [&](Runner &runner, int worker_index) {
        for (;;) {
            auto trial_start = std::chrono::steady_clock::now();
            Workload *w = nullptr;
            Config config;
            int trial = 0, incumbent_version = 0;
            bool is_default = false, want_peak = false;
            std::string incumbent_object;
            {
                std::lock_guard<std::mutex> lock(mu);
                if (!next(w, config, trial)) return;
                is_default = !w->default_done;
                incumbent_version = w->incumbent_version;
                want_peak = !peak_measured && worker_index == 0;
                if (want_peak) peak_measured = true;
                incumbent_object = measurer.incumbent_snapshot(*w, trial);
            }
            auto fault = faults.find(trial);
            TrialResult result = measurer.trial(runner, *w, config, trial, incumbent_object, want_peak,
                                                fault == faults.end() ? "" : fault->second);
            std::lock_guard<std::mutex> lock(mu);
            double est = 0;
            if (result.status == "ok") {
                if (is_default) {
                    est = result.candidate.median_ms;
                    w->default_done = true;
                    w->default_ms = w->incumbent_ms = est;
                } else {
                    // On the scale of this workload's default measurement.
                    est = w->incumbent_ms * result.candidate.median_ms / result.incumbent.median_ms;
                }
                if (w->add_ok(config, est, is_default, incumbent_version)) measurer.promote(*w, trial);
            } else if (is_default) {
                fail("measuring unit ", w->units[0], " with the default schedule failed (", result.status,
                     "): ", result.error);
            }
            log.append(trial_record(run, runner, trial, *w, config, is_default, result, est));
            measurer.finish(trial);
            w->trials++;
            w->busy = false;
            trials_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - trial_start).count();
            timed_trials++;
            double model_ms = model_estimate(workloads, true), base = model_estimate(workloads, false);
            std::string detail = cat(w->units[0], " ", result.status);
            if (result.status == "ok" && !is_default)
                detail += cat(" (", std::round(100 * result.candidate.median_ms / result.incumbent.median_ms) / 100,
                              "x the best's time)");
            if (model_ms > 0)
                detail += cat(", model ~", std::round(model_ms * 100) / 100, " ms (default ", std::round(base * 100) / 100, ")");
            double search_left = total_trials > 0 ? (total_trials - next_trial) * trials_s / timed_trials /
                                                        static_cast<double>(runners.size())
                                                  : std::max(0.0, budget_s - elapsed());
            progress.show(total_trials > 0 ? cat(next_trial, "/", total_trials, " trials")
                                           : cat(next_trial, " trials, ", minutes(elapsed()), " of ", minutes(budget_s)),
                          detail, search_left + tail_s(improved(), paddings, opt.confirm));
        }
    };
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(runners.size());
    for (size_t i = 0; i < runners.size(); i++)
        threads.emplace_back([&, i] {
            try {
                worker(*runners[i], static_cast<int>(i));
            } catch (...) {
                errors[i] = std::current_exception();
                std::lock_guard<std::mutex> lock(mu);
                total_trials = next_trial;  // the others stop after their trial
            }
        });
    for (auto &t : threads) t.join();
    for (auto &e : errors)
        if (e) std::rethrow_exception(e);
    progress.finish();

    // Each workload's best against its default, directly (twice, the less
    // favourable ratio kept): the chained estimates of a long search collect
    // lucky measurements, so a best that is not confirmed here reverts. The
    // check is a record too: compile --tuning-log applies only a best that passed it.
    std::map<int, double> checked;  // workload -> confirmed ratio best / default
    const int checks = improved();
    int checks_done = 0;
    for (auto &w : workloads) {
        if (!w.improved()) continue;
        checks_done++;
        progress.show(cat("check ", checks_done, "/", checks), "the best of " + w.units[0] + " against its default",
                      tail_s(checks - checks_done + 1, paddings, opt.confirm));
        double ratio = measurer.check(*runners[0], w);
        checked[w.index] = ratio;
        nlohmann::json record = check_record(run, *runners[0], w.space->key, config_to_json(w.incumbent), ratio);
        record["unit"] = w.units[0];
        log.append(record);
        if (ratio >= kImprovement) {
            w.incumbent = default_config(*w.space);
            w.incumbent_ms = w.default_ms;
        }
    }
    progress.finish();

    // The result: every unit gets its workload's incumbent.
    ScheduleFile tuned;
    int changed = 0;
    for (const auto &u : space.units) {
        const Workload &w = *std::find_if(workloads.begin(), workloads.end(),
                                          [&](const Workload &x) { return x.space->key == u.key; });
        if (!w.improved()) continue;
        apply_config(tuned, u, w.incumbent);
        changed++;
    }
    print_summary(model.graph.name, space.target, opt.threads, next_trial, next_trial - done, elapsed(), workloads,
                  checked, core);

    // The whole-model steps: the group padding, then the confirmation.
    std::string description = cat("Tuned by shufflec tune ", kShufflecVersion, " (", opt.search, ", ", next_trial,
                                  " trials, ", opt.threads, " thread", opt.threads == 1 ? "" : "s", ") on ",
                                  machine_name(*runners[0]),
                                  core ? cat(" by ", core->cpu, " cycles modeled by llvm-mca from exact counts") : "",
                                  ", ", iso_time_now(), "; log ", files.log, ".");
    std::string tuned_path = join_path(dir, "tuned.json");
    write_file_atomic(tuned_path, schedule_json(model, tuned, description).dump(2) + "\n");
    WholeModel whole(opt, model, *runners[0], dir, progress,
                     [&](int paddings_left, bool confirmation) { return tail_s(0, paddings_left, confirmation); });
    if (paddings > 0) {
        int current = space.group_padding.default_value;
        int best = whole.best_group_padding(tuned, tuned_path, space.group_padding.values, current, description, log, run);
        if (best != current) {
            tuned.defaults.group_padding = best;
            write_file_atomic(tuned_path, schedule_json(model, tuned, description).dump(2) + "\n");
        }
    }
    bool any = changed > 0 || tuned.defaults.group_padding.has_value();
    bool keep = any;
    if (any && opt.confirm) {
        auto [default_ms, tuned_ms] = whole.confirm(tuned_path);
        std::string how = core ? cat("one inference, ", core->cpu, " cycles modeled from exact counts under qemu (ms at ",
                                     core->ghz, " GHz)")
                               : cat(opt.confirm_rounds, " alternating rounds of 20 runs on ", runners[0]->name());
        std::printf("whole model, %s: default %.3f ms, tuned %.3f ms: x%.3f\n", how.c_str(), default_ms, tuned_ms,
                    default_ms / tuned_ms);
        keep = tuned_ms < default_ms;
        description += cat(" Confirmed on the whole model: default ", default_ms, " ms, tuned ", tuned_ms, " ms",
                           core ? " (modeled)" : "", ".");
    }
    if (!keep) {
        tuned.layers.clear();
        tuned.defaults = ScheduleKnobs();
        description += any ? " The tuned schedule was not faster on the whole model: this file keeps the default."
                           : " No unit beat the default schedule: this file keeps it.";
        std::printf("%s\n", any ? "the tuned schedule was not faster than the default: writing the default"
                                : "no unit beat the default schedule: writing the default");
    }
    try {
        make_folders(dirname_of(files.out));
        write_file_atomic(files.out, schedule_json(model, tuned, description).dump(2) + "\n");
    } catch (const Error &e) {
        fail("-o: cannot write the schedule to ", in_quotes(files.out), " (", one_line(e.what()), "); give -o FILE");
    }
    std::string padding = keep && tuned.defaults.group_padding ? cat(", group padding ", *tuned.defaults.group_padding) : "";
    std::printf("wrote %s (%d pipeline%s tuned%s); log %s\n", files.out.c_str(), keep ? changed : 0,
                keep && changed == 1 ? "" : "s", padding.c_str(), files.log.c_str());
    return 0;
}

}  // namespace shufflec
