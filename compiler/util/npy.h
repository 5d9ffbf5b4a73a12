// Reading and writing NumPy .npy files (format versions 1.0-3.0, little-endian,
// C order). Values are float32 in memory; float64 files are converted on read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shufflec {

struct NpyArray {
    std::vector<int64_t> shape;
    std::vector<float> data;
};

NpyArray read_npy(const std::string &path);
// The same from a file's contents (`path` names it in messages).
NpyArray parse_npy(const std::string &bytes, const std::string &path);
// Writes atomically: a temporary file renamed into place, so a failure leaves no partial file.
void write_npy(const std::string &path, const std::vector<int64_t> &shape, const float *data);

}  // namespace shufflec
