// Small file helpers. Every writer in shufflec goes through write_file_atomic so
// that a failure never leaves a half-written output behind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shufflec {

// What read_file accepts: text inputs (specs, schedules, tuning logs) up to
// 256 MiB, binary ones (weights, ONNX models, .npy inputs) up to 8 GiB (the most
// weights the compiled code can index: 2^31 floats).
constexpr int64_t kMaxTextFileBytes = int64_t{256} << 20;
constexpr int64_t kMaxDataFileBytes = int64_t{8} << 30;

// The whole of a regular file (or a pipe) of at most `limit` bytes. A folder, a
// device (/dev/zero), or more bytes than the limit is an error naming the file:
// nothing is read without bound.
std::string read_file(const std::string &path, const char *what = "file", int64_t limit = kMaxTextFileBytes);

// Whether `name` may become a file name in a folder of ours: 1 to 128 letters,
// digits, '_', '-' and '.', not starting with '.' or '-'.
bool is_file_name(const std::string &name);
constexpr const char *kFileNameRule = "1 to 128 letters, digits, _ - ., not starting with . or -";

// `name`, when it may become a file name (is_file_name). Anything else (a '/',
// "..", control characters) is an error naming `what`: text from input files and
// flags never picks where something is written.
const std::string &checked_file_name(const std::string &name, const std::string &what);
void write_file_atomic(const std::string &path, const std::string &contents);
// Directory part of a path ("" for a bare file name) and path joining.
std::string dirname_of(const std::string &path);
std::string join_path(const std::string &dir, const std::string &name);
// mkdir -p: `dir` and the folders above it (an error names the one that failed).
void make_folders(const std::string &dir);

}  // namespace shufflec
