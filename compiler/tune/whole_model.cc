#include "tune/whole_model.h"

#include <algorithm>
#include <cstdio>

#include "schedule/knobs.h"
#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

std::pair<double, double> paired_times(const std::vector<double> &a, const std::vector<double> &b) {
    auto median = [](std::vector<double> m) {
        std::sort(m.begin(), m.end());
        return m[m.size() / 2];
    };
    if (a.empty() || a.size() != b.size()) internal_error("paired_times: ", a.size(), " and ", b.size(), " rounds");
    std::vector<double> ratios;
    for (size_t r = 0; r < a.size(); r++) ratios.push_back(b[r] / a[r]);
    double ms = median(a);
    return {ms, ms * median(ratios)};
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

WholeModel::WholeModel(const TuneOptions &options, const PreparedModel &model, Runner &runner, const std::string &dir,
                       Progress &progress, std::function<double(int, bool)> eta)
    : options_(options), model_(model), runner_(runner), dir_(dir), progress_(progress), eta_(std::move(eta)) {}

WholeModel::Variant WholeModel::build(const std::string &name, const std::string &schedule_path) {
    CompileOptions c = options_.compile;
    c.name = name;
    c.out_dir = join_path(dir_, name);
    c.schedule_path = schedule_path;
    c.ignore_model_schedule = true;
    c.progress = false;
    compile_model(c);
    Variant v;
    v.model = read_compiled_model(c.out_dir, c.name);
    v.program = build_bench_program(v.model, runner_.arch(), runner_.wants_static(), dir_);
    modeled_.erase(v.program);  // a rebuilt program is measured again
    return v;
}

double WholeModel::modeled_ms(const Variant &v) {
    auto it = modeled_.find(v.program);
    if (it != modeled_.end()) return it->second;
    CoreModel core = find_core_model(options_.cost);
    double cycles = modeled_cycles(v.program, count_inference(runner_, v.model, v.program, dir_), core, dir_);
    return modeled_[v.program] = cycles / core.ghz / 1e6;
}

std::pair<double, double> WholeModel::alternate(const Variant &a, const Variant &b, int rounds) {
    if (options_.cost != "time") return {modeled_ms(a), modeled_ms(b)};
    const Variant *v[2] = {&a, &b};
    std::vector<double> medians[2];
    BenchOptions bo;
    bo.threads = {options_.threads};
    bo.runs = 20;
    bo.warmup = 3;
    bo.peak = false;
    for (int r = 0; r < rounds; r++)
        for (int o = 0; o < 2; o++) {
            int i = (r + o) % 2;
            nlohmann::json report = run_bench_program(runner_, v[i]->model, v[i]->program, bo);
            medians[i].push_back(report["results"][0]["median_ms"].get<double>());
        }
    return paired_times(medians[0], medians[1]);
}

int WholeModel::best_group_padding(const ScheduleFile &tuned, const std::string &tuned_path,
                                   const std::vector<int> &values, int current, const std::string &description,
                                   TuningLog &log, const RunContext &run) {
    const int paddings = static_cast<int>(values.size()) - 1;
    progress_.show(cat("padding 0/", paddings), cat("building the tuned model (group padding ", current, ")"),
                   eta_(paddings, options_.confirm));
    tuned_ = build("ab_tuned", tuned_path);
    tuned_schedule_ = read_file(tuned_path, "schedule");
    double best_ratio = kImprovement;
    int best = current, tried = 0;
    for (int padding : values) {
        if (padding == current) continue;
        tried++;
        progress_.show(cat("padding ", tried, "/", paddings),
                       cat("group padding ", padding, " against ", current, " on the whole model"),
                       eta_(paddings - tried + 1, options_.confirm));
        ScheduleFile padded = tuned;
        padded.defaults.group_padding = padding;
        std::string path = join_path(dir_, cat("tuned_padding", padding, ".json"));
        write_file_atomic(path, schedule_json(model_, padded, description).dump(2) + "\n");
        Variant candidate = build(cat("ab_padding", padding), path);
        auto [base_ms, padded_ms] = alternate(*tuned_, candidate, options_.padding_rounds);
        if (padded_ms / base_ms < kImprovement && options_.cost == "time") {
            // As for units: a gain must show twice (the less favourable
            // kept); a slow minute of a shared machine fakes 10%. A modeled
            // cost is exact.
            auto [again_base, again_padded] = alternate(*tuned_, candidate, options_.padding_rounds);
            if (again_padded / again_base > padded_ms / base_ms) base_ms = again_base, padded_ms = again_padded;
        }
        progress_.finish();
        std::printf("group padding %d: %.3f ms, %d: %.3f ms (x%.3f)\n", current, base_ms, padding, padded_ms,
                    base_ms / padded_ms);
        // A check record (not a trial of any unit's workload).
        log.append(check_record(run, runner_, "model-wide group_padding", {{"group_padding", padding}},
                                padded_ms / base_ms));
        if (padded_ms / base_ms < best_ratio) best_ratio = padded_ms / base_ms, best = padding;
    }
    progress_.finish();
    return best;
}

std::pair<double, double> WholeModel::confirm(const std::string &tuned_path) {
    progress_.show("confirmation", "the tuned model against the default, alternating", eta_(0, true));
    Variant default_model = build("ab_default", "");
    // The tuned model built for the paddings serves if its schedule is still the one to confirm.
    if (!tuned_ || tuned_schedule_ != read_file(tuned_path, "schedule")) tuned_ = build("ab_tuned", tuned_path);
    auto times = alternate(default_model, *tuned_, options_.confirm_rounds);
    progress_.finish();
    return times;
}

}  // namespace shufflec
