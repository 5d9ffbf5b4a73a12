// Small file helpers. Every writer in shufflec goes through write_file_atomic so
// that a failure never leaves a half-written output behind.
#pragma once

#include <string>
#include <vector>

namespace shufflec {

std::string read_file(const std::string &path, const char *what = "file");
void write_file_atomic(const std::string &path, const std::string &contents);
// Directory part of a path ("" for a bare file name) and path joining.
std::string dirname_of(const std::string &path);
std::string join_path(const std::string &dir, const std::string &name);

}  // namespace shufflec
