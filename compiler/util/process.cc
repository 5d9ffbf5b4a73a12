#include "util/process.h"

#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"

extern char **environ;

namespace shufflec {

ProcessResult run_process(const std::vector<std::string> &argv, const ProcessOptions &options) {
    ProcessResult r;
    int out_pipe[2], err_pipe[2], in_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) return r;
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
        close(out_pipe[0]), close(out_pipe[1]);
        return r;
    }
    if (pipe2(in_pipe, O_CLOEXEC) != 0) {
        close(out_pipe[0]), close(out_pipe[1]), close(err_pipe[0]), close(err_pipe[1]);
        return r;
    }
    std::vector<std::string> env_strings;
    for (char **e = environ; *e; e++) env_strings.push_back(*e);
    for (const auto &e : options.env) env_strings.push_back(e);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], in_pipe[0], in_pipe[1]}) close(fd);
        return r;
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) {
            std::fprintf(stderr, "cannot enter %s: %s\n", options.cwd.c_str(), std::strerror(errno));
            _exit(127);
        }
        std::vector<char *> args, env;
        for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        for (auto &e : env_strings) env.push_back(const_cast<char *>(e.c_str()));
        env.push_back(nullptr);
        execvpe(args[0], args.data(), env.data());
        std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);  // also here: no race with the kill below
    close(out_pipe[1]), close(err_pipe[1]), close(in_pipe[0]);
    // Feed stdin from the same loop (a large input must not block us either).
    size_t written = 0;
    int in_fd = in_pipe[1];
    if (options.input.empty()) close(in_fd), in_fd = -1;
    else fcntl(in_fd, F_SETFL, O_NONBLOCK);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.timeout_s);
    struct pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
    std::string *sinks[2] = {&r.out, &r.err};
    int open_pipes = 2;
    char buf[65536];
    signal(SIGPIPE, SIG_IGN);
    while (open_pipes > 0) {
        int wait_ms = -1;
        if (options.timeout_s > 0) {
            auto left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) {
                kill(-pid, SIGKILL);
                r.timed_out = true;
                break;
            }
            wait_ms = static_cast<int>(left * 1000) + 1;
        }
        fds[2].fd = in_fd;
        if (poll(fds, 3, wait_ms) < 0) {
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
        if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t put = write(in_fd, options.input.data() + written, options.input.size() - written);
            if (put > 0) written += static_cast<size_t>(put);
            if (put < 0 && errno != EAGAIN && errno != EINTR) written = options.input.size();
            if (written >= options.input.size()) close(in_fd), in_fd = -1;
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    if (in_fd >= 0) close(in_fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (r.timed_out) kill(-pid, SIGKILL);  // stragglers of the group
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return r;
}

std::string command_line(const std::vector<std::string> &argv) {
    std::string s;
    for (const auto &a : argv) {
        bool plain = !a.empty();
        for (unsigned char ch : a) plain = plain && (std::isalnum(ch) || std::strchr("_./=+-:,@%", ch));
        s += (s.empty() ? "" : " ") + (plain ? a : in_quotes(a, 300));
    }
    return s;
}

std::string shell_quote(const std::string &s) {
    std::string out = "'";
    for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return out + "'";
}

}  // namespace shufflec
