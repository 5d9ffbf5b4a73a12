#include "emit/compile_model.h"

#include <chrono>
#include <limits>
#include <cstdio>
#include <cstring>
#include <map>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "emit/embedded_files.h"
#include "emit/model_fingerprint.h"
#include "emit/model_sources.h"
#include "emit/output_folder.h"
#include "emit/targets.h"
#include "emit/toolchain.h"
#include "lower/lower_segment.h"
#include "lower/preprocess.h"
#include "lower/segment_plan.h"
#include "lower/weight_packing.h"
#include "passes/passes.h"
#include "quantize/quantization.h"
#include "schedule/schedule.h"
#include "spec/spec_parser.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/hash.h"
#include "util/install_paths.h"
#include "util/progress.h"
#include "util/workers.h"
#include "weights/weights.h"

namespace shufflec {

namespace {

// An external weights file: a 64-byte header ("SHFCWTS1", payload bytes, model
// fingerprint, FNV-1a of the payload, 32 reserved zero bytes), then the payload.
std::string weights_file_image(const std::vector<float> &blob, uint64_t fingerprint) {
    std::string header(64, '\0');
    std::memcpy(&header[0], "SHFCWTS1", 8);
    uint64_t fields[3] = {blob.size() * 4, fingerprint, fnv1a(blob.data(), blob.size() * 4)};
    for (int f = 0; f < 3; f++)
        for (int b = 0; b < 8; b++) header[8 + 8 * f + b] = static_cast<char>((fields[f] >> (8 * b)) & 0xff);
    return header + std::string(reinterpret_cast<const char *>(blob.data()), blob.size() * 4);
}

// The plugin of one of Halide's autoschedulers; an unknown name is an error
// (checked before any worker starts, so it is reported once).
std::string autoscheduler_plugin(const std::string &name) {
    static const std::map<std::string, std::string> plugins = {{"Mullapudi2016", "libautoschedule_mullapudi2016.so"},
                                                               {"Li2018", "libautoschedule_li2018.so"},
                                                               {"Adams2019", "libautoschedule_adams2019.so"}};
    auto it = plugins.find(name);
    if (it == plugins.end())
        fail("--autoschedule: unknown autoscheduler ", in_quotes(name), " (Mullapudi2016, Li2018, Adams2019)");
    return std::string(SHUFFLEC_AUTOSCHEDULER_DIR) + "/" + it->second;
}

// Schedules a pipeline with one of Halide's autoschedulers (a baseline, not the
// product): every buffer gets its exact size as an estimate, the machine is
// described by its cores and last-level cache.
void autoschedule(Halide::Pipeline &p, LoweredSegment &lowered, const Graph &graph, const SegmentPlan &plan,
                  int64_t weight_floats, const std::string &name, const Halide::Target &target) {
    Halide::load_plugin(autoscheduler_plugin(name));
    const Segment &seg = plan.segments[lowered.segment];
    auto estimates = [&](int node, int64_t group) {
        const Shape &s = graph.nodes[node].shape;
        Halide::Region r;
        if (group > 0) r = {{0, static_cast<int>(group)}, {0, static_cast<int>(s.c / group)}};
        else r = {{0, static_cast<int>(s.c)}};
        for (int64_t e : {s.w, s.h, s.n}) r.push_back({0, static_cast<int>(e)});
        return r;
    };
    for (size_t i = 0; i < seg.inputs.size(); i++) {
        Halide::Region r = estimates(seg.inputs[i], 0);
        for (size_t d = 0; d < r.size(); d++)
            lowered.input_params[i].dim(static_cast<int>(d)).set_estimate(r[d].min, r[d].extent);
    }
    lowered.weights_param.dim(0).set_estimate(0, static_cast<int>(weight_floats));
    lowered.threads.set_estimate(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    for (size_t i = 0; i < seg.outputs.size(); i++)
        lowered.outputs[i].set_estimates(estimates(seg.outputs[i], plan.grouping[seg.outputs[i]]));
    int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    p.auto_schedule(name, target, Halide::MachineParams(cores, 32 * 1024 * 1024, 40));
}

// Halide 14 compiles avx512_sapphirerapids for LLVM's "sapphirerapids" CPU,
// free to use what only Intel's have: VEX-encoded VNNI (AVX-VNNI) for 128- and
// 256-bit dot products, AVX512-FP16. Both are illegal instructions on AMD
// Zen 4 and Zen 5, which have AVX512-VNNI and BF16 (seen: SIGILL in an int8
// ShuffleNet V2 on Zen 5, and `{vex} vpdpwssd` in int8 code for Zen 4). Such
// pipelines go through LLVM bitcode and llc for "icelake-server" + BF16
// instead: EVEX encodings only, for every AVX512-VNNI CPU.
void compile_object(Halide::Pipeline &pipeline, const std::string &object, const std::vector<Halide::Argument> &args,
                    const std::string &function, const Halide::Target &target) {
    if (target.arch != Halide::Target::X86 || !target.has_feature(Halide::Target::AVX512_SapphireRapids)) {
        pipeline.compile_to_object(object, args, function, target);
        return;
    }
    std::string bitcode = object + ".bc";
    pipeline.compile_to_bitcode(bitcode, args, function, target);
    run_tool({find_toolchain().llc, "-O3", "-mcpu=icelake-server", "-mattr=+avx512bf16", "-relocation-model=pic",
              "-filetype=obj", "-o", object, bitcode},
             "compiling " + function + " for AVX512-VNNI");
    std::remove(bitcode.c_str());
}

// Compiles segment `s` of the model to an object in `dir`.
void compile_segment(const PreparedModel &p, const CompileOptions &opt, const ModelDescription &model,
                     const std::string &dir, int s) {
    Halide::Target t = p.target.halide.with_feature(Halide::Target::NoRuntime);
    if (opt.profile_halide) t = t.with_feature(Halide::Target::Profile);
    // With --save-temps, Halide's lowered statement of each pipeline is kept too (for schedule work).
    std::string stmt = opt.save_temps ? join_path(dir, p.plan.segments[s].name + ".stmt") : "";
    compile_segment_object(p, p.schedule, s, segment_function(model, s), join_path(dir, p.plan.segments[s].name + ".o"),
                           t, opt.autoscheduler, stmt);
}

}  // namespace

void compile_segment_object(const PreparedModel &p, const ScheduleFile &schedule, int segment,
                            const std::string &function, const std::string &object, const Halide::Target &target,
                            const std::string &autoscheduler, const std::string &stmt) {
    LoweredSegment lowered = lower_segment(p.graph, p.blob, p.plan, segment);
    Halide::Pipeline pipeline(lowered.outputs);
    if (autoscheduler.empty()) {
        apply_schedule(lowered, p.graph, p.plan, schedule, p.target.halide);
    } else {
        autoschedule(pipeline, lowered, p.graph, p.plan, p.blob.size(), autoscheduler, p.target.halide);
    }
    compile_object(pipeline, object, lowered.arguments, function, target);
    if (!stmt.empty()) pipeline.compile_to_lowered_stmt(stmt, lowered.arguments, Halide::Text, target);
}

void check_model_name(const std::string &name) {
    bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) && name.size() <= 64;
    for (char ch : name) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!ok) fail("--name: \"", name, "\" is not a C identifier (letters, digits, _; not starting with a digit)");
}

namespace {

// What the target's code model can address in one static object (x86-64 and
// AArch64 small code models: +-2 GiB for all of .text, .rodata and .bss); the
// embedded weights must stay well inside it.
constexpr int64_t kMaxEmbeddedWeightBytes = int64_t{1} << 30;

void check_weight_size(int64_t floats, bool external, const char *what) {
    // The pipelines index the weights buffer with 32-bit integers.
    if (floats > std::numeric_limits<int32_t>::max())
        fail("the model has ", floats, " ", what, " weights: at most 2^31-1 can be indexed by the compiled code");
    if (!external && floats * 4 > kMaxEmbeddedWeightBytes)
        fail("the model's ", what, " weights take ", floats * 4 / (1 << 20), " MiB: at most ",
             kMaxEmbeddedWeightBytes >> 20,
             " MiB can be embedded in the library (the target's static data must stay within +-2 GiB); "
             "compile with --external-weights and load the weights file at run time");
}

}  // namespace

PreparedModel prepare_model(const CompileOptions &opt) {
    PreparedModel p;
    p.target = resolve_target(opt.target);
    if (!opt.autoscheduler.empty()) autoscheduler_plugin(opt.autoscheduler);
    if (opt.emit == CompileOptions::Emit::Shared && p.target.halide.os != Halide::Target::Linux)
        fail("--emit so: only for Linux targets (", p.target.name, " would need its own SDK to link)");
    SpecOptions spec_options;
    spec_options.input_shape = opt.input_shape;
    p.graph = load_spec(opt.spec_path, spec_options);
    p.name = opt.name.empty() ? c_identifier(p.graph.name) : opt.name;
    check_model_name(p.name);
    p.stats = graph_stats(p.graph);
    // Before reading or generating them: every parameter ends up in the blob.
    check_weight_size(p.stats.params, opt.external_weights, "parameter");
    p.weights = resolve_weights(p.graph, opt.weights_path, opt.random_seed);
    optimize(p.graph, p.weights);
    Quantization quantization;
    if (opt.precision == "int8") {
        quantization = load_quantization(opt.quantization_path);
        check_quantization(p.graph, quantization, opt.quantization_path);
    }
    Precision precision = opt.precision == "int8"   ? Precision::Int8
                          : opt.precision == "fp16" ? Precision::FP16
                          : opt.precision == "bf16" ? Precision::BF16
                                                    : Precision::FP32;
    p.plan = plan_segments(p.graph, opt.one_pipeline ? Granularity::Network : Granularity::Unit,
                           precision == Precision::Int8 ? &quantization : nullptr, precision);

    // The target's schedule (schedules/<target>/default.json), then the
    // model's: --schedule FILE, or else schedules/<target>/<spec name>.json and
    // the user's tuned one (user_schedules_dir()/<target>/<spec name>.json), in that order.
    p.schedule.source = "built-in";
    std::string folder = cat(schedules_dir(), "/", p.target.short_name, "/");
    if (access((folder + "default.json").c_str(), R_OK) == 0) merge_schedule(p.schedule, load_schedule(folder + "default.json"));
    std::vector<std::string> model_schedules;
    if (!opt.schedule_path.empty()) {
        model_schedules.push_back(opt.schedule_path);
    } else if (!opt.ignore_model_schedule) {
        std::string file = checked_file_name(p.graph.name, "the model name") + ".json";
        for (const std::string &dir : {schedules_dir(), user_schedules_dir()}) {
            std::string path = cat(dir, "/", p.target.short_name, "/", file);
            if (!dir.empty() && access(path.c_str(), R_OK) == 0) model_schedules.push_back(path);
        }
    }
    for (const auto &path : model_schedules) merge_schedule(p.schedule, load_schedule(path));

    // The weights blob: every op's arrays, laid out for its lowering.
    // (Group padding counts float32 lanes; halves fit two in each.)
    // The unit whose knobs apply to a node (as the scheduler resolves them).
    auto unit_of = [&](int node) -> const std::string & {
        int s = p.plan.segment_of[node];
        return s >= 0 ? p.plan.segments[s].block : p.graph.nodes[node].block;
    };
    PackingOptions packing{group_padding(p.schedule, p.target.halide) * (p.plan.fp16() ? 2 : 1),
                           dot_product(p.target.halide, p.plan.precision), [&](int node) {
                               return dot_product_wanted(p.schedule, p.target.halide, unit_of(node), p.graph.nodes[node]);
                           }};
    packing.dense_panel_vectors = [&](int node) {
        return dense_panel_vectors(p.schedule, p.target.halide, unit_of(node), p.graph.nodes[node]);
    };
    packing.pairs_int16 = [&](int node) {
        return pairs_weights_int16(p.schedule, p.target.halide, unit_of(node), p.graph.nodes[node],
                                   p.plan.grouping[node] ? p.plan.grouping[node] : p.graph.nodes[node].out_channels);
    };
    packing.max_keeps_nan = p.target.halide.arch == Halide::Target::ARM;
    packing.float_by_element = p.target.halide.arch == Halide::Target::ARM;
    packing.fixed_point = p.target.halide.arch == Halide::Target::ARM;
    packing.promise_table_ranges = opt.autoscheduler.empty();
    p.blob = pack_weights(p.graph, p.weights, p.plan, packing);
    check_weight_size(p.blob.size(), opt.external_weights, "folded and padded");
    // E.g. tuned records by workload, over the schedule files (they never change the packing).
    if (opt.refine_schedule) opt.refine_schedule(p);
    return p;
}

namespace {

uint64_t fingerprint_of(const PreparedModel &p) {
    return model_fingerprint(p.graph, p.plan, p.blob, p.target.short_name + " " + p.target.halide.to_string());
}

}  // namespace

WeightsIdentity weights_identity(const CompileOptions &opt) {
    PreparedModel p = prepare_model(opt);
    return {fingerprint_of(p), p.blob.size()};
}

std::vector<std::string> describe_schedule(const CompileOptions &opt) {
    PreparedModel p = prepare_model(opt);
    std::vector<std::string> lines = {
        cat("schedule: ", p.schedule.source, ", target ", p.target.name, ", group padding ", p.blob.group_padding)};
    for (size_t s = 0; s < p.plan.segments.size(); s++) {
        LoweredSegment lowered = lower_segment(p.graph, p.blob, p.plan, static_cast<int>(s));
        for (const auto &c : apply_schedule(lowered, p.graph, p.plan, p.schedule, p.target.halide))
            lines.push_back(p.plan.segments[s].name + " " + describe_choice(c));
    }
    return lines;
}

namespace {

// clang for the glue and the runtime helpers: freestanding C for the target
// (no libc headers of the target are needed), run inside the staging folder.
// x86 targets all have AVX2 (their pipelines need it): the glue's loops (the
// NaN scan of a reduced-precision model's input) take 256-bit vectors, about
// 4 us for a 224x224 image where SSE2 took 10.
std::vector<std::string> glue_compile_command(const TargetInfo &target, const Toolchain &tools) {
    std::vector<std::string> argv = {tools.clang, "--target=" + target.triple, "-O2", "-std=c99", "-ffreestanding",
                                     "-fno-builtin", "-nostdinc", "-fPIC", "-Wall", "-Werror",
                                     "-isystem", tools.clang_resource_dir + "/include", "-isystem", ".",
                                     "-I", tools.halide_include, "-c"};
    if (target.halide.arch == Halide::Target::X86 && target.halide.has_feature(Halide::Target::AVX2))
        argv.insert(argv.begin() + 3, "-mavx2");
    return argv;
}

}  // namespace

void build_runtime_objects(const TargetInfo &target, const std::string &dir) {
    Toolchain tools = find_toolchain();
    Halide::compile_standalone_runtime(join_path(dir, "halide_runtime.o"), target.halide);
    write_file_atomic(join_path(dir, "shufflec_runtime.h"), embedded_file("shufflec_runtime.h"));
    write_file_atomic(join_path(dir, "shufflec_runtime.c"), embedded_file("shufflec_runtime.c"));
    write_file_atomic(join_path(dir, "string.h"), "/* freestanding stand-in: the glue needs no libc string functions */\n");
    std::vector<std::string> argv = glue_compile_command(target, tools);
    argv.insert(argv.end(), {"shufflec_runtime.c", "-o", "shufflec_helpers.o"});
    run_tool(argv, "compiling the shufflec runtime", dir);
}

CompileReport compile_model(const CompileOptions &opt) {
    auto start = std::chrono::steady_clock::now();
    CompileReport report;
    if (opt.out_dir.empty()) fail("shufflec compile: missing -o DIR");
    PreparedModel prepared = prepare_model(opt);
    struct stat st;
    if (stat(opt.out_dir.c_str(), &st) != 0) {
        if (mkdir(opt.out_dir.c_str(), 0755) != 0)
            fail("-o: cannot create folder ", in_quotes(opt.out_dir), ": ", std::strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        fail("-o: ", in_quotes(opt.out_dir), " exists and is not a folder");
    }
    // Finish or clean up what an interrupted compile left here.
    recover_output_folder(opt.out_dir);
    const TargetInfo &target = prepared.target;
    Graph &graph = prepared.graph;
    const LayerStats &stats = prepared.stats;
    const std::string &name = prepared.name;
    const SegmentPlan &plan = prepared.plan;
    const ScheduleFile &schedule = prepared.schedule;
    const PackedWeights &blob = prepared.blob;
    report.schedule_source = schedule.source;
    report.target_folder = target.short_name;

    ModelDescription model;
    model.name = name;
    model.spec_name = graph.name;
    model.target = target.name;
    model.target_folder = target.short_name;
    model.profile_halide = opt.profile_halide;
    model.graph = &graph;
    model.plan = &plan;
    model.weight_floats = static_cast<int64_t>(blob.data.size());
    model.narrow_weights = blob.narrow;
    model.pair_weights = blob.pair_weights;
    model.macs = stats.macs;
    model.params = stats.params;
    model.external_weights = opt.external_weights;
    model.profile = opt.profile;
    for (const auto &seg : plan.segments) {
        int64_t macs = 0;
        for (int node : seg.nodes) macs += node_stats(graph, graph.nodes[node]).macs;
        model.segment_macs.push_back(macs);
    }
    model.fingerprint = fingerprint_of(prepared);

    StagingDir tmp(opt.out_dir);
    if (opt.save_temps) {
        tmp.keep();
        std::fprintf(stderr, "shufflec: keeping intermediate files in %s\n", in_quotes(tmp.path(), 1000).c_str());
    }
    Toolchain tools = find_toolchain();

    // 1. Segment objects, the image preprocessing (NAME_run_rgb8) and the shared
    // runtime (Halide's plus shufflec's helpers), compiled by `jobs` forked
    // workers: Halide compiles are single-threaded, and LLVM aborts the process
    // it runs in when it cannot write (a full disk), which a worker turns into
    // one error line. Every tool runs inside the staging folder on fixed file
    // names: no path from the command line reaches a tool's arguments or the
    // generated sources.
    const std::string &dir = tmp.path();
    const int segments = static_cast<int>(plan.segments.size());
    const int preprocess_item = segments, runtime_item = segments + 1;
    std::vector<int> items = {runtime_item};
    if (graph.preprocess.enabled) items.push_back(preprocess_item);
    for (int s = 0; s < segments; s++) items.push_back(s);
    int jobs = opt.jobs > 0 ? opt.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    jobs = std::min<int>(jobs, static_cast<int>(items.size()));
    std::vector<std::vector<int>> work(jobs);
    for (size_t i = 0; i < items.size(); i++) work[i % jobs].push_back(items[i]);
    // Progress: one step per pipeline, the runtime, the glue and the package.
    const int steps = segments + 3;
    Progress progress("compile " + graph.name, steps, opt.progress);
    int finished = 0;
    run_in_workers(
        work,
        [&](int item) {
            if (item == runtime_item) {
                build_runtime_objects(target, dir);
            } else if (item == preprocess_item) {
                PreprocessPipeline pre = build_preprocess(graph.preprocess, graph.input().shape);
                compile_object(pre.pipeline, join_path(dir, "preprocess.o"), pre.arguments,
                               name + "_preprocess_pipeline", target.halide.with_feature(Halide::Target::NoRuntime));
            } else {
                compile_segment(prepared, opt, model, dir, item);
            }
        },
        [&](int item) {
            if (item == preprocess_item) return;
            progress.update(++finished, item == runtime_item ? "runtime" : plan.segments[item].name);
        },
        [&](int item) -> std::string {
            if (item == runtime_item) return "compiling the runtime";
            if (item == preprocess_item) return "compiling the input preprocessing";
            return cat("compiling unit '", plan.segments[item].block, "'");
        });

    std::vector<std::string> cc = glue_compile_command(target, tools);
    auto compile_c = [&](const std::string &source, const std::string &object, const std::string &what) {
        std::vector<std::string> argv = cc;
        argv.insert(argv.end(), {source, "-o", object});
        run_tool(argv, what, dir);
    };

    // 3. Weights, glue and header. The build stamp (which ties NAME.h to this
    // library) is a hash of everything the library is made of.
    std::string weights_bytes(reinterpret_cast<const char *>(blob.data.data()), blob.data.size() * 4);
    uint64_t stamp = fnv1a(weights_bytes);
    for (const auto &seg : plan.segments) stamp = fnv1a(read_file(tmp.file(seg.name + ".o"), "object", kMaxDataFileBytes), stamp);
    // Glue and header are generated once, with a placeholder stamp (0) that
    // is hashed and then replaced by the stamp.
    std::string glue = generate_glue_c(model), header = generate_header(model);
    const std::string placeholder = build_symbol(model);
    stamp = fnv1a(glue, stamp);
    stamp = fnv1a(header, stamp);
    model.build_stamp = stamp;
    for (std::string *text : {&glue, &header})
        for (size_t at = text->find(placeholder); at != std::string::npos; at = text->find(placeholder, at))
            text->replace(at, placeholder.size(), build_symbol(model));
    if (opt.external_weights) {
        write_file_atomic(tmp.file(name + ".weights"), weights_file_image(blob.data, model.fingerprint));
    } else {
        write_file_atomic(tmp.file(kEmbeddedWeightsFile), weights_bytes);
    }
    weights_bytes.clear();
    write_file_atomic(tmp.file(name + "_glue.c"), glue);
    compile_c(name + "_glue.c", name + "_glue.o", "compiling the model glue");
    progress.update(++finished, "glue");
    write_file_atomic(tmp.file(name + ".h"), header);

    // 4. Package.
    std::vector<std::string> model_objects = {name + "_glue.o"};
    for (const auto &seg : plan.segments) model_objects.push_back(seg.name + ".o");
    if (graph.preprocess.enabled) model_objects.push_back("preprocess.o");
    std::vector<std::string> outputs = {"shufflec_runtime.h", "HalideRuntime.h"};
    if (opt.external_weights) outputs.push_back(name + ".weights");
    std::string runtime_object = "shufflec_runtime_" + target.short_name + ".o";
    if (opt.emit == CompileOptions::Emit::Shared) {
        // A shared library with the runtime inside, linked against the target's libc (for ctypes and dlopen).
        std::vector<std::string> ld = {tools.clang, "--target=" + target.triple, "-shared", "-fuse-ld=lld",
                                       "-Wl,--no-undefined", "-o", name + ".so"};
        ld.insert(ld.end(), model_objects.begin(), model_objects.end());
        ld.insert(ld.end(), {"halide_runtime.o", "shufflec_helpers.o", "-lpthread", "-lm", "-ldl"});
        run_tool(ld, "linking the shared library", dir);
        outputs.push_back(name + ".so");
    } else if (opt.emit == CompileOptions::Emit::Objects) {
        std::vector<std::string> ld = {tools.ld_lld, "-r", "-o", name + ".o"};
        ld.insert(ld.end(), model_objects.begin(), model_objects.end());
        run_tool(ld, "linking the model object", dir);
        run_tool({tools.ld_lld, "-r", "-o", runtime_object, "halide_runtime.o", "shufflec_helpers.o"},
                 "linking the runtime object", dir);
        outputs.push_back(runtime_object);
        outputs.push_back(name + ".o");
    } else {
        std::vector<std::string> ar = {tools.llvm_ar, "rcs", name + ".a"};
        ar.insert(ar.end(), model_objects.begin(), model_objects.end());
        ar.push_back("halide_runtime.o");
        ar.push_back("shufflec_helpers.o");
        run_tool(ar, "packaging the library", dir);
        outputs.push_back(name + ".a");
    }
    // HalideRuntime.h for apps that use the Halide-buffer entry point.
    write_file_atomic(tmp.file("HalideRuntime.h"), read_file(tools.halide_include + "/HalideRuntime.h"));
    outputs.push_back(name + ".h");  // last: the header makes the set usable

    progress.update(++finished, "package");
    progress.finish();
    tmp.publish(outputs);
    for (const auto &f : outputs) report.files.push_back(join_path(opt.out_dir, f));
    if (!graph.preprocess_dropped.empty()) report.notes.push_back(graph.preprocess_dropped);
    if (plan.int8() && (blob.dot == DotProduct::None || blob.dot == DotProduct::I8Pairs))
        report.notes.push_back(cat("int8 for ", opt.target, ": no integer dot product of 4 products on this target ",
                                   "(AVX512-VNNI, ARM dotprod), so its 1x1 convs sum pairs of 16-bit products ",
                                   "(vpmaddwd; NEON mul + sadalp): a little faster than fp32 on AVX2, slower than fp32 ",
                                   "on ARMv8.0 (docs/quantization.md)"));
    if (plan.fp16() && !(target.halide.arch == Halide::Target::ARM && target.halide.has_feature(Halide::Target::ARMFp16)))
        report.notes.push_back(cat("fp16 for ", opt.target, ": no half-precision arithmetic on this target, so the ",
                                   "compiler emulates it operation by operation (the same results, many times slower ",
                                   "than fp32); ARM targets with arm_fp16 compute halves natively (docs/quantization.md)"));
    if (plan.bf16() && blob.dot == DotProduct::None)
        report.notes.push_back(cat("bf16 for ", opt.target, ": no bfloat16 dot product on this target (AVX512-BF16: ",
                                   "avx512_sapphirerapids), so its 1x1 convs widen one input channel at a time to ",
                                   "float32 (docs/quantization.md)"));
    report.segments = static_cast<int>(plan.segments.size());
    report.weight_bytes = static_cast<int64_t>(blob.data.size()) * 4;
    report.scratch_bytes = plan.arena_floats * 4;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace shufflec
