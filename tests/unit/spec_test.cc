// The spec parser: what valid specs expand to (node names, ops, shapes,
// parameter shapes, wiring), the complexity of the catalogue in specs/ against
// the published figures, input-shape overrides and --input-shape parsing.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "../test_support.h"
#include "graph/graph.h"
#include "spec/spec_parser.h"
#include "unit_support.h"

using namespace shufflec;
using unit::node;

namespace {

std::string spec_with_layers(const std::string &input_shape, const std::string &layers) {
    return R"({"format": "shufflec-spec/1", "name": "t", "input": {"shape": )" + input_shape + R"(}, "layers": )" +
           layers + "}";
}

std::string input_name(const Graph &g, const std::string &name, size_t k = 0) {
    const Node &n = node(g, name);
    if (k >= n.inputs.size()) return "<none>";
    return g.nodes[static_cast<size_t>(n.inputs[k])].name;
}

std::vector<int64_t> param_shape(const Graph &g, const std::string &name, const std::string &role) {
    const Param *p = node(g, name).param(role);
    return p ? p->shape : std::vector<int64_t>{};
}

Shape shape4(int64_t n, int64_t c, int64_t h, int64_t w) { return Shape{n, c, h, w}; }

// The node sequence of one shufflenet unit as the spec describes it.
std::vector<std::pair<std::string, Op>> unit_nodes(const std::string &u, bool stride2) {
    std::vector<std::pair<std::string, Op>> v = {
        {u + ".conv1", Op::Conv}, {u + ".bn1", Op::BatchNorm}, {u + ".relu1", Op::Relu},
        {u + ".shuffle", Op::ChannelShuffle}, {u + ".dw", Op::Conv}, {u + ".bn2", Op::BatchNorm},
        {u + ".conv3", Op::Conv}, {u + ".bn3", Op::BatchNorm}};
    if (stride2) {
        v.push_back({u + ".shortcut", Op::AvgPool});
        v.push_back({u + ".relu", Op::Relu});
        v.push_back({u, Op::Concat});
    } else {
        v.push_back({u + ".add", Op::Add});
        v.push_back({u, Op::Relu});
    }
    return v;
}

double spec_macs_per_image(const std::string &path, double *params = nullptr) {
    Graph g = load_spec(path);
    LayerStats st = graph_stats(g);
    if (params) *params = static_cast<double>(st.params);
    return static_cast<double>(st.macs) / static_cast<double>(g.input().shape.n);
}

std::string specs_dir() { return shufflec_test::source_dir() + "/specs"; }

// Every file in specs/ whose name matches `pattern`, with the regex's first capture group.
std::map<std::string, std::vector<std::string>> matching_specs(const std::string &pattern) {
    std::map<std::string, std::vector<std::string>> out;
    std::regex re(pattern);
    for (const auto &entry : std::filesystem::directory_iterator(specs_dir())) {
        std::string name = entry.path().filename().string();
        std::smatch m;
        if (!std::regex_match(name, m, re)) continue;
        std::vector<std::string> groups;
        for (size_t i = 1; i < m.size(); i++) groups.push_back(m[i].str());
        out[entry.path().string()] = groups;
    }
    return out;
}

}  // namespace

TEST(SpecFamily, ExpandsToTheDocumentedLayers) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "small", "input": {"shape": [1, 3, 64, 64]},
        "family": {"name": "shufflenet_v1", "groups": 3, "scale": 1.0, "stage_repeats": [1, 2, 1], "num_classes": 10}})";
    Graph g = parse_spec_text(text, "small.json");
    std::vector<std::pair<std::string, Op>> expected = {{"input", Op::Input},
                                                        {"stem.conv", Op::Conv},
                                                        {"stem.bn", Op::BatchNorm},
                                                        {"stem.relu", Op::Relu},
                                                        {"maxpool", Op::MaxPool}};
    for (auto [u, s2] : std::vector<std::pair<std::string, bool>>{
             {"stage2.0", true}, {"stage3.0", true}, {"stage3.1", false}, {"stage4.0", true}})
        for (auto &e : unit_nodes(u, s2)) expected.push_back(e);
    expected.push_back({"global_pool", Op::GlobalAvgPool});
    expected.push_back({"fc", Op::Dense});
    ASSERT_EQ(g.nodes.size(), expected.size());
    for (size_t i = 0; i < expected.size(); i++) {
        EXPECT_EQ(g.nodes[i].name, expected[i].first) << "node " << i;
        EXPECT_EQ(g.nodes[i].op, expected[i].second) << g.nodes[i].name << " is " << op_name(g.nodes[i].op);
    }
    EXPECT_EQ(g.output_node().name, "fc");

    // Shapes: 64 -> stem 32 -> maxpool 16 -> stage2 8 -> stage3 4 -> stage4 2.
    // g = 3 at 1x: stem 24, stages 240/480/960, mid = out / 4 (60, 120, 240).
    EXPECT_EQ(node(g, "stem.conv").shape, shape4(1, 24, 32, 32));
    EXPECT_EQ(param_shape(g, "stem.conv", "weight"), (std::vector<int64_t>{24, 3, 3, 3}));
    EXPECT_EQ(node(g, "stem.conv").param("bias"), nullptr);
    EXPECT_EQ(node(g, "maxpool").shape, shape4(1, 24, 16, 16));

    // Stage 2's first pointwise conv is not grouped; its branch has 240 - 24 = 216 channels.
    EXPECT_EQ(node(g, "stage2.0.conv1").groups, 1);
    EXPECT_EQ(param_shape(g, "stage2.0.conv1", "weight"), (std::vector<int64_t>{60, 24, 1, 1}));
    EXPECT_EQ(node(g, "stage2.0.conv1").shape, shape4(1, 60, 16, 16));
    EXPECT_EQ(node(g, "stage2.0.shuffle").groups, 3);
    EXPECT_EQ(node(g, "stage2.0.shuffle").shuffle, ShuffleConvention::Paper);
    EXPECT_EQ(input_name(g, "stage2.0.shuffle"), "stage2.0.relu1");
    EXPECT_EQ(input_name(g, "stage2.0.dw"), "stage2.0.shuffle");
    EXPECT_EQ(node(g, "stage2.0.dw").groups, 60);
    EXPECT_EQ(node(g, "stage2.0.dw").stride_h, 2);
    EXPECT_EQ(param_shape(g, "stage2.0.dw", "weight"), (std::vector<int64_t>{60, 1, 3, 3}));
    EXPECT_EQ(node(g, "stage2.0.dw").shape, shape4(1, 60, 8, 8));
    EXPECT_EQ(param_shape(g, "stage2.0.conv3", "weight"), (std::vector<int64_t>{216, 20, 1, 1}));
    EXPECT_EQ(param_shape(g, "stage2.0.bn3", "running_var"), (std::vector<int64_t>{216}));
    EXPECT_EQ(node(g, "stage2.0.shortcut").shape, shape4(1, 24, 8, 8));
    EXPECT_EQ(input_name(g, "stage2.0.shortcut"), "maxpool");
    EXPECT_EQ(node(g, "stage2.0.shortcut").kernel_h, 3);
    EXPECT_EQ(node(g, "stage2.0.shortcut").stride_h, 2);
    EXPECT_EQ(node(g, "stage2.0.shortcut").pad_top, 1);
    EXPECT_TRUE(node(g, "stage2.0.shortcut").count_include_pad);
    EXPECT_EQ(input_name(g, "stage2.0", 0), "stage2.0.shortcut");  // shortcut first
    EXPECT_EQ(input_name(g, "stage2.0", 1), "stage2.0.relu");
    EXPECT_EQ(node(g, "stage2.0").shape, shape4(1, 240, 8, 8));

    // Later units: grouped first conv, stride 1 keeps the width and adds the unit input.
    EXPECT_EQ(node(g, "stage3.0.conv1").groups, 3);
    EXPECT_EQ(param_shape(g, "stage3.0.conv1", "weight"), (std::vector<int64_t>{120, 80, 1, 1}));
    EXPECT_EQ(param_shape(g, "stage3.0.conv3", "weight"), (std::vector<int64_t>{240, 40, 1, 1}));
    EXPECT_EQ(node(g, "stage3.0").shape, shape4(1, 480, 4, 4));
    EXPECT_EQ(param_shape(g, "stage3.1.conv1", "weight"), (std::vector<int64_t>{120, 160, 1, 1}));
    EXPECT_EQ(param_shape(g, "stage3.1.conv3", "weight"), (std::vector<int64_t>{480, 40, 1, 1}));
    EXPECT_EQ(node(g, "stage3.1.dw").stride_h, 1);
    EXPECT_EQ(input_name(g, "stage3.1.add", 0), "stage3.0");
    EXPECT_EQ(input_name(g, "stage3.1.add", 1), "stage3.1.bn3");
    EXPECT_EQ(node(g, "stage3.1").shape, shape4(1, 480, 4, 4));
    EXPECT_EQ(node(g, "stage4.0").shape, shape4(1, 960, 2, 2));
    EXPECT_EQ(node(g, "global_pool").shape, shape4(1, 960, 1, 1));
    EXPECT_EQ(param_shape(g, "fc", "weight"), (std::vector<int64_t>{10, 960}));
    EXPECT_EQ(param_shape(g, "fc", "bias"), (std::vector<int64_t>{10}));
    EXPECT_EQ(g.output_node().shape.dims(), (std::vector<int64_t>{1, 10}));
}

TEST(SpecFamily, NoShuffleNodesWithOneGroupOrShuffleFalse) {
    for (const char *family : {R"({"name": "shufflenet_v1", "groups": 1, "stage_repeats": [1, 1, 1]})",
                               R"({"name": "shufflenet_v1", "groups": 3, "stage_repeats": [1, 1, 1], "shuffle": false})"}) {
        std::string text = std::string(R"({"format": "shufflec-spec/1", "name": "t", "input": {"shape": [1, 3, 32, 32]},
            "family": )") + family + "}";
        Graph g = parse_spec_text(text, "t.json");
        int shuffles = 0, convs = 0;
        for (const auto &n : g.nodes) {
            shuffles += n.op == Op::ChannelShuffle;
            convs += n.op == Op::Conv;
        }
        EXPECT_EQ(shuffles, 0) << family;
        EXPECT_EQ(convs, 1 + 3 * 3) << family;  // the stem, then conv1/dw/conv3 per unit
    }
}

TEST(SpecUnit, HandWrittenUnitsBothPositionsConcatOrdersAndSe) {
    std::string text = spec_with_layers("[1, 24, 8, 8]", R"([
        {"op": "shufflenet_unit", "name": "u0", "out_channels": 48, "groups": 2, "stride": 2,
         "first_pw_grouped": false, "shuffle_position": "after_dw", "shuffle_convention": "inverse",
         "concat_order": "branch_first", "count_include_pad": false, "se": true},
        {"op": "shufflenet_unit", "name": "u1", "out_channels": 48, "groups": 4, "se": {"reduction": 4}},
        {"op": "shufflenet_unit", "name": "u2", "out_channels": 48, "groups": 3, "bottleneck": 6},
        {"op": "channel_shuffle", "name": "mix", "groups": 6, "shuffle_convention": "inverse", "input": "u1"},
        {"op": "global_avgpool", "name": "gap"},
        {"op": "fc", "name": "head", "out_features": 5, "bias": false}
    ])");
    Graph g = parse_spec_text(text, "units.json");

    // u0: the shuffle sits after the depthwise conv's batchnorm; SE on the branch; branch first.
    std::vector<std::string> u0 = {"u0.conv1", "u0.bn1",     "u0.relu1", "u0.dw",     "u0.bn2",
                                   "u0.shuffle", "u0.conv3", "u0.bn3",   "u0.se.pool", "u0.se.fc1",
                                   "u0.se.relu", "u0.se.fc2", "u0.se.sigmoid", "u0.se", "u0.shortcut",
                                   "u0.relu",    "u0"};
    for (size_t i = 0; i < u0.size(); i++) EXPECT_EQ(g.nodes[1 + i].name, u0[i]) << "node " << 1 + i;
    EXPECT_EQ(node(g, "u0.conv1").groups, 1);
    EXPECT_EQ(param_shape(g, "u0.conv1", "weight"), (std::vector<int64_t>{12, 24, 1, 1}));
    EXPECT_EQ(input_name(g, "u0.shuffle"), "u0.bn2");
    EXPECT_EQ(input_name(g, "u0.conv3"), "u0.shuffle");
    EXPECT_EQ(input_name(g, "u0.dw"), "u0.relu1");
    EXPECT_EQ(node(g, "u0.shuffle").shuffle, ShuffleConvention::Inverse);
    EXPECT_EQ(node(g, "u0.shuffle").groups, 2);
    EXPECT_EQ(node(g, "u0.shuffle").shape, shape4(1, 12, 4, 4));
    EXPECT_EQ(param_shape(g, "u0.conv3", "weight"), (std::vector<int64_t>{24, 6, 1, 1}));
    // SE with the default reduction 16 on 24 branch channels: hidden = max(1, 24 / 16) = 1.
    EXPECT_EQ(node(g, "u0.se.pool").op, Op::GlobalAvgPool);
    EXPECT_EQ(param_shape(g, "u0.se.fc1", "weight"), (std::vector<int64_t>{1, 24, 1, 1}));
    EXPECT_EQ(param_shape(g, "u0.se.fc1", "bias"), (std::vector<int64_t>{1}));
    EXPECT_EQ(param_shape(g, "u0.se.fc2", "weight"), (std::vector<int64_t>{24, 1, 1, 1}));
    EXPECT_EQ(node(g, "u0.se.sigmoid").op, Op::Sigmoid);
    EXPECT_EQ(node(g, "u0.se").op, Op::Mul);
    EXPECT_EQ(input_name(g, "u0.se", 0), "u0.bn3");
    EXPECT_EQ(input_name(g, "u0.se", 1), "u0.se.sigmoid");
    EXPECT_EQ(input_name(g, "u0.relu"), "u0.se");
    EXPECT_EQ(input_name(g, "u0.shortcut"), "input");
    EXPECT_FALSE(node(g, "u0.shortcut").count_include_pad);
    EXPECT_EQ(input_name(g, "u0", 0), "u0.relu");  // branch first
    EXPECT_EQ(input_name(g, "u0", 1), "u0.shortcut");
    EXPECT_EQ(node(g, "u0").shape, shape4(1, 48, 4, 4));

    // u1: stride 1, paper shuffle after the first pointwise conv, SE with reduction 4 (48 / 4 = 12).
    EXPECT_EQ(node(g, "u1.conv1").groups, 4);
    EXPECT_EQ(param_shape(g, "u1.conv1", "weight"), (std::vector<int64_t>{12, 12, 1, 1}));
    EXPECT_EQ(input_name(g, "u1.shuffle"), "u1.relu1");
    EXPECT_EQ(input_name(g, "u1.dw"), "u1.shuffle");
    EXPECT_EQ(node(g, "u1.shuffle").shuffle, ShuffleConvention::Paper);
    EXPECT_EQ(node(g, "u1.shuffle").groups, 4);
    EXPECT_EQ(param_shape(g, "u1.conv3", "weight"), (std::vector<int64_t>{48, 3, 1, 1}));
    EXPECT_EQ(param_shape(g, "u1.se.fc1", "weight"), (std::vector<int64_t>{12, 48, 1, 1}));
    EXPECT_EQ(input_name(g, "u1.add", 0), "u0");
    EXPECT_EQ(input_name(g, "u1.add", 1), "u1.se");
    EXPECT_EQ(node(g, "u1").op, Op::Relu);
    EXPECT_EQ(node(g, "u1").shape, shape4(1, 48, 4, 4));

    // u2: explicit bottleneck.
    EXPECT_EQ(param_shape(g, "u2.conv1", "weight"), (std::vector<int64_t>{6, 16, 1, 1}));
    EXPECT_EQ(param_shape(g, "u2.conv3", "weight"), (std::vector<int64_t>{48, 2, 1, 1}));

    // Explicit layers: "input" picks u1 (not the previous layer); the next layer reads "mix".
    EXPECT_EQ(input_name(g, "mix"), "u1");
    EXPECT_EQ(node(g, "mix").groups, 6);
    EXPECT_EQ(node(g, "mix").shuffle, ShuffleConvention::Inverse);
    EXPECT_EQ(input_name(g, "gap"), "mix");
    EXPECT_EQ(node(g, "head").param("bias"), nullptr);
    EXPECT_EQ(g.output_node().name, "head");
    EXPECT_EQ(g.output_node().shape.dims(), (std::vector<int64_t>{1, 5}));
}

TEST(SpecUnit, OutputFieldAndDefaultNames) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "t", "input": {"name": "img", "shape": [2, 4, 6, 6]},
        "layers": [{"op": "conv", "out_channels": 6, "kernel": [3, 1], "pad": [1, 0], "groups": 2},
                   {"op": "relu"},
                   {"op": "maxpool", "kernel": 2, "name": "p"},
                   {"op": "conv", "out_channels": 2, "kernel": 1, "input": "img", "name": "side"}],
        "output": "p"})";
    Graph g = parse_spec_text(text, "t.json");
    EXPECT_EQ(g.input().name, "img");
    EXPECT_EQ(g.nodes[1].name, "conv_0");
    EXPECT_EQ(g.nodes[2].name, "relu_1");
    EXPECT_EQ(g.nodes[1].shape, shape4(2, 6, 6, 6));  // [3, 1] kernel with [1, 0] padding keeps 6x6
    EXPECT_EQ(g.nodes[1].kernel_h, 3);
    EXPECT_EQ(g.nodes[1].kernel_w, 1);
    EXPECT_EQ(param_shape(g, "conv_0", "weight"), (std::vector<int64_t>{6, 2, 3, 1}));
    EXPECT_NE(g.nodes[1].param("bias"), nullptr);  // bias defaults to true
    EXPECT_EQ(node(g, "p").stride_h, 2);           // stride defaults to the kernel
    EXPECT_EQ(node(g, "p").shape, shape4(2, 6, 3, 3));
    EXPECT_EQ(g.output_node().name, "p");
}

TEST(SpecStats, HandCountedMacsAndParams) {
    // conv: 6 outputs of 4x4 (8x8, k3 s2 p1), 2 groups -> each output reads 2 channels x 9 taps:
    //   MACs 6*16*2*9 = 1728, params 6*2*9 + 6 = 114.
    // batchnorm: params 2*6 = 12 (gamma, beta). fc: 10 x 96 features: MACs 960, params 970.
    std::string text = spec_with_layers("[1, 4, 8, 8]", R"([
        {"op": "conv", "out_channels": 6, "kernel": 3, "stride": 2, "pad": 1, "groups": 2},
        {"op": "batchnorm"}, {"op": "relu"}, {"op": "fc", "out_features": 10}])");
    Graph g = parse_spec_text(text, "t.json");
    LayerStats st = graph_stats(g);
    EXPECT_EQ(st.macs, 1728 + 960);
    EXPECT_EQ(st.params, 114 + 12 + 970);
    EXPECT_EQ(node_stats(g, g.nodes[1]).macs, 1728);
}

// Complexity of the catalogue against Zhang et al., ShuffleNet (arXiv 1707.01083):
// Table 1 (1x: 143/140/137/133/137 M MACs for g = 1/2/3/4/8) within 2%.
TEST(SpecCatalogue, PaperOneXMacsWithinTwoPercent) {
    const std::map<std::string, double> paper = {{"1", 143}, {"2", 140}, {"3", 137}, {"4", 133}, {"8", 137}};
    auto files = matching_specs(R"(shufflenet_v1_g([12348])_1\.0x\.json)");
    ASSERT_EQ(files.size(), 5u) << "expected one 1.0x spec per group count in " << specs_dir();
    for (const auto &[path, groups] : files) {
        double macs = spec_macs_per_image(path) / 1e6, expected = paper.at(groups[0]);
        EXPECT_NEAR(macs, expected, 0.02 * expected) << path;
    }
}

// Table 2: 0.5x about 38 M and 0.25x about 13 M for every g, within 5%.
TEST(SpecCatalogue, PaperSmallScalesWithinFivePercent) {
    auto files = matching_specs(R"(shufflenet_v1_g([12348])_(0\.5|0\.25)x\.json)");
    ASSERT_EQ(files.size(), 10u);
    for (const auto &[path, groups] : files) {
        double macs = spec_macs_per_image(path) / 1e6, expected = groups[1] == "0.5" ? 38.0 : 13.0;
        EXPECT_NEAR(macs, expected, 0.05 * expected) << path;
    }
}

// megvii-model/ShuffleNet-Series, ShuffleNetV1/README.md: MACs and parameters of
// the official g3 and g8 models at 0.5x/1.0x/1.5x/2.0x. MACs must be within 2%.
// The README gives parameters with one decimal (in millions), so a count that
// rounds to the README's figure matches it even when the 2% band is narrower
// than the rounding (0.717 M reads "0.7" there, 2.4% away); otherwise within 2%.
TEST(SpecCatalogue, MegviiModelsMatchReadme) {
    struct Readme {
        double macs, params;
    };
    const std::map<std::string, Readme> readme = {
        {"3_0.5", {38, 0.7}}, {"3_1.0", {138, 1.9}}, {"3_1.5", {292, 3.4}}, {"3_2.0", {524, 5.4}},
        {"8_0.5", {40, 1.0}}, {"8_1.0", {138, 2.4}}, {"8_1.5", {290, 4.3}}, {"8_2.0", {522, 6.5}}};
    auto files = matching_specs(R"(megvii_shufflenet_v1_g([38])_(0\.5|1\.0|1\.5|2\.0)x\.json)");
    ASSERT_EQ(files.size(), 8u);
    for (const auto &[path, key] : files) {
        const Readme &r = readme.at(key[0] + "_" + key[1]);
        double params = 0;
        double macs = spec_macs_per_image(path, &params) / 1e6;
        params /= 1e6;
        EXPECT_NEAR(macs, r.macs, 0.02 * r.macs) << path;
        bool rounds_to_readme = std::llround(params * 10) == std::llround(r.params * 10);
        bool within_two_percent = std::fabs(params - r.params) <= 0.02 * r.params;
        EXPECT_TRUE(rounds_to_readme || within_two_percent)
            << path << ": " << params << " M parameters, README " << r.params << " M";
    }
}

// Table 5: ShuffleNet 2x (g = 3) with SE blocks, 527 M MACs, within 1%.
TEST(SpecCatalogue, SeTwoXAbout527M) {
    double macs = spec_macs_per_image(specs_dir() + "/shufflenet_v1_g3_2.0x_se.json") / 1e6;
    EXPECT_NEAR(macs, 527.0, 0.01 * 527.0);
    // And the SE blocks are really there: more than the plain 2x model, and 16 of them.
    double plain = spec_macs_per_image(specs_dir() + "/shufflenet_v1_g3_2.0x.json") / 1e6;
    EXPECT_GT(macs, plain);
    Graph g = load_spec(specs_dir() + "/shufflenet_v1_g3_2.0x_se.json");
    int scales = 0;
    for (const auto &n : g.nodes) scales += n.op == Op::Mul;
    EXPECT_EQ(scales, 16);
}

TEST(SpecOptions, BatchTwoDoublesMacsAndKeepsParams) {
    std::string path = specs_dir() + "/shufflenet_v1_g3_1.0x.json";
    Graph one = load_spec(path);
    SpecOptions options;
    options.input_shape = Shape{2, 3, 224, 224};
    Graph two = load_spec(path, options);
    EXPECT_EQ(two.input().shape, shape4(2, 3, 224, 224));
    EXPECT_EQ(two.output_node().shape.dims(), (std::vector<int64_t>{2, 1000}));
    EXPECT_EQ(graph_stats(two).macs, 2 * graph_stats(one).macs);
    EXPECT_EQ(graph_stats(two).params, graph_stats(one).params);
}

TEST(SpecOptions, Resolution480x640) {
    std::string path = specs_dir() + "/shufflenet_v1_g3_1.0x.json";
    Graph base = load_spec(path);
    SpecOptions options;
    options.input_shape = Shape{1, 3, 480, 640};
    Graph big = load_spec(path, options);
    // 480x640 halves to 240x320, 120x160, 60x80, 30x40, 15x20 (224: 112, 56, 28, 14, 7).
    EXPECT_EQ(node(big, "stem.conv").shape, shape4(1, 24, 240, 320));
    EXPECT_EQ(node(big, "stage4.3").shape, shape4(1, 960, 15, 20));
    EXPECT_EQ(big.output_node().shape.dims(), (std::vector<int64_t>{1, 1000}));
    // Every feature map scales by exactly (480*640)/(224*224); the FC (960 x 1000) does not.
    int64_t fc = 960 * 1000;
    int64_t conv_base = graph_stats(base).macs - fc, conv_big = graph_stats(big).macs - fc;
    EXPECT_EQ(conv_base * 480 * 640 % (224 * 224), 0);
    EXPECT_EQ(conv_big, conv_base * 480 * 640 / (224 * 224));
}

TEST(SpecOptions, ParseShapeArg) {
    Shape s = parse_shape_arg("2,3,480,640", "--input-shape");
    EXPECT_EQ(s, shape4(2, 3, 480, 640));
    EXPECT_EQ(s.rank, 4);
    for (const char *bad : {"1,3,224", "1,3,224,224,1", "", "1,3,a,224", "0,3,224,224", "-1,3,224,224",
                            "1,3,224,224,", "1;3;224;224", "1,3,224,224x", "1,3,2.5,4", "1,3,99999999999,4"}) {
        std::string message = unit::error_of([&] { parse_shape_arg(bad, "--input-shape"); });
        EXPECT_NE(message.find("--input-shape"), std::string::npos) << "\"" << bad << "\": " << message;
        EXPECT_NE(message.find("N,C,H,W"), std::string::npos) << "\"" << bad << "\": " << message;
    }
}

TEST(SpecErrors, NameTheJsonPath) {
    struct Case {
        std::string text, expected;
    };
    std::vector<Case> cases = {
        {spec_with_layers("[1, 3, 8, 8]", R"([{"op": "conv", "out_channels": 4, "kernel": 0}])"),
         "$.layers[0].kernel"},
        {spec_with_layers("[1, 3, 8, 8]", R"([{"op": "relu"}, {"op": "conv", "out_channel": 4, "kernel": 1}])"),
         "$.layers[1].out_channel"},
        {spec_with_layers("[1, 24, 8, 8]",
                          R"([{"op": "shufflenet_unit", "out_channels": 24, "groups": 2, "shuffle_position": "before"}])"),
         "$.layers[0].shuffle_position"},
        {R"({"format": "shufflec-spec/1", "name": "t", "input": {"shape": [1, 3, 224, 224]},
             "family": {"name": "shufflenet_v1", "groups": 5}})",
         "$.family.groups"},
    };
    for (const auto &c : cases) {
        std::string message = unit::error_of([&] { parse_spec_text(c.text, "t.json"); });
        EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    }
}
