#include "util/progress.h"

#include <cstdio>
#include <unistd.h>

#include "util/error.h"

namespace shufflec {

Progress::Progress(std::string what, int total, bool enabled)
    : what_(std::move(what)), total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

bool progress_wanted(bool quiet) { return !quiet && isatty(2); }

void Progress::update(int done, const std::string &detail) {
    if (!enabled_) return;
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string eta;
    if (done > 0 && done < total_) {
        double left = elapsed / done * (total_ - done);
        eta = left < 90 ? cat(" ETA ", static_cast<int>(left + 0.5), " s") : cat(" ETA ", static_cast<int>(left / 60 + 0.5), " min");
    }
    std::string line = cat("[", done, "/", total_, "] ", what_, " ", one_line(detail), eta);
    if (line.size() > 100) line = line.substr(0, 97) + "...";
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    shown_ = true;
}

void Progress::finish() {
    if (!shown_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    shown_ = false;
}

}  // namespace shufflec
