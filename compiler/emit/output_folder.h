// How `shufflec compile` replaces its outputs so that an interrupted compile
// never leaves a mix of two compiles behind.
//
// Everything is built in a staging folder inside the output folder
// (.shufflec-tmp-<pid>-XXXXXX, same file system, so renames are atomic). It is
// removed when the compile fails, and on SIGINT/SIGTERM/SIGHUP by a signal
// handler. Publishing writes a manifest (.publish, the list of files) into the
// staging folder, then renames the files into place with signals blocked,
// header last. A compile killed with SIGKILL in the middle of that is finished
// by the next compile into the same folder (recover_output_folder rolls the
// manifest forward); a staging folder of a dead process without a manifest is
// deleted. And a header from one compile never links with a library from
// another (NAME.h references the library's build stamp, docs/api.md).
#pragma once

#include <string>
#include <vector>

namespace shufflec {

class StagingDir {
public:
    // Creates the staging folder in `out_dir` (which must exist).
    explicit StagingDir(const std::string &out_dir);
    ~StagingDir();
    StagingDir(const StagingDir &) = delete;
    StagingDir &operator=(const StagingDir &) = delete;

    void keep();  // --save-temps: leave it behind
    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const;
    // Moves `files` (names inside the staging folder) into the output folder,
    // in order; the last one should be the file that makes the set usable (the header).
    void publish(const std::vector<std::string> &files);

private:
    std::string out_dir_, path_;
    bool keep_ = false;
};

// Finishes or removes what interrupted compiles left in `out_dir`: staging
// folders of processes that no longer run. Returns how many it handled.
int recover_output_folder(const std::string &out_dir);

// For forked workers: die with the parent, and leave signals to the defaults
// (only the parent cleans up the staging folder).
void detach_worker_from_parent_signals();

}  // namespace shufflec
