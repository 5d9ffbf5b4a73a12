// The tuner's search space (compiler/tune/search_space.h): what it declares
// for a model, that the cost model's choice is a legal point, that a point
// becomes ordinary schedule knobs which the scheduler then uses, and that
// workload keys name a unit's structure, not its name.
#include <random>
#include <set>

#include "emit/compile_model.h"
#include "emit/model_fingerprint.h"
#include "lower/lower_segment.h"
#include "tune/search_space.h"
#include "tune/tuning_log.h"
#include "tiny_model.h"
#include "util/file_io.h"

using namespace shufflec;

namespace {


const UnitSpace &unit_named(const ModelSpace &space, const std::string &name) {
    for (const auto &u : space.units)
        if (u.unit == name) return u;
    ADD_FAILURE() << "no unit " << name;
    return space.units.front();
}

}  // namespace

TEST(SearchSpace, DefaultsAreLegalPointsAndKnobsFitTheRegisters) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    EXPECT_EQ(space.units.size(), p.plan.segments.size());
    EXPECT_EQ(space.group_padding.default_value, 8);  // AVX2: 8 lanes
    for (const auto &u : space.units) {
        ASSERT_FALSE(u.roots.empty()) << u.unit;
        EXPECT_TRUE(config_is_legal(u, default_config(u))) << u.unit;
        for (const auto &r : u.roots) {
            EXPECT_EQ(r.registers, 16) << r.root;
            const KnobSpace *t = r.knob("tile_x");
            if (t) {
                EXPECT_LE(t->values.back(), std::min<int64_t>(8, r.width)) << r.root;
            }
        }
    }
    // A tile that does not fit 16 registers (8 vectors x 8 pixels) is not a point.
    const UnitSpace &u = unit_named(space, "stage3.1");
    Config c = default_config(u);
    c[0]["channel_vectors"] = 8;
    c[0]["tile_x"] = 2;  // 8 * 2 + 8 + 1 = 25 > 16
    EXPECT_FALSE(config_is_legal(u, c));
    EXPECT_EQ(unit::prepare_tiny("arm-64-linux", dir).blob.group_padding, 4);  // NEON: no padding beyond 4 lanes
}

TEST(SearchSpace, WorkloadKeysNameStructureNotNames) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace one = search_space(p, 1), two = search_space(p, 2);
    // stage3.1 and stage3.2 are the same unit under two names; stage3.0 (stride 2) is not.
    EXPECT_EQ(unit_named(one, "stage3.1").key, unit_named(one, "stage3.2").key);
    EXPECT_NE(unit_named(one, "stage3.0").key, unit_named(one, "stage3.1").key);
    EXPECT_NE(unit_named(one, "stage2.1").key, unit_named(one, "stage3.1").key);
    // Thread counts are part of the key.
    EXPECT_NE(unit_named(one, "stage3.1").key, unit_named(two, "stage3.1").key);
    std::set<std::string> keys;
    for (const auto &u : one.units) keys.insert(u.key);
    EXPECT_EQ(keys.size(), one.units.size() - 1);  // only stage3.1 / stage3.2 share
}

// One signature per node for workload keys and the weights fingerprint: nodes
// that differ only in a channel permutation's order, a clip's bounds or a bias
// differ where it matters (bias only for the weights' layout).
TEST(SearchSpace, NodeSignaturesSeparateWhatWorkloadsAndWeightsDependOn) {
    Node a;
    a.op = Op::ChannelPermute;
    a.shape = Shape{1, 4, 6, 6};
    a.order = {1, 0, 3, 2};
    Node b = a;
    b.order = {2, 3, 0, 1};
    EXPECT_NE(node_signature(a, 0), node_signature(b, 0));
    EXPECT_NE(node_signature(a, 0, true), node_signature(b, 0, true));
    Node c = a;
    c.name = "another name";
    c.inputs = {7};
    EXPECT_EQ(node_signature(a, 0), node_signature(c, 0));
    EXPECT_NE(node_signature(a, 0), node_signature(a, 3));  // the plan's grouping of its value
    Node conv;
    conv.op = Op::Conv;
    conv.shape = Shape{1, 8, 6, 6};
    Node biased = conv;
    biased.bias = true;
    EXPECT_EQ(node_signature(conv, 0), node_signature(biased, 0));
    EXPECT_NE(node_signature(conv, 0, true), node_signature(biased, 0, true));
    // The model's workload keys and fingerprint are made of these signatures.
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    const UnitSpace &u = unit_named(space, "stage3.1");
    const Segment &seg = p.plan.segments[static_cast<size_t>(u.segment)];
    std::string fingerprint = model_fingerprint_text(p.graph, p.plan, p.blob, "x86-64-linux");
    for (int n : seg.nodes) {
        EXPECT_NE(u.workload.find(node_signature(p.graph.nodes[n], p.plan.grouping[n])), std::string::npos);
        EXPECT_NE(fingerprint.find(node_signature(p.graph.nodes[n], p.plan.grouping[n], true)), std::string::npos);
    }
}

// tune --resume's view of a log (read_log_history): trials of this target and
// thread count per workload, ok ones best first, a config of another version
// of the space counted apart, checks, other thread counts and other costs
// (modeled cycles beside times) not trials.
TEST(SearchSpace, ALogsHistoryPerWorkload) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    const UnitSpace &u = unit_named(space, "stage3.1");
    Config def = default_config(u), other = def;
    other[0]["tile_x"] = other[0]["tile_x"] == 1 ? 2 : 1;
    auto record = [&](int session, const Config &c, const char *status, double est, bool is_default, int threads) {
        nlohmann::json r = {{"format", "shufflec-tune/1"}, {"session", session}, {"workload", u.key},
                            {"target", space.target}, {"threads", threads}, {"config", config_to_json(c)},
                            {"status", status}, {"default", is_default}};
        if (est > 0) r["est_ms"] = est;
        return r.dump() + "\n";
    };
    nlohmann::json foreign = {{"format", "shufflec-tune/1"}, {"session", 1}, {"workload", u.key},
                              {"target", space.target}, {"threads", 1}, {"config", {{{"no_such_knob", 1}}}},
                              {"status", "ok"}, {"est_ms", 0.5}};
    nlohmann::json check = {{"format", "shufflec-tune/1"}, {"session", 4}, {"workload", u.key}, {"check", true},
                            {"target", space.target}, {"threads", 1}, {"status", "ok"}};
    nlohmann::json modeled = nlohmann::json::parse(record(2, def, "ok", 0.05, true, 1));
    modeled["cost"] = "neoverse-n1";
    std::string log = dir.file("log.jsonl");
    write_file_atomic(log, record(1, def, "ok", 1.0, true, 1) + record(2, other, "ok", 0.8, false, 1) +
                               record(2, other, "crashed", 0, false, 1) + record(3, other, "ok", 0.1, false, 2) +
                               foreign.dump() + "\n" + check.dump() + "\n" + modeled.dump() + "\n");
    LogHistory h = read_log_history(log, space, 1, "time");
    EXPECT_EQ(h.last_session, 4);
    EXPECT_EQ(h.trials, 3);
    EXPECT_EQ(h.other_space, 1);
    ASSERT_EQ(h.workloads.size(), 1u);
    const WorkloadHistory &w = h.workloads.at(u.key);
    EXPECT_EQ(w.trials, 3);
    EXPECT_EQ(w.tried.size(), 2u);
    EXPECT_TRUE(w.default_done);
    EXPECT_DOUBLE_EQ(w.default_ms, 1.0);
    ASSERT_EQ(w.good.size(), 2u);
    EXPECT_DOUBLE_EQ(w.good[0].first, 0.8);
    EXPECT_EQ(config_to_json(w.good[0].second), config_to_json(other));
    // The modeled cost's history is the modeled record alone.
    LogHistory m = read_log_history(log, space, 1, "neoverse-n1");
    EXPECT_EQ(m.trials, 1);
    ASSERT_EQ(m.workloads.at(u.key).good.size(), 1u);
    EXPECT_DOUBLE_EQ(m.workloads.at(u.key).default_ms, 0.05);
    // Without the default's measurement no estimate counts.
    write_file_atomic(log, record(1, other, "ok", 0.8, false, 1));
    EXPECT_TRUE(read_log_history(log, space, 1, "time").workloads.at(u.key).good.empty());
}

TEST(SearchSpace, AConfigBecomesScheduleKnobsTheSchedulerUses) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    const UnitSpace &u = unit_named(space, "stage3.1");
    Config c = default_config(u);
    for (auto &root : c) {
        root["channel_vectors"] = 1;
        if (root.count("tile_x")) root["tile_x"] = 3;
        if (root.count("tasks_per_thread")) root["tasks_per_thread"] = 2;
        if (root.count("channels_outer")) root["channels_outer"] = 1;
        if (root.count("unroll")) root["unroll"] = 2;
        if (root.count("vector")) root["vector"] = 4;
        if (root.count("reduction_block")) root["reduction_block"] = root["unroll"] == 2 ? 16 : 0;
    }
    ASSERT_TRUE(config_is_legal(u, c));
    ScheduleFile file = p.schedule;
    apply_config(file, u, c);
    LoweredSegment lowered = lower_segment(p.graph, p.blob, p.plan, u.segment);
    std::vector<ScheduleChoice> choices = apply_schedule(lowered, p.graph, p.plan, file, p.target.halide);
    ASSERT_EQ(choices.size(), u.roots.size());
    int pointwise = 0, blocked = 0;
    for (size_t i = 0; i < choices.size(); i++) {
        EXPECT_EQ(choices[i].root, u.roots[i].root);
        EXPECT_EQ(choices[i].channel_vectors, 1) << choices[i].root;
        ASSERT_NE(u.roots[i].knob("vector"), nullptr) << choices[i].root;  // AVX2: 4 or 8 lanes
        EXPECT_EQ(choices[i].vector, 4) << choices[i].root;
        if (u.roots[i].knob("tile_x")) {
            EXPECT_EQ(choices[i].tile_x, std::min<int64_t>(3, u.roots[i].width));
        }
        if (u.roots[i].knob("tasks_per_thread")) {
            EXPECT_EQ(choices[i].tasks_per_thread, 2);
        }
        if (u.roots[i].knob("unroll")) {
            EXPECT_TRUE(choices[i].channels_outer) << choices[i].root;
            EXPECT_EQ(choices[i].unroll, 2) << choices[i].root;
            ++pointwise;
        }
        if (u.roots[i].knob("reduction_block")) {
            EXPECT_EQ(choices[i].reduction_block, 16) << choices[i].root;
            ++blocked;
        }
    }
    EXPECT_EQ(pointwise, 2);  // conv1 and conv3 (with the residual add and ReLU)
    EXPECT_EQ(blocked, 1);    // conv1 (80 input channels per group; conv3 has 20: no block of 16 divides it)
    // A blocked reduction without channels_outer is not a point of its own.
    Config inner = c;
    for (size_t i = 0; i < inner.size(); i++)
        if (u.roots[i].knob("reduction_block")) inner[i]["channels_outer"] = 0;
    EXPECT_FALSE(config_is_legal(u, inner));
    // JSON round trip; a config of another unit's shape is refused.
    EXPECT_EQ(config_to_json(config_from_json(config_to_json(c), u).value()), config_to_json(c));
    EXPECT_FALSE(config_from_json(config_to_json(default_config(unit_named(space, "stem.conv"))), u));
    // A record from before a knob existed is read with that knob at its default.
    nlohmann::json old_record = config_to_json(c);
    for (auto &root : old_record) root.erase("vector");
    Config read = config_from_json(old_record, u).value();
    for (size_t i = 0; i < read.size(); i++) EXPECT_EQ(read[i].at("vector"), u.roots[i].knob("vector")->default_value);
}

TEST(SearchSpace, TheStemChoosesItsInputLayoutAndNeonHasOneVectorWidth) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    const UnitSpace &stem = unit_named(space, "stem.conv");
    const KnobSpace *planar = stem.roots[0].knob("planar_input");
    ASSERT_NE(planar, nullptr);
    EXPECT_EQ(planar->default_value, 1);  // 3 input channels: planes
    Config c = default_config(stem);
    c[0]["planar_input"] = 0;
    ScheduleFile file = p.schedule;
    apply_config(file, stem, c);
    LoweredSegment lowered = lower_segment(p.graph, p.blob, p.plan, stem.segment);
    std::vector<ScheduleChoice> choices = apply_schedule(lowered, p.graph, p.plan, file, p.target.halide);
    ASSERT_FALSE(choices.empty());
    EXPECT_TRUE(choices[0].staged_input);
    EXPECT_FALSE(choices[0].planar_input);
    // Only the stem has a staged input.
    for (const auto &u : space.units) {
        for (const auto &r : u.roots) {
            if (&u != &stem) {
                EXPECT_EQ(r.knob("planar_input"), nullptr) << r.root;
            }
        }
    }
    // NEON's 4-lane vectors are the narrowest: no vector knob there.
    ModelSpace arm = search_space(unit::prepare_tiny("arm-64-linux", dir), 1);
    for (const auto &u : arm.units) {
        for (const auto &r : u.roots) {
            EXPECT_EQ(r.knob("vector"), nullptr) << r.root;
        }
    }
}

// On ARM (no memory operands) a depthwise conv's 9 tap weights stay in
// registers across its register tile: the default tile leaves room for them
// beside the accumulators and a tap row of inputs (wider tiles spilled).
// On x86 the default tile is one channel vector by 4 to 8 pixels (the 1x1
// model's several vectors spilled there too: apply_schedule.cc).
TEST(SearchSpace, DepthwiseTilesKeepTheirTapWeightsInRegisters) {
    unit::TempDir dir;
    auto depthwise_choices = [&](const char *target) {
        PreparedModel p = unit::prepare_tiny(target, dir);
        std::vector<ScheduleChoice> found;
        for (const auto &u : search_space(p, 1).units) {
            LoweredSegment lowered = lower_segment(p.graph, p.blob, p.plan, u.segment);
            for (const ScheduleChoice &c : apply_schedule(lowered, p.graph, p.plan, p.schedule, p.target.halide))
                if (c.kind == "depthwise" && !c.fused) found.push_back(c);
        }
        return found;
    };
    std::vector<ScheduleChoice> arm = depthwise_choices("arm-64-linux");
    ASSERT_GE(arm.size(), 3u);  // a depthwise root per unit
    for (const ScheduleChoice &c : arm) {
        EXPECT_EQ(c.registers, 32) << c.root;
        // accumulators + tap weights + a tap row of inputs, two spare
        EXPECT_LE(c.channel_vectors * c.tile_x + c.channel_vectors * 9 + 3, c.registers - 2) << c.root;
        EXPECT_GE(c.tile_x, std::min<int64_t>(4, c.width)) << c.root;  // still a tile of pixels
    }
    for (const char *target : {"x86-64-linux", "x86-64-linux-avx512"}) {
        std::vector<ScheduleChoice> x86 = depthwise_choices(target);
        ASSERT_GE(x86.size(), 3u) << target;
        for (const ScheduleChoice &c : x86) {
            EXPECT_EQ(c.channel_vectors, 1) << target << " " << c.root;
            EXPECT_GE(c.tile_x, std::min<int64_t>(4, c.width)) << target << " " << c.root;
            EXPECT_LE(c.tile_x, 8) << target << " " << c.root;
        }
    }
}

// The layout choice: internal 1x1 and depthwise roots whose channels are not
// whole vectors may vectorize over pixels (channel_vectors then counts
// channels, tile_x vectors of pixels); unit outputs, whole vectors of channels
// and rows narrower than 4 pixels may not.
TEST(SearchSpace, InternalRootsMayVectorizeOverPixels) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    for (const auto &u : space.units) {
        for (const auto &r : u.roots) {
            bool internal = (r.kind == "pointwise" || r.kind == "depthwise") && r.names.size() == 1 &&
                            r.root.find("conv3") == std::string::npos;
            EXPECT_EQ(r.knob("pixel_vectors") != nullptr, internal && r.width >= 4 && r.channels % 8 != 0) << r.root;
            if (r.knob("pixel_vectors")) {
                EXPECT_EQ(r.knob("pixel_vectors")->default_value, 0) << r.root;
            }
        }
    }
    // stage2.1.conv1: groups of 10 channels in rows of 6 pixels (4 lanes over pixels).
    const UnitSpace &u = unit_named(space, "stage2.1");
    ASSERT_EQ(u.roots[0].root, "stage2.1.conv1");
    ASSERT_EQ(u.roots[0].channels, 10);
    ASSERT_EQ(u.roots[0].width, 6);
    Config c = default_config(u);
    c[0]["pixel_vectors"] = 1;
    c[0]["channel_vectors"] = 7;
    c[0]["tile_x"] = 1;
    EXPECT_TRUE(config_is_legal(u, c));
    c[0]["tile_x"] = 2;  // 2 vectors of 4 pixels > 6
    EXPECT_FALSE(config_is_legal(u, c));
    c[0]["tile_x"] = 1;
    c[0]["pixel_vectors"] = 0;  // 7 vectors of channels for 10 channels
    EXPECT_FALSE(config_is_legal(u, c));
    c[0]["pixel_vectors"] = 1;
    ScheduleFile file = p.schedule;
    apply_config(file, u, c);
    LoweredSegment lowered = lower_segment(p.graph, p.blob, p.plan, u.segment);
    std::vector<ScheduleChoice> choices = apply_schedule(lowered, p.graph, p.plan, file, p.target.halide);
    ASSERT_EQ(choices[0].root, "stage2.1.conv1");
    EXPECT_TRUE(choices[0].pixel_vectors);
    EXPECT_EQ(choices[0].channel_vectors, 7);
    EXPECT_EQ(choices[0].tile_x, 1);
    EXPECT_EQ(choices[0].vector, 4);
}

// Legality is stated once (schedule/knobs.cc: point_is_legal on the
// scheduler's limits): every legal point, sampled at random over every unit
// of the model on AVX2 and AVX-512, is scheduled exactly as it says (the
// register tile, vector width, row tasks and loop order the config gives),
// so the tuner never measures a point the scheduler silently changed.
TEST(SearchSpace, EveryLegalPointIsScheduledAsItSays) {
    unit::TempDir dir;
    std::mt19937 rng(7);
    for (const char *target : {"x86-64-linux", "x86-64-linux-avx512"}) {
        PreparedModel p = unit::prepare_tiny(target, dir);
        ModelSpace space = search_space(p, 1);
        int points = 0;
        for (const auto &u : space.units) {
            for (int sample = 0; sample < 40 && points < 200 * static_cast<int>(space.units.size()); sample++) {
                Config c(u.roots.size());
                for (size_t r = 0; r < u.roots.size(); r++)
                    for (const auto &k : u.roots[r].knobs)
                        c[r][k.name] = k.values[std::uniform_int_distribution<size_t>(0, k.values.size() - 1)(rng)];
                if (!config_is_legal(u, c)) continue;
                points++;
                ScheduleFile file = p.schedule;
                apply_config(file, u, c);
                LoweredSegment lowered = lower_segment(p.graph, p.blob, p.plan, u.segment);
                std::vector<ScheduleChoice> got = apply_schedule(lowered, p.graph, p.plan, file, p.target.halide);
                ASSERT_EQ(got.size(), u.roots.size()) << u.unit;
                for (size_t r = 0; r < got.size(); r++) {
                    std::string where = cat(target, " ", u.unit, " ", got[r].root, " ", config_to_json(c).dump());
                    const KnobValues &k = c[r];
                    auto expect = [&](const char *name, int scheduled) {
                        if (k.count(name)) {
                            EXPECT_EQ(scheduled, k.at(name)) << name << " at " << where;
                        }
                    };
                    expect("channel_vectors", got[r].channel_vectors);
                    expect("tile_x", got[r].tile_x);
                    expect("tile_y", got[r].tile_y);
                    if (!got[r].pixel_vectors) expect("vector", got[r].vector);
                    expect("tasks_per_thread", got[r].tasks_per_thread);
                    expect("fuse", got[r].fused);
                    expect("channels_outer", got[r].channels_outer);
                    expect("unroll", got[r].unroll);
                    expect("reduction_block", got[r].reduction_block);
                    expect("planar_input", got[r].planar_input);
                    expect("pixel_vectors", got[r].pixel_vectors);
                }
            }
        }
        EXPECT_GT(points, 50) << target;
    }
}
