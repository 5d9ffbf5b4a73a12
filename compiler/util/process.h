// Running child programs: the LLVM tools of `compile`, benchmark binaries and
// the ssh/adb/qemu commands of runners, tuning candidates.
#pragma once

#include <string>
#include <vector>

namespace shufflec {

struct ProcessResult {
    int status = -1;         // exit status, 128 + signal if killed, -1 if it could not start
    bool timed_out = false;  // killed (with its process group) after the time limit
    std::string out, err;
};

struct ProcessOptions {
    std::string cwd;            // run in this folder ("" = ours)
    double timeout_s = 0;       // 0: no limit; else the process group gets SIGKILL after this long
    std::string input;          // written to its stdin (then closed)
    std::vector<std::string> env;  // NAME=VALUE added to the environment
};

// Runs argv (looked up in $PATH) with stdout and stderr captured. Both pipes
// are read as data arrives, so a child filling one while we wait on the other
// cannot deadlock. The child runs in its own process group, which a timeout
// kills whole; it dies with us (PR_SET_PDEATHSIG).
ProcessResult run_process(const std::vector<std::string> &argv, const ProcessOptions &options = {});

// The command as one line; arguments with unusual characters quoted and escaped.
std::string command_line(const std::vector<std::string> &argv);

// `s` quoted for a POSIX shell (for commands run through ssh/adb shell).
std::string shell_quote(const std::string &s);

}  // namespace shufflec
