#include "tune/tuner.h"

#include "schedule/knobs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "emit/toolchain.h"
#include "measure/bench_program.h"
#include "measure/runner.h"
#include "tune/search_space.h"
#include "tune/tuning_log.h"
#include "tune/unit_bench.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/install_paths.h"
#include "util/process.h"
#include "util/temp_folder.h"
#include "util/progress.h"
#include "util/version.h"

namespace shufflec {

namespace {

std::string iso_time() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
            size_t colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    return "unknown";
}

// One workload (units of the model that share a structure) and its search.
struct Workload {
    const UnitSpace *space = nullptr;
    std::vector<std::string> units;
    int index = 0;
    std::set<std::string> tried;                  // configs measured (or failed), as JSON text
    std::vector<std::pair<double, Config>> good;  // (est_ms, config) of ok trials, best first
    bool default_done = false;
    double default_ms = 0;
    Config incumbent;
    double incumbent_ms = 0;
    int incumbent_version = 0;  // bumped when the incumbent changes (its object is rebuilt)
    int trials = 0;
    bool busy = false;          // a trial of it is in flight (parallel runners)
    bool exhausted = false;
    int count() const { return static_cast<int>(units.size()); }
};

// Proposes the next config of a workload: the evolutionary search mutates one
// or two knobs of a good config (chosen by a tournament among the best
// measured, biased to the incumbent), so what it measured steers where it
// looks; the random search samples the space uniformly (the baseline).
class Proposer {
public:
    Proposer(const std::string &search, uint64_t seed) : evolve_(search == "evolve"), rng_(seed) {}

    bool propose(Workload &w, Config &out) {
        for (int attempt = 0; attempt < 200; attempt++) {
            Config c = evolve_ && !w.good.empty() && uniform() < 0.9 ? mutate(w, parent(w)) : random_config(*w.space);
            if (!config_is_legal(*w.space, c)) continue;
            if (w.tried.count(config_to_json(c).dump())) continue;
            out = c;
            return true;
        }
        return false;
    }

private:
    double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

    const Config &parent(const Workload &w) {
        if (uniform() < 0.5) return w.incumbent;
        int top = std::min<int>(4, static_cast<int>(w.good.size()));
        int a = pick(top), b = pick(top);
        return w.good[static_cast<size_t>(std::min(a, b))].second;
    }

    Config mutate(const Workload &w, Config c) {
        int changes = uniform() < 0.7 ? 1 : 2;
        for (int i = 0; i < changes; i++) {
            size_t r = static_cast<size_t>(pick(static_cast<int>(w.space->roots.size())));
            const RootSpace &root = w.space->roots[r];
            const KnobSpace &k = root.knobs[static_cast<size_t>(pick(static_cast<int>(root.knobs.size())))];
            auto at = std::find(k.values.begin(), k.values.end(), c[r][k.name]);
            int pos = static_cast<int>(at - k.values.begin());
            // Mostly a neighbouring value (tiles change gradually), sometimes any.
            if (uniform() < 0.6 && k.values.size() > 1) {
                pos += uniform() < 0.5 ? -1 : 1;
                pos = std::clamp(pos, 0, static_cast<int>(k.values.size()) - 1);
            } else {
                pos = pick(static_cast<int>(k.values.size()));
            }
            c[r][k.name] = k.values[static_cast<size_t>(pos)];
            // Keep the register tile legal by shrinking the other side.
            const char *other = k.name == "tile_x" ? "channel_vectors" : "tile_x";
            while (!tile_is_legal(root, c[r]) && c[r].count(other) && c[r][other] > 1) c[r][other]--;
            while (!tile_is_legal(root, c[r]) && c[r].count("channel_vectors") && c[r]["channel_vectors"] > 1)
                c[r]["channel_vectors"]--;
        }
        return c;
    }

    Config random_config(const UnitSpace &u) {
        Config c(u.roots.size());
        for (size_t r = 0; r < u.roots.size(); r++) {
            const RootSpace &root = u.roots[r];
            for (int attempt = 0; attempt < 100; attempt++) {
                for (const auto &k : root.knobs) c[r][k.name] = k.values[static_cast<size_t>(pick(static_cast<int>(k.values.size())))];
                if (tile_is_legal(root, c[r])) break;
            }
        }
        return c;
    }

    bool evolve_;
    std::mt19937_64 rng_;
};

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

std::string objcopy_path() {
    std::string ar = find_toolchain().llvm_ar;
    size_t at = ar.rfind("llvm-ar");
    return at == std::string::npos ? "llvm-objcopy" : ar.substr(0, at) + "llvm-objcopy" + ar.substr(at + 7);
}

// A copy of a candidate object whose entry points are renamed (ub_candidate ->
// ub_default / ub_incumbent): one compile serves every role. Halide's other
// globals (the parallel loop bodies, named after the function) become local
// first, so the copies link side by side.
void rename_object(const std::string &from, const std::string &to, const std::string &role) {
    std::vector<std::string> localize = {objcopy_path()}, rename = {objcopy_path()};
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

nlohmann::json schedule_json(const PreparedModel &model, const ScheduleFile &tuned, const std::string &description) {
    nlohmann::json layers = nlohmann::json::object();
    for (const auto &[name, k] : tuned.layers) layers[name] = knobs_to_json(k);
    nlohmann::json j = {{"format", "shufflec-schedule/1"},
                        {"target", model.target.short_name},
                        {"model", model.graph.name},
                        {"description", description}};
    if (tuned.defaults.group_padding) j["defaults"] = {{"group_padding", *tuned.defaults.group_padding}};
    if (!layers.empty()) j["layers"] = layers;
    return j;
}

// A whole model compiled with `schedule` ("": the default) and its benchmark program.
struct ModelVariant {
    CompiledModel model;
    std::string program;
};

ModelVariant build_variant(const TuneOptions &opt, Runner &runner, const std::string &dir, const std::string &name,
                           const std::string &schedule) {
    CompileOptions c = opt.compile;
    c.name = name;
    c.out_dir = join_path(dir, name);
    c.schedule_path = schedule;
    c.ignore_model_schedule = true;
    c.progress = false;
    compile_model(c);
    ModelVariant v;
    v.model = read_compiled_model(c.out_dir, c.name);
    v.program = build_bench_program(v.model, runner.arch(), runner.wants_static(), dir);
    return v;
}

// Whole-model A/B: the two programs run alternately (rounds x 20 runs);
// returns a's median of its per-round medians and b's time as a times the
// median per-round ratio b / a (paired: a slow minute of the machine hits
// both halves of a round).
std::pair<double, double> alternate(const TuneOptions &opt, Runner &runner, const ModelVariant &a,
                                    const ModelVariant &b, int rounds) {
    const ModelVariant *v[2] = {&a, &b};
    std::vector<double> medians[2];
    BenchOptions bo;
    bo.threads = {opt.threads};
    bo.runs = 20;
    bo.warmup = 3;
    bo.peak = false;
    for (int r = 0; r < rounds; r++)
        for (int o = 0; o < 2; o++) {
            int i = (r + o) % 2;
            nlohmann::json report = run_bench_program(runner, v[i]->model, v[i]->program, bo);
            medians[i].push_back(report["results"][0]["median_ms"].get<double>());
        }
    auto median = [](std::vector<double> m) {
        std::sort(m.begin(), m.end());
        return m[m.size() / 2];
    };
    std::vector<double> ratios;
    for (size_t r = 0; r < medians[0].size(); r++) ratios.push_back(medians[1][r] / medians[0][r]);
    double ms = median(medians[0]);
    return {ms, ms * median(ratios)};
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
    CompileOptions copt = opt.compile;
    copt.ignore_model_schedule = true;
    copt.refine_schedule = nullptr;
    PreparedModel model = prepare_model(copt);
    std::vector<std::unique_ptr<Runner>> runners;
    for (const auto &spec : opt.runners) runners.push_back(make_runner(spec));
    ModelSpace space = search_space(model, opt.threads);

    // Workloads: units that share a structure are tuned once.
    std::vector<Workload> workloads;
    std::map<std::string, size_t> by_key;
    for (const auto &u : space.units) {
        auto it = by_key.find(u.key);
        if (it == by_key.end()) {
            by_key[u.key] = workloads.size();
            Workload w;
            w.space = &u;
            w.index = static_cast<int>(workloads.size());
            w.incumbent = default_config(u);
            workloads.push_back(w);
            it = by_key.find(u.key);
        }
        workloads[it->second].units.push_back(u.unit);
    }

    // Files named after the model: its name must be a file name (never a path).
    const std::string &model_file_name = checked_file_name(model.graph.name, "the model name");
    std::string log_path = opt.log_path.empty()
                               ? cat("tune-", model_file_name, "-", model.target.short_name, "-t", opt.threads, ".jsonl")
                               : opt.log_path;
    // The schedule goes to the user's folder, which compile reads after the project's (never the install).
    std::string out = opt.out_path;
    if (out.empty()) {
        std::string user = user_schedules_dir();
        if (user.empty()) fail("no folder for tuned schedules ($HOME is not set): give -o FILE");
        out = cat(user, "/", model.target.short_name, "/", model_file_name, ".json");
    }
    int session = 1, done = 0;
    if (opt.resume) {
        if (access(log_path.c_str(), R_OK) != 0) fail("--resume: no log ", in_quotes(log_path), " to continue");
        LogHistory history = read_log_history(log_path, space, opt.threads);
        for (auto &w : workloads) {
            auto it = history.workloads.find(w.space->key);
            if (it == history.workloads.end()) continue;
            const WorkloadHistory &h = it->second;
            w.trials = h.trials, w.tried = h.tried, w.good = h.good;
            w.default_done = h.default_done, w.default_ms = h.default_ms;
            if (!w.good.empty()) w.incumbent = w.good[0].second, w.incumbent_ms = w.good[0].first;
        }
        done = history.trials;
        session = std::max(1, history.last_session);  // a resumed run continues its session
        if (history.other_space > 0)
            std::printf("--resume: %d record%s of %s %s not a point of this compiler's search space (another "
                        "version's); measured again where the search reaches %s\n",
                        history.other_space, history.other_space == 1 ? "" : "s", log_path.c_str(),
                        history.other_space == 1 ? "is" : "are", history.other_space == 1 ? "it" : "them");
    } else {
        if (access(log_path.c_str(), R_OK) == 0)
            for (const auto &r : read_tuning_log(log_path)) session = std::max(session, r.value("session", 0) + 1);
    }
    TuningLog log(log_path);

    int total_trials = opt.trials;
    const double budget_s = opt.trials > 0 ? 1e30 : opt.budget_minutes * 60;
    std::map<int, std::string> faults = parse_faults(opt.faults);

    TempFolder work("shufflec-tune-");
    const std::string &dir = work.path();
    UnitBench bench(model, dir, opt.threads);

    // Every workload's default (and, after --resume, incumbent) object.
    Progress progress("tune " + model.graph.name, 0, opt.progress);
    auto object = [&](const Workload &w, const std::string &role) { return join_path(dir, cat("w", w.index, "_", role, ".o")); };
    for (auto &w : workloads) {
        progress.show(cat("defaults ", w.index + 1, "/", workloads.size()), "compiling the default of " + w.units[0], -1);
        ScheduleFile s = model.schedule;
        apply_config(s, *w.space, default_config(*w.space));
        std::string base = join_path(dir, cat("w", w.index, "_base.o"));
        auto [status, error] = bench.compile(w.space->segment, s, "ub_candidate", base, opt.compile_timeout_s);
        if (!status.empty()) fail("compiling unit ", w.units[0], " with the default schedule failed: ", error);
        rename_object(base, object(w, "default"), "default");
        rename_object(base, object(w, "default_as_incumbent"), "incumbent");  // for the final check
        if (w.incumbent_ms > 0) {
            ScheduleFile si = model.schedule;
            apply_config(si, *w.space, w.incumbent);
            auto [st, err] = bench.compile(w.space->segment, si, "ub_candidate", base, opt.compile_timeout_s);
            if (!st.empty()) w.incumbent = default_config(*w.space), w.incumbent_ms = w.default_ms, w.good.clear();
            if (st.empty()) run_process({"cp", base, object(w, "incumbent_as_candidate")});
            rename_object(st.empty() ? base : object(w, "default"), object(w, "incumbent"), "incumbent");
        } else {
            rename_object(base, object(w, "incumbent"), "incumbent");
            w.incumbent_ms = w.default_ms;
        }
    }

    std::mutex mu;
    Proposer proposer(opt.search, opt.seed + static_cast<uint64_t>(session) * 7919);
    std::string cpu = cpu_model();
    bool peak_measured = false;
    int next_trial = done;

    auto model_estimate = [&](bool best) {
        double total = 0;
        for (const auto &w : workloads) {
            if (!w.default_done) return 0.0;
            total += w.count() * (best ? w.incumbent_ms : w.default_ms);
        }
        return total;
    };
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };

    // The time left, for the progress line: the search (its budget, or its
    // trials at the mean trial time), then two measurements per improved unit
    // (the checks), the model-wide group paddings and the confirmation (a model
    // build and alternating rounds each), from what was measured so far.
    const double build_s = elapsed() + 2;  // compiling every default above: about one model build
    double trials_s = 0;                   // summed over the trials of this run (under mu)
    int timed_trials = 0;
    const int paddings = opt.confirm && opt.padding_rounds > 0 ? static_cast<int>(space.group_padding.values.size()) - 1 : 0;
    auto improved = [&] {
        int n = 0;
        for (const auto &w : workloads)
            n += w.default_done && config_to_json(w.incumbent) != config_to_json(default_config(*w.space));
        return n;
    };
    auto tail_s = [&](int checks, int paddings_left, bool confirmation) {
        double trial_s = timed_trials > 0 ? trials_s / timed_trials : 5;
        double round_s = 2 * (0.2 + 23 * model_estimate(false) / 1000);  // two bench programs of 23 runs
        double t = checks * 2 * trial_s;
        if (paddings_left > 0) t += (paddings_left + 1) * build_s + paddings_left * opt.padding_rounds * round_s;
        if (confirmation) t += build_s + opt.confirm_rounds * round_s;
        return t;
    };
    auto minutes = [](double s) {
        int m = static_cast<int>(s / 60), sec = static_cast<int>(s) % 60;
        return cat(m, ":", sec < 10 ? "0" : "", sec);
    };

    // Picks the next trial (under the lock): defaults first, then the workload
    // with the most model time per trial spent on it.
    std::function<bool(Workload *&, Config &, int &)> next = [&](Workload *&chosen, Config &config, int &trial) {
        if (total_trials > 0 ? next_trial >= total_trials : elapsed() >= budget_s) return false;
        chosen = nullptr;
        for (auto &w : workloads)
            if (!w.default_done && !w.busy) {
                chosen = &w;
                config = default_config(*w.space);
                break;
            }
        if (!chosen) {
            double best = -1;
            for (auto &w : workloads) {
                if (w.busy || w.exhausted || !w.default_done) continue;
                double priority = w.count() * w.default_ms / (1 + w.trials);
                if (priority > best) best = priority, chosen = &w;
            }
            if (!chosen) return false;
            if (!proposer.propose(*chosen, config)) {
                chosen->exhausted = true;
                return next(chosen, config, trial);
            }
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
            int trial = 0;
            int incumbent_version = 0;
            bool is_default = false, want_peak = false;
            std::string incumbent_object;
            {
                std::lock_guard<std::mutex> lock(mu);
                if (!next(w, config, trial)) return;
                is_default = !w->default_done;
                incumbent_version = w->incumbent_version;
                want_peak = !peak_measured && worker_index == 0;
                if (want_peak) peak_measured = true;
                // The incumbent object of this trial (it may change while we measure).
                incumbent_object = join_path(dir, cat("t", trial, "_incumbent.o"));
                run_process({"cp", object(*w, "incumbent"), incumbent_object});
            }
            ScheduleFile s = model.schedule;
            apply_config(s, *w->space, config);
            std::string candidate = join_path(dir, cat("t", trial, "_candidate.o"));
            auto [status, error] = bench.compile(w->space->segment, s, "ub_candidate", candidate, opt.compile_timeout_s);
            TrialResult result;
            if (status.empty()) {
                auto f = faults.find(trial);
                auto measure = [&](bool peak) {
                    return bench.measure(runner, w->space->segment, object(*w, "default"), incumbent_object, candidate,
                                         cat("unit_bench_t", trial), peak, f == faults.end() ? "" : f->second,
                                         opt.run_timeout_s);
                };
                result = measure(want_peak);
                // An apparent improvement is measured again and the less
                // favourable ratio kept: one alternating measurement of two
                // copies of the same code differs by up to a few percent.
                auto ratio = [](const TrialResult &t) { return t.candidate.median_ms / t.incumbent.median_ms; };
                if (result.status == "ok" && !is_default && ratio(result) < kImprovement) {
                    TrialResult again = measure(false);
                    if (again.status != "ok" || ratio(again) > ratio(result)) {
                        again.peak_gmacs = result.peak_gmacs;
                        result = again;
                    }
                }
            } else {
                result.status = status;
                result.error = error;
            }
            std::lock_guard<std::mutex> lock(mu);
            nlohmann::json r = {{"format", kTuneLogFormat},
                                {"session", session},
                                {"trial", trial},
                                {"time", iso_time()},
                                {"model", model.graph.name},
                                {"unit", w->units[0]},
                                {"units", w->units},
                                {"count", w->count()},
                                {"workload", w->space->key},
                                {"macs", w->space->macs},
                                {"config", config_to_json(config)},
                                {"default", is_default},
                                {"status", result.status},
                                {"target", space.target},
                                {"threads", opt.threads},
                                {"cpu", runner.name() == "local" ? cpu : runner.name()},
                                {"runner", runner.name()},
                                {"search", opt.search},
                                {"version", kShufflecVersion}};
            if (!result.error.empty()) r["error"] = result.error;
            // What the workload key stands for, once per workload (with its default's record).
            if (is_default) r["workload_desc"] = w->space->workload;
            if (result.peak_gmacs > 0) r["peak_gmacs"] = result.peak_gmacs;
            if (result.status == "ok" || result.status == "wrong_output") {
                r["median_ms"] = result.candidate.median_ms;
                r["min_ms"] = result.candidate.min_ms;
                r["spread"] = timing_spread(result.candidate);
                r["incumbent_median_ms"] = result.incumbent.median_ms;
                r["max_rel_diff"] = result.max_rel_diff;
                r["calls"] = result.calls;
            }
            if (result.status == "ok") {
                double est;
                if (is_default) {
                    est = result.candidate.median_ms;
                    w->default_done = true;
                    w->default_ms = w->incumbent_ms = est;
                } else {
                    // On the scale of this workload's default measurement.
                    est = w->incumbent_ms * result.candidate.median_ms / result.incumbent.median_ms;
                }
                r["est_ms"] = est;
                w->good.push_back({est, config});
                std::sort(w->good.begin(), w->good.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
                if (!is_default && est < w->incumbent_ms * kImprovement && incumbent_version == w->incumbent_version) {
                    w->incumbent = config;
                    w->incumbent_ms = est;
                    w->incumbent_version++;
                    rename_object(candidate, object(*w, "incumbent"), "incumbent");
                    run_process({"cp", candidate, object(*w, "incumbent_as_candidate")});
                }
            } else if (is_default) {
                fail("measuring unit ", w->units[0], " with the default schedule failed (", result.status,
                     "): ", result.error);
            }
            log.append(r);
            unlink(candidate.c_str());
            unlink(incumbent_object.c_str());
            w->trials++;
            w->busy = false;
            trials_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - trial_start).count();
            timed_trials++;
            double est = model_estimate(true), base = model_estimate(false);
            std::string detail = cat(w->units[0], " ", result.status);
            if (result.status == "ok" && !is_default)
                detail += cat(" (", std::round(100 * result.candidate.median_ms / result.incumbent.median_ms) / 100,
                              "x the best's time)");
            if (est > 0) detail += cat(", model ~", std::round(est * 100) / 100, " ms (default ", std::round(base * 100) / 100, ")");
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
    // lucky measurements, so a best that is not confirmed here reverts.
    std::map<int, double> checked;  // workload -> confirmed ratio best / default
    // A check: a best measured directly against its default (ratio >= 1e29: the measurement failed).
    auto check_record = [&](const std::string &workload, const nlohmann::json &config, double ratio) {
        return nlohmann::json{{"format", kTuneLogFormat},
                               {"session", session},
                               {"check", true},
                               {"time", iso_time()},
                               {"model", model.graph.name},
                               {"workload", workload},
                               {"config", config},
                               {"status", ratio < kImprovement ? "ok" : ratio >= 1e29 ? "failed" : "not_faster"},
                               {"ratio_to_default", ratio < 1e29 ? ratio : 0.0},
                               {"target", space.target},
                               {"threads", opt.threads},
                               {"runner", runners[0]->name()},
                               {"version", kShufflecVersion}};
    };
    const int checks = improved();
    int checks_done = 0;
    for (auto &w : workloads) {
        if (!w.default_done || config_to_json(w.incumbent) == config_to_json(default_config(*w.space))) continue;
        checks_done++;
        progress.show(cat("check ", checks_done, "/", checks), "the best of " + w.units[0] + " against its default",
                      tail_s(checks - checks_done + 1, paddings, opt.confirm));
        double ratio = 0;
        for (int rep = 0; rep < 2; rep++) {
            TrialResult r = bench.measure(*runners[0], w.space->segment, object(w, "default"), object(w, "default_as_incumbent"),
                                          object(w, "incumbent_as_candidate"), cat("unit_bench_check", w.index), false, "",
                                          opt.run_timeout_s);
            if (r.status != "ok") {
                ratio = 1e30;
                break;
            }
            ratio = std::max(ratio, r.candidate.median_ms / r.incumbent.median_ms);
        }
        checked[w.index] = ratio;
        // The check is a record too: compile --tuning-log applies only a best that passed it.
        nlohmann::json record = check_record(w.space->key, config_to_json(w.incumbent), ratio);
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
        const Workload &w = workloads[by_key[u.key]];
        if (config_to_json(w.incumbent) == config_to_json(default_config(*w.space))) continue;
        apply_config(tuned, u, w.incumbent);
        changed++;
    }
    std::printf("tuned %s for %s, %d thread%s: %d trials in this log (%d in this run), %.0f s\n", model.graph.name.c_str(),
                space.target.c_str(), opt.threads, opt.threads == 1 ? "" : "s", next_trial, next_trial - done, elapsed());
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
    double est = model_estimate(true), base = model_estimate(false);
    if (base > 0) std::printf("sum of units: default %.3f ms, tuned %.3f ms (x%.2f)\n", base, est, base / est);

    std::string description = cat("Tuned by shufflec tune ", kShufflecVersion, " (", opt.search, ", ", next_trial,
                                  " trials, ", opt.threads, " thread", opt.threads == 1 ? "" : "s", ") on ",
                                  runners[0]->name() == "local" ? cpu : runners[0]->name(), ", ", iso_time(), "; log ",
                                  log_path, ".");
    std::string tuned_path = join_path(dir, "tuned.json");
    write_file_atomic(tuned_path, schedule_json(model, tuned, description).dump(2) + "\n");
    std::optional<ModelVariant> tuned_model;
    // Model-wide: the group padding (one packing of every weight, so it is
    // measured on the whole model, not per unit): each other value against
    // the tuned schedule with the default padding, kept when faster.
    if (opt.confirm && opt.padding_rounds > 0 && space.group_padding.values.size() > 1) {
        progress.show(cat("padding 0/", paddings), cat("building the tuned model (group padding ", space.group_padding.default_value, ")"),
                      tail_s(0, paddings, opt.confirm));
        tuned_model = build_variant(opt, *runners[0], dir, "ab_tuned", tuned_path);
        double best_ratio = kImprovement;
        int best_padding = 0;
        int tried = 0;
        for (int padding : space.group_padding.values) {
            if (padding == space.group_padding.default_value) continue;
            tried++;
            progress.show(cat("padding ", tried, "/", paddings),
                          cat("group padding ", padding, " against ", space.group_padding.default_value, " on the whole model"),
                          tail_s(0, paddings - tried + 1, opt.confirm) - build_s);
            ScheduleFile padded = tuned;
            padded.defaults.group_padding = padding;
            std::string path = join_path(dir, cat("tuned_padding", padding, ".json"));
            write_file_atomic(path, schedule_json(model, padded, description).dump(2) + "\n");
            ModelVariant candidate = build_variant(opt, *runners[0], dir, cat("ab_padding", padding), path);
            auto [base_ms, padded_ms] = alternate(opt, *runners[0], *tuned_model, candidate, opt.padding_rounds);
            if (padded_ms / base_ms < kImprovement) {
                // As for units: a gain must show twice (the less favourable
                // kept); a slow minute of a shared machine fakes 10%.
                auto [again_base, again_padded] = alternate(opt, *runners[0], *tuned_model, candidate, opt.padding_rounds);
                if (again_padded / again_base > padded_ms / base_ms) base_ms = again_base, padded_ms = again_padded;
            }
            progress.finish();
            std::printf("group padding %d: %.3f ms, %d: %.3f ms (x%.3f)\n", space.group_padding.default_value, base_ms,
                        padding, padded_ms, base_ms / padded_ms);
            // A check record (not a trial of any unit's workload).
            log.append(check_record("model-wide group_padding", {{"group_padding", padding}}, padded_ms / base_ms));
            if (padded_ms / base_ms < best_ratio) best_ratio = padded_ms / base_ms, best_padding = padding;
        }
        progress.finish();
        if (best_padding > 0) {
            tuned.defaults.group_padding = best_padding;
            write_file_atomic(tuned_path, schedule_json(model, tuned, description).dump(2) + "\n");
            tuned_model.reset();
        }
    }
    bool any = changed > 0 || tuned.defaults.group_padding.has_value();
    bool keep = any;
    if (any && opt.confirm) {
        progress.show("confirmation", "the tuned model against the default, alternating", tail_s(0, 0, true));
        ModelVariant default_model = build_variant(opt, *runners[0], dir, "ab_default", "");
        if (!tuned_model) tuned_model = build_variant(opt, *runners[0], dir, "ab_tuned", tuned_path);
        auto [default_ms, tuned_ms] = alternate(opt, *runners[0], default_model, *tuned_model, opt.confirm_rounds);
        progress.finish();
        std::printf("whole model, %d alternating rounds of 20 runs on %s: default %.3f ms, tuned %.3f ms: x%.3f\n",
                    opt.confirm_rounds, runners[0]->name().c_str(), default_ms, tuned_ms, default_ms / tuned_ms);
        keep = tuned_ms < default_ms;
        description += cat(" Confirmed on the whole model: default ", default_ms, " ms, tuned ", tuned_ms, " ms.");
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
        make_folders(dirname_of(out));
        write_file_atomic(out, schedule_json(model, tuned, description).dump(2) + "\n");
    } catch (const Error &e) {
        fail("-o: cannot write the schedule to ", in_quotes(out), " (", one_line(e.what()), "); give -o FILE");
    }
    std::string padding = keep && tuned.defaults.group_padding ? cat(", group padding ", *tuned.defaults.group_padding) : "";
    std::printf("wrote %s (%d pipeline%s tuned%s); log %s\n", out.c_str(), keep ? changed : 0,
                keep && changed == 1 ? "" : "s", padding.c_str(), log_path.c_str());
    return 0;
}

}  // namespace shufflec
