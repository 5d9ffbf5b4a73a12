// ONNX models exported from PyTorch (tools/golden.py and tools/megvii_shufflenet.py,
// torch.onnx at opsets 11 and 13), imported by shufflec import-onnx, compiled
// for x86-64 (and one for ARM64 under qemu) and compared with PyTorch's float64
// output. The import must also find every channel shuffle, so that the
// compiler folds it like a hand-written one.
#include <cstdio>

#include <gtest/gtest.h>

#include "graph/graph.h"
#include "import/onnx_import.h"
#include "spec/spec_parser.h"
#include "test_support.h"
#include "util/npy.h"

using namespace shufflec;
using namespace shufflec_test;

class OnnxImport : public ::testing::TestWithParam<TargetCase> {};

TEST_P(OnnxImport, CompiledImportMatchesPyTorch) {
    const GoldenCase &c = GetParam().golden;
    ASSERT_TRUE(c.missing.empty()) << c.missing;
    ASSERT_FALSE(c.onnx.empty());
    std::string dir = build_dir() + "/onnx/" + c.name + "-" + GetParam().target;
    ASSERT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "/imported'"), 0);
    ImportedModel m = import_onnx(c.onnx, {"imported", ""});
    write_imported_model(m, dir + "/imported");
    std::string spec = dir + "/imported/imported.json";

    // Every shuffle of the original model came through as a channel_shuffle layer.
    Graph original = load_spec(c.spec), imported = load_spec(spec);
    auto shuffles = [](const Graph &g) {
        int n = 0;
        for (const auto &node : g.nodes) n += node.op == Op::ChannelShuffle;
        return n;
    };
    EXPECT_EQ(shuffles(imported), shuffles(original));  // none for g = 1
    EXPECT_EQ(graph_stats(imported).macs, graph_stats(original).macs);

    double seconds = 0;
    std::vector<float> y = compile_and_run(spec, dir + "/imported/imported.safetensors", GetParam().target, dir + "/build",
                                           c.input, &seconds);
    NpyArray expected = read_npy(c.expected);
    Difference d = compare(y, expected.data);
    std::printf("[ onnx     ] %-28s %-3s %zu layers, compile %.1f s: vs PyTorch %.2e (relative to max|expected| %.4g)\n",
                c.name.c_str(), GetParam().target.c_str(), m.spec["layers"].size(), seconds, d.relative(),
                d.max_abs_expected);
    EXPECT_LE(d.max_abs_error, kRelativeTolerance * d.max_abs_expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, OnnxImport, ::testing::ValuesIn(target_cases("onnx_cases")),
                         [](const auto &p) { return test_name(p.param.golden.name + "_" + p.param.target); });
