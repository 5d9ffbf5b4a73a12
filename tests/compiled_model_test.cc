// Compiled models against PyTorch and the reference interpreter: each golden
// case is compiled for x86-64 (run natively) and/or ARM64 (linked with
// aarch64-linux-gnu-gcc, run under qemu-aarch64), through the same C program
// an app would write (tests/apps/npy_runner.c).
#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>

#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "test_support.h"
#include "util/file_io.h"
#include "util/npy.h"
#include "weights/weights.h"

using namespace shufflec;
using namespace shufflec_test;

class CompiledModel : public ::testing::TestWithParam<TargetCase> {};

TEST_P(CompiledModel, MatchesPyTorchAndReference) {
    const GoldenCase &c = GetParam().golden;
    ASSERT_TRUE(c.missing.empty()) << c.missing;
    std::string dir = build_dir() + "/compiled/" + c.name + "-" + GetParam().target;
    double seconds = 0;
    std::vector<float> y = compile_and_run(c.spec, c.weights, GetParam().target, dir, c.input, &seconds);
    NpyArray x = read_npy(c.input), expected = read_npy(c.expected);

    SpecOptions so;
    so.input_shape = Shape{x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
    Graph graph = load_spec(c.spec, so);
    std::vector<float> ref = run_reference(graph, read_safetensors(c.weights), x.data);

    Difference vs_torch = compare(y, expected.data), vs_ref = compare(y, ref);
    std::printf("[ compiled ] %-18s %-3s compile %.1f s: vs PyTorch %.2e, vs reference %.2e (relative to max|expected| %.4g)\n",
                c.name.c_str(), GetParam().target.c_str(), seconds, vs_torch.relative(), vs_ref.relative(),
                vs_torch.max_abs_expected);
    EXPECT_LE(vs_torch.max_abs_error, kRelativeTolerance * vs_torch.max_abs_expected);
    EXPECT_LE(vs_ref.max_abs_error, kRelativeTolerance * vs_ref.max_abs_expected);

    // NaN in, NaN out where the reference has NaN (a broken camera frame must
    // not look like an answer): one NaN pixel spreads through every later layer
    // of its image, and no further (the other images of a batch stay finite).
    NpyArray broken = x;
    broken.data[broken.data.size() / 3 + 5 * x.shape[3] + 7] = std::nanf("");
    std::string broken_path = dir + "/broken.npy";
    write_npy(broken_path, broken.shape, broken.data.data());
    std::vector<float> y_nan = run_compiled(GetParam().target, dir, broken_path);
    std::vector<float> ref_nan = run_reference(graph, read_safetensors(c.weights), broken.data);
    ASSERT_EQ(y_nan.size(), ref_nan.size());
    size_t nans = 0, differ = 0;
    for (size_t i = 0; i < y_nan.size(); i++) {
        nans += std::isnan(ref_nan[i]);
        differ += std::isnan(ref_nan[i]) != std::isnan(y_nan[i]);
    }
    std::printf("[ compiled ] %-18s %-3s one NaN pixel in: %zu of %zu outputs NaN in the reference, %zu differ\n",
                c.name.c_str(), GetParam().target.c_str(), nans, ref_nan.size(), differ);
    EXPECT_EQ(nans, ref_nan.size() / static_cast<size_t>(x.shape[0]));  // the NaN is in the first image of the batch
    EXPECT_EQ(differ, 0u);
}

INSTANTIATE_TEST_SUITE_P(Cases, CompiledModel, ::testing::ValuesIn(target_cases("cases")),
                         [](const auto &p) { return test_name(p.param.golden.name + "_" + p.param.target); });

// NaN and infinities op by op on every target, against the reference
// interpreter: clip, a 3x3/2 max pool with a NaN at each of the nine taps of
// one window (one channel per tap: the NaN reaches the pool's max from every
// side), +-inf, a NaN in a corner and a negative NaN, then ReLU. On ARM the
// max pool is NaN-keeping through fmax itself (Lowering::max_keeping_nan).
TEST(CompiledOps, NanAndInfinityAsTheReference) {
    std::string dir = build_dir() + "/compiled/nan_ops";
    ASSERT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "'"), 0);
    std::string spec = dir + "/nan_ops.json", weights = dir + "/none.safetensors", input = dir + "/x.npy";
    write_file_atomic(spec, R"({"format": "shufflec-spec/1", "name": "nan_ops", "input": {"shape": [1, 16, 9, 11]},
        "layers": [{"op": "clip", "name": "clip", "min": -1.5, "max": 4.0},
                   {"op": "maxpool", "name": "pool", "kernel": 3, "stride": 2, "pad": 1},
                   {"op": "relu", "name": "relu"}]})");
    write_file_atomic(weights, std::string("\x02\0\0\0\0\0\0\0{}", 10));  // safetensors with no arrays
    const int64_t C = 16, H = 9, W = 11;
    std::vector<float> x(static_cast<size_t>(C * H * W));
    for (size_t i = 0; i < x.size(); i++) x[i] = 3.0f * std::sin(0.7f * static_cast<float>(i) + 0.3f);
    auto at = [&](int64_t c, int64_t yy, int64_t xx) -> float & { return x[static_cast<size_t>((c * H + yy) * W + xx)]; };
    for (int tap = 0; tap < 9; tap++) at(tap, 3 + tap / 3, 3 + tap % 3) = std::nanf("");  // window (2, 2): rows and columns 3..5
    at(9, 4, 4) = INFINITY;
    at(10, 4, 4) = -INFINITY;
    at(11, 0, 0) = std::nanf("");
    at(12, 8, 10) = -std::nanf("");
    write_npy(input, {1, C, H, W}, x.data());
    Graph graph = load_spec(spec);
    std::vector<float> expected = run_reference(graph, read_safetensors(weights), x);
    size_t expected_nans = 0;
    for (float v : expected) expected_nans += std::isnan(v);
    EXPECT_GE(expected_nans, 9u + 2u);
    for (const std::string target : {"x86", "arm"}) {
        double seconds = 0;
        std::vector<float> y = compile_and_run(spec, weights, target, dir + "/" + target, input, &seconds);
        ASSERT_EQ(y.size(), expected.size()) << target;
        size_t differ = 0;
        for (size_t i = 0; i < y.size(); i++)
            differ += std::isnan(expected[i]) ? !std::isnan(y[i]) : y[i] != expected[i];  // max, clip and ReLU are exact
        std::printf("[ compiled ] nan_ops on %s: %zu NaN outputs in the reference, %zu outputs differ\n", target.c_str(),
                    expected_nans, differ);
        EXPECT_EQ(differ, 0u) << target;
    }
}

// The spec `text` (one N x C x H x W input of `dims`) compiled for x86 and ARM
// (under qemu) with random weights of `seed`, on the input value(i) at each
// flat index i: both within kRelativeTolerance of the reference interpreter.
void expect_targets_match_reference(const std::string &name, const std::string &text, const std::vector<int64_t> &dims,
                                    uint64_t seed, float (*value)(size_t)) {
    std::string dir = build_dir() + "/compiled/" + name;
    ASSERT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "'"), 0);
    std::string spec = dir + "/" + name + ".json", weights = dir + "/w.safetensors", input = dir + "/x.npy";
    write_file_atomic(spec, text);
    Graph graph = load_spec(spec);
    Weights w = random_weights(graph, seed);
    write_safetensors(weights, w);
    std::vector<float> x(static_cast<size_t>(dims[0] * dims[1] * dims[2] * dims[3]));
    for (size_t i = 0; i < x.size(); i++) x[i] = value(i);
    write_npy(input, dims, x.data());
    std::vector<float> expected = run_reference(graph, w, x);
    for (const std::string target : {"x86", "arm"}) {
        double seconds = 0;
        std::vector<float> y = compile_and_run(spec, weights, target, dir + "/" + target, input, &seconds);
        Difference d = compare(y, expected);
        std::printf("[ compiled ] %s on %s: vs reference %.2e\n", name.c_str(), target.c_str(), d.relative());
        EXPECT_LE(d.max_abs_error, kRelativeTolerance * d.max_abs_expected) << target;
    }
}

// General convs (not 1x1, not depthwise) on every target against the
// reference: on ARM they read their taps by lane (a row's taps are the lanes
// of one loaded vector, conv.cc), here with 5 input channels stored
// innermost (not planes) and not unrolled, a 2x2 kernel with stride 2 and
// no padding whose vectors' spare lanes read past the row's last tap, odd
// widths, and groups.
TEST(CompiledOps, GeneralConvsAsTheReference) {
    expect_targets_match_reference("general_convs", R"({"format": "shufflec-spec/1", "name": "general_convs", "input": {"shape": [1, 5, 13, 11]},
        "layers": [{"op": "conv", "name": "a", "out_channels": 8, "kernel": 3, "pad": 1},
                   {"op": "relu", "name": "a_relu"},
                   {"op": "conv", "name": "b", "out_channels": 6, "kernel": 2, "stride": 2, "groups": 2},
                   {"op": "conv", "name": "c", "out_channels": 4, "kernel": [3, 1], "pad": [1, 0]}]})",
                                   {1, 5, 13, 11}, 3, [](size_t i) { return std::sin(0.37f * static_cast<float>(i) + 0.1f); });
}

// Fully connected layers against the reference: on ARM, where the features
// are a multiple of 4, 4 features' inputs are one loaded vector and each a lane
// of fmla by element (dense.cc); here over a flattened 6 x 3 x 2 input (NCHW
// order across channels and rows) with a bias, then 7 features (one each).
TEST(CompiledOps, FullyConnectedAsTheReference) {
    expect_targets_match_reference("fully_connected", R"({"format": "shufflec-spec/1", "name": "fully_connected", "input": {"shape": [1, 6, 3, 2]},
        "layers": [{"op": "fc", "name": "a", "out_features": 7},
                   {"op": "fc", "name": "b", "out_features": 5, "bias": false}]})",
                                   {1, 6, 3, 2}, 5, [](size_t i) { return std::cos(0.61f * static_cast<float>(i) + 0.2f); });
}

// Schedules change loops, never results: 0.5x g3 compiled for x86 with the
// schedule `text` must compute the same model as PyTorch.
static void expect_schedule_matches_pytorch(const std::string &variant, const char *text) {
    GoldenCase c;
    for (const auto &g : golden_cases())
        if (g.name == "g3_0.5x") c = g;
    ASSERT_EQ(c.name, "g3_0.5x");
    ASSERT_TRUE(c.missing.empty()) << c.missing;
    std::string dir = build_dir() + "/compiled/schedule-" + variant;
    std::string schedule = build_dir() + "/compiled/schedule-" + variant + ".json";
    ASSERT_EQ(run_command("mkdir -p '" + build_dir() + "/compiled'"), 0);
    FILE *f = std::fopen(schedule.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text, f);
    std::fclose(f);
    double seconds = 0;
    std::vector<float> y = compile_and_run(c.spec, c.weights, "x86", dir, c.input, &seconds, schedule);
    Difference d = compare(y, read_npy(c.expected).data);
    std::printf("[ compiled ] %s with schedule %s: vs PyTorch %.2e\n", c.name.c_str(), variant.c_str(), d.relative());
    EXPECT_LE(d.max_abs_error, kRelativeTolerance * d.max_abs_expected);
}

// The knobs the default schedules leave off or at their defaults (unit
// fusion, several row tasks per thread, a fixed row split, odd tiles, channel
// blocks outside the pixels, unrolled and blocked reductions, vectors over
// pixels: fused and not, stride 2, 4 lanes, ragged tiles of
// channels and pixels).
TEST(CompiledModelSchedules, NonDefaultKnobsMatchPyTorch) {
    expect_schedule_matches_pytorch("variants", R"({"format": "shufflec-schedule/1", "target": "x86-64-linux",
  "description": "non-default knobs, for correctness only",
  "defaults": {"fuse": true, "tasks_per_thread": 3},
  "kinds": {"depthwise": {"channel_vectors": 1, "tile_x": 3}, "pointwise": {"tile_x": 5, "channels_outer": true, "unroll": 2, "reduction_block": 16}},
  "layers": {"stage3.1": {"fuse": false, "rows_per_task": 2}, "stage4.2.conv3": {"channel_vectors": 2, "tile_x": 6},
             "stage2.1": {"channels_outer": false, "unroll": 4},
             "stage2.2.conv1": {"pixel_vectors": true, "channel_vectors": 3, "tile_x": 3},
             "stage2.2.dw": {"pixel_vectors": true, "channel_vectors": 4, "tile_x": 1, "vector": 4},
             "stage3.0.dw": {"pixel_vectors": true}, "stage3.1.conv1": {"pixel_vectors": true},
             "stage3.1.dw": {"pixel_vectors": true}}})");
}

// Rows per register tile (tile_y) on every kind with taps: the stem (a
// staged input, its fixed row split) fused into the max pool's tiles of rows,
// depthwise convs of stride 1 and 2 with ragged last tiles (28 rows in 3s),
// one hosting its 1x1 conv in its tiles of rows,
// channel blocks outside the pixels, a fixed row split, the average pool of a
// stride-2 unit's shortcut.
TEST(CompiledModelSchedules, RowsPerTileMatchPyTorch) {
    expect_schedule_matches_pytorch("tile_y", R"({"format": "shufflec-schedule/1", "target": "x86-64-linux",
  "description": "rows per register tile, for correctness only",
  "kinds": {"maxpool": {"tile_y": 2}, "avgpool": {"tile_y": 2, "tile_x": 2}},
  "layers": {"stem.conv": {"tile_y": 2, "fuse": false}, "stage2.0.dw": {"tile_y": 3, "fuse": false},
             "stage2.1.dw": {"tile_y": 3, "rows_per_task": 4, "fuse": false},
             "stage3.1.conv1": {"fuse": true}, "stage3.1.dw": {"tile_y": 2, "tile_x": 3, "channels_outer": true, "fuse": false},
             "stage4.1.dw": {"tile_y": 4, "channel_vectors": 1, "tile_x": 2, "fuse": false}}})");
}

// Lanes and layouts: groups padded to less than the vector (AVX2's 8-lane
// vectors then compute lanes of the next group's weights, discarded), 4-lane
// vectors on some layers of every kind, the stem's input copy interleaved.
TEST(CompiledModelSchedules, PaddingBelowTheVectorMatchesPyTorch) {
    expect_schedule_matches_pytorch("padding4", R"({"format": "shufflec-schedule/1", "target": "x86-64-linux",
  "description": "group padding 4 on AVX2, for correctness only",
  "defaults": {"group_padding": 4},
  "kinds": {"global_pool": {"vector": 4}, "maxpool": {"vector": 4}},
  "layers": {"stem.conv": {"planar_input": false, "vector": 4}, "stage3.0": {"vector": 4},
             "stage4.1.conv1": {"vector": 4, "channel_vectors": 3}, "stage2.2.dw": {"vector": 4, "fuse": true}}})");
}

// Groups padded to more than the vector, and the FC with 4-lane vectors in
// its panels of 16 outputs.
TEST(CompiledModelSchedules, PaddingAboveTheVectorMatchesPyTorch) {
    expect_schedule_matches_pytorch("padding16", R"({"format": "shufflec-schedule/1", "target": "x86-64-linux",
  "description": "group padding 16 on AVX2, for correctness only",
  "defaults": {"group_padding": 16},
  "kinds": {"dense": {"vector": 4}, "avgpool": {"vector": 4}},
  "layers": {"stage2.0": {"vector": 4}, "stage4.2": {"vector": 4, "channels_outer": false}}})");
}
