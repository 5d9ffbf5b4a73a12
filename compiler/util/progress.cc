#include "util/progress.h"

#include <cstdio>
#include <unistd.h>

#include "util/error.h"

namespace shufflec {

Progress::Progress(std::string what, int total, bool enabled)
    : what_(std::move(what)), total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

bool progress_wanted(bool quiet) { return !quiet && isatty(2); }

namespace {

std::string eta_text(double left) {
    if (left < 0) return "";
    if (left < 90) return cat(" ETA ", static_cast<int>(left + 0.5), " s");
    return cat(" ETA ", static_cast<int>(left / 60 + 0.5), " min");
}

}  // namespace

void Progress::update(int done, const std::string &detail) {
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    show(cat(done, "/", total_), detail, done > 0 && done < total_ ? elapsed / done * (total_ - done) : -1);
}

void Progress::show(const std::string &counter, const std::string &detail, double eta_s) {
    if (!enabled_) return;
    std::string eta = eta_text(eta_s), line = cat("[", counter, "] ", what_, " ", one_line(detail));
    if (line.size() + eta.size() > 110) line = line.substr(0, 107 - eta.size()) + "...";
    line += eta;
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
