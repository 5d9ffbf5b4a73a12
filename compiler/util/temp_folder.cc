#include "util/temp_folder.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

// Removes the entries of the open folder `fd` (recursively), async-signal-safe.
void remove_entries(int fd, int depth) {
    alignas(8) char buf[4096];
    for (bool removed = true; removed;) {  // deleting while reading may skip entries: read again
        removed = false;
        lseek(fd, 0, SEEK_SET);
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
                at += e->reclen;
                if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
                if (unlinkat(fd, n, 0) == 0) {
                    removed = true;
                } else if (errno == EISDIR && depth < 16) {
                    int sub = openat(fd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                    if (sub >= 0) {
                        remove_entries(sub, depth + 1);
                        close(sub);
                    }
                    if (unlinkat(fd, n, AT_REMOVEDIR) == 0) removed = true;
                }
            }
        }
    }
}

// The guarded folders, for the signal handler: fixed slots, no allocation.
constexpr int kSlots = 16;
char g_folders[kSlots][4096];
const int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
bool g_handlers_installed = false;

void on_signal(int sig) {
    for (auto &folder : g_folders)
        if (folder[0]) remove_tree(folder);
    signal(sig, SIG_DFL);
    raise(sig);
}

// Slots are changed with the signals blocked, so the handler never sees half a path.
struct SignalsBlocked {
    sigset_t previous;
    SignalsBlocked() {
        sigset_t set;
        sigemptyset(&set);
        for (int s : kSignals) sigaddset(&set, s);
        sigprocmask(SIG_BLOCK, &set, &previous);
    }
    ~SignalsBlocked() { sigprocmask(SIG_SETMASK, &previous, nullptr); }
};

void guard(const std::string &path) {
    SignalsBlocked blocked;
    if (!g_handlers_installed) {
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        for (int s : kSignals) sigaction(s, &sa, nullptr);
        g_handlers_installed = true;
    }
    if (path.size() >= sizeof g_folders[0]) return;  // too long to guard: the sweep still finds it
    for (auto &folder : g_folders)
        if (!folder[0]) {
            std::memcpy(folder, path.c_str(), path.size() + 1);
            return;
        }
}

void unguard(const std::string &path) {
    SignalsBlocked blocked;
    for (auto &folder : g_folders)
        if (path == folder) folder[0] = '\0';
}

bool process_alive(long pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

std::string temp_parent() {
    const char *t = std::getenv("TMPDIR");
    return t && *t == '/' ? t : "/tmp";
}

}  // namespace

void remove_tree(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        remove_entries(fd, 0);
        close(fd);
    }
    rmdir(path);
}

std::vector<std::string> stale_folders(const std::string &parent, const std::string &prefix) {
    std::vector<std::string> stale;
    DIR *d = opendir(parent.empty() ? "." : parent.c_str());
    if (!d) return stale;
    while (dirent *e = readdir(d)) {
        std::string n = e->d_name;
        if (n.compare(0, prefix.size(), prefix) != 0) continue;
        char *end = nullptr;
        long pid = std::strtol(n.c_str() + prefix.size(), &end, 10);
        if (!end || *end != '-' || pid == getpid() || process_alive(pid)) continue;
        stale.push_back(join_path(parent, n));
    }
    closedir(d);
    return stale;
}

TempFolder::TempFolder(const std::string &prefix, const std::string &parent_dir) {
    std::string parent = parent_dir.empty() ? temp_parent() : parent_dir;
    for (const auto &old : stale_folders(parent, prefix)) remove_tree(old.c_str());
    std::string pattern = join_path(parent, cat(prefix, getpid(), "-XXXXXX"));
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data()))
        fail("cannot create a temporary folder in ", in_quotes(parent, 300), ": ", std::strerror(errno));
    path_ = buf.data();
    guard(path_);
}

TempFolder::~TempFolder() {
    unguard(path_);
    if (!keep_) remove_tree(path_.c_str());
}

void TempFolder::keep() {
    keep_ = true;
    unguard(path_);
}

void detach_worker_from_parent_signals() {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (int s : kSignals) signal(s, SIG_DFL);
    for (auto &folder : g_folders) folder[0] = '\0';
}

}  // namespace shufflec
