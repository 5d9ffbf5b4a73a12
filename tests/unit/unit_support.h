// Small helpers shared by the unit tests (tests/unit/*_test.cc): a random
// generator of their own (independent of the compiler's), array comparison,
// temporary folders and catching shufflec::Error messages.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "graph/graph.h"
#include "util/error.h"

namespace unit {

// The node of `g` called `name`; a test failure (and an empty node) if there is none.
inline const shufflec::Node &node(const shufflec::Graph &g, const std::string &name) {
    int i = g.find(name);
    if (i < 0) {
        ADD_FAILURE() << "no node named " << name;
        static const shufflec::Node none;
        return none;
    }
    return g.nodes[static_cast<size_t>(i)];
}

// Deterministic values in [lo, hi) from a 64-bit linear congruential generator.
inline std::vector<float> random_values(size_t count, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(count);
    uint64_t s = seed * 2862933555777941757ull + 3037000493ull;
    for (auto &x : v) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u = static_cast<double>(s >> 11) / 9007199254740992.0;  // [0, 1)
        x = static_cast<float>(lo + (hi - lo) * u);
    }
    return v;
}

inline double max_abs(const std::vector<float> &v) {
    double m = 0;
    for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
    return m;
}

// max |a - b| (infinite if the sizes differ or a value is NaN).
inline double max_abs_diff(const std::vector<float> &a, const std::vector<float> &b) {
    if (a.size() != b.size()) return INFINITY;
    double m = 0;
    for (size_t i = 0; i < a.size(); i++) {
        double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
        if (std::isnan(d)) return INFINITY;
        m = std::max(m, d);
    }
    return m;
}

// A fresh folder under the system's temporary folder, removed at scope exit.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "shufflec_unit_XXXXXX").string();
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back('\0');
        const char *made = mkdtemp(buf.data());
        if (made) path_ = made;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    bool ok() const { return !path_.empty(); }
    std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// Runs f and returns the message of the shufflec::Error it throws; records a
// test failure (and returns "") if it throws nothing or something else.
template <typename F>
std::string error_of(F &&f) {
    try {
        f();
    } catch (const shufflec::Error &e) {
        return e.what();
    } catch (const std::exception &e) {
        ADD_FAILURE() << "expected shufflec::Error, got another exception: " << e.what();
        return "";
    }
    ADD_FAILURE() << "expected shufflec::Error, nothing was thrown";
    return "";
}

}  // namespace unit
