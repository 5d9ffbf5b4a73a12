#include "emit/output_folder.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

constexpr const char *kStagingPrefix = ".shufflec-tmp-";
constexpr const char *kManifest = ".publish";

// Removes a flat folder and its files using only async-signal-safe calls
// (open, getdents64, unlinkat, rmdir), so the signal handler can use it too.
void remove_flat_folder(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        alignas(8) char buf[4096];
        for (;;) {
            long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
            if (got <= 0) break;
            for (long at = 0; at < got;) {
                struct Entry {
                    uint64_t ino;
                    int64_t off;
                    unsigned short reclen;
                    unsigned char type;
                    char name[1];
                };
                const Entry *e = reinterpret_cast<const Entry *>(buf + at);
                const char *n = e->name;
                bool dots = n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
                if (!dots) unlinkat(fd, n, 0);
                at += e->reclen;
            }
        }
        close(fd);
    }
    rmdir(path);
}

// The staging folder a signal handler must remove (one compile at a time per process).
char g_staging[4096];
volatile sig_atomic_t g_publishing = 0;
const int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[3];

void on_signal(int sig) {
    if (g_staging[0] && !g_publishing) remove_flat_folder(g_staging);
    signal(sig, SIG_DFL);
    raise(sig);
}

void install_handlers() {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++) sigaction(kSignals[i], &sa, &g_previous[i]);
}

void restore_handlers() {
    for (int i = 0; i < 3; i++) sigaction(kSignals[i], &g_previous[i], nullptr);
}

bool process_alive(long pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

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

StagingDir::StagingDir(const std::string &out_dir) : out_dir_(out_dir) {
    std::string pattern = join_path(out_dir.empty() ? "." : out_dir, cat(kStagingPrefix, getpid(), "-XXXXXX"));
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) fail("cannot create a temporary folder in ", in_quotes(out_dir), ": ", std::strerror(errno));
    path_ = buf.data();
    if (path_.size() < sizeof g_staging) {
        std::memcpy(g_staging, path_.c_str(), path_.size() + 1);
        install_handlers();
    }
}

StagingDir::~StagingDir() {
    restore_handlers();
    g_staging[0] = '\0';
    if (!keep_) remove_flat_folder(path_.c_str());
}

void StagingDir::keep() { keep_ = true; }

std::string StagingDir::file(const std::string &name) const { return join_path(path_, name); }

void StagingDir::publish(const std::vector<std::string> &files) {
    std::string manifest;
    for (const auto &f : files) manifest += f + "\n";
    write_file_atomic(file(kManifest), manifest);
    // From here on the set is complete: a kill finishes at the next compile
    // (roll forward); a signal we can catch waits until the renames are done.
    sigset_t all, previous;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &previous);
    g_publishing = 1;
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
    g_publishing = 0;
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    if (!error.empty()) {
        keep_ = true;  // the manifest stays: the next compile finishes the set
        fail(error);
    }
}

int recover_output_folder(const std::string &out_dir) {
    DIR *d = opendir(out_dir.empty() ? "." : out_dir.c_str());
    if (!d) return 0;
    std::vector<std::string> stale;
    size_t prefix = std::strlen(kStagingPrefix);
    while (dirent *e = readdir(d)) {
        std::string n = e->d_name;
        if (n.compare(0, prefix, kStagingPrefix) != 0) continue;
        long pid = std::strtol(n.c_str() + prefix, nullptr, 10);
        if (pid == getpid() || process_alive(pid)) continue;
        stale.push_back(n);
    }
    closedir(d);
    for (const auto &n : stale) {
        std::string staging = join_path(out_dir, n);
        std::string manifest_path = join_path(staging, kManifest);
        if (access(manifest_path.c_str(), R_OK) == 0) roll_forward(staging, out_dir, read_file(manifest_path));
        remove_flat_folder(staging.c_str());
    }
    return static_cast<int>(stale.size());
}

void detach_worker_from_parent_signals() {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int sig : kSignals) signal(sig, SIG_DFL);
    g_staging[0] = '\0';
}

}  // namespace shufflec
