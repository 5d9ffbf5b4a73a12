#include "util/workers.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <chrono>
#include <map>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"
#include "util/temp_folder.h"

namespace shufflec {

namespace {

void write_all(int fd, const std::string &s) {
    for (size_t done = 0; done < s.size();) {
        ssize_t n = write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<size_t>(n);
    }
}

}  // namespace

std::string worker_failure(const std::string &err, int wait_status, bool *internal_flag) {
    if (internal_flag) *internal_flag = false;
    // The rest of the line from `at` + `skip` (none: npos).
    auto line_from = [&](size_t at, size_t skip) {
        if (at == std::string::npos) return std::string();
        size_t end = err.find_first_of("\r\n", at);
        return err.substr(at + skip, end == std::string::npos ? std::string::npos : end - at - skip);
    };
    const std::string ours = "shufflec: error: ", internal = "shufflec: internal error: ", llvm = "LLVM ERROR: ";
    bool *internal_error_seen = internal_flag;
    if (std::string line = line_from(err.find(ours), ours.size()); !line.empty()) return line;
    // An internal error (Halide's, or a bug of ours): its message, without format_error's request to report.
    if (std::string line = line_from(err.find(internal), internal.size()); !line.empty()) {
        if (internal_error_seen) *internal_error_seen = true;
        return line.substr(0, line.find(kReportRequest));
    }
    if (std::string line = line_from(err.find(llvm), llvm.size()); !line.empty())
        return "LLVM could not write its output: " + line;
    if (WIFSIGNALED(wait_status)) {
        const char *name = strsignal(WTERMSIG(wait_status));
        return cat("a worker was killed by signal ", WTERMSIG(wait_status), " (", name ? name : "?", ")");
    }
    return cat("a worker failed (exit ", WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1, ")");
}

namespace {

struct Outcome {
    std::string start_error, failure;
    int failed_item = -1;  // the item a failed worker had begun (-1: none, or unknown)
    bool signaled = false; // ... killed by a signal (a crash in Halide or LLVM)
    bool internal = false;  // the failure is an internal error (exit 3, "please report")
    bool timed_out = false;
};

Outcome run_workers(const std::vector<std::vector<int>> &lists, const std::function<void(int)> &work,
                    const std::function<void(int)> &done, double timeout_s) {
    auto started = std::chrono::steady_clock::now();
    std::fflush(nullptr);
    pid_t parent = getpid();
    int done_pipe[2];
    if (pipe2(done_pipe, O_CLOEXEC) != 0) return {cat("cannot create a pipe: ", std::strerror(errno)), "", false};
    struct Worker {
        pid_t pid = -1;
        int err_fd = -1;
        std::string err;
        int status = 0;
    };
    std::vector<Worker> workers;
    std::string start_error;
    // Which worker runs each item, and how many of its items each finished:
    // a worker's first unfinished item is the one it was working on.
    std::map<int, size_t> worker_of;
    for (size_t i = 0; i < lists.size(); i++)
        for (int item : lists[i]) worker_of[item] = i;
    std::vector<size_t> finished(lists.size(), 0);
    for (const auto &list : lists) {
        int err_pipe[2];
        if (pipe2(err_pipe, O_CLOEXEC) != 0) {
            start_error = cat("cannot create a pipe: ", std::strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            close(err_pipe[0]), close(err_pipe[1]);
            start_error = cat("cannot start a worker: ", std::strerror(errno));
            break;
        }
        if (pid == 0) {
            detach_worker_from_parent_signals();
            if (getppid() != parent) _exit(1);
            dup2(err_pipe[1], 2);
            close(done_pipe[0]);
            int rc = 0;
            try {
                for (int item : list) {
                    work(item);
                    write_all(done_pipe[1], std::to_string(item) + "\n");
                }
            } catch (const std::exception &e) {
                std::fputs(format_error(e).c_str(), stderr);
                rc = 1;
            }
            std::fflush(nullptr);
            _exit(rc);
        }
        close(err_pipe[1]);
        Worker w;
        w.pid = pid;
        w.err_fd = err_pipe[0];
        workers.push_back(w);
    }
    close(done_pipe[1]);
    if (!start_error.empty())
        for (const auto &w : workers) kill(w.pid, SIGKILL);
    // Progress and stderr as they come (a worker that fills its stderr pipe must not block).
    std::vector<struct pollfd> fds(workers.size() + 1);
    fds[0] = {done_pipe[0], POLLIN, 0};
    for (size_t i = 0; i < workers.size(); i++) fds[i + 1] = {workers[i].err_fd, POLLIN, 0};
    size_t open_fds = fds.size();
    std::string pending;
    char buf[4096];
    Outcome outcome;
    while (open_fds > 0) {
        int wait_ms = -1;
        if (timeout_s > 0 && !outcome.timed_out) {
            double left = timeout_s - std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            if (left <= 0) {
                // Out of time: the workers die, their pipes close, the loop drains them.
                outcome.timed_out = true;
                for (const auto &w : workers) kill(w.pid, SIGKILL);
            } else {
                wait_ms = static_cast<int>(left * 1000) + 1;
            }
        }
        int ready = poll(fds.data(), fds.size(), wait_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (size_t i = 0; i < fds.size(); i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = read(fds[i].fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i > 0) {
                workers[i - 1].err.append(buf, static_cast<size_t>(got));
                continue;
            }
            pending.append(buf, static_cast<size_t>(got));
            for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
                int item = std::atoi(pending.substr(0, nl).c_str());
                if (auto it = worker_of.find(item); it != worker_of.end()) finished[it->second]++;
                done(item);
            }
        }
    }
    for (size_t i = 0; i < workers.size(); i++) {
        Worker &w = workers[i];
        while (waitpid(w.pid, &w.status, 0) < 0 && errno == EINTR) {
        }
        bool ok = WIFEXITED(w.status) && WEXITSTATUS(w.status) == 0;
        if (ok) {
            write_all(2, w.err);  // warnings pass through
        } else if (outcome.failure.empty()) {
            outcome.failure = worker_failure(w.err, w.status, &outcome.internal);
            // Killed without a message of its own (not LLVM's abort on a full disk, not the timeout).
            outcome.signaled = WIFSIGNALED(w.status) && !outcome.timed_out &&
                               outcome.failure.rfind("a worker was killed by signal", 0) == 0;
            if (finished[i] < lists[i].size()) outcome.failed_item = lists[i][finished[i]];
        }
    }
    outcome.start_error = start_error;
    return outcome;
}

}  // namespace

void run_in_workers(const std::vector<std::vector<int>> &lists, const std::function<void(int)> &work,
                    const std::function<void(int)> &done, const std::function<std::string(int)> &describe) {
    Outcome o = run_workers(lists, work, done, 0);
    if (!o.start_error.empty()) fail(o.start_error);
    // A crash names what the worker was compiling (its own errors name their place).
    if (o.signaled && describe && o.failed_item >= 0)
        fail(describe(o.failed_item), ": ", o.failure, " (a crash in Halide or LLVM)");
    if (o.internal) internal_error(o.failure);
    if (!o.failure.empty()) fail(o.failure);
}

WorkerOutcome run_in_worker(const std::function<void()> &work, double timeout_s) {
    Outcome o = run_workers({{0}}, [&](int) { work(); }, [](int) {}, timeout_s);
    if (o.timed_out) return {false, true, cat("took more than ", timeout_s, " s")};
    if (!o.start_error.empty()) return {false, false, o.start_error};
    if (!o.failure.empty()) return {false, false, o.internal ? "internal error: " + o.failure : o.failure};
    return {true, false, ""};
}

}  // namespace shufflec
