// ONNX models exported from PyTorch (tools/golden.py, tools/megvii_shufflenet.py
// and torchvision's own ShuffleNet V2 and MobileNet V2 via
// tools/torchvision_golden.py; torch.onnx at opsets 10 to 13, with and without
// constant folding), imported by shufflec import-onnx, run by the reference
// interpreter, some compiled for x86-64 (and one for ARM64 under qemu), all
// compared with PyTorch's float64 output. The import must also find every channel shuffle, so that the
// compiler folds it like a hand-written one.
#include <cstdio>

#include <gtest/gtest.h>

#include "graph/graph.h"
#include "import/onnx_import.h"
#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "test_support.h"
#include "util/npy.h"
#include "weights/weights.h"

using namespace shufflec;
using namespace shufflec_test;

namespace {

// Imports a case's ONNX model into dir/imported and checks what it became: every
// shuffle of the original model came through as a channel_shuffle layer, and the
// import costs what the original does (the hand-written spec's counts, or those
// counted in PyTorch for torchvision cases). Returns the imported spec's path.
std::string import_case(const GoldenCase &c, const std::string &dir) {
    EXPECT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "/imported'"), 0);
    ImportedModel m = import_onnx(c.onnx, {"imported", ""});
    write_imported_model(m, dir + "/imported");
    std::string spec = dir + "/imported/imported.json";
    Graph imported = load_spec(spec);
    auto shuffles = [](const Graph &g) {
        int64_t n = 0;
        for (const auto &node : g.nodes) n += node.op == Op::ChannelShuffle;
        return n;
    };
    if (!c.spec.empty()) {
        Graph original = load_spec(c.spec);
        EXPECT_EQ(shuffles(imported), shuffles(original));  // none for g = 1
        EXPECT_EQ(graph_stats(imported).macs, graph_stats(original).macs);
    }
    if (c.shuffles >= 0) {
        EXPECT_EQ(shuffles(imported), c.shuffles);
    }
    if (c.macs >= 0) {
        EXPECT_EQ(graph_stats(imported).macs, c.macs);
    }
    return spec;
}

}  // namespace

// Every ONNX case: imported and run by the reference interpreter.
class OnnxImportReference : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(OnnxImportReference, ImportMatchesPyTorch) {
    const GoldenCase &c = GetParam();
    ASSERT_TRUE(c.missing.empty()) << c.missing;
    ASSERT_FALSE(c.onnx.empty());
    std::string spec = import_case(c, build_dir() + "/onnx/" + c.name + "-reference");
    NpyArray x = read_npy(c.input), expected = read_npy(c.expected);
    Graph graph = load_spec(spec);
    Weights weights = read_safetensors(spec.substr(0, spec.size() - 5) + ".safetensors");
    std::vector<float> y = run_reference(graph, weights, x.data);
    Difference d = compare(y, expected.data);
    std::printf("[ onnx ref ] %-40s %zu nodes, reference vs PyTorch %.2e (relative to max|expected| %.4g)\n",
                c.name.c_str(), graph.nodes.size(), d.relative(), d.max_abs_expected);
    EXPECT_LE(d.max_abs_error, kRelativeTolerance * d.max_abs_expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, OnnxImportReference, ::testing::ValuesIn(golden_cases("onnx_cases")),
                         [](const auto &p) { return test_name(p.param.name); });

// Cases with targets: the import compiled and run on each.
class OnnxImport : public ::testing::TestWithParam<TargetCase> {};

TEST_P(OnnxImport, CompiledImportMatchesPyTorch) {
    const GoldenCase &c = GetParam().golden;
    ASSERT_TRUE(c.missing.empty()) << c.missing;
    ASSERT_FALSE(c.onnx.empty());
    std::string dir = build_dir() + "/onnx/" + c.name + "-" + GetParam().target;
    std::string spec = import_case(c, dir);
    double seconds = 0;
    std::vector<float> y = compile_and_run(spec, dir + "/imported/imported.safetensors", GetParam().target, dir + "/build",
                                           c.input, &seconds);
    NpyArray expected = read_npy(c.expected);
    Difference d = compare(y, expected.data);
    std::printf("[ onnx     ] %-40s %-3s compile %.1f s: vs PyTorch %.2e (relative to max|expected| %.4g)\n",
                c.name.c_str(), GetParam().target.c_str(), seconds, d.relative(), d.max_abs_expected);
    EXPECT_LE(d.max_abs_error, kRelativeTolerance * d.max_abs_expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, OnnxImport, ::testing::ValuesIn(target_cases("onnx_cases")),
                         [](const auto &p) { return test_name(p.param.golden.name + "_" + p.param.target); });
