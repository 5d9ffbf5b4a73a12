#include "util/file_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

namespace shufflec {

std::string read_file(const std::string &path, const char *what, int64_t limit) {
    // O_NONBLOCK: opening a pipe nobody writes to must not wait (reads then end at once).
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) fail("cannot open ", what, " ", in_quotes(path, 300), ": ", std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer{fd};
    struct stat st;
    if (fstat(fd, &st) != 0) fail("cannot read ", what, " ", in_quotes(path, 300), ": ", std::strerror(errno));
    if (S_ISDIR(st.st_mode)) fail("cannot read ", what, " ", in_quotes(path, 300), ": it is a folder");
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
        fail("cannot read ", what, " ", in_quotes(path, 300), ": not a regular file");
    auto too_large = [&] {
        fail(what, " ", in_quotes(path, 300), " is larger than ", limit >> 20, " MiB, the most shufflec reads as a ", what);
    };
    if (S_ISREG(st.st_mode) && st.st_size > limit) too_large();
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // a pipe's writer may be slow: wait for its data
    std::string data;
    if (S_ISREG(st.st_mode)) data.reserve(static_cast<size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail("cannot read ", what, " ", in_quotes(path, 300), ": ", std::strerror(errno));
        if (got == 0) break;
        if (static_cast<int64_t>(data.size()) + got > limit) too_large();  // a file that grows, or a pipe
        data.append(buf, static_cast<size_t>(got));
    }
    return data;
}

bool is_file_name(const std::string &name) {
    bool ok = !name.empty() && name.size() <= 128 && name[0] != '.' && name[0] != '-';
    for (char ch : name)
        ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '-' || ch == '.');
    return ok;
}

const std::string &checked_file_name(const std::string &name, const std::string &what) {
    if (!is_file_name(name)) fail(what, " ", in_quotes(name), " cannot be a file name (", kFileNameRule, ")");
    return name;
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

void make_folders(const std::string &dir) {
    if (dir.empty()) return;
    for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
        std::string part = dir.substr(0, slash);
        struct stat st;
        if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
            fail("cannot create the folder ", in_quotes(part, 300), ": ", std::strerror(errno));
        if (stat(part.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) fail(in_quotes(part, 300), " is not a folder");
        if (slash == std::string::npos) break;
    }
}

}  // namespace shufflec
