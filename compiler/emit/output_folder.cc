#include "emit/output_folder.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <unistd.h>

#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

constexpr const char *kStagingPrefix = ".shufflec-tmp-";
constexpr const char *kManifest = ".publish";

// Renames the manifest's files from `staging` into `out_dir`, in order.
void roll_forward(const std::string &staging, const std::string &out_dir, const std::string &manifest) {
    std::istringstream lines(manifest);
    std::string name;
    while (std::getline(lines, name)) {
        if (name.empty() || name.find('/') != std::string::npos) continue;
        std::string from = join_path(staging, name);
        if (access(from.c_str(), F_OK) == 0) std::rename(from.c_str(), join_path(out_dir, name).c_str());
    }
}

// Test hook: $SHUFFLEC_TEST_KILL_AFTER_PUBLISHING=K makes the compile kill
// itself (SIGKILL) after moving K files into place, to test recovery.
int kill_after_publishing() {
    const char *v = std::getenv("SHUFFLEC_TEST_KILL_AFTER_PUBLISHING");
    return v && *v ? std::atoi(v) : -1;
}

}  // namespace

StagingDir::StagingDir(const std::string &out_dir) : out_dir_(out_dir), folder_(kStagingPrefix, out_dir.empty() ? "." : out_dir) {}

void StagingDir::keep() { folder_.keep(); }

std::string StagingDir::file(const std::string &name) const { return join_path(folder_.path(), name); }

void StagingDir::publish(const std::vector<std::string> &files) {
    std::string manifest;
    for (const auto &f : files) manifest += f + "\n";
    write_file_atomic(file(kManifest), manifest);
    // From here on the set is complete: a kill finishes at the next compile
    // (roll forward); a signal we can catch waits until the renames are done.
    sigset_t all, previous;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &previous);
    int kill_after = kill_after_publishing();
    int moved = 0;
    std::string error;
    for (const auto &f : files) {
        if (kill_after >= 0 && moved == kill_after) raise(SIGKILL);
        if (std::rename(file(f).c_str(), join_path(out_dir_, f).c_str()) != 0) {
            error = cat("cannot move ", in_quotes(f), " into ", in_quotes(out_dir_), ": ", std::strerror(errno));
            break;
        }
        moved++;
    }
    if (error.empty()) std::remove(file(kManifest).c_str());
    else folder_.keep();  // the manifest stays: the next compile finishes the set
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    if (!error.empty()) fail(error);
}

int recover_output_folder(const std::string &out_dir) {
    std::vector<std::string> stale = stale_folders(out_dir.empty() ? "." : out_dir, kStagingPrefix);
    for (const auto &staging : stale) {
        std::string manifest_path = join_path(staging, kManifest);
        if (access(manifest_path.c_str(), R_OK) == 0) roll_forward(staging, out_dir, read_file(manifest_path));
        remove_tree(staging.c_str());
    }
    return static_cast<int>(stale.size());
}

}  // namespace shufflec
