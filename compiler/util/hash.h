// FNV-1a, 64 bit: deterministic hashes for seeds, fingerprints and checksums
// (the runtime computes the same checksum over external weights files).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace shufflec {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;

inline uint64_t fnv1a(const void *data, size_t bytes, uint64_t h = kFnvOffset) {
    const unsigned char *p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

inline uint64_t fnv1a(const std::string &s, uint64_t h = kFnvOffset) { return fnv1a(s.data(), s.size(), h); }

}  // namespace shufflec
