#include "emit/toolchain.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"

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

// Runs argv with stdout and stderr captured; returns the exit status (or -1 if it could not start).
int run_capture(const std::vector<std::string> &argv, std::string &out, std::string &err) {
    int out_pipe[2], err_pipe[2];
    if (pipe(out_pipe) != 0) return -1;
    if (pipe(err_pipe) != 0) {
        close(out_pipe[0]), close(out_pipe[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(out_pipe[0]), close(err_pipe[0]), close(out_pipe[1]), close(err_pipe[1]);
        std::vector<char *> args;
        for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    close(out_pipe[1]), close(err_pipe[1]);
    // Drain both pipes (stderr is small; read stdout first, then stderr).
    char buf[4096];
    ssize_t got;
    while ((got = read(out_pipe[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(got));
    while ((got = read(err_pipe[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<size_t>(got));
    close(out_pipe[0]), close(err_pipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string command_line(const std::vector<std::string> &argv) {
    std::string s;
    for (const auto &a : argv) s += (s.empty() ? "" : " ") + a;
    return s;
}

}  // namespace

std::string run_tool_output(const std::vector<std::string> &argv, const std::string &what) {
    std::string out, err;
    int rc = run_capture(argv, out, err);
    if (rc != 0)
        fail(what, " failed (exit ", rc, "): ", command_line(argv), err.empty() ? "" : "\n", err);
    return out;
}

void run_tool(const std::vector<std::string> &argv, const std::string &what) { run_tool_output(argv, what); }

Toolchain find_toolchain() {
    Toolchain t;
    t.clang = env_or("SHUFFLEC_CLANG", SHUFFLEC_CLANG);
    t.llvm_ar = env_or("SHUFFLEC_LLVM_AR", SHUFFLEC_LLVM_AR);
    t.ld_lld = env_or("SHUFFLEC_LD_LLD", SHUFFLEC_LD_LLD);
    t.halide_include = SHUFFLEC_HALIDE_INCLUDE;
    std::string dir = run_tool_output({t.clang, "-print-resource-dir"}, "finding clang's headers");
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
    t.clang_resource_dir = dir;
    return t;
}

}  // namespace shufflec
