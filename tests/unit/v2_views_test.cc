// ShuffleNet V2's channel split, concat and shuffle: the passes fold them into
// the next convs' reads (passes/fold_channel_views.cc), the graph computes the
// same (reference interpreter before and after), no view survives, no unit
// reads a copy, and the units are found from the graph's structure
// (passes/mark_units.cc). Also the weight packing step (lower/weight_packing.h)
// and the registry every op is defined in (compiler/ops/).
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "graph/graph.h"
#include "lower/segment_plan.h"
#include "lower/weight_packing.h"
#include "ops/op.h"
#include "passes/passes.h"
#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "unit_support.h"
#include "weights/weights.h"

using namespace shufflec;

namespace {

// A small ShuffleNet V2: conv1, maxpool, stages of (2, 3, 1) units, conv5, pool, fc.
Graph v2_graph(int64_t height = 32) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "v2", "input": {"shape": [1, 3, )" +
                       std::to_string(height) + R"(, 32]},
        "family": {"name": "shufflenet_v2", "stage_out_channels": [8, 16, 32, 64, 80], "stage_repeats": [2, 3, 1],
                   "num_classes": 10}})";
    return parse_spec_text(text, "v2.json");
}

int count_ops(const Graph &g, std::initializer_list<Op> ops) {
    int n = 0;
    for (const auto &node : g.nodes)
        for (Op op : ops) n += node.op == op;
    return n;
}

}  // namespace

TEST(ChannelViews, FoldedGraphComputesTheSame) {
    for (int64_t height : {32, 24}) {
        Graph g = v2_graph(height);
        Weights w = random_weights(g, 3);
        std::vector<float> x = unit::random_values(static_cast<size_t>(g.input().shape.elements()), 9);
        std::vector<float> before = run_reference(g, w, x);
        optimize(g, w);
        std::vector<float> after = run_reference(g, w, x);
        double scale = unit::max_abs(before);
        ASSERT_GT(scale, 1e-3);
        EXPECT_LE(unit::max_abs_diff(before, after), 1e-5 * scale) << "height " << height;
    }
}

TEST(ChannelViews, NoSplitConcatOrShuffleSurvives) {
    Graph g = v2_graph();
    Weights w = random_weights(g, 3);
    EXPECT_EQ(count_ops(g, {Op::Slice}), 2 * (1 + 2 + 0));  // two per stride-1 unit
    EXPECT_EQ(count_ops(g, {Op::ChannelShuffle}), 6);
    optimize(g, w);
    EXPECT_EQ(count_ops(g, {Op::Concat, Op::ChannelShuffle, Op::ChannelPermute}), 0) << "a view was left";
    // The only slices left are the depthwise convs' reads of part of a tensor (offset views, never copies).
    for (const auto &node : g.nodes) {
        if (node.op != Op::Slice) continue;
        auto readers = g.consumers()[g.find(node.name)];
        for (int r : readers) EXPECT_TRUE(is_depthwise(g, g.nodes[r])) << node.name << " is read by " << g.nodes[r].name;
    }
    // The second unit's branch reads the first unit's output through parts: both of its tensors.
    const Node &conv = unit::node(g, "stage2.1.branch2.0");
    ASSERT_FALSE(conv.parts.empty());
    std::set<std::string> sources;
    for (int in : conv.inputs) sources.insert(g.nodes[in].name);
    EXPECT_EQ(sources, (std::set<std::string>{"stage2.0.branch1.2", "stage2.0.branch2.5"}));
    // Every part is a contiguous channel run of a computed tensor, inside it.
    int64_t total = 0;
    for (const auto &p : conv.parts) {
        const Node &src = g.nodes[conv.inputs[p.input]];
        EXPECT_TRUE(src.op == Op::Conv) << src.name;
        EXPECT_GE(p.begin, 0);
        EXPECT_LE(p.begin + p.count, src.shape.c);
        total += p.count;
    }
    EXPECT_EQ(total, 8);  // the split's second half of 16 channels
}

TEST(ChannelViews, UnitsComeFromTheStructure) {
    Graph g = v2_graph();
    Weights w = random_weights(g, 3);
    optimize(g, w);
    SegmentPlan plan = plan_segments(g);
    std::vector<std::string> units;
    for (const auto &seg : plan.segments) units.push_back(seg.block);
    EXPECT_EQ(units, (std::vector<std::string>{"conv1.0", "stage2.0", "stage2.1", "stage3.0", "stage3.1", "stage3.2",
                                              "stage4.0", "conv5.0"}));
    // A unit reads earlier units' tensors directly: they stay alive across units.
    const Segment &s31 = plan.segments[4];
    std::set<std::string> inputs;
    for (int in : s31.inputs) inputs.insert(g.nodes[in].name);
    EXPECT_GT(inputs.size(), 1u) << "stage3.1 should read several earlier tensors";
}

// Splitting a depthwise conv that reads a view: one per source run, permuted back.
TEST(ChannelViews, DepthwiseOverAViewIsSplitPerSource) {
    Graph g = v2_graph();
    Weights w = random_weights(g, 3);
    optimize(g, w);
    // stage3.0's left branch is a depthwise conv over stage2's last output (a view of three tensors).
    int parts = 0;
    for (const auto &node : g.nodes)
        if (node.name.rfind("stage3.0.branch1.0.part", 0) == 0) {
            EXPECT_TRUE(is_depthwise(g, node)) << node.name;
            parts++;
        }
    EXPECT_GE(parts, 2);
}

TEST(WeightPacking, GroupsArePaddedToWholeVectors) {
    std::string text = R"({"format": "shufflec-spec/1", "name": "p", "input": {"shape": [1, 6, 4, 4]},
        "layers": [{"op": "conv", "name": "g", "out_channels": 9, "kernel": 1, "groups": 3},
                   {"op": "conv", "name": "dw", "out_channels": 9, "kernel": 3, "pad": 1, "groups": 9, "bias": false}]})";
    Graph g = parse_spec_text(text, "p.json");
    Weights w = random_weights(g, 4);
    SegmentPlan plan = plan_segments(g);
    for (int64_t lanes : {4, 8, 16}) {
        PackingOptions packing;
        packing.group_padding = lanes;
        PackedWeights p = pack_weights(g, w, plan, packing);
        const PackedNode &conv = p.nodes[g.find("g")];
        EXPECT_EQ(conv.group, 3);
        EXPECT_EQ(conv.padded_group, lanes);
        // [group][input channel][k padded]: 3 groups x 2 inputs x lanes, then the bias 3 x lanes.
        EXPECT_EQ(conv.weight.floats, 3 * 2 * lanes);
        EXPECT_EQ(conv.bias.floats, 3 * lanes);
        const auto &src = w.at("g.weight").data;  // [9][2][1][1]
        for (int64_t grp = 0; grp < 3; grp++)
            for (int64_t i = 0; i < 2; i++)
                for (int64_t k = 0; k < lanes; k++) {
                    float packed = p.data[static_cast<size_t>(conv.weight.offset + (grp * 2 + i) * lanes + k)];
                    float want = k < 3 ? src[static_cast<size_t>((grp * 3 + k) * 2 + i)] : 0.0f;
                    ASSERT_EQ(packed, want) << "lanes " << lanes << " group " << grp << " input " << i << " k " << k;
                }
        // Every array starts on a 64-byte boundary; the layout is recorded for the fingerprint.
        for (const auto &[offset, floats] : p.arrays) EXPECT_EQ(offset % 16, 0);
        EXPECT_EQ(p.arrays.size(), 3u);  // conv weight, conv bias, depthwise weight
        EXPECT_EQ(p.nodes[g.find("dw")].bias.offset, -1);
    }
}

// Every primitive op has its whole definition in compiler/ops/.
TEST(OpRegistry, EveryOpIsComplete) {
    std::set<std::string> names;
    for (const OpDef *d : all_ops()) {
        SCOPED_TRACE(d->name);
        EXPECT_TRUE(names.insert(d->name).second) << "duplicate name";
        EXPECT_EQ(&op_def(d->op), d);
        EXPECT_NE(d->infer, nullptr);
        if (d->op == Op::Input) continue;
        EXPECT_EQ(find_op(d->name), d);
        EXPECT_NE(d->reference, nullptr);
        EXPECT_NE(d->lower, nullptr);
        EXPECT_NE(d->grouping, nullptr) << "every op says how its value is grouped";
    }
    EXPECT_EQ(find_op("shufflenet_unit"), nullptr) << "composites are not primitives";
    // Every value of the Op enum has one definition, and nothing else is registered.
    EXPECT_EQ(all_ops().size(), static_cast<size_t>(kOpCount));
    for (int i = 0; i < kOpCount; i++) EXPECT_EQ(op_def(static_cast<Op>(i)).op, static_cast<Op>(i)) << "Op " << i;
}
