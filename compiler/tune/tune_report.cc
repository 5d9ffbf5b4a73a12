// `shufflec tune --report LOG [--plot FILE.svg]`.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "measure/svg_chart.h"
#include "tune/tuner.h"
#include "tune/tuning_log.h"
#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

std::string tune_report(const std::string &log_path, const std::string &plot_path) {
    std::vector<nlohmann::json> records;
    for (auto &r : read_tuning_log(log_path))
        if (!r.value("check", false)) records.push_back(std::move(r));  // trials only
    if (records.empty()) fail(log_path, ": the log holds no trials");
    std::ostringstream o;
    // Per (model, target, threads, workload): default, best, trials, failures.
    struct Row {
        std::string model, unit;
        int count = 0, trials = 0, failed = 0;
        int64_t macs = 0;
        double default_ms = 0, best_ms = 0;
        int order = 0;
    };
    std::map<std::string, Row> rows;
    std::map<std::string, double> peak;  // target/threads -> GMAC/s
    std::map<std::string, int> statuses;
    for (const auto &r : records) {
        std::string setting = cat(r.value("target", ""), ", ", r.value("threads", 0), " thread(s)");
        std::string key = cat(r.value("model", ""), " | ", setting, " | ", r["workload"].get<std::string>());
        Row &row = rows[key];
        if (row.trials == 0) row.order = static_cast<int>(rows.size());
        row.model = cat(r.value("model", ""), " (", setting, ")");
        row.unit = r.value("unit", "");
        row.count = r.value("count", 1);
        row.macs = r.value("macs", int64_t{0});
        row.trials++;
        statuses[r.value("status", "")]++;
        if (r.contains("peak_gmacs")) peak[setting] = r["peak_gmacs"].get<double>();
        if (r.value("status", "") != "ok" || !r.contains("est_ms")) {
            row.failed++;
            continue;
        }
        // The best by the tuner's own rule (what its closing table shows): a
        // trial replaces the best so far only when 1% faster.
        double est = r["est_ms"].get<double>();
        bool is_default = r.value("default", false);
        if (is_default && (row.default_ms == 0 || est < row.default_ms)) row.default_ms = est;
        if (row.best_ms == 0 || est < row.best_ms * (is_default ? 1.0 : kImprovement)) row.best_ms = est;
    }
    std::vector<std::pair<std::string, Row>> sorted(rows.begin(), rows.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) { return a.second.order < b.second.order; });
    std::string model;
    double total_default = 0, total_best = 0;
    auto flush_total = [&] {
        if (total_default > 0)
            o << cat("  model (sum of units x count): default ", total_default, " ms, best ", total_best, " ms, x",
                     total_default / total_best, "\n");
        total_default = total_best = 0;
    };
    for (const auto &[key, row] : sorted) {
        if (row.model != model) {
            flush_total();
            model = row.model;
            std::string setting = model.substr(model.find('(') + 1);
            setting.pop_back();
            auto pk = peak.find(setting);
            o << "\n" << model << (pk != peak.end() ? cat(", FMA peak ", pk->second, " GMAC/s") : "") << "\n";
            char line[160];
            std::snprintf(line, sizeof line, "  %-14s %5s %6s %6s %11s %11s %8s %8s %8s\n", "unit", "units", "trials",
                          "failed", "default ms", "best ms", "speedup", "GMAC/s", "% peak");
            o << line;
        }
        std::string setting = model.substr(model.find('(') + 1);
        setting.pop_back();
        auto pk = peak.find(setting);
        double gmacs = row.best_ms > 0 ? static_cast<double>(row.macs) / row.best_ms / 1e6 : 0;
        char line[200];
        std::snprintf(line, sizeof line, "  %-14s %5d %6d %6d %11.4f %11.4f %7.2fx %8.1f %7.0f%%\n", row.unit.c_str(),
                      row.count, row.trials, row.failed, row.default_ms, row.best_ms,
                      row.best_ms > 0 ? row.default_ms / row.best_ms : 0.0, gmacs,
                      pk != peak.end() ? 100 * gmacs / pk->second : 0.0);
        o << line;
        total_default += row.count * row.default_ms;
        total_best += row.count * row.best_ms;
    }
    flush_total();
    o << "\ntrials by status:";
    for (const auto &[status, n] : statuses) o << " " << status << " " << n;
    o << "\n";

    if (!plot_path.empty()) {
        // Best-so-far estimate of the model (sum over workloads of count x best)
        // after each trial of each session, once every workload's default is known.
        std::vector<LineSeries> series;
        std::map<int, size_t> index;
        std::map<int, std::map<std::string, std::pair<int, double>>> best;  // session -> workload -> (count, best)
        std::map<int, std::set<std::string>> workloads;                     // session -> its model's workloads
        std::map<int, int> trials;
        for (const auto &r : records) workloads[r.value("session", 0)].insert(r["workload"].get<std::string>());
        for (const auto &r : records) {
            int s = r.value("session", 0);
            if (!index.count(s)) {
                index[s] = series.size();
                series.push_back({cat(r.value("search", "?"), " (session ", s, ")"), {}, {}});
            }
            int t = ++trials[s];
            if (r.value("status", "") == "ok" && r.contains("est_ms")) {
                auto &b = best[s][r["workload"].get<std::string>()];
                double est = r["est_ms"].get<double>();
                if (b.second == 0 || est < b.second) b = {r.value("count", 1), est};
            }
            if (best[s].size() < workloads[s].size()) continue;
            double total = 0;
            for (const auto &[w, cb] : best[s]) total += cb.first * cb.second;
            series[index[s]].x.push_back(t);
            series[index[s]].y.push_back(total);
        }
        write_file_atomic(plot_path, svg_line_chart("best model latency found (sum of units, ms) by trial", "trial",
                                                    "ms", series));
        o << "wrote " << plot_path << "\n";
    }
    return o.str();
}

}  // namespace shufflec
