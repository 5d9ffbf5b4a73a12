// The graph passes keep the function: the reference interpreter runs the graph
// before and after (each pass alone and passes::optimize), on ShuffleNet units
// of every variant and on a graph of plain layers. Structural checks make sure
// the passes did their job: batchnorms folded, shuffles folded into the conv
// after the depthwise conv, ReLUs fused.
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "graph/builder.h"
#include "graph/graph.h"
#include "passes/passes.h"
#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "unit_support.h"
#include "util/error.h"
#include "weights/weights.h"

using namespace shufflec;
using unit::node;

namespace {

struct Variant {
    int groups;
    ShuffleConvention convention;
    bool after_dw;  // shuffle_position
    bool se;
};

std::string variant_name(const Variant &v) {
    return "g" + std::to_string(v.groups) + (v.convention == ShuffleConvention::Paper ? "_paper" : "_inverse") +
           (v.after_dw ? "_after_dw" : "_after_pw1") + (v.se ? "_se" : "");
}

void PrintTo(const Variant &v, std::ostream *os) { *os << variant_name(v); }

const char *const kUnits[] = {"u0", "u1", "u2"};

// Three units: stride 2 (24 -> 48), stride 1 (48), stride 2 with the branch first (48 -> 96); then a classifier.
Graph unit_graph(const Variant &v) {
    std::string options = std::string(R"("groups": )") + std::to_string(v.groups) + R"(, "shuffle_convention": ")" +
                          (v.convention == ShuffleConvention::Paper ? "paper" : "inverse") +
                          R"(", "shuffle_position": ")" + (v.after_dw ? "after_dw" : "after_pw1") + R"(", "se": )" +
                          (v.se ? "true" : "false");
    std::string text = R"({"format": "shufflec-spec/1", "name": "units", "input": {"shape": [1, 24, 8, 8]}, "layers": [
        {"op": "shufflenet_unit", "name": "u0", "out_channels": 48, "stride": 2, )" + options + R"(},
        {"op": "shufflenet_unit", "name": "u1", "out_channels": 48, )" + options + R"(},
        {"op": "shufflenet_unit", "name": "u2", "out_channels": 96, "stride": 2, "concat_order": "branch_first", )" +
                       options + R"(},
        {"op": "global_avgpool", "name": "gap"},
        {"op": "fc", "name": "fc", "out_features": 7}]})";
    return parse_spec_text(text, "units.json");
}

// The mid (bottleneck) channels of each unit above: out / 4.
int64_t mid_channels(const std::string &unit) { return unit == "u2" ? 24 : 12; }

// Paper: out[j*g + i] = in[i*n + j]; inverse: out[b*n + a] = in[a*g + b] (written out here, not shared).
int64_t source_channel(ShuffleConvention convention, int64_t g, int64_t channels, int64_t c) {
    int64_t n = channels / g;
    if (convention == ShuffleConvention::Paper) {
        int64_t j = c / g, i = c % g;
        return i * n + j;
    }
    int64_t b = c / n, a = c % n;
    return a * g + b;
}

// Every node's recorded shape is what shape inference computes from its inputs
// (the reference interpreter trusts the recorded shapes, so check them first).
bool consistent_shapes(const Graph &g, const std::string &what) {
    Graph copy = g;
    try {
        infer_shapes(copy);
    } catch (const Error &e) {
        ADD_FAILURE() << what << ": shape inference fails on the rewritten graph: " << e.what();
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < g.nodes.size(); i++) {
        if (g.nodes[i].shape == copy.nodes[i].shape) continue;
        ok = false;
        ADD_FAILURE() << what << ": node " << g.nodes[i].name << " (" << op_name(g.nodes[i].op) << ", reads "
                      << g.nodes[static_cast<size_t>(g.nodes[i].inputs[0])].name << ") records shape "
                      << to_string(g.nodes[i].shape) << ", its input gives " << to_string(copy.nodes[i].shape);
    }
    return ok;
}

// max |reference(a) - reference(b)| <= 1e-5 * max |reference(a)|.
void expect_same_function(const Graph &a, const Weights &wa, const Graph &b, const Weights &wb,
                          const std::vector<float> &input, const std::string &what) {
    if (!consistent_shapes(b, what)) return;  // the interpreter would read out of bounds
    std::vector<float> ya = run_reference(a, wa, input), yb = run_reference(b, wb, input);
    double scale = unit::max_abs(ya);
    ASSERT_GT(scale, 1e-3) << what << ": the output is too small to compare";
    EXPECT_LE(unit::max_abs_diff(ya, yb), 1e-5 * scale) << what << ": graphs compute different functions";
    EXPECT_EQ(a.output_node().shape, b.output_node().shape) << what;
}

int count_ops(const Graph &g, Op op) {
    int k = 0;
    for (const auto &n : g.nodes) k += n.op == op;
    return k;
}

void expect_topological(const Graph &g) {
    for (size_t i = 0; i < g.nodes.size(); i++)
        for (int in : g.nodes[i].inputs) {
            EXPECT_GE(in, 0) << g.nodes[i].name;
            EXPECT_LT(in, static_cast<int>(i)) << g.nodes[i].name << " reads a later node";
        }
}

std::vector<float> input_for(const Graph &g, uint64_t seed) {
    return unit::random_values(static_cast<size_t>(g.input().shape.elements()), seed);
}

class UnitPasses : public ::testing::TestWithParam<Variant> {};

}  // namespace

TEST_P(UnitPasses, OptimizeKeepsTheFunction) {
    Graph g = unit_graph(GetParam());
    Weights w = random_weights(g, 17);
    std::vector<float> x = input_for(g, 3);
    Graph o = g;
    Weights wo = w;
    optimize(o, wo);
    expect_same_function(g, w, o, wo, x, "optimize");
    expect_topological(o);
    EXPECT_LT(o.nodes.size(), g.nodes.size());
}

TEST_P(UnitPasses, EachPassAloneKeepsTheFunction) {
    Graph g = unit_graph(GetParam());
    Weights w = random_weights(g, 29);
    std::vector<float> x = input_for(g, 4);
    Graph cur = g;
    Weights wc = w;
    fold_batchnorm(cur, wc);
    expect_same_function(g, w, cur, wc, x, "fold_batchnorm");
    sink_shuffle_through_depthwise(cur, wc);
    expect_same_function(g, w, cur, wc, x, "sink_shuffle_through_depthwise");
    expect_topological(cur);
    fold_channel_shuffle(cur);
    expect_same_function(g, w, cur, wc, x, "fold_channel_shuffle");
    fuse_activations(cur);
    expect_same_function(g, w, cur, wc, x, "fuse_activations");

    // The shuffle passes on their own (no batchnorm folding first) keep the function too.
    Graph s = g;
    Weights ws = w;
    sink_shuffle_through_depthwise(s, ws);
    fold_channel_shuffle(s);
    expect_same_function(g, w, s, ws, x, "sink + fold without batchnorm folding");
}

TEST_P(UnitPasses, StructureAfterOptimize) {
    const Variant &v = GetParam();
    Graph o = unit_graph(v);
    Weights w = random_weights(o, 5);
    optimize(o, w);

    // Batchnorms all followed convs: none is left, nor are their tensors.
    EXPECT_EQ(count_ops(o, Op::BatchNorm), 0);
    for (const auto &[name, t] : w) EXPECT_EQ(name.find(".bn"), std::string::npos) << name << " left in the weights";
    // Every shuffle was read by convs only: none is left.
    EXPECT_EQ(count_ops(o, Op::ChannelShuffle), 0);
    EXPECT_NO_THROW(check_weights(o, w, "optimized"));

    for (const char *u : kUnits) {
        std::string unit = u;
        SCOPED_TRACE(unit);
        const Node &conv1 = node(o, unit + ".conv1"), &dw = node(o, unit + ".dw"), &conv3 = node(o, unit + ".conv3");
        // The shuffle is folded into the second pointwise conv, in both positions:
        // after_dw directly, after_pw1 once sunk below the depthwise conv.
        ASSERT_EQ(conv3.input_shuffles.size(), 1u);
        EXPECT_EQ(conv3.input_shuffles[0].convention, v.convention);
        EXPECT_EQ(conv3.input_shuffles[0].groups, v.groups);
        EXPECT_EQ(conv3.input_shuffles[0].channels, mid_channels(unit));
        EXPECT_TRUE(dw.input_shuffles.empty());
        EXPECT_TRUE(conv1.input_shuffles.empty());
        // conv3 reads the depthwise conv, which reads conv1 (batchnorms folded away).
        EXPECT_EQ(o.nodes[static_cast<size_t>(conv3.inputs[0])].name, unit + ".dw");
        EXPECT_EQ(o.nodes[static_cast<size_t>(dw.inputs[0])].name, unit + ".conv1");
        // Folded batchnorms give the convs a bias.
        EXPECT_TRUE(conv1.bias && dw.bias && conv3.bias);
        // relu1 fused into conv1; no ReLU after the depthwise conv.
        EXPECT_TRUE(conv1.activation.is_relu());
        EXPECT_FALSE(dw.activation.enabled);
        EXPECT_EQ(o.find(unit + ".relu1"), -1);
        if (v.se) {
            EXPECT_TRUE(node(o, unit + ".se.fc1").activation.is_relu());
            EXPECT_FALSE(node(o, unit + ".se.fc2").activation.enabled);  // read by the sigmoid
            EXPECT_FALSE(conv3.activation.enabled);                      // read by the SE block
        }
    }
    // Stride 1: the unit's ReLU lives in the add.
    EXPECT_TRUE(node(o, "u1.add").activation.is_relu());
    EXPECT_EQ(o.find("u1"), -1);
    // Stride 2: without SE the branch ReLU fuses into conv3; with SE it stays after the channel scale.
    for (const char *u : {"u0", "u2"}) {
        std::string unit = u;
        if (v.se) {
            ASSERT_NE(o.find(unit + ".relu"), -1);
            const Node &relu = node(o, unit + ".relu");
            EXPECT_EQ(o.nodes[static_cast<size_t>(relu.inputs[0])].op, Op::Mul);
        } else {
            EXPECT_EQ(o.find(unit + ".relu"), -1);
            EXPECT_TRUE(node(o, unit + ".conv3").activation.is_relu());
        }
        // The concat still reads the shortcut and the branch, in the spec's order.
        const Node &cat = node(o, unit);
        ASSERT_EQ(cat.op, Op::Concat);
        std::string first = o.nodes[static_cast<size_t>(cat.inputs[0])].name;
        std::string second = o.nodes[static_cast<size_t>(cat.inputs[1])].name;
        std::string branch = v.se ? unit + ".relu" : unit + ".conv3";
        EXPECT_EQ(unit == "u2" ? first : second, branch);
        EXPECT_EQ(unit == "u2" ? second : first, unit + ".shortcut");
    }
    // No ReLU is left that could have been fused.
    auto readers = o.consumers();
    for (const auto &n : o.nodes) {
        if (n.op != Op::Relu) continue;
        const Node &p = o.nodes[static_cast<size_t>(n.inputs[0])];
        bool fusable = (p.op == Op::Conv || p.op == Op::Dense || p.op == Op::Add) &&
                       readers[static_cast<size_t>(n.inputs[0])].size() == 1;
        EXPECT_FALSE(fusable) << n.name << " should have been fused into " << p.name;
    }
}

TEST_P(UnitPasses, ShuffleSinksBelowTheDepthwiseConvOnlyFromThePaperPosition) {
    const Variant &v = GetParam();
    Graph g = unit_graph(v);
    Weights w = random_weights(g, 9);
    fold_batchnorm(g, w);
    const Weights before = w;
    Graph s = g;
    sink_shuffle_through_depthwise(s, w);
    expect_topological(s);
    if (v.after_dw) {
        // The shuffle already follows the depthwise conv (and is read by conv3): nothing moves.
        ASSERT_EQ(s.nodes.size(), g.nodes.size());
        for (size_t i = 0; i < g.nodes.size(); i++) {
            EXPECT_EQ(s.nodes[i].name, g.nodes[i].name);
            EXPECT_EQ(s.nodes[i].inputs, g.nodes[i].inputs) << g.nodes[i].name;
        }
        for (const auto &[name, t] : before) EXPECT_EQ(w.at(name).data, t.data) << name;
        for (const char *u : kUnits)
            EXPECT_EQ(s.nodes[static_cast<size_t>(s.find(std::string(u) + ".conv3"))].inputs[0],
                      s.find(std::string(u) + ".shuffle"));
        return;
    }
    for (const char *u : kUnits) {
        std::string unit = u;
        SCOPED_TRACE(unit);
        // Before: conv1 -> relu1 -> shuffle -> dw. After: conv1 -> relu1 -> dw' -> shuffle -> conv3.
        int shuffle = s.find(unit + ".shuffle"), dw = s.find(unit + ".dw");
        ASSERT_GE(shuffle, 0);
        ASSERT_GE(dw, 0);
        EXPECT_LT(dw, shuffle);
        EXPECT_EQ(s.nodes[static_cast<size_t>(shuffle)].inputs, (std::vector<int>{dw}));
        EXPECT_EQ(s.nodes[static_cast<size_t>(dw)].inputs[0], s.find(unit + ".relu1"));
        EXPECT_EQ(s.nodes[static_cast<size_t>(s.find(unit + ".conv3"))].inputs[0], shuffle);
        // dw' has its per-channel weights and bias permuted: w'[source(c)] = w[c].
        int64_t channels = mid_channels(unit);
        for (const char *role : {".dw.weight", ".dw.bias"}) {
            const Tensor &old_t = before.at(unit + role), &new_t = w.at(unit + role);
            ASSERT_EQ(old_t.data.size(), new_t.data.size());
            size_t per = old_t.data.size() / static_cast<size_t>(channels);
            bool moved = false;
            for (int64_t c = 0; c < channels; c++) {
                int64_t src = source_channel(v.convention, v.groups, channels, c);
                moved = moved || src != c;
                for (size_t k = 0; k < per; k++)
                    EXPECT_EQ(new_t.data[static_cast<size_t>(src) * per + k], old_t.data[static_cast<size_t>(c) * per + k])
                        << role << " channel " << c;
            }
            EXPECT_TRUE(moved);
        }
    }
    // Then folding puts each shuffle into its conv3, not into the depthwise conv.
    fold_channel_shuffle(s);
    for (const char *u : kUnits) {
        std::string unit = u;
        EXPECT_EQ(node(s, unit + ".conv3").input_shuffles.size(), 1u) << unit;
        EXPECT_TRUE(node(s, unit + ".dw").input_shuffles.empty()) << unit;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Variants, UnitPasses,
    ::testing::Values(Variant{2, ShuffleConvention::Paper, false, false}, Variant{3, ShuffleConvention::Paper, false, false},
                      Variant{4, ShuffleConvention::Paper, false, false}, Variant{2, ShuffleConvention::Inverse, false, false},
                      Variant{3, ShuffleConvention::Inverse, false, false}, Variant{4, ShuffleConvention::Inverse, false, false},
                      Variant{2, ShuffleConvention::Paper, true, false}, Variant{3, ShuffleConvention::Paper, true, false},
                      Variant{4, ShuffleConvention::Paper, true, false}, Variant{2, ShuffleConvention::Inverse, true, false},
                      Variant{3, ShuffleConvention::Inverse, true, false}, Variant{4, ShuffleConvention::Inverse, true, false},
                      Variant{3, ShuffleConvention::Paper, false, true}, Variant{4, ShuffleConvention::Inverse, false, true},
                      Variant{2, ShuffleConvention::Paper, true, true}, Variant{3, ShuffleConvention::Inverse, true, true}),
    [](const ::testing::TestParamInfo<Variant> &p) { return variant_name(p.param); });

namespace {

// input -> bn0 (not after a conv) -> convA 3x3 -> bnA -> reluA -> convB 1x1 (2 groups) -> bnB
//   -> add(convB, reluA) -> relu -> shuffle (read by a maxpool) -> maxpool -> flatten -> fc1 -> relu -> fc2
Graph plain_graph() {
    Graph g;
    GraphBuilder b(g);
    int x = b.input("input", Shape{1, 6, 10, 10});
    x = b.batchnorm("bn0", x, 1e-3);
    int a = b.relu("reluA", b.batchnorm("bnA", b.conv("convA", x, 8, Window::square(3, 1, 1), 1, true), 1e-5));
    int c = b.batchnorm("bnB", b.conv("convB", a, 8, Window::square(1, 1, 0), 2, false), 1e-5);
    int s = b.relu("relu_add", b.add("add", c, a));
    s = b.shuffle("shuffle", s, 2, ShuffleConvention::Paper);
    s = b.flatten("flatten", b.maxpool("pool", s, Window::square(2, 2, 0)));
    g.output = b.dense("fc2", b.relu("relu_fc", b.dense("fc1", s, 12, true)), 3, true);
    return g;
}

}  // namespace

TEST(PlainPasses, OptimizeKeepsTheFunctionAndFoldsWhatItCan) {
    Graph g = plain_graph();
    Weights w = random_weights(g, 41);
    std::vector<float> x = input_for(g, 42);
    Graph o = g;
    Weights wo = w;
    optimize(o, wo);
    expect_same_function(g, w, o, wo, x, "optimize (plain layers)");
    expect_topological(o);

    // bn0 reads the input: it stays. bnA and bnB are folded.
    ASSERT_NE(o.find("bn0"), -1);
    EXPECT_EQ(o.nodes[static_cast<size_t>(node(o, "bn0").inputs[0])].op, Op::Input);
    EXPECT_EQ(o.find("bnA"), -1);
    EXPECT_EQ(o.find("bnB"), -1);
    EXPECT_EQ(count_ops(o, Op::BatchNorm), 1);
    // ReLUs: into convA (read by convB and the add), the add, and fc1.
    EXPECT_TRUE(node(o, "convA").activation.is_relu());
    EXPECT_TRUE(node(o, "add").activation.is_relu());
    EXPECT_TRUE(node(o, "fc1").activation.is_relu());
    EXPECT_FALSE(node(o, "convB").activation.enabled);
    EXPECT_EQ(count_ops(o, Op::Relu), 0);
    // The add reads convB and convA directly.
    const Node &add = node(o, "add");
    EXPECT_EQ(o.nodes[static_cast<size_t>(add.inputs[0])].name, "convB");
    EXPECT_EQ(o.nodes[static_cast<size_t>(add.inputs[1])].name, "convA");
    // The shuffle is read by a pool, not a conv: it stays a node.
    EXPECT_EQ(count_ops(o, Op::ChannelShuffle), 1);
    // Flatten before the FC is dropped: fc1 reads the pool.
    EXPECT_EQ(o.find("flatten"), -1);
    EXPECT_EQ(o.nodes[static_cast<size_t>(node(o, "fc1").inputs[0])].name, "pool");
    EXPECT_EQ(o.output_node().name, "fc2");
}

TEST(PlainPasses, UnfoldableCasesStayAndKeepTheFunction) {
    // conv d has two readers (a batchnorm and an add): the batchnorm must not fold.
    // shuffle s is read by a conv and by an add: it must not fold into the conv.
    // The graph's output is a ReLU after an add read twice: no fusion.
    Graph g;
    GraphBuilder b(g);
    int x = b.input("input", Shape{2, 6, 5, 5});
    int d = b.conv("d", x, 6, Window::square(1, 1, 0), 3, true);
    int bn = b.batchnorm("bn", d, 1e-5);
    int sum = b.add("sum", d, bn);
    int s = b.shuffle("s", sum, 3, ShuffleConvention::Inverse);
    int e = b.conv("e", s, 6, Window::square(3, 1, 1), 2, false);
    int sum2 = b.add("sum2", e, s);
    int r = b.relu("r", sum2);
    g.output = b.add("out", r, sum2);
    Weights w = random_weights(g, 51);
    std::vector<float> input = input_for(g, 52);
    Graph o = g;
    Weights wo = w;
    optimize(o, wo);
    expect_same_function(g, w, o, wo, input, "optimize (unfoldable cases)");
    EXPECT_NE(o.find("bn"), -1);
    EXPECT_NE(o.find("s"), -1);
    EXPECT_TRUE(node(o, "e").input_shuffles.empty());
    EXPECT_NE(o.find("r"), -1);
    EXPECT_FALSE(node(o, "sum2").activation.enabled);
}

TEST(PlainPasses, TwoShufflesInARowComposeInOneConv) {
    // shuffle(paper, g=2) -> shuffle(inverse, g=3) -> 1x1 conv: both fold into the conv, in order.
    Graph g;
    GraphBuilder b(g);
    int x = b.input("input", Shape{1, 12, 3, 3});
    int s1 = b.shuffle("s1", x, 2, ShuffleConvention::Paper);
    int s2 = b.shuffle("s2", s1, 3, ShuffleConvention::Inverse);
    g.output = b.conv("c", s2, 4, Window::square(1, 1, 0), 1, true);
    Weights w = random_weights(g, 61);
    std::vector<float> input = input_for(g, 62);
    Graph o = g;
    Weights wo = w;
    optimize(o, wo);
    expect_same_function(g, w, o, wo, input, "two shuffles");
    EXPECT_EQ(count_ops(o, Op::ChannelShuffle), 0);
    const Node &c = node(o, "c");
    EXPECT_EQ(o.nodes[static_cast<size_t>(c.inputs[0])].op, Op::Input);
    ASSERT_EQ(c.input_shuffles.size(), 2u);
    // The conv reads logical channel k of s2 = channel src2(k) of s1 = channel src1(src2(k)) of x.
    for (int64_t k = 0; k < 12; k++)
        EXPECT_EQ(shuffled_channel(c.input_shuffles, k),
                  source_channel(ShuffleConvention::Paper, 2, 12,
                                 source_channel(ShuffleConvention::Inverse, 3, 12, k)))
            << "channel " << k;
}

TEST(PlainPasses, ShuffleSunkBelowADepthwiseConvThatNothingFoldsInto) {
    // shuffle -> depthwise conv -> maxpool: the shuffle moves below the depthwise conv,
    // but a pool reads it, so it stays a node. With stride 2 the depthwise conv changes
    // the spatial size, and the moved shuffle must take its new input's shape.
    for (int stride : {1, 2}) {
        SCOPED_TRACE(testing::Message() << "depthwise stride " << stride);
        Graph g;
        GraphBuilder b(g);
        int x = b.input("input", Shape{1, 6, 8, 8});
        int s = b.shuffle("shuffle", x, 2, ShuffleConvention::Paper);
        int d = b.conv("dw", s, 6, Window::square(3, stride, 1), 6, true);
        g.output = b.maxpool("pool", d, Window::square(2, 2, 0));
        Weights w = random_weights(g, 71);
        std::vector<float> input = input_for(g, 72);
        Graph o = g;
        Weights wo = w;
        optimize(o, wo);
        ASSERT_NE(o.find("shuffle"), -1);
        EXPECT_EQ(o.nodes[static_cast<size_t>(node(o, "shuffle").inputs[0])].name, "dw");
        EXPECT_EQ(to_string(node(o, "shuffle").shape), to_string(node(o, "dw").shape));
        expect_same_function(g, w, o, wo, input, "optimize (shuffle before a depthwise conv read by a pool)");
    }
}
