// How `shufflec compile` replaces its outputs so that an interrupted compile
// never leaves a mix of two compiles behind.
//
// Everything is built in a staging folder inside the output folder
// (.shufflec-tmp-<pid>-XXXXXX, same file system, so renames are atomic), a
// TempFolder: removed when the compile fails, and on SIGINT/SIGTERM/SIGHUP. Publishing writes a manifest (.publish, the list of files) into the
// staging folder, then renames the files into place with signals blocked,
// header last. A compile killed with SIGKILL in the middle of that is finished
// by the next compile into the same folder (recover_output_folder rolls the
// manifest forward); a staging folder of a dead process without a manifest is
// deleted. And a header from one compile never links with a library from
// another (NAME.h references the library's build stamp, docs/api.md).
#pragma once

#include <string>
#include <vector>

#include "util/temp_folder.h"

namespace shufflec {

class StagingDir {
public:
    // Creates the staging folder in `out_dir` (which must exist).
    explicit StagingDir(const std::string &out_dir);

    void keep();  // --save-temps: leave it behind
    const std::string &path() const { return folder_.path(); }
    std::string file(const std::string &name) const;
    // Moves `files` (names inside the staging folder) into the output folder,
    // in order; the last one should be the file that makes the set usable (the header).
    void publish(const std::vector<std::string> &files);

private:
    std::string out_dir_;
    TempFolder folder_;
};

// Finishes or removes what interrupted compiles left in `out_dir`: staging
// folders of processes that no longer run. Returns how many it handled.
int recover_output_folder(const std::string &out_dir);

}  // namespace shufflec
