#include "util/image_file.h"

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <png.h>

#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

void check_size(const std::string &path, int64_t width, int64_t height) {
    if (width < 1 || height < 1 || width > 65536 || height > 65536 || width * height > kMaxImagePixels)
        fail(path, ": image of ", width, "x", height, " pixels (1 to 65536 per side, at most ", kMaxImagePixels,
             " pixels)");
}

RgbImage decode_png(const std::string &path, const std::string &bytes) {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
        fail(path, ": not a valid PNG file (", image.message, ")");
    try {
        check_size(path, image.width, image.height);
    } catch (const Error &) {
        png_image_free(&image);
        throw;
    }
    image.format = PNG_FORMAT_RGB;
    RgbImage out;
    out.width = static_cast<int>(image.width);
    out.height = static_cast<int>(image.height);
    out.pixels.resize(PNG_IMAGE_SIZE(image));
    if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
        std::string why = image.message;
        png_image_free(&image);
        fail(path, ": not a valid PNG file (", why, ")");
    }
    return out;
}

struct JpegError {
    jpeg_error_mgr manager;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX] = {0};
};

void jpeg_fail(j_common_ptr info) {
    JpegError *e = reinterpret_cast<JpegError *>(info->err);
    (*info->err->format_message)(info, e->message);
    std::longjmp(e->jump, 1);
}

void jpeg_silent(j_common_ptr) {}

// Plain C control flow only between setjmp and longjmp (no objects with destructors).
bool decode_jpeg_into(const std::string &bytes, RgbImage &out, JpegError &error, std::string &bad_size) {
    jpeg_decompress_struct info;
    info.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = jpeg_fail;
    error.manager.output_message = jpeg_silent;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&info);
        return false;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, reinterpret_cast<const unsigned char *>(bytes.data()), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&info, TRUE);
    info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    int64_t w = info.output_width, h = info.output_height;
    if (w < 1 || h < 1 || w > 65536 || h > 65536 || w * h > kMaxImagePixels || info.output_components != 3) {
        bad_size = std::to_string(w) + "x" + std::to_string(h);
        jpeg_destroy_decompress(&info);
        return false;
    }
    out.width = static_cast<int>(w);
    out.height = static_cast<int>(h);
    out.pixels.resize(static_cast<size_t>(w * h * 3));
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = out.pixels.data() + static_cast<size_t>(info.output_scanline) * static_cast<size_t>(w) * 3;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    return true;
}

RgbImage decode_jpeg(const std::string &path, const std::string &bytes) {
    RgbImage out;
    JpegError error;
    std::string bad_size;
    if (!decode_jpeg_into(bytes, out, error, bad_size)) {
        if (!bad_size.empty()) fail(path, ": image of ", bad_size, " pixels (1 to 65536 per side, at most ",
                                    kMaxImagePixels, " pixels, RGB or grey)");
        fail(path, ": not a valid JPEG file (", error.message, ")");
    }
    return out;
}

}  // namespace

bool is_image_file_name(const std::string &path) {
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    for (const char *ext : {".png", ".jpg", ".jpeg"}) {
        size_t n = std::strlen(ext);
        if (lower.size() > n && lower.compare(lower.size() - n, n, ext) == 0) return true;
    }
    return false;
}

RgbImage read_image_file(const std::string &path) {
    std::string bytes = read_file(path, "image", int64_t{1} << 30);
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (bytes.size() >= 8 && std::memcmp(bytes.data(), png_magic, 8) == 0) return decode_png(path, bytes);
    if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xff && static_cast<unsigned char>(bytes[1]) == 0xd8 &&
        static_cast<unsigned char>(bytes[2]) == 0xff)
        return decode_jpeg(path, bytes);
    fail(path, ": not a PNG or JPEG file (its first bytes are neither's signature)");
}

}  // namespace shufflec
