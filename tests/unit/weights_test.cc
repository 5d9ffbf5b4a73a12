// Weights and arrays on disk: safetensors round trip and malformed files,
// check_weights against a graph, deterministic random weights, and .npy I/O.
// Malformed files are written byte by byte here, not with the code under test.
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "graph/builder.h"
#include "graph/graph.h"
#include "unit_support.h"
#include "util/error.h"
#include "util/npy.h"
#include "weights/weights.h"

using namespace shufflec;

namespace {

void write_bytes(const std::string &path, const std::string &bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

std::string le64(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; i++) s[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

std::string float_bytes(const std::vector<float> &v) {
    return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float));
}

// A safetensors file: 8-byte little-endian header length, JSON header, data.
std::string safetensors_bytes(const std::string &header, const std::string &data) {
    return le64(header.size()) + header + data;
}

// A .npy file of the given format version with a header dictionary, padded as NumPy does.
std::string npy_bytes(int major, const std::string &dict, const std::string &data) {
    size_t prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    size_t total = prefix + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += static_cast<char>(major);
    bytes += '\0';
    if (major == 1) {
        bytes += static_cast<char>(header.size() & 0xff);
        bytes += static_cast<char>((header.size() >> 8) & 0xff);
    } else {
        for (int i = 0; i < 4; i++) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
    }
    return bytes + header + data;
}

void expect_mentions(const std::string &message, const std::vector<std::string> &parts) {
    for (const auto &p : parts) EXPECT_NE(message.find(p), std::string::npos) << "\"" << p << "\" not in: " << message;
}

// conv "c" (3 -> 4, 3x3, bias) -> batchnorm "bn" -> relu -> fc "fc" (10 outputs).
Graph small_graph(bool with_extra_layer = false) {
    Graph g;
    GraphBuilder b(g);
    int x = b.input("input", Shape{1, 3, 6, 6});
    x = b.conv("c", x, 4, Window::square(3, 1, 1), 1, true);
    x = b.relu("r", b.batchnorm("bn", x, 1e-5));
    if (with_extra_layer) x = b.batchnorm("bn_extra", b.conv("c_extra", x, 4, Window::square(1, 1, 0), 2, false), 1e-5);
    g.output = b.dense("fc", x, 10, true);
    return g;
}

}  // namespace

TEST(Safetensors, RoundTrip) {
    unit::TempDir dir;
    ASSERT_TRUE(dir.ok());
    Weights w;
    w["layer.weight"] = {{2, 3, 1, 1}, unit::random_values(6, 1)};
    w["layer.bias"] = {{2}, {1.5f, -0.0f}};
    w["a.scalar"] = {{}, {42.0f}};
    w["empty"] = {{0, 3}, {}};
    w["odd"] = {{3}, {1e-30f, 3.4e38f, -7.25f}};
    std::string path = dir.file("w.safetensors");
    write_safetensors(path, w, {{"format", "pt"}});
    Weights r = read_safetensors(path);
    ASSERT_EQ(r.size(), w.size());
    for (const auto &[name, t] : w) {
        ASSERT_TRUE(r.count(name)) << name;
        EXPECT_EQ(r[name].shape, t.shape) << name;
        ASSERT_EQ(r[name].data.size(), t.data.size()) << name;
        if (!t.data.empty()) {  // memcmp may not see the null pointer of an empty vector
            EXPECT_EQ(std::memcmp(r[name].data.data(), t.data.data(), t.data.size() * 4), 0) << name;
        }
    }
    EXPECT_TRUE(std::signbit(r["layer.bias"].data[1]));  // -0.0 kept bit for bit

    // The layout itself: the header length, the header is JSON, and the data starts 8-byte aligned.
    std::string bytes = read_bytes(path);
    ASSERT_GE(bytes.size(), 8u);
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--) len = (len << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
    EXPECT_EQ((8 + len) % 8, 0u);
    EXPECT_EQ(bytes.size(), 8 + len + 4 * (6 + 2 + 1 + 0 + 3));
    std::string header = bytes.substr(8, len);
    EXPECT_NE(header.find("\"__metadata__\""), std::string::npos);
    EXPECT_NE(header.find("\"F32\""), std::string::npos);
}

TEST(Safetensors, ReadsAHandWrittenFile) {
    // Two tensors written in the opposite order of their names, with metadata.
    unit::TempDir dir;
    std::string header =
        R"({"__metadata__": {"k": "v"}, "z": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
        R"( "a": {"dtype": "F32", "shape": [1, 1], "data_offsets": [8, 12]}})";
    std::string path = dir.file("hand.safetensors");
    write_bytes(path, safetensors_bytes(header, float_bytes({1.0f, 2.0f, -3.0f})));
    Weights w = read_safetensors(path);
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w["z"].shape, (std::vector<int64_t>{2}));
    EXPECT_EQ(w["z"].data, (std::vector<float>{1.0f, 2.0f}));
    EXPECT_EQ(w["a"].shape, (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(w["a"].data, (std::vector<float>{-3.0f}));
}

// Half-precision checkpoints: F16 and BF16 tensors are widened to float32
// exactly (values chosen to cover normal, subnormal, signed zero, infinity).
TEST(Safetensors, ReadsHalfPrecisionTensors) {
    unit::TempDir dir;
    auto le16 = [](std::initializer_list<uint16_t> values) {
        std::string s;
        for (uint16_t v : values) s += static_cast<char>(v & 0xff), s += static_cast<char>(v >> 8);
        return s;
    };
    // F16: 1.0, -2.5, 65504 (largest), 2^-24 (smallest subnormal), -0.0, +inf.
    // BF16: 1.0, -3.0, 1.5 * 2^100.
    std::string header = R"({"h": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},)"
                         R"( "b": {"dtype": "BF16", "shape": [3], "data_offsets": [12, 18]}})";
    std::string data = le16({0x3c00, 0xc100, 0x7bff, 0x0001, 0x8000, 0x7c00}) + le16({0x3f80, 0xc040, 0x71c0});
    std::string path = dir.file("half.safetensors");
    write_bytes(path, safetensors_bytes(header, data));
    Weights w = read_safetensors(path);
    EXPECT_EQ(w["h"].shape, (std::vector<int64_t>{2, 3}));
    ASSERT_EQ(w["h"].data.size(), 6u);
    EXPECT_EQ(w["h"].data[0], 1.0f);
    EXPECT_EQ(w["h"].data[1], -2.5f);
    EXPECT_EQ(w["h"].data[2], 65504.0f);
    EXPECT_EQ(w["h"].data[3], std::ldexp(1.0f, -24));
    EXPECT_EQ(w["h"].data[4], 0.0f);
    EXPECT_TRUE(std::signbit(w["h"].data[4]));
    EXPECT_TRUE(std::isinf(w["h"].data[5]) && w["h"].data[5] > 0);
    EXPECT_EQ(w["b"].data, (std::vector<float>{1.0f, -3.0f, 1.5f * std::ldexp(1.0f, 100)}));
    // Every F16 value but NaNs, against the definition of the format.
    for (uint32_t bits = 0; bits < 0x10000; bits++) {
        if ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff)) continue;  // NaN payloads
        float f = half_to_float(static_cast<uint16_t>(bits));
        // Reference conversion: f == sign * 2^(e-15) * (1 + m/1024), or subnormal m * 2^-24.
        int e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
        double expected = e == 0x1f ? INFINITY : e == 0 ? std::ldexp(m, -24) : std::ldexp(1.0 + m / 1024.0, e - 15);
        if (bits & 0x8000) expected = -expected;
        ASSERT_EQ(static_cast<double>(f), expected) << std::hex << bits;
    }
}

// A 16-bit float format's conversion from float (fp16 and bf16 models' weights,
// and the reference's simulation of them): every value comes back as itself
// (a NaN as a NaN); a float between two neighbouring values goes to the
// nearer, a tie to the even one. `exponent`: the format's exponent bits mask,
// `largest`: its largest finite value's bits.
void check_rounding(float (*to_float)(uint16_t), uint16_t (*from_float)(float), uint32_t exponent, uint32_t largest) {
    auto value = [&](uint32_t bits) { return static_cast<double>(to_float(static_cast<uint16_t>(bits))); };
    for (uint32_t bits = 0; bits < 0x10000; bits++) {
        auto is_nan = [&](uint32_t b) { return (b & exponent) == exponent && (b & 0x7fff & ~exponent); };
        uint16_t back = from_float(to_float(static_cast<uint16_t>(bits)));
        if (is_nan(bits)) {
            EXPECT_TRUE(is_nan(back)) << std::hex << bits << " stays a NaN";
            continue;
        }
        ASSERT_EQ(back, bits) << std::hex << bits;
        // Between this value and the next larger magnitude (same sign), up to the largest finite one.
        if ((bits & 0x7fff) >= largest) continue;
        double a = value(bits), b = value(bits + 1), mid = (a + b) / 2;  // exact in double, and in float
        uint16_t even = (bits & 1) ? static_cast<uint16_t>(bits + 1) : static_cast<uint16_t>(bits);
        ASSERT_EQ(from_float(static_cast<float>(mid)), even) << std::hex << bits << " tie";
        float below = std::nextafter(static_cast<float>(mid), static_cast<float>(a));
        float above = std::nextafter(static_cast<float>(mid), static_cast<float>(b));
        ASSERT_EQ(from_float(below), bits) << std::hex << bits << " below the tie";
        ASSERT_EQ(from_float(above), bits + 1) << std::hex << bits << " above the tie";
    }
}

TEST(Half, FloatToHalfRoundsToNearestEven) {
    check_rounding(half_to_float, float_to_half, 0x7c00, 0x7bff);
    EXPECT_EQ(float_to_half(65520.0f), 0x7c00);  // halfway past 65504: rounds to even = infinity
    EXPECT_EQ(float_to_half(65519.99f), 0x7bff);
    EXPECT_EQ(float_to_half(-1e30f), 0xfc00);
    EXPECT_EQ(float_to_half(std::ldexp(1.0f, -26)), 0);  // below half the smallest subnormal
    EXPECT_EQ(float_to_half(-std::ldexp(1.0f, -26)), 0x8000);
    EXPECT_EQ(round_to_half(0.1f), 0.0999755859375f);
}

TEST(Half, FloatToBfloat16RoundsToNearestEven) {
    check_rounding(bfloat16_to_float, float_to_bfloat16, 0x7f80, 0x7f7f);
    EXPECT_EQ(round_to_bfloat16(0.1f), 0.10009765625f);
    EXPECT_EQ(float_to_bfloat16(std::numeric_limits<float>::max()), 0x7f80);  // past the largest: infinity
    EXPECT_EQ(float_to_bfloat16(-std::numeric_limits<float>::infinity()), 0xff80);
}

TEST(Safetensors, MalformedFilesNameTheFileAndTheProblem) {
    unit::TempDir dir;
    std::string f32 = R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
    struct Case {
        const char *name;
        std::string bytes;
        std::vector<std::string> expected;
    };
    std::vector<Case> cases = {
        {"short.safetensors", std::string("\x05\0\0\0\0", 5), {"shorter than its 8-byte header"}},
        {"empty.safetensors", "", {"shorter"}},
        {"long_header.safetensors", le64(1000) + "{}", {"header length 1000 exceeds the file size"}},
        {"not_json.safetensors", safetensors_bytes("{not json", ""), {"not valid JSON"}},
        {"array_header.safetensors", safetensors_bytes("[1, 2]", ""), {"not a JSON object"}},
        {"f64.safetensors",
         safetensors_bytes(R"({"double": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", "abcdefgh"),
         {"'double'", "F64"}},
        {"f16_size.safetensors",
         safetensors_bytes(R"({"half": {"dtype": "F16", "shape": [3], "data_offsets": [0, 4]}})", "abcd"),
         {"'half'", "holds 4 bytes", "needs 6"}},
        {"duplicate.safetensors",
         safetensors_bytes(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                           R"( "t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                           "12345678"),
         {"duplicate key \"t\""}},
        {"outside.safetensors",
         safetensors_bytes(R"({"big": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", "12345678"),
         {"'big'", "outside"}},
        {"reversed.safetensors",
         safetensors_bytes(R"({"rev": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", "12345678"),
         {"'rev'", "outside"}},
        {"mismatch.safetensors",
         safetensors_bytes(R"({"mis": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", "12345678"),
         {"'mis'", "holds 8 bytes", "needs 12"}},
        {"no_offsets.safetensors", safetensors_bytes(R"({"bare": {"dtype": "F32", "shape": [1]}})", "1234"),
         {"'bare'", "data_offsets"}},
        {"negative_dim.safetensors",
         safetensors_bytes(R"({"neg": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "1234"),
         {"'neg'", "shape"}},
        // A valid file cut short: the last tensor's data is missing.
        {"truncated.safetensors", safetensors_bytes(f32, "1234"), {"'t'", "outside"}},
    };
    for (const auto &c : cases) {
        std::string path = dir.file(c.name);
        write_bytes(path, c.bytes);
        std::string message = unit::error_of([&] { read_safetensors(path); });
        SCOPED_TRACE(c.name);
        expect_mentions(message, c.expected);
        expect_mentions(message, {path});
    }
    std::string missing = dir.file("does_not_exist.safetensors");
    expect_mentions(unit::error_of([&] { read_safetensors(missing); }), {missing});
}

TEST(Safetensors, TruncatingAWrittenFileIsAnError) {
    unit::TempDir dir;
    Weights w;
    w["only.weight"] = {{4}, {1, 2, 3, 4}};
    std::string path = dir.file("w.safetensors");
    write_safetensors(path, w);
    std::string bytes = read_bytes(path);
    write_bytes(path, bytes.substr(0, bytes.size() - 4));
    expect_mentions(unit::error_of([&] { read_safetensors(path); }), {path, "'only.weight'", "outside"});
}

TEST(CheckWeights, AcceptsExactlyTheNeededTensors) {
    Graph g = small_graph();
    Weights w = random_weights(g, 7);
    std::set<std::string> names;
    for (const auto &[name, t] : w) names.insert(name);
    EXPECT_EQ(names, (std::set<std::string>{"c.weight", "c.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                            "bn.running_var", "fc.weight", "fc.bias"}));
    EXPECT_EQ(w["c.weight"].shape, (std::vector<int64_t>{4, 3, 3, 3}));
    EXPECT_EQ(w["fc.weight"].shape, (std::vector<int64_t>{10, 4 * 6 * 6}));
    EXPECT_NO_THROW(check_weights(g, w, "w.safetensors"));
}

TEST(CheckWeights, MissingExtraAndMisshapedTensorsAreNamed) {
    Graph g = small_graph();
    const Weights good = random_weights(g, 7);
    {
        Weights w = good;
        w.erase("bn.running_var");
        expect_mentions(unit::error_of([&] { check_weights(g, w, "src.safetensors"); }),
                        {"src.safetensors", "missing", "'bn.running_var'"});
    }
    {
        Weights w = good;
        w["ghost.weight"] = {{1}, {0.0f}};
        expect_mentions(unit::error_of([&] { check_weights(g, w, "src.safetensors"); }),
                        {"src.safetensors", "'ghost.weight'"});
    }
    {
        Weights w = good;
        w["c.weight"] = {{4, 3, 3, 2}, std::vector<float>(72, 0.0f)};
        expect_mentions(unit::error_of([&] { check_weights(g, w, "src.safetensors"); }),
                        {"'c.weight'", "[4, 3, 3, 2]", "[4, 3, 3, 3]"});
    }
    {
        Weights w = good;
        w["fc.bias"] = {{1, 10}, std::vector<float>(10, 0.0f)};  // right size, wrong shape
        expect_mentions(unit::error_of([&] { check_weights(g, w, "src.safetensors"); }), {"'fc.bias'", "[1, 10]"});
    }
    {
        Weights w = good;
        w["bn.running_var"].data[2] = -1.0f;
        expect_mentions(unit::error_of([&] { check_weights(g, w, "src.safetensors"); }), {"'bn.running_var'"});
    }
}

TEST(RandomWeights, DeterministicPerSeedAndPerTensorName) {
    Graph g = small_graph();
    Weights a = random_weights(g, 123), b = random_weights(g, 123), c = random_weights(g, 124);
    ASSERT_EQ(a.size(), 8u);
    for (const auto &[name, t] : a) {
        ASSERT_TRUE(b.count(name) && c.count(name)) << name;
        EXPECT_EQ(t.data, b.at(name).data) << name << ": same seed, different values";
        EXPECT_NE(t.data, c.at(name).data) << name << ": different seeds, same values";
        EXPECT_EQ(t.shape, c.at(name).shape);
        std::set<float> distinct(t.data.begin(), t.data.end());
        EXPECT_GT(distinct.size(), t.data.size() / 2) << name << " looks constant";
    }
    // Adding layers changes none of the existing tensors.
    Graph bigger = small_graph(true);
    Weights d = random_weights(bigger, 123);
    EXPECT_EQ(d.size(), a.size() + 5);  // c_extra.weight and bn_extra's four tensors
    for (const auto &[name, t] : a) {
        ASSERT_TRUE(d.count(name)) << name;
        EXPECT_EQ(d.at(name).data, t.data) << name;
    }
    // Two tensors of the same role and shape in different layers differ (seeded by name).
    EXPECT_EQ(d.at("bn_extra.running_mean").shape, d.at("bn.running_mean").shape);
    EXPECT_NE(d.at("bn_extra.running_mean").data, d.at("bn.running_mean").data);
}

TEST(RandomWeights, BatchnormStatisticsFarFromIdentity) {
    Graph g = small_graph();
    Weights w = random_weights(g, 5);
    auto all_equal_to = [](const std::vector<float> &v, float x) {
        for (float f : v)
            if (f != x) return false;
        return true;
    };
    const auto &var = w.at("bn.running_var").data, &mean = w.at("bn.running_mean").data;
    const auto &gamma = w.at("bn.weight").data, &beta = w.at("bn.bias").data;
    EXPECT_FALSE(all_equal_to(var, 1.0f));
    EXPECT_FALSE(all_equal_to(mean, 0.0f));
    EXPECT_FALSE(all_equal_to(gamma, 1.0f));
    EXPECT_FALSE(all_equal_to(beta, 0.0f));
    double far = 0;
    for (size_t i = 0; i < var.size(); i++) {
        EXPECT_GT(var[i], 0.0f);  // a valid variance
        far = std::max(far, std::fabs(var[i] - 1.0) + std::fabs(mean[i]));
    }
    EXPECT_GT(far, 0.1) << "statistics this close to identity would hide folding mistakes";
    EXPECT_NO_THROW(check_weights(g, w, "random"));
}

TEST(Npy, RoundTripShapes) {
    unit::TempDir dir;
    std::vector<std::vector<int64_t>> shapes = {{2, 3, 4, 5}, {7}, {1, 1000}, {}, {3, 0}};
    for (size_t k = 0; k < shapes.size(); k++) {
        const auto &shape = shapes[k];
        int64_t count = 1;
        for (int64_t d : shape) count *= d;
        std::vector<float> data = unit::random_values(static_cast<size_t>(count), 100 + k, -1e3f, 1e3f);
        std::vector<float> buffer = data;
        if (buffer.empty()) buffer.push_back(0.0f);  // a valid pointer even for zero elements
        std::string path = dir.file("a" + std::to_string(k) + ".npy");
        write_npy(path, shape, buffer.data());
        NpyArray r = read_npy(path);
        EXPECT_EQ(r.shape, shape) << path;
        EXPECT_EQ(r.data, data) << path;
        // NumPy's layout: magic, version 1.0, data 64-byte aligned after a '\n'-terminated header.
        std::string bytes = read_bytes(path);
        ASSERT_GT(bytes.size(), 10u);
        EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
        size_t header_end = bytes.size() - static_cast<size_t>(count) * 4;
        EXPECT_EQ(header_end % 64, 0u);
        EXPECT_EQ(bytes[header_end - 1], '\n');
        EXPECT_NE(bytes.find("'descr': '<f4'"), std::string::npos);
    }
}

TEST(Npy, HandWrittenFilesIncludingFloat64AndVersion2) {
    unit::TempDir dir;
    {
        std::vector<double> values = {1.5, -2.25, 1e-3, 3.0e10, 0.1, -0.0};
        std::string data(reinterpret_cast<const char *>(values.data()), values.size() * 8);
        std::string path = dir.file("f8.npy");
        write_bytes(path, npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", data));
        NpyArray a = read_npy(path);
        EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
        ASSERT_EQ(a.data.size(), values.size());
        for (size_t i = 0; i < values.size(); i++) EXPECT_EQ(a.data[i], static_cast<float>(values[i])) << i;
    }
    {
        std::string path = dir.file("v2.npy");
        write_bytes(path, npy_bytes(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                                    float_bytes({4.0f, 5.0f, 6.0f})));
        NpyArray a = read_npy(path);
        EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
        EXPECT_EQ(a.data, (std::vector<float>{4.0f, 5.0f, 6.0f}));
    }
    {
        // Keys in another order, as some writers produce.
        std::string path = dir.file("order.npy");
        write_bytes(path, npy_bytes(1, "{'shape': (1, 2), 'fortran_order': False, 'descr': '<f4'}",
                                    float_bytes({7.0f, 8.0f})));
        NpyArray a = read_npy(path);
        EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
        EXPECT_EQ(a.data, (std::vector<float>{7.0f, 8.0f}));
    }
}

TEST(Npy, BadFilesGiveErrorsNamingTheFile) {
    unit::TempDir dir;
    std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
    struct Case {
        const char *name;
        std::string bytes;
        std::string expected;
    };
    std::string good = npy_bytes(1, ok_dict, float_bytes({1, 2, 3, 4}));
    std::string bad_magic = good;
    bad_magic[1] = 'X';
    std::vector<Case> cases = {
        {"magic.npy", bad_magic, "magic"},
        {"tiny.npy", "\x93NUM", "magic"},
        {"fortran.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", float_bytes({1, 2, 3, 4})),
         "Fortran"},
        {"truncated.npy", npy_bytes(1, ok_dict, float_bytes({1, 2, 3})), "needs 4"},
        {"big_endian.npy", npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", float_bytes({1, 2, 3, 4})),
         ">f4"},
        {"int.npy", npy_bytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", float_bytes({1, 2, 3, 4})),
         "<i4"},
        {"header_cut.npy", good.substr(0, 30), "truncated"},
        {"version9.npy", std::string("\x93NUMPY\x09\x00", 8) + good.substr(8), "version 9"},
    };
    for (const auto &c : cases) {
        std::string path = dir.file(c.name);
        write_bytes(path, c.bytes);
        SCOPED_TRACE(c.name);
        expect_mentions(unit::error_of([&] { read_npy(path); }), {path, c.expected});
    }
    std::string missing = dir.file("missing.npy");
    expect_mentions(unit::error_of([&] { read_npy(missing); }), {missing});
    // The good file itself reads.
    std::string path = dir.file("good.npy");
    write_bytes(path, good);
    EXPECT_EQ(read_npy(path).data, (std::vector<float>{1, 2, 3, 4}));
}
