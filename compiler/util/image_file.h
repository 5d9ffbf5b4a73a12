// Image files for calibration: PNG (libpng) and JPEG (libjpeg), decoded to
// interleaved 8-bit RGB (grey and palette images converted, alpha dropped).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shufflec {

struct RgbImage {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // height rows of width x (R, G, B)
};

// The most pixels an image may have (a decompression bomb is an error, not an allocation).
constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

// Whether `path` ends in .png, .jpg or .jpeg (any case).
bool is_image_file_name(const std::string &path);

// Decodes the file (told apart by its first bytes, not its name); errors name it.
RgbImage read_image_file(const std::string &path);

}  // namespace shufflec
