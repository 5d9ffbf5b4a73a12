// Work run in forked worker processes: Halide compiles (compile's pipelines,
// tune's candidates). They are kept apart
// from the compiler's own process because LLVM ends the process (abort) when
// it cannot write an object, e.g. on a full disk; a worker's death becomes one
// error line here, and the caller's cleanup (its staging folder) still runs.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace shufflec {

// Runs each list of `lists` in a worker of its own (the lists in parallel, the
// items of a list in order): work(item) in the worker, done(item) here as each
// item finishes. Workers die with this process. Their stderr is read here: on
// success it is passed on; on failure the first error is thrown as one line
// (a shufflec::Error of the worker, LLVM's message, or the signal that killed
// it, after describe(item) of the item it was working on, where given), after
// every worker has ended.
void run_in_workers(const std::vector<std::vector<int>> &lists, const std::function<void(int)> &work,
                    const std::function<void(int)> &done,
                    const std::function<std::string(int)> &describe = nullptr);

// Runs work() in one worker, at most `timeout_s` seconds (0: no limit; past
// it the worker is killed): a crash, an error or an endless loop in Halide or
// LLVM becomes an outcome, not the caller's end (the tuner's candidates).
struct WorkerOutcome {
    bool ok = false;
    bool timed_out = false;
    std::string error;  // one line, as worker_failure says it
};
WorkerOutcome run_in_worker(const std::function<void()> &work, double timeout_s);

// The one line that says why a worker (or child) failed, from its stderr and
// wait status: its shufflec error, its internal error (then *internal is set),
// LLVM's fatal error, or its signal.
std::string worker_failure(const std::string &err, int wait_status, bool *internal = nullptr);

}  // namespace shufflec
