#include "emit/toolchain.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include "util/error.h"
#include "util/process.h"

#ifndef SHUFFLEC_CLANG
#define SHUFFLEC_CLANG "clang-14"
#endif
#ifndef SHUFFLEC_LLVM_AR
#define SHUFFLEC_LLVM_AR "llvm-ar-14"
#endif
#ifndef SHUFFLEC_LD_LLD
#define SHUFFLEC_LD_LLD "ld.lld-14"
#endif
#ifndef SHUFFLEC_HALIDE_INCLUDE
#define SHUFFLEC_HALIDE_INCLUDE "/usr/include/halide14"
#endif

namespace shufflec {

namespace {

std::string env_or(const char *var, const char *fallback) {
    const char *v = std::getenv(var);
    return v && *v ? v : fallback;
}

}  // namespace

std::string run_tool_output(const std::vector<std::string> &argv, const std::string &what, const std::string &cwd) {
    ProcessOptions options;
    options.cwd = cwd;
    ProcessResult r = run_process(argv, options);
    if (r.status == 0) return r.out;
    // One line: the tool, how it ended and its first error message; its whole
    // output is the error's details (printed with SHUFFLEC_VERBOSE=1).
    std::string why = r.status > 128 ? cat("killed by signal ", r.status - 128) : cat("exit ", r.status);
    std::string said;
    for (size_t pos = 0; pos < r.err.size() && said.empty();) {
        size_t end = r.err.find('\n', pos);
        std::string line = r.err.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        std::string lower = line;
        for (char &ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower.find("error") != std::string::npos) said = line.substr(0, 300);
        pos = end == std::string::npos ? r.err.size() : end + 1;
    }
    std::string tool = argv.empty() ? "" : argv[0].substr(argv[0].find_last_of('/') + 1);
    throw Error(cat(what, " failed: ", tool, " ", why, said.empty() ? "" : ": " + said), r.err);
}

void run_tool(const std::vector<std::string> &argv, const std::string &what, const std::string &cwd) {
    run_tool_output(argv, what, cwd);
}

Toolchain find_toolchain() {
    Toolchain t;
    t.clang = env_or("SHUFFLEC_CLANG", SHUFFLEC_CLANG);
    t.llvm_ar = env_or("SHUFFLEC_LLVM_AR", SHUFFLEC_LLVM_AR);
    t.ld_lld = env_or("SHUFFLEC_LD_LLD", SHUFFLEC_LD_LLD);
    auto beside_ar = [&](const std::string &tool) {
        size_t at = t.llvm_ar.rfind("llvm-ar");
        return at == std::string::npos ? tool : t.llvm_ar.substr(0, at) + tool + t.llvm_ar.substr(at + 7);
    };
    t.llvm_objcopy = beside_ar("llvm-objcopy");
    t.llvm_nm = beside_ar("llvm-nm");
    t.llvm_objdump = beside_ar("llvm-objdump");
    t.llvm_mca = beside_ar("llvm-mca");
    t.llc = beside_ar("llc");
    t.halide_include = SHUFFLEC_HALIDE_INCLUDE;
    std::string dir = run_tool_output({t.clang, "-print-resource-dir"}, "finding clang's headers");
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
    t.clang_resource_dir = dir;
    return t;
}

}  // namespace shufflec
