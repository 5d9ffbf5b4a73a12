#include "util/install_paths.h"

#include <cstdlib>
#include <climits>
#include <unistd.h>

#include "util/file_io.h"

#ifndef SHUFFLEC_SCHEDULE_DIR
#define SHUFFLEC_SCHEDULE_DIR "schedules"
#endif

namespace shufflec {

std::string executable_dir() {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "";
    buf[n] = '\0';
    return dirname_of(buf);
}

std::string schedules_dir() {
    const char *env = std::getenv("SHUFFLEC_SCHEDULES_DIR");
    if (env && *env) return env;
    std::string exe = executable_dir();
    if (!exe.empty()) {
        std::string installed = exe + "/../share/shufflec/schedules";
        if (access(installed.c_str(), R_OK) == 0) return installed;
    }
    return SHUFFLEC_SCHEDULE_DIR;
}

std::string user_schedules_dir() {
    const char *env = std::getenv("SHUFFLEC_USER_SCHEDULES_DIR");
    if (env && *env) return env;
    const char *data = std::getenv("XDG_DATA_HOME");
    if (data && *data == '/') return std::string(data) + "/shufflec/schedules";
    const char *home = std::getenv("HOME");
    if (home && *home == '/') return std::string(home) + "/.local/share/shufflec/schedules";
    return "";
}

}  // namespace shufflec
