#include "util/file_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

namespace shufflec {

std::string read_file(const std::string &path, const char *what) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail("cannot read ", what, " '", path, "': it is a folder");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open ", what, " '", path, "': ", std::strerror(errno));
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) fail("cannot read ", what, " '", path, "'");
    return s.str();
}

void write_file_atomic(const std::string &path, const std::string &contents) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) fail("cannot create '", tmp, "': ", std::strerror(errno));
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        out.flush();
        if (!out) {
            std::remove(tmp.c_str());
            fail("cannot write '", path, "'");
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        std::remove(tmp.c_str());
        fail("cannot move '", tmp, "' to '", path, "': ", std::strerror(e));
    }
}

std::string dirname_of(const std::string &path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string join_path(const std::string &dir, const std::string &name) {
    if (dir.empty() || (!name.empty() && name[0] == '/')) return name;
    return dir + "/" + name;
}

}  // namespace shufflec
