// The safetensors container: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}}, then the raw tensor bytes.
#include <cstring>
#include <limits>

#include "spec/json_view.h"
#include "util/error.h"
#include "util/file_io.h"
#include "weights/weights.h"

namespace shufflec {

Weights read_safetensors(const std::string &path) {
    std::string bytes = read_file(path, "weights file");
    if (bytes.size() < 8) fail(path, ": not a safetensors file (shorter than its 8-byte header length)");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
    if (header_len > bytes.size() - 8)
        fail(path, ": not a safetensors file (header length ", header_len, " exceeds the file size)");
    json header;
    try {
        header = json::parse(bytes.substr(8, header_len));
    } catch (const json::exception &) {
        fail(path, ": not a safetensors file (its header is not valid JSON)");
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
        if (dtype != "F32") bad("dtype " + dtype + " is not supported (shufflec reads F32 tensors)");
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
        if (end - begin != count * 4)
            bad(cat("holds ", end - begin, " bytes but its shape needs ", count * 4));
        t.data.resize(count);
        if (count) std::memcpy(t.data.data(), bytes.data() + data_begin + begin, count * 4);
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
