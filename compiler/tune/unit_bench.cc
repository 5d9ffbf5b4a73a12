#include "tune/unit_bench.h"

#include <cstring>
#include <unistd.h>

#include "emit/embedded_files.h"
#include "emit/toolchain.h"
#include "lower/lower_segment.h"
#include "measure/bench_program.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/process.h"
#include "util/workers.h"

namespace shufflec {

namespace {

std::string last_line(const std::string &text) {
    std::string t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    size_t nl = t.find_last_of('\n');
    return one_line(nl == std::string::npos ? t : t.substr(nl + 1));
}

// The element types unit_bench_main.c reads (tune takes fp32 and int8 models).
const char *element_name(Element e) {
    switch (e) {
    case Element::F32: return "f32";
    case Element::U8: return "u8";
    case Element::I8: return "i8";
    default: internal_error("unit_bench: no 16-bit float tensors");
    }
}

// int8 outputs one step from the default's: at most this share (a float
// epilogue within rounding of a tie is rare; a wrong schedule moves most).
constexpr double kMaxStepDiffShare = 1e-3;

TrialTiming timing_of(const nlohmann::json &j) {
    return {j.at("median_ms").get<double>(), j.at("min_ms").get<double>(), j.at("p10_ms").get<double>(),
            j.at("p90_ms").get<double>()};
}

}  // namespace

double timing_spread(const TrialTiming &t) { return t.median_ms > 0 ? (t.p90_ms - t.p10_ms) / t.median_ms : 0; }

UnitBench::UnitBench(const PreparedModel &model, const std::string &work_dir, int threads)
    : model_(model), dir_(work_dir), threads_(threads), arch_(target_arch(model.target.short_name)) {
    build_runtime_objects(model.target, dir_);
    write_file_atomic(join_path(dir_, "weights.bin"),
                      std::string(reinterpret_cast<const char *>(model.blob.data.data()), model.blob.data.size() * 4));
    write_file_atomic(join_path(dir_, "unit_bench_main.c"), embedded_file("unit_bench_main.c"));
    write_file_atomic(join_path(dir_, "bench_common.h"), embedded_file("bench_common.h"));
    std::vector<std::string> argv = bench_c_compiler(arch_, model.target.short_name);
    argv.insert(argv.end(), {"-I", dir_, "-I",
                             find_toolchain().halide_include, "-c", join_path(dir_, "unit_bench_main.c"), "-o",
                             join_path(dir_, "unit_bench_main.o")});
    ProcessResult r = run_process(argv);
    if (r.status != 0) throw Error("building the unit benchmark program failed: " + command_line(argv), r.err);
}

std::string UnitBench::layout_file(int segment) {
    std::string name = "layout_" + model_.plan.segments[segment].name + ".txt";
    std::string path = join_path(dir_, name);
    if (access(path.c_str(), R_OK) != 0) {
        // An int8 model's pipelines take the weights blob twice, as floats and
        // as int8, or three times, also as int16 (PackedWeights::pair_weights).
        std::string text = cat("weights ", model_.blob.size(), model_.blob.narrow == Element::I8 ? " i8" : " -",
                               model_.blob.pair_weights ? " i16" : " -", "\n");
        const Segment &seg = model_.plan.segments[segment];
        std::vector<BufferLayout> layouts = segment_buffer_layouts(model_.graph, model_.plan, segment);
        for (size_t i = 0; i < layouts.size(); i++) {
            text += i < seg.inputs.size() ? "in " : "out ";
            text += element_name(layouts[i].element);
            text += " " + std::to_string(layouts[i].extent.size());
            for (int64_t e : layouts[i].extent) text += " " + std::to_string(e);
            for (int64_t s : layouts[i].stride) text += " " + std::to_string(s);
            text += "\n";
        }
        write_file_atomic(path, text);
    }
    return name;
}

std::pair<std::string, std::string> UnitBench::compile(int segment, const ScheduleFile &schedule,
                                                       const std::string &function, const std::string &object,
                                                       double timeout_s) const {
    unlink(object.c_str());
    WorkerOutcome o = run_in_worker(
        [&] {
            compile_segment_object(model_, schedule, segment, function, object,
                                   model_.target.halide.with_feature(Halide::Target::NoRuntime));
        },
        timeout_s);
    if (o.ok) return {"", ""};
    return {o.timed_out ? "compile_timeout" : "compile_failed", o.timed_out ? "compiling " + o.error : o.error};
}

void UnitBench::prepare_runner(Runner &runner) {
    {
        std::lock_guard<std::mutex> lock(ready_mu_);
        if (runners_ready_.count(&runner)) return;
    }
    if (runner.arch() != arch_)
        fail("--runner ", runner.name(), " runs ", runner.arch(), " binaries; the target ", model_.target.short_name,
             " needs ", arch_);
    runner.put({join_path(dir_, "weights.bin")});
    std::lock_guard<std::mutex> lock(ready_mu_);
    runners_ready_.insert(&runner);
}

std::string UnitBench::link(Runner &runner, int segment, const std::string &default_object,
                            const std::string &incumbent_object, const std::string &candidate_object,
                            const std::string &program_name) {
    prepare_runner(runner);
    std::vector<std::string> argv = bench_c_compiler(arch_, model_.target.short_name);
    std::string program = join_path(dir_, program_name);
    argv.insert(argv.end(), {join_path(dir_, "unit_bench_main.o"), default_object, incumbent_object, candidate_object,
                             join_path(dir_, "halide_runtime.o"), join_path(dir_, "shufflec_helpers.o"), "-lpthread",
                             "-lm", "-o", program});
    if (runner.wants_static()) argv.push_back("-static");
    ProcessResult linked = run_process(argv);
    if (linked.status != 0) return "linking failed: " + one_line(linked.err.substr(0, 600));
    runner.put({program, join_path(dir_, layout_file(segment))});
    return "";
}

TrialResult UnitBench::run(Runner &runner, int segment, const std::string &program_name,
                           const std::vector<std::string> &options, double timeout_s) {
    TrialResult result;
    std::vector<std::string> args = {layout_file(segment), "weights.bin", "--threads", std::to_string(threads_)};
    args.insert(args.end(), options.begin(), options.end());
    ProcessResult r = runner.run(program_name, args, timeout_s);
    if (r.timed_out) {
        result.status = "timeout";
        result.error = cat("no result within ", timeout_s, " s");
        return result;
    }
    if (r.status >= 128) {
        result.status = "crashed";
        result.error = cat("killed by signal ", r.status - 128);
        return result;
    }
    if (r.status != 0) {
        result.status = "failed";
        result.error = cat("exit ", r.status, ": ", last_line(r.err));
        return result;
    }
    double step_diffs = 0, int_elements = 0;
    try {
        nlohmann::json j = nlohmann::json::parse(r.out);
        result.max_rel_diff = j.at("max_rel_diff").get<double>();
        step_diffs = j.at("step_diffs").get<double>();
        int_elements = j.at("int_elements").get<double>();
        result.calls = j.at("calls").get<int>();
        result.incumbent = timing_of(j.at("incumbent"));
        result.candidate = timing_of(j.at("candidate"));
        if (j.contains("peak_gmacs")) result.peak_gmacs = j["peak_gmacs"].get<double>();
    } catch (const nlohmann::json::exception &) {
        result.status = "failed";
        result.error = "no valid report: " + last_line(r.out + r.err);
        return result;
    }
    // int8 outputs: the same integers, but where a float epilogue lands within
    // rounding of a tie one step off.
    bool steps_ok = step_diffs <= kMaxStepDiffShare * int_elements;
    result.status = result.max_rel_diff <= 1e-5 && steps_ok ? "ok" : "wrong_output";
    if (result.max_rel_diff > 1e-5)
        result.error = cat("outputs differ from the default schedule's by ", result.max_rel_diff, " (relative)");
    else if (!steps_ok)
        result.error = cat(step_diffs, " of ", int_elements, " 8-bit outputs one step from the default schedule's");
    return result;
}

TrialResult UnitBench::measure(Runner &runner, int segment, const std::string &default_object,
                               const std::string &incumbent_object, const std::string &candidate_object,
                               const std::string &program_name, bool peak, const std::string &fault, double timeout_s) {
    TrialResult result;
    result.error = link(runner, segment, default_object, incumbent_object, candidate_object, program_name);
    if (!result.error.empty()) {
        result.status = "failed";
        return result;
    }
    std::vector<std::string> options;
    if (peak) options.push_back("--peak");
    if (!fault.empty()) options.insert(options.end(), {"--fault", fault});
    result = run(runner, segment, program_name, options, timeout_s);
    unlink(join_path(dir_, program_name).c_str());
    return result;
}

TrialResult UnitBench::model_cost(Runner &runner, int segment, const std::string &default_object,
                                  const std::string &incumbent_object, const std::string &candidate_object,
                                  const std::string &program_name, const CoreModel &core, bool incumbent_too,
                                  const std::string &fault, double timeout_s) {
    TrialResult result;
    result.error = link(runner, segment, default_object, incumbent_object, candidate_object, program_name);
    if (!result.error.empty()) {
        result.status = "failed";
        return result;
    }
    std::string program = join_path(dir_, program_name), plugin = build_count_plugin(dir_);
    // One run's blocks: `variant` called `calls` times after the output check.
    auto counted = [&](int variant, int calls, TrialResult &r) {
        std::string out = join_path(dir_, program_name + ".count");
        runner.set_qemu_plugin(cat(plugin, ",out=", out));
        std::vector<std::string> options = {"--count", std::to_string(variant), std::to_string(calls)};
        if (!fault.empty()) options.insert(options.end(), {"--fault", fault});
        r = run(runner, segment, program_name, options, timeout_s);
        runner.set_qemu_plugin("");
        BlockMap blocks = r.status == "ok" ? read_count_file(out) : BlockMap();
        unlink(out.c_str());
        return blocks;
    };
    // Modeled milliseconds of one warm call of `variant` (0: a run failed; `result` says why).
    auto cost = [&](int variant, const BlockMap &base) {
        TrialResult r;
        BlockMap one = block_difference(counted(variant, 1, r), base);
        if (r.status != "ok") {
            result = r;
            return 0.0;
        }
        return modeled_cycles(program, one, core, dir_) / core.ghz / 1e6;
    };
    BlockMap base = counted(2, 0, result);
    if (result.status == "ok") {
        double ms = cost(2, base);
        result.candidate = {ms, ms, ms, ms};
    }
    if (result.status == "ok" && incumbent_too) {
        double ms = cost(1, base);
        result.incumbent = {ms, ms, ms, ms};
    }
    result.calls = 1;
    unlink(program.c_str());
    return result;
}

}  // namespace shufflec
