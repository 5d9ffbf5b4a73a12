// One updating status line for long work (compile, tune, bench):
//   [7/21] stage3.2 ... ETA 9 s
// written to stderr with a carriage return, only when stderr is a terminal and
// the command is not --quiet; scripts and logs see nothing.
#pragma once

#include <chrono>
#include <string>

namespace shufflec {

class Progress {
public:
    // `enabled`: usually progress_wanted(quiet).
    Progress(std::string what, int total, bool enabled);
    ~Progress();
    Progress(const Progress &) = delete;
    Progress &operator=(const Progress &) = delete;

    // `done` of `total` finished; `detail` names what is being worked on.
    void update(int done, const std::string &detail);
    // "[counter] what detail ETA": for work whose caller knows the time left
    // better than done/total does (tune's phases); eta_s < 0 shows none.
    void show(const std::string &counter, const std::string &detail, double eta_s);
    // Clears the line (the caller prints its summary after).
    void finish();
    bool enabled() const { return enabled_; }

private:
    std::string what_;
    int total_;
    bool enabled_, shown_ = false;
    std::chrono::steady_clock::time_point start_;
};

// True when stderr is a terminal and `quiet` is not set.
bool progress_wanted(bool quiet);

}  // namespace shufflec
