// shufflec bench SPEC|DIR and shufflec profile SPEC: compile if needed, build
// the benchmark program around the model, run it on a runner, report.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "emit/compile_model.h"
#include "emit/targets.h"
#include "emit/toolchain.h"
#include "lower/segment_plan.h"
#include "measure/bench_program.h"
#include "measure/qemu_count.h"
#include "measure/runner.h"
#include "measure/svg_chart.h"
#include "spec/spec_parser.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/process.h"
#include "util/temp_folder.h"
#include "util/progress.h"

namespace shufflec {

namespace {

using json = nlohmann::json;

// The flags bench and profile share (a function: model_flags reads the target table).
std::vector<FlagSpec> bench_flags() {
    return model_flags("host; arm-64-linux for an ARM runner") + std::vector<FlagSpec>{
    {"--name", "NAME", "the model in DIR (when DIR holds several)"},
    {"--schedule", "FILE", "schedule file for SPEC"},
    {"--jobs", "N", "parallel compile workers for SPEC (default: number of cores)"},
    {"--runner", "R", "where to run: local (default), qemu, ssh://[user@]host[:port][/dir], adb[:SERIAL]", true},
    {"--runs", "N", "timed runs per thread count (default 100)"},
    {"--quiet", "", "no progress line"}};
}

bool is_folder(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// SPEC -> a fresh compile in `work`; DIR -> the model there.
CompiledModel model_from(const Args &args, Runner &runner, const std::string &work, bool profile) {
    std::string source = args.positional()[0];
    if (is_folder(source)) {
        for (const char *flag : {"--weights", "--random-weights", "--target", "--input-shape", "--schedule", "--jobs"})
            if (args.has(flag)) fail(flag, ": only for a SPEC (", in_quotes(source), " is a compiled model's folder)");
        if (profile) {
            CompiledModel m = read_compiled_model(source, args.get("--name"));
            if (!m.unit_profile) fail(in_quotes(source), ": compiled without --profile; give the SPEC instead");
            return m;
        }
        return read_compiled_model(source, args.get("--name"));
    }
    CompileOptions o;
    o.spec_path = source;
    read_model_flags(args, o, runner.arch() == host_arch() ? "host" : "arm-64-linux", true);
    o.name = args.get("--name", "model");
    o.schedule_path = args.get("--schedule");
    o.jobs = args.get_int("--jobs", 1, 256, 0);
    o.out_dir = join_path(work, "model");
    o.profile = profile;
    o.profile_halide = profile;
    o.progress = progress_wanted(args.has("--quiet"));
    compile_model(o);
    return read_compiled_model(o.out_dir, o.name);
}

int runs_of(const Args &args) { return args.get_int("--runs", 1, 1000000, 100); }

// bench and profile run on one runner (tune measures on several).
std::unique_ptr<Runner> runner_of(const Args &args) {
    std::vector<std::string> runners = split_runners(args.all("--runner"));
    if (runners.size() > 1) fail("--runner: bench and profile run on one runner (tune measures on several)");
    return make_runner(runners.empty() ? "local" : runners[0]);
}

double peak_for(const json &report, int threads) {
    if (!report.contains("peak_gmacs")) return 0;
    for (const auto &p : report["peak_gmacs"])
        if (p["threads"].get<int>() == threads) return p["gmacs"].get<double>();
    return 0;
}

// The pipeline a function of the model belongs to: "stage2_0" for
// NAME_stage2_0 and its row loops NAME_stage2_0_par_for_...; other functions
// (the runtime, libc) are "other".
std::string pipeline_of(const std::string &function, const std::string &model) {
    std::string prefix = model + "_";
    if (function.rfind(prefix, 0) != 0) return "other";
    std::string rest = function.substr(prefix.size());
    size_t loop = rest.find("_par_for_");
    return loop == std::string::npos ? rest : rest.substr(0, loop);
}

// bench --count: one inference's instructions, exact, by class and function
// (count_inference), with cycles modeled per core.
int report_counts(const Args &args, Runner &runner, const CompiledModel &model, const std::string &program,
                  const std::string &dir) {
    BlockMap one = count_inference(runner, model, program, dir);
    std::map<uint64_t, std::string> function_of = functions_of_blocks(program, one);
    InsnCounts total;
    std::map<std::string, InsnCounts> by_function;
    for (const auto &[address, block] : one) {
        total += block.counts;
        by_function[function_of[address]] += block.counts;
    }
    // Modeled cycles per core: each block's cycles per execution x its executions.
    struct Modeled {
        CoreModel core;
        double cycles = 0;
        std::map<std::string, double> by_function, by_pipeline;
        std::string problem;
    };
    std::vector<Modeled> modeled;
    for (const CoreModel &core : core_models()) {
        Modeled m{core, 0, {}, {}, ""};
        if (core.mca.empty()) {
            m.problem = "needs llvm-mca-19 (Debian's llvm-19)";
        } else {
            try {
                std::map<uint64_t, double> cycles = modeled_block_cycles(program, one, core.mca, core.cpu, dir);
                for (const auto &[address, block] : one) {
                    double c = block.executions * cycles.at(address);
                    m.cycles += c;
                    m.by_function[function_of[address]] += c;
                    m.by_pipeline[pipeline_of(function_of[address], model.name)] += c;
                }
            } catch (const Error &e) {
                m.problem = one_line(e.what());
            }
        }
        modeled.push_back(m);
    }
    // Per pipeline (a unit), in the model's order of first execution is not
    // known here: by instructions, like the functions.
    std::map<std::string, InsnCounts> by_pipeline;
    for (const auto &[name, c] : by_function) by_pipeline[pipeline_of(name, model.name)] += c;
    std::vector<std::pair<std::string, InsnCounts>> functions(by_function.begin(), by_function.end());
    functions.erase(std::remove_if(functions.begin(), functions.end(),
                                   [](const auto &f) { return f.second.instructions() == 0; }),
                    functions.end());
    std::sort(functions.begin(), functions.end(),
              [](const auto &a, const auto &b) { return a.second.instructions() > b.second.instructions(); });
    const auto &columns = insn_count_columns();
    auto as_json = [&](const InsnCounts &c) {
        json j = {{"instructions", c.instructions()}};
        for (size_t k = 0; k < columns.size(); k++) j[columns[k]] = c.column[k];
        return j;
    };
    // A function's or pipeline's modeled cycles on one core (0 where none ran).
    auto cycles_of = [](const Modeled &m, std::map<std::string, double> Modeled::*table, const std::string &name) {
        auto it = (m.*table).find(name);
        return it == (m.*table).end() ? 0.0 : it->second;
    };
    auto named_list = [&](const auto &rows, std::map<std::string, double> Modeled::*table) {
        json list = json::array();
        for (const auto &[name, c] : rows) {
            json row = as_json(c);
            row["name"] = name;
            for (const auto &m : modeled)
                if (m.problem.empty()) row[cat("cycles_", m.core.cpu)] = cycles_of(m, table, name);
            list.push_back(row);
        }
        return list;
    };
    double macs = static_cast<double>(model.macs);
    double lanes = total.at("fma_f32_lanes") + total.at("fma_f16_lanes") + total.at("dot_i8_lanes") +
                   total.at("mul_int_lanes");
    if (args.has("--json")) {
        json report = {{"model", model.name}, {"target", model.target}, {"runner", runner.name()}, {"threads", 1},
                       {"macs", model.macs}, {"per_inference", as_json(total)},
                       {"useful_mac_share", lanes > 0 ? macs / lanes : 0.0}};
        json cores = json::array();
        for (const auto &m : modeled) {
            json c = {{"cpu", m.core.cpu}, {"tool", m.core.mca}, {"ghz", m.core.ghz}};
            if (m.problem.empty()) c["cycles"] = m.cycles, c["ms"] = m.cycles / m.core.ghz / 1e6;
            else c["problem"] = m.problem;
            cores.push_back(c);
        }
        report["modeled"] = cores;
        report["functions"] = named_list(functions, &Modeled::by_function);
        report["pipelines"] = named_list(by_pipeline, &Modeled::by_pipeline);
        std::printf("%s\n", report.dump(2).c_str());
        return 0;
    }
    double n = total.instructions();
    std::printf("%s (%s) under qemu-aarch64, one inference, 1 thread: exact instruction counts\n", model.name.c_str(),
                model.target.c_str());
    std::printf("  %-22s %10.3f M  (%.3f per MAC of the model's %.2f M)\n", "instructions", n / 1e6, n / macs, macs / 1e6);
    auto line = [&](const char *label, double count, const std::string &extra) {
        if (count == 0) return;
        std::printf("  %-22s %10.3f M  %5.1f%%%s\n", label, count / 1e6, 100 * count / n, extra.c_str());
    };
    auto lanes_of = [&](const char *column) {
        double l = total.at(column);
        return cat("  ", std::round(l / 1e4) / 100, " M lanes");
    };
    line("fmla/fmls fp32 vector", total.at("fma_f32"), lanes_of("fma_f32_lanes"));
    line("fmla/fmls fp16 vector", total.at("fma_f16"), lanes_of("fma_f16_lanes"));
    line("sdot/udot", total.at("dot_i8"), lanes_of("dot_i8_lanes"));
    line("mul/mla integer vector", total.at("mul_int"), lanes_of("mul_int_lanes"));
    line("fmadd scalar", total.at("fma_scalar"), "");
    line("other SIMD/FP", total.at("simd_other"), "");
    line("loads, vector", total.at("load_vector"), "");
    line("loads, scalar", total.at("load_scalar"), "");
    line("stores, vector", total.at("store_vector"), "");
    line("stores, scalar", total.at("store_scalar"), "");
    line("branches", total.at("branch"), "");
    line("integer (scalar)", total.at("scalar"), "");
    line("other", total.at("other"), "");
    if (lanes > 0)
        std::printf("  useful MAC lanes: %.1f%% (the model's MACs / multiply-add lanes executed)\n", 100 * macs / lanes);
    std::printf("modeled cycles (llvm-mca per executed block; caches not modeled: every load an L1 hit):\n");
    for (const auto &m : modeled) {
        if (!m.problem.empty()) {
            std::printf("  %-12s %s: not modeled (%s)\n", m.core.cpu.c_str(), m.core.what.c_str(), m.problem.c_str());
            continue;
        }
        std::printf("  %-12s %s: %.1f M cycles, %.2f per instruction; %.1f ms at %.1f GHz (%s)\n", m.core.cpu.c_str(),
                    m.core.what.c_str(), m.cycles / 1e6, m.cycles / n, m.cycles / m.core.ghz / 1e6, m.core.ghz,
                    m.core.mca.substr(m.core.mca.find_last_of('/') + 1).c_str());
    }
    std::vector<std::pair<std::string, InsnCounts>> pipelines(by_pipeline.begin(), by_pipeline.end());
    std::sort(pipelines.begin(), pipelines.end(),
              [](const auto &a, const auto &b) { return a.second.instructions() > b.second.instructions(); });
    std::printf("\n%-30s %10s %7s %7s %8s %8s", "pipeline", "M instr", "share", "% fma", "ld/fma", "int/fma");
    for (const auto &m : modeled)
        if (m.problem.empty()) std::printf(" %12s", cat("Mcyc ", m.core.column).c_str());
    std::printf("\n");
    for (const auto &[name, c] : pipelines) {
        double fma = c.at("fma_f32") + c.at("fma_f16") + c.at("dot_i8");
        double loads = c.at("load_vector") + c.at("load_scalar");
        std::printf("%-30s %10.3f %6.1f%% %6.1f%% %8.2f %8.2f", name.substr(0, 30).c_str(), c.instructions() / 1e6,
                    100 * c.instructions() / n, 100 * fma / c.instructions(), fma > 0 ? loads / fma : 0.0,
                    fma > 0 ? c.at("scalar") / fma : 0.0);
        for (const auto &m : modeled)
            if (m.problem.empty()) std::printf(" %12.3f", cycles_of(m, &Modeled::by_pipeline, name) / 1e6);
        std::printf("\n");
    }
    std::printf("\n%-56s %10s %7s %7s", "function (pipeline, or a root Func's row loop)", "M instr", "share", "% fma");
    for (const auto &m : modeled)
        if (m.problem.empty()) std::printf(" %12s", cat("Mcyc ", m.core.column).c_str());
    std::printf("\n");
    std::string prefix = model.name + "_";
    for (size_t i = 0; i < functions.size() && i < 40; i++) {
        const auto &[name, c] = functions[i];
        std::string shown = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
        double fma = c.at("fma_f32") + c.at("fma_f16") + c.at("dot_i8");
        std::printf("%-56s %10.3f %6.1f%% %6.1f%%", shown.substr(0, 56).c_str(), c.instructions() / 1e6,
                    100 * c.instructions() / n, 100 * fma / c.instructions());
        for (const auto &m : modeled)
            if (m.problem.empty())
                std::printf(" %12.3f", cycles_of(m, &Modeled::by_function, name) / 1e6);
        std::printf("\n");
    }
    if (functions.size() > 40) std::printf("(%zu more functions)\n", functions.size() - 40);
    return 0;
}

}  // namespace

int command_bench(const std::vector<std::string> &argv) {
    std::vector<FlagSpec> flags = bench_flags();
    flags.push_back({"--threads", "LIST", "thread counts, e.g. 1,2 (default 1,2)"});
    flags.push_back({"--json", "", "print the report as JSON"});
    flags.push_back({"--count", "", "with --runner qemu: exact instructions per inference by class and function "
                                    "(a QEMU plugin; 1 thread) instead of times"});
    Args args("bench", flags, {"SPEC|DIR"});
    if (!args.parse(argv)) {
        std::printf("%s\nMeasures a model: compiles SPEC (or takes the model a `shufflec compile` wrote into DIR),\n"
                    "builds a small benchmark program around it and runs it on the runner. Reports the median,\n"
                    "minimum and spread (10th to 90th percentile) of the latency per thread count, GMAC/s and the\n"
                    "share of the FMA peak measured on the same machine.\n",
                    args.usage().c_str());
        return 0;
    }
    BenchOptions options;
    options.threads = parse_int_list(args.get("--threads", "1,2"), "--threads", 1, 64);
    options.runs = runs_of(args);
    std::unique_ptr<Runner> runner = runner_of(args);
    if (args.has("--count")) runner->set_qemu_plugin("");  // other runners refuse here, before compiling
    TempFolder work("shufflec-bench-");
    CompiledModel model = model_from(args, *runner, work.path(), false);
    std::string program = build_bench_program(model, runner->arch(), runner->wants_static(), work.path());
    if (args.has("--count")) return report_counts(args, *runner, model, program, work.path());
    json report = run_bench_program(*runner, model, program, options);
    report["runner"] = runner->name();
    for (auto &r : report["results"]) {
        int threads = r["threads"];
        double gmacs = static_cast<double>(model.macs) / r["median_ms"].get<double>() / 1e6;
        r["gmacs"] = gmacs;
        double peak = peak_for(report, threads);
        if (peak > 0) r["peak_share"] = gmacs / peak;
    }
    if (args.has("--json")) {
        std::printf("%s\n", report.dump(2).c_str());
        return 0;
    }
    std::printf("%s (%s) on %s: %.2f M MACs per run\n", model.name.c_str(), model.target.c_str(),
                runner->name().c_str(), static_cast<double>(model.macs) / 1e6);
    std::printf("%-8s %10s %10s %8s %9s %12s\n", "threads", "median ms", "min ms", "spread", "GMAC/s", "% of peak");
    for (const auto &r : report["results"]) {
        double median = r["median_ms"], spread = (r["p90_ms"].get<double>() - r["p10_ms"].get<double>()) / median;
        std::string share = r.contains("peak_share")
                                ? cat(static_cast<int>(std::lround(r["peak_share"].get<double>() * 100)), "% of ",
                                      std::lround(peak_for(report, r["threads"])))
                                : "";
        std::printf("%-8d %10.3f %10.3f %7.1f%% %9.1f %12s\n", r["threads"].get<int>(), median,
                    r["min_ms"].get<double>(), spread * 100, r["gmacs"].get<double>(), share.c_str());
    }
    std::printf("(%d runs per thread count, alternating; spread = 10th to 90th percentile / median;\n"
                " peak: %s FMA loop on the same machine)\n",
                options.runs, model.target.c_str());
    return 0;
}

int command_profile(const std::vector<std::string> &argv) {
    std::vector<FlagSpec> flags = bench_flags();
    flags.push_back({"--threads", "N", "thread count (default 1: the per-layer sampler is exact only at 1)"});
    flags.push_back({"--csv", "", "print CSV rows (kind,name,ms,share,macs,gmacs)"});
    flags.push_back({"--json", "", "print the report as JSON"});
    flags.push_back({"--plot", "FILE.svg", "write a bar chart of time and GMAC/s per unit and layer, with the FMA peak"});
    Args args("profile", flags, {"SPEC|DIR"});
    if (!args.parse(argv)) {
        std::printf("%s\nTime per unit (one Halide pipeline each: wall-clock timers in the model) and per layer\n"
                    "(Halide's sampling profiler, its share of the unit's time), with MACs and GMAC/s.\n"
                    "SPEC is compiled with --profile --profile-halide; a DIR must hold such a build.\n",
                    args.usage().c_str());
        return 0;
    }
    if (args.has("--csv") && args.has("--json")) fail("profile: give --csv or --json, not both");
    BenchOptions options;
    options.threads = parse_int_list(args.get("--threads", "1"), "--threads", 1, 64);
    if (options.threads.size() != 1) fail("--threads: shufflec profile takes one thread count");
    options.runs = args.has("--runs") ? runs_of(args) : 300;
    std::unique_ptr<Runner> runner = runner_of(args);
    TempFolder work("shufflec-bench-");
    CompiledModel model = model_from(args, *runner, work.path(), true);
    std::string program = build_bench_program(model, runner->arch(), runner->wants_static(), work.path());
    json report = run_bench_program(*runner, model, program, options);

    // Units: the model's own timers. Layers: Halide Funcs named after graph
    // nodes (c_identifier(name) plus suffixes such as _acc), their sampled time
    // scaled to their unit's measured time.
    json units = json::array(), layers = json::array();
    double total = report["results"][0]["median_ms"];
    std::map<std::string, double> unit_ms;
    double units_sum = 0;
    for (const auto &u : report.value("units", json::array())) units_sum += u["median_ms"].get<double>();
    for (const auto &u : report.value("units", json::array())) {
        double ms = u["median_ms"], macs = u["macs"].get<double>();
        units.push_back({{"name", u["name"]}, {"ms", ms}, {"share", units_sum > 0 ? ms / units_sum : 0}, {"macs", macs},
                         {"gmacs", ms > 0 ? macs / ms / 1e6 : 0}});
    }
    std::map<std::string, std::map<std::string, double>> func_ms;  // pipeline -> func -> ms
    for (const auto &f : report.value("funcs", json::array())) func_ms[f["pipeline"]][f["name"]] += f["ms"].get<double>();
    if (model.halide_profile && !is_folder(args.positional()[0])) {
        // The graph gives each Func its layer (Funcs are named after graph
        // nodes: c_identifier(name) plus suffixes such as _acc) and MACs.
        SpecOptions so;
        if (args.has("--input-shape")) so.input_shape = parse_shape_arg(args.get("--input-shape"), "--input-shape");
        Graph graph = load_spec(args.positional()[0], so);
        std::vector<std::pair<std::string, int>> ids;  // identifier, node index; longest first
        for (size_t i = 0; i < graph.nodes.size(); i++) ids.push_back({c_identifier(graph.nodes[i].name), static_cast<int>(i)});
        std::sort(ids.begin(), ids.end(), [](const auto &a, const auto &b) { return a.first.size() > b.first.size(); });
        for (const auto &unit : units) {
            auto it = func_ms.find(model.name + "_" + c_identifier(unit["name"]));
            if (it == func_ms.end()) continue;
            double sampled = 0, measured = unit["ms"];
            std::map<int, double> per_node;  // by node index: graph order
            for (const auto &[f, ms] : it->second) {
                sampled += ms;
                for (const auto &[id, node] : ids)
                    if (f.compare(0, id.size(), id) == 0) {
                        per_node[node] += ms;
                        break;
                    }
            }
            // Sampled shares of the unit, scaled to its measured time.
            for (const auto &[node, ms] : per_node) {
                double macs = static_cast<double>(node_stats(graph, graph.nodes[node]).macs);
                double scaled = sampled > 0 ? ms / sampled * measured : 0;
                layers.push_back({{"unit", unit["name"]}, {"name", graph.nodes[node].name}, {"ms", scaled},
                                  {"share", total > 0 ? scaled / total : 0}, {"macs", macs},
                                  {"gmacs", scaled > 0 ? macs / scaled / 1e6 : 0}});
            }
        }
    }
    json out = {{"model", model.name}, {"target", model.target}, {"runner", runner->name()},
                {"threads", options.threads[0]}, {"runs", options.runs}, {"total_ms", total},
                {"macs", model.macs}, {"units", units}, {"layers", layers}};
    double peak = peak_for(report, options.threads[0]);
    if (peak > 0) out["peak_gmacs"] = peak;
    if (args.has("--plot")) {
        // A row per unit, its layers below it; the FMA peak as a line.
        std::vector<std::string> labels;
        BarPanel ms, gmacs;
        ms.title = "time (ms)";
        gmacs.title = "GMAC/s";
        gmacs.marker = peak;
        gmacs.marker_label = cat("FMA peak ", std::round(peak * 10) / 10);
        for (const auto &u : units) {
            labels.push_back(u["name"]);
            ms.values.push_back(u["ms"]);
            gmacs.values.push_back(u["gmacs"]);
            for (const auto &l : layers) {
                if (l["unit"] != u["name"] || l["macs"].get<double>() == 0) continue;
                labels.push_back("  " + l["name"].get<std::string>());
                ms.values.push_back(l["ms"]);
                gmacs.values.push_back(l["gmacs"]);
            }
        }
        write_file_atomic(args.get("--plot"),
                          svg_bar_chart(cat(model.name, " (", model.target, ", ", options.threads[0], " thread",
                                            options.threads[0] > 1 ? "s" : "", "): ", total, " ms per run"),
                                        labels, {ms, gmacs}));
    }
    if (args.has("--json")) {
        std::printf("%s\n", out.dump(2).c_str());
    } else if (args.has("--csv")) {
        std::printf("kind,unit,name,ms,share,macs,gmacs\n");
        for (const auto &u : units)
            std::printf("unit,%s,%s,%.6f,%.4f,%.0f,%.3f\n", u["name"].get<std::string>().c_str(),
                        u["name"].get<std::string>().c_str(), u["ms"].get<double>(), u["share"].get<double>(),
                        u["macs"].get<double>(), u["gmacs"].get<double>());
        for (const auto &l : layers)
            std::printf("layer,%s,%s,%.6f,%.4f,%.0f,%.3f\n", l["unit"].get<std::string>().c_str(),
                        l["name"].get<std::string>().c_str(), l["ms"].get<double>(), l["share"].get<double>(),
                        l["macs"].get<double>(), l["gmacs"].get<double>());
    } else {
        std::printf("%s (%s) on %s, %d thread(s), median of %d runs: %.3f ms; FMA peak %.1f GMAC/s\n\n",
                    model.name.c_str(), model.target.c_str(), runner->name().c_str(), options.threads[0], options.runs,
                    total, peak);
        std::printf("%-22s %9s %6s %9s %8s\n", "unit", "ms", "share", "MMACs", "GMAC/s");
        for (const auto &u : units)
            std::printf("%-22s %9.4f %5.1f%% %9.2f %8.2f\n", u["name"].get<std::string>().c_str(), u["ms"].get<double>(),
                        100 * u["share"].get<double>(), u["macs"].get<double>() / 1e6, u["gmacs"].get<double>());
        if (!layers.empty()) {
            std::printf("\n%-18s %-26s %9s %6s %9s %8s\n", "unit", "layer", "ms", "share", "MMACs", "GMAC/s");
            for (const auto &l : layers)
                std::printf("%-18s %-26s %9.4f %5.1f%% %9.2f %8.2f\n", l["unit"].get<std::string>().c_str(),
                            l["name"].get<std::string>().c_str(), l["ms"].get<double>(), 100 * l["share"].get<double>(),
                            l["macs"].get<double>() / 1e6, l["gmacs"].get<double>());
            std::printf("(layers: Halide's sampling profiler, scaled to each unit's measured time%s)\n",
                        std::any_of(layers.begin(), layers.end(), [&](const json &l) { return l["gmacs"].get<double>() > peak; })
                            ? "; a layer above the FMA peak is a sampling error of a short layer" : "");
        }
    }
    return 0;
}

}  // namespace shufflec
