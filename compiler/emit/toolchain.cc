#include "emit/toolchain.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
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

// Runs argv (in folder `cwd` unless empty) with stdout and stderr captured;
// returns the exit status (or -1 if it could not start). Both pipes are read
// as data arrives (poll), so a tool that fills one while we wait on the other
// cannot deadlock.
int run_capture(const std::vector<std::string> &argv, const std::string &cwd, std::string &out, std::string &err) {
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) return -1;
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
        close(out_pipe[0]), close(out_pipe[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(out_pipe[0]), close(out_pipe[1]), close(err_pipe[0]), close(err_pipe[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        if (!cwd.empty() && chdir(cwd.c_str()) != 0) {
            std::fprintf(stderr, "cannot enter %s: %s\n", cwd.c_str(), std::strerror(errno));
            _exit(127);
        }
        std::vector<char *> args;
        for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    close(out_pipe[1]), close(err_pipe[1]);
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string *sinks[2] = {&out, &err};
    int open_pipes = 2;
    char buf[65536];
    while (open_pipes > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = read(fds[i].fd, buf, sizeof buf);
            if (got > 0) {
                sinks[i]->append(buf, static_cast<size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_pipes--;
            }
        }
    }
    for (auto &f : fds)
        if (f.fd >= 0) close(f.fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// The command as one line; arguments with unusual characters are quoted and escaped.
std::string command_line(const std::vector<std::string> &argv) {
    std::string s;
    for (const auto &a : argv) {
        bool plain = !a.empty();
        for (unsigned char ch : a) plain = plain && (std::isalnum(ch) || std::strchr("_./=+-:,@%", ch));
        s += (s.empty() ? "" : " ") + (plain ? a : in_quotes(a, 300));
    }
    return s;
}

}  // namespace

std::string run_tool_output(const std::vector<std::string> &argv, const std::string &what, const std::string &cwd) {
    std::string out, err;
    int rc = run_capture(argv, cwd, out, err);
    if (rc != 0) throw Error(cat(what, " failed (exit ", rc, "): ", command_line(argv)), err);
    return out;
}

void run_tool(const std::vector<std::string> &argv, const std::string &what, const std::string &cwd) {
    run_tool_output(argv, what, cwd);
}

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
