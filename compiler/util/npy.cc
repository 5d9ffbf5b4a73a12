#include "util/npy.h"

#include <cstring>
#include <limits>

#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

// Extracts the value text of `'key': value` from the header dictionary.
std::string dict_value(const std::string &header, const std::string &key, const std::string &path) {
    auto k = header.find("'" + key + "'");
    if (k == std::string::npos) fail(path, ": .npy header has no '", key, "' entry");
    auto colon = header.find(':', k);
    if (colon == std::string::npos) fail(path, ": malformed .npy header");
    size_t start = colon + 1;
    while (start < header.size() && header[start] == ' ') start++;
    size_t end = start;
    if (start < header.size() && header[start] == '(') {
        end = header.find(')', start);
        if (end == std::string::npos) fail(path, ": malformed shape in .npy header");
        return header.substr(start, end - start + 1);
    }
    while (end < header.size() && header[end] != ',' && header[end] != '}') end++;
    return header.substr(start, end - start);
}

}  // namespace

NpyArray read_npy(const std::string &path) { return parse_npy(read_file(path, ".npy file", kMaxDataFileBytes), path); }

NpyArray parse_npy(const std::string &bytes, const std::string &path) {
    if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
        fail(path, ": not a NumPy .npy file (bad magic)");
    int major = static_cast<unsigned char>(bytes[6]);
    size_t header_len, offset;
    if (major == 1) {
        header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) fail(path, ": truncated .npy header");
        uint32_t len;
        std::memcpy(&len, bytes.data() + 8, 4);
        header_len = len;
        offset = 12;
    } else {
        fail(path, ": unsupported .npy format version ", major);
    }
    if (offset + header_len > bytes.size()) fail(path, ": truncated .npy header");
    std::string header = bytes.substr(offset, header_len);
    offset += header_len;

    std::string descr = dict_value(header, "descr", path);
    std::string order = dict_value(header, "fortran_order", path);
    std::string shape_text = dict_value(header, "shape", path);
    if (order.find("False") == std::string::npos)
        fail(path, ": Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
    size_t elem;
    bool is_f64;
    if (descr.find("<f4") != std::string::npos) {
        elem = 4, is_f64 = false;
    } else if (descr.find("<f8") != std::string::npos) {
        elem = 8, is_f64 = true;
    } else {
        fail(path, ": dtype ", descr, " is not supported (need little-endian float32 or float64)");
    }

    NpyArray array;
    int64_t count = 1;
    size_t i = 1;  // skip '('
    while (i < shape_text.size()) {
        while (i < shape_text.size() && (shape_text[i] == ' ' || shape_text[i] == ',')) i++;
        if (i >= shape_text.size() || shape_text[i] == ')') break;
        size_t used = 0;
        long long dim;
        try {
            dim = std::stoll(shape_text.substr(i), &used);
        } catch (const std::exception &) {
            fail(path, ": malformed shape ", shape_text, " in .npy header");
        }
        if (dim < 0) fail(path, ": negative dimension in shape ", shape_text);
        if (dim > 0 && count > std::numeric_limits<int64_t>::max() / dim) fail(path, ": shape ", shape_text, " is too large");
        array.shape.push_back(dim);
        count *= dim;
        i += used;
    }
    if (static_cast<uint64_t>(count) > (bytes.size() - offset) / elem)
        fail(path, ": file holds ", (bytes.size() - offset) / elem, " values but shape ", shape_text, " needs ", count);
    array.data.resize(static_cast<size_t>(count));
    const char *src = bytes.data() + offset;
    for (int64_t k = 0; k < count; k++) {
        if (is_f64) {
            double v;
            std::memcpy(&v, src + k * 8, 8);
            array.data[k] = static_cast<float>(v);
        } else {
            std::memcpy(&array.data[k], src + k * 4, 4);
        }
    }
    return array;
}

void write_npy(const std::string &path, const std::vector<int64_t> &shape, const float *data) {
    std::string shape_text = "(";
    int64_t count = 1;
    for (size_t i = 0; i < shape.size(); i++) {
        shape_text += std::to_string(shape[i]);
        shape_text += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
        if (i + 1 < shape.size()) shape_text += " ";
        count *= shape[i];
    }
    shape_text += ")";
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text + ", }";
    // Pad so that the data starts on a 64-byte boundary, ending the header with '\n'.
    size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += '\x01';
    bytes += '\x00';
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>((header.size() >> 8) & 0xff);
    bytes += header;
    bytes.append(reinterpret_cast<const char *>(data), static_cast<size_t>(count) * sizeof(float));
    write_file_atomic(path, bytes);
}

}  // namespace shufflec
