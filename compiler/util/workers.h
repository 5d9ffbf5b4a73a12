// Work run in forked worker processes: Halide compiles. They are kept apart
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
// it), after every worker has ended.
void run_in_workers(const std::vector<std::vector<int>> &lists, const std::function<void(int)> &work,
                    const std::function<void(int)> &done);

// The one line that says why a worker (or child) failed, from its stderr and
// wait status: its shufflec error, LLVM's fatal error, or its signal.
std::string worker_failure(const std::string &err, int wait_status);

}  // namespace shufflec
