// Folders that must not outlive the run that made them, however it ends:
// compile's staging folder, tune's work folder, a runner's folder, bench's
// scratch folder.
//
// - A normal return or an error removes a folder (TempFolder's destructor).
// - SIGINT, SIGTERM and SIGHUP remove every guarded folder (async-signal-safe
//   calls only) before the signal's default action ends the process.
// - SIGKILL cannot be caught: each folder's name carries its owner's pid
//   (<prefix><pid>-XXXXXX), and the next TempFolder of the same prefix removes
//   the folders whose owner no longer runs.
#pragma once

#include <string>
#include <vector>

namespace shufflec {

class TempFolder {
public:
    // Creates <parent>/<prefix><pid>-XXXXXX (parent: $TMPDIR or /tmp when empty)
    // after sweeping stale folders of the same prefix there.
    explicit TempFolder(const std::string &prefix, const std::string &parent = "");
    ~TempFolder();
    TempFolder(const TempFolder &) = delete;
    TempFolder &operator=(const TempFolder &) = delete;

    const std::string &path() const { return path_; }
    // Leaves the folder behind (--save-temps, or a publish that must be rolled forward).
    void keep();

private:
    std::string path_;
    bool keep_ = false;
};

// Removes `path` and everything below it, with async-signal-safe calls only.
void remove_tree(const char *path);

// Folders named <prefix><pid>-... in `parent` whose pid no longer runs (the
// leftovers of killed runs), for the caller to finish or remove.
std::vector<std::string> stale_folders(const std::string &parent, const std::string &prefix);

// For forked workers: die with the parent and leave the signals to their
// defaults (only the parent removes the folders).
void detach_worker_from_parent_signals();

}  // namespace shufflec
