#include "measure/bench_program.h"

#include <cstdlib>
#include <dirent.h>
#include <regex>
#include <unistd.h>
#include <cctype>

#include "emit/embedded_files.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/process.h"

namespace shufflec {

namespace {

// The value of `#define NAME_<key> ...` in a generated header ("" if absent).
std::string header_value(const std::string &header, const std::string &macro) {
    std::regex re("#define " + macro + " ([^ \\n]+)");
    std::smatch m;
    return std::regex_search(header, m, re) ? m[1].str() : "";
}

std::string upper(const std::string &s) {
    std::string u;
    for (char ch : s) u += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return u;
}

}  // namespace

std::string target_arch(const std::string &target) { return target.rfind("arm", 0) == 0 ? "arm-64" : "x86-64"; }

CompiledModel read_compiled_model(const std::string &dir, const std::string &name) {
    CompiledModel m;
    m.dir = dir;
    m.name = name;
    if (m.name.empty()) {
        // The one NAME.h beside a NAME.a.
        std::vector<std::string> found;
        if (DIR *d = opendir(dir.c_str())) {
            while (dirent *e = readdir(d)) {
                std::string n = e->d_name;
                if (n.size() > 2 && n.compare(n.size() - 2, 2, ".h") == 0 && n != "shufflec_runtime.h" &&
                    n != "HalideRuntime.h")
                    found.push_back(n.substr(0, n.size() - 2));
            }
            closedir(d);
        } else {
            fail("cannot read folder ", in_quotes(dir));
        }
        if (found.size() != 1)
            fail(in_quotes(dir), ": ", found.empty() ? "holds no compiled model (NAME.h and NAME.a from shufflec compile)"
                                                     : "holds several models: give --name");
        m.name = found[0];
    }
    std::string header = read_file(join_path(dir, m.name + ".h"), "model header");
    std::string U = upper(m.name);
    std::string target = header_value(header, U + "_TARGET");
    if (target.size() < 2 || header_value(header, U + "_MACS").empty())
        fail(join_path(dir, m.name + ".h"), ": not a header written by this version of shufflec compile");
    m.target = target.substr(1, target.size() - 2);
    m.macs = std::atoll(header_value(header, U + "_MACS").c_str());
    m.external_weights = header_value(header, U + "_EXTERNAL_WEIGHTS") == "1";
    m.unit_profile = header_value(header, U + "_PROFILE") == "1";
    m.halide_profile = header_value(header, U + "_HALIDE_PROFILE") == "1";
    if (access(join_path(dir, m.name + ".a").c_str(), R_OK) != 0)
        fail(in_quotes(dir), ": has ", m.name, ".h but no ", m.name, ".a (compile without --emit obj)");
    return m;
}

std::vector<std::string> bench_c_compiler(const std::string &arch, const std::string &target) {
    const char *env = std::getenv("SHUFFLEC_CC");
    std::vector<std::string> cc = {env && *env ? env : arch == "arm-64" ? "aarch64-linux-gnu-gcc" : "cc", "-O2",
                                   "-std=gnu11", "-DSHUFFLEC_BENCH_VECTOR_BYTES=16"};
    // The FMA peak loop uses the target's vector width and FMA instructions.
    if (target == "x86-64-linux") cc.back() = "-DSHUFFLEC_BENCH_VECTOR_BYTES=32", cc.insert(cc.end(), {"-mavx2", "-mfma"});
    if (target == "x86-64-linux-avx512")
        cc.back() = "-DSHUFFLEC_BENCH_VECTOR_BYTES=64", cc.insert(cc.end(), {"-mavx512f", "-mfma"});
    return cc;
}

std::string build_bench_program(const CompiledModel &model, const std::string &arch, bool static_link,
                                const std::string &work_dir) {
    if (arch != target_arch(model.target))
        fail("the model was compiled for ", model.target, " but the runner runs ", arch,
             " binaries (compile for its target)");
    std::string source = join_path(work_dir, "bench_main.c");
    write_file_atomic(source, embedded_file("bench_main.c"));
    write_file_atomic(join_path(work_dir, "bench_common.h"), embedded_file("bench_common.h"));
    std::string program = join_path(work_dir, "shufflec-bench-" + model.name);
    std::vector<std::string> argv = bench_c_compiler(arch, model.target);
    argv.insert(argv.end(), {"-ffp-contract=fast", "-I", model.dir, "-DSHUFFLEC_BENCH_MODEL=" + model.name,
                             "-DSHUFFLEC_BENCH_UPPER=" + upper(model.name),
                             "-DSHUFFLEC_BENCH_HEADER=\"" + model.name + ".h\""});
    argv.insert(argv.end(), {source, join_path(model.dir, model.name + ".a"), "-lpthread", "-lm", "-o", program});
    if (static_link) argv.push_back("-static");
    ProcessResult r = run_process(argv);
    if (r.status != 0)
        throw Error(cat("building the benchmark program failed (exit ", r.status, "): ", command_line(argv)), r.err);
    return program;
}

nlohmann::json run_bench_program(Runner &runner, const CompiledModel &model, const std::string &program,
                                 const BenchOptions &options) {
    std::vector<std::string> files = {program};
    std::vector<std::string> args = {"--runs", std::to_string(options.runs), "--warmup", std::to_string(options.warmup)};
    std::string threads;
    for (int t : options.threads) threads += (threads.empty() ? "" : ",") + std::to_string(t);
    args.insert(args.end(), {"--threads", threads});
    if (options.peak) args.push_back("--peak");
    if (!options.report) args.push_back("--no-report");
    if (model.external_weights) {
        files.push_back(join_path(model.dir, model.name + ".weights"));
        args.insert(args.end(), {"--weights", model.name + ".weights"});
    }
    runner.put(files);
    std::string name = program.substr(program.find_last_of('/') + 1);
    ProcessResult r = runner.run(name, args, options.timeout_s);
    if (r.timed_out) fail("the benchmark on ", runner.name(), " did not finish within ", options.timeout_s, " s");
    if (r.status != 0)
        throw Error(cat("the benchmark on ", runner.name(), " failed (exit ", r.status, ")"), r.err);
    if (!options.report) return nlohmann::json::object();
    try {
        return nlohmann::json::parse(r.out);
    } catch (const nlohmann::json::exception &) {
        throw Error(cat("the benchmark on ", runner.name(), " printed no valid report"), r.out + r.err);
    }
}

BlockMap count_inference(Runner &runner, const CompiledModel &model, const std::string &program,
                         const std::string &dir) {
    if (dir.find(',') != std::string::npos)
        fail("counting: the temporary folder ", in_quotes(dir), " has a comma, which qemu's -plugin option cannot take");
    std::string plugin = build_count_plugin(dir);
    BlockMap runs[2];
    for (int k = 0; k < 2; k++) {
        std::string out = join_path(dir, cat("count", k + 1, ".txt"));
        runner.set_qemu_plugin(cat(plugin, ",out=", out));
        BenchOptions o;
        o.threads = {1};
        o.runs = k + 1;
        o.warmup = 1;
        o.peak = false;
        o.report = false;
        run_bench_program(runner, model, program, o);
        runs[k] = read_count_file(out);
    }
    runner.set_qemu_plugin("");
    return block_difference(runs[1], runs[0]);
}

std::vector<int> parse_int_list(const std::string &text, const std::string &flag, int min, int max) {
    std::vector<int> values;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        // Digits only, as every numeric flag: no " 5", "+5" or "5x".
        bool digits = !part.empty() && part.size() <= 10 && part.find_first_not_of("0123456789") == std::string::npos;
        long long v = digits ? std::atoll(part.c_str()) : 0;
        if (!digits || v < min || v > max)
            fail(flag, ": expected numbers from ", min, " to ", max, " separated by commas, got ", in_quotes(text));
        values.push_back(static_cast<int>(v));
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return values;
}

}  // namespace shufflec
