// The safetensors container: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}}, then the raw tensor bytes.
// Tensors may be F32, F16 or BF16 (many exported checkpoints are half
// precision); all are read as float32.
#include <cstring>
#include <limits>

#include "spec/json_view.h"
#include "util/error.h"
#include "util/file_io.h"
#include "weights/weights.h"

namespace shufflec {

float half_to_float(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0x1f) {  // infinity or NaN
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {  // normal
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {  // zero
        bits = sign;
    } else {  // subnormal: normalize
        int shift = 0;
        while (!(mantissa & 0x400)) mantissa <<= 1, shift++;
        bits = sign | (static_cast<uint32_t>(113 - shift) << 23) | ((mantissa & 0x3ff) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t float_to_half(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    uint32_t sign = (bits >> 16) & 0x8000, exponent = (bits >> 23) & 0xff, mantissa = bits & 0x7fffff;
    if (exponent == 0xff) return static_cast<uint16_t>(sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >> 13) : 0));
    int32_t e = static_cast<int32_t>(exponent) - 127 + 15;
    if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00);
    uint32_t kept, dropped, half_way;
    if (e > 0) {  // normal: drop 13 mantissa bits; a carry may reach the exponent (and infinity), as it should
        kept = (static_cast<uint32_t>(e) << 10) | (mantissa >> 13);
        dropped = mantissa & 0x1fff;
        half_way = 0x1000;
    } else {  // subnormal half (or zero): the 24-bit significand shifted right by 14 - e
        if (e < -10) return static_cast<uint16_t>(sign);
        uint32_t significand = mantissa | 0x800000, shift = static_cast<uint32_t>(14 - e);
        kept = significand >> shift;
        dropped = significand & ((1u << shift) - 1);
        half_way = 1u << (shift - 1);
    }
    if (dropped > half_way || (dropped == half_way && (kept & 1))) kept++;
    return static_cast<uint16_t>(sign | kept);
}

uint16_t float_to_bfloat16(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    if ((bits & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((bits >> 16) | 0x40);  // a quiet NaN
    // Round the low 16 bits away, to nearest even (a carry may reach infinity, as it should).
    bits += 0x7fff + ((bits >> 16) & 1);
    return static_cast<uint16_t>(bits >> 16);
}

float bfloat16_to_float(uint16_t h) {
    uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

Weights read_safetensors(const std::string &path) { return parse_safetensors(read_file(path, "weights file", kMaxDataFileBytes), path); }

Weights parse_safetensors(const std::string &bytes, const std::string &path) {
    if (bytes.size() < 8) fail(path, ": not a safetensors file (shorter than its 8-byte header length)");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
    if (header_len > bytes.size() - 8)
        fail(path, ": not a safetensors file (header length ", header_len, " exceeds the file size)");
    json header;
    try {
        // parse_json_text also refuses repeated tensor names (plain JSON parsing keeps the last).
        header = parse_json_text(bytes.substr(8, header_len), "header");
    } catch (const Error &e) {
        fail(path, ": not a safetensors file (its header is not valid JSON: ", e.what(), ")");
    }
    if (!header.is_object()) fail(path, ": safetensors header is not a JSON object");
    const size_t data_begin = 8 + header_len;
    const uint64_t data_size = bytes.size() - data_begin;

    Weights weights;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string &name = it.key();
        if (name == "__metadata__") continue;
        const json &info = it.value();
        auto bad = [&](const std::string &why) { fail(path, ": tensor '", name, "': ", why); };
        if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
            bad("header entry needs dtype, shape and data_offsets");
        if (!info["dtype"].is_string()) bad("dtype is not a string");
        std::string dtype = info["dtype"].get<std::string>();
        size_t element = dtype == "F32" ? 4 : dtype == "F16" || dtype == "BF16" ? 2 : 0;
        if (element == 0) bad("dtype " + in_quotes(dtype) + " is not supported (shufflec reads F32, F16 and BF16 tensors)");
        Tensor t;
        uint64_t count = 1;
        if (!info["shape"].is_array()) bad("shape is not an array");
        for (const auto &d : info["shape"]) {
            if (!d.is_number_unsigned()) bad("shape has a dimension that is not a non-negative integer");
            uint64_t v = d.get<uint64_t>();
            if (v > 0 && count > std::numeric_limits<uint32_t>::max() / v) bad("shape is too large");
            count *= v;
            t.shape.push_back(static_cast<int64_t>(v));
        }
        const json &off = info["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            bad("data_offsets must be two non-negative integers");
        uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
        if (begin > end || end > data_size) bad(cat("data_offsets [", begin, ", ", end, "] lie outside the file"));
        if (end - begin != count * element)
            bad(cat("holds ", end - begin, " bytes but its shape needs ", count * element));
        t.data.resize(count);
        const char *src = bytes.data() + data_begin + begin;
        if (element == 4) {
            if (count) std::memcpy(t.data.data(), src, count * 4);
        } else {
            // Half-precision checkpoints are widened to float32 (exactly: every F16/BF16 value is a float).
            for (uint64_t i = 0; i < count; i++) {
                uint16_t h = static_cast<uint16_t>(static_cast<unsigned char>(src[2 * i]) |
                                                   (static_cast<unsigned char>(src[2 * i + 1]) << 8));
                t.data[i] = dtype == "BF16" ? bfloat16_to_float(h) : half_to_float(h);
            }
        }
        weights.emplace(name, std::move(t));
    }
    return weights;
}

void write_safetensors(const std::string &path, const Weights &weights,
                       const std::map<std::string, std::string> &metadata) {
    json header = json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto &[name, t] : weights) {
        uint64_t size = t.data.size() * 4;
        header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + size}}};
        offset += size;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keep tensor data 8-byte aligned
    std::string bytes(8, '\0');
    uint64_t len = text.size();
    for (int i = 0; i < 8; i++) bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
    bytes += text;
    for (const auto &[name, t] : weights)
        bytes.append(reinterpret_cast<const char *>(t.data.data()), t.data.size() * 4);
    write_file_atomic(path, bytes);
}

}  // namespace shufflec
