// The reference interpreter against PyTorch (tools/golden.py, float64) on the
// golden cases: whole networks, real checkpoint layout, batch 2, 480x640.
#include <cstdio>

#include <gtest/gtest.h>

#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "test_support.h"
#include "util/npy.h"
#include "weights/weights.h"

using namespace shufflec;
using namespace shufflec_test;

class GoldenReference : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenReference, MatchesPyTorch) {
    const GoldenCase &c = GetParam();
    ASSERT_TRUE(c.missing.empty()) << c.missing;
    NpyArray x = read_npy(c.input), expected = read_npy(c.expected);
    SpecOptions options;
    options.input_shape = Shape{x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
    Graph graph = load_spec(c.spec, options);
    Weights weights = read_safetensors(c.weights);
    check_weights(graph, weights, c.weights);
    std::vector<float> y = run_reference(graph, weights, x.data);
    EXPECT_EQ(graph.output_node().shape.dims(), expected.shape);
    Difference d = compare(y, expected.data);
    std::printf("[ golden   ] %-18s reference vs PyTorch: max abs error %.3g, max |expected| %.4g, relative %.2e\n",
                c.name.c_str(), d.max_abs_error, d.max_abs_expected, d.relative());
    EXPECT_LE(d.max_abs_error, kRelativeTolerance * d.max_abs_expected);
    // The spec costs what the PyTorch model does (counted there with forward hooks).
    if (c.macs >= 0) {
        EXPECT_EQ(graph_stats(graph).macs, c.macs);
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenReference, ::testing::ValuesIn(golden_cases()),
                         [](const auto &p) {
                             std::string n = p.param.name;
                             for (auto &ch : n)
                                 if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });
