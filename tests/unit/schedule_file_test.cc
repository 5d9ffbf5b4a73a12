// Schedule files: parse_schedule_text and how resolve_knobs merges
//   built-in target defaults < "defaults" < "kinds"[kind] < "layers"[unit] < "layers"[layer],
// and errors that name the JSON path of the offending value.
#include <string>
#include <vector>

#include <Halide.h>
#include <gtest/gtest.h>

#include "graph/graph.h"
#include "schedule/knobs.h"
#include "schedule/schedule.h"
#include "util/error.h"
#include "util/file_io.h"
#include "unit_support.h"

using namespace shufflec;

namespace {

Node make_node(const std::string &name, const std::string &block) {
    Node n;
    n.op = Op::Conv;
    n.name = name;
    n.block = block;
    return n;
}

std::string schedule_text(const std::string &body) {
    return std::string(R"({"format": "shufflec-schedule/1")") + (body.empty() ? "" : ", " + body) + "}";
}

// AVX2 x86: 8 float lanes; ARM (NEON): 4; AVX-512: 16. The other built-ins are fixed.
const Halide::Target kAvx2("x86-64-linux-avx-avx2-fma-f16c-sse41");

}  // namespace

TEST(ScheduleFile, TargetDefaults) {
    ScheduleKnobs avx2 = target_defaults(kAvx2);
    EXPECT_EQ(avx2.vector, 8);
    // The register tile is left to the scheduler's cost model unless a file sets it.
    EXPECT_FALSE(avx2.channel_vectors.has_value());
    EXPECT_FALSE(avx2.tile_x.has_value());
    EXPECT_FALSE(avx2.rows_per_task.has_value());  // the scheduler splits rows among the threads at run time
    EXPECT_EQ(target_defaults(Halide::Target("arm-64-linux")).vector, 4);
    EXPECT_EQ(target_defaults(Halide::Target("x86-64-linux-avx-avx2-fma-f16c-sse41-avx512")).vector, 16);
    EXPECT_EQ(target_defaults(Halide::Target("x86-64-linux-sse41")).vector, 4);
}

TEST(ScheduleFile, EmptyFileKeepsTargetDefaults) {
    ScheduleFile f = parse_schedule_text(schedule_text(""), "empty.json");
    EXPECT_EQ(f.source, "empty.json");
    EXPECT_FALSE(f.defaults.vector.has_value());
    EXPECT_TRUE(f.kinds.empty());
    EXPECT_TRUE(f.layers.empty());
    ScheduleKnobs k = resolve_knobs(f, kAvx2, "stage2.0", make_node("stage2.0.conv1", "stage2.0"), Stage::Pointwise);
    EXPECT_EQ(k.vector, 8);
    EXPECT_FALSE(k.channel_vectors.has_value());
    EXPECT_FALSE(k.tile_x.has_value());
    EXPECT_FALSE(k.rows_per_task.has_value());
}

TEST(ScheduleFile, MergeOrderDefaultsKindsUnitLayer) {
    // Each level sets a different subset, so every knob shows which level won.
    std::string text = schedule_text(R"(
        "target": "x86-64-linux", "model": "m", "description": "test",
        "defaults": {"vector": 4, "tile_x": 2, "comment": "free text"},
        "kinds": {"pointwise": {"tile_x": 8, "channel_vectors": 3},
                  "depthwise": {"vector": 16}},
        "layers": {"stage2.0": {"channel_vectors": 4, "rows_per_task": 0},
                   "stage2.0.conv3": {"rows_per_task": 7, "vector": 2},
                   "fc": {"tile_x": 1}})");
    ScheduleFile f = parse_schedule_text(text, "s.json");
    ASSERT_EQ(f.kinds.size(), 2u);
    ASSERT_EQ(f.layers.size(), 3u);
    EXPECT_EQ(f.defaults.vector, 4);
    EXPECT_FALSE(f.defaults.channel_vectors.has_value());
    EXPECT_EQ(f.layers.at("stage2.0").rows_per_task, 0);  // 0 is a value, not "unset"

    // A pointwise conv of unit stage2.0 without a layer entry:
    // vector 4 (defaults), channel_vectors 4 (unit beats kind's 3), tile_x 8 (kind beats defaults' 2),
    // rows_per_task 0 (unit beats the target's 1).
    ScheduleKnobs k = resolve_knobs(f, kAvx2, "stage2.0", make_node("stage2.0.conv1", "stage2.0"), Stage::Pointwise);
    EXPECT_EQ(k.vector, 4);
    EXPECT_EQ(k.channel_vectors, 4);
    EXPECT_EQ(k.tile_x, 8);
    EXPECT_EQ(k.rows_per_task, 0);

    // Its conv3 has a layer entry: vector 2 and rows_per_task 7 beat the unit and the defaults.
    k = resolve_knobs(f, kAvx2, "stage2.0", make_node("stage2.0.conv3", "stage2.0"), Stage::Pointwise);
    EXPECT_EQ(k.vector, 2);
    EXPECT_EQ(k.channel_vectors, 4);
    EXPECT_EQ(k.tile_x, 8);
    EXPECT_EQ(k.rows_per_task, 7);

    // A depthwise conv of the same unit: the kind sets vector 16; tile_x from defaults; the unit's knobs apply.
    k = resolve_knobs(f, kAvx2, "stage2.0", make_node("stage2.0.dw", "stage2.0"), Stage::Depthwise);
    EXPECT_EQ(k.vector, 16);
    EXPECT_EQ(k.channel_vectors, 4);
    EXPECT_EQ(k.tile_x, 2);
    EXPECT_EQ(k.rows_per_task, 0);

    // Another unit: only defaults and kinds.
    k = resolve_knobs(f, kAvx2, "stage3.1", make_node("stage3.1.conv1", "stage3.1"), Stage::Pointwise);
    EXPECT_EQ(k.vector, 4);
    EXPECT_EQ(k.channel_vectors, 3);
    EXPECT_EQ(k.tile_x, 8);
    EXPECT_FALSE(k.rows_per_task.has_value());

    // A plain layer whose name is its block: its entry applies (once), over defaults.
    k = resolve_knobs(f, kAvx2, "fc", make_node("fc", "fc"), Stage::Dense);
    EXPECT_EQ(k.vector, 4);
    EXPECT_FALSE(k.channel_vectors.has_value());  // nobody set it: the cost model's choice
    EXPECT_EQ(k.tile_x, 1);
    EXPECT_FALSE(k.rows_per_task.has_value());
}

TEST(ScheduleFile, KnobsMerge) {
    ScheduleKnobs base;
    base.vector = 8;
    base.tile_x = 4;
    ScheduleKnobs over;
    over.tile_x = 1;
    over.rows_per_task = 0;
    base.merge(over);
    EXPECT_EQ(base.vector, 8);
    EXPECT_FALSE(base.channel_vectors.has_value());
    EXPECT_EQ(base.tile_x, 1);
    EXPECT_EQ(base.rows_per_task, 0);
}

// The knob table (schedule/knobs.cc) is the one declaration: every knob set to
// a legal value in a file comes back from knobs_to_json, merges, and is named
// in docs/schedules.md; ranges are enforced at both ends.
TEST(ScheduleFile, EveryKnobDeclaredOnce) {
    nlohmann::json all = nlohmann::json::object();
    for (const KnobDef &d : knob_defs()) {
        if (d.flag) all[d.name] = true;
        else all[d.name] = d.power_of_two ? 4 : std::max(d.lo, 1);
    }
    ScheduleFile file = parse_schedule_text(schedule_text(R"("layers": {"u": )" + all.dump() + "}"), "all.json");
    EXPECT_EQ(knobs_to_json(file.layers.at("u")), all);
    ScheduleKnobs merged;
    merged.merge(file.layers.at("u"));
    EXPECT_EQ(knobs_to_json(merged), all);
    std::string docs = read_file(std::string(SHUFFLEC_SOURCE_DIR) + "/docs/schedules.md", "docs");
    EXPECT_NE(docs.find(knobs_markdown()), std::string::npos)
        << "docs/schedules.md's knob table is not the generated one; it should read:\n"
        << knobs_markdown();
    for (const KnobDef &d : knob_defs()) {
        EXPECT_NE(docs.find(std::string("`") + d.name + "`"), std::string::npos) << d.name << " is not in docs/schedules.md";
        EXPECT_TRUE(d.flag ? d.boolean != nullptr && d.count == nullptr : d.count != nullptr && d.boolean == nullptr)
            << d.name;
        if (d.flag) continue;
        for (int bad : {d.lo - 1, d.hi + 1}) {
            std::string text = schedule_text(cat(R"("defaults": {")", d.name, R"(": )", bad, "}"));
            EXPECT_NE(unit::error_of([&] { parse_schedule_text(text, "s.json"); }).find(d.name), std::string::npos)
                << d.name << " = " << bad;
        }
    }
    EXPECT_THROW(knob_def("no_such_knob"), std::logic_error);  // a bug, not bad input
}

TEST(ScheduleFile, ErrorsNameTheJsonPath) {
    struct Case {
        std::string text;
        std::vector<std::string> expected;
    };
    std::vector<Case> cases = {
        {R"({"format": "shufflec-schedule/2"})", {"$.format", "shufflec-schedule/1"}},
        {R"({"format": "shufflec-spec/1"})", {"$.format"}},
        {R"({"defaults": {}})", {"$", "format"}},
        {schedule_text(R"("kinds": {"pointwise": {"vectr": 8}})"), {"$.kinds.pointwise.vectr", "did you mean \"vector\""}},
        {schedule_text(R"("defaults": {"tile": 8})"), {"$.defaults.tile"}},
        {schedule_text(R"("layers": {"stage2.0": {"vector": 6}})"), {"$.layers.stage2.0.vector", "power of two"}},
        {schedule_text(R"("defaults": {"vector": 0})"), {"$.defaults.vector"}},
        {schedule_text(R"("defaults": {"vector": 128})"), {"$.defaults.vector"}},
        {schedule_text(R"("kinds": {"pointwize": {}})"), {"$.kinds.pointwize", "did you mean \"pointwise\""}},
        {schedule_text(R"("layers": {"u": {"tile_x": "4"}})"), {"$.layers.u.tile_x", "integer"}},
        {schedule_text(R"("layers": {"u": {"rows_per_task": -1}})"), {"$.layers.u.rows_per_task"}},
        {schedule_text(R"("layers": [])"), {"$.layers", "object"}},
        {schedule_text(R"("layers": {"u.dw": {"pixel_vectors": 1}})"), {"$.layers.u.dw.pixel_vectors"}},
        {schedule_text(R"("layers": {"u.dw": {"pixel_vector": true}})"), {"did you mean \"pixel_vectors\""}},
        {schedule_text(R"("knobs": {})"), {"$.knobs"}},
        {R"({"format": "shufflec-schedule/1", "defaults": {"vector": 4, "vector": 8}})", {"$.defaults", "duplicate key"}},
    };
    for (const auto &c : cases) {
        std::string message = unit::error_of([&] { parse_schedule_text(c.text, "sched.json"); });
        for (const auto &part : c.expected)
            EXPECT_NE(message.find(part), std::string::npos) << c.text << "\n  -> " << message << "\n  lacks " << part;
    }
    // Syntax errors name the file, line and column.
    std::string message = unit::error_of([&] { parse_schedule_text("{\n  \"format\": ,\n}", "sched.json"); });
    EXPECT_NE(message.find("sched.json:2:"), std::string::npos) << message;
}

TEST(ScheduleFile, TargetFileThenModelFile) {
    // schedules/<target>/default.json first, the model's file on top, knob by knob.
    ScheduleFile target = parse_schedule_text(
        schedule_text(R"("defaults": {"vector": 8, "registers": 16, "tasks_per_thread": 1, "fuse": false},
                         "kinds": {"depthwise": {"tile_x": 7}})"),
        "default.json");
    ScheduleFile model = parse_schedule_text(
        schedule_text(R"("defaults": {"tasks_per_thread": 4}, "kinds": {"depthwise": {"channel_vectors": 2}},
                         "layers": {"stage2.1": {"fuse": true}})"),
        "model.json");
    merge_schedule(target, model);
    EXPECT_EQ(target.source, "default.json + model.json");
    ScheduleKnobs k = resolve_knobs(target, kAvx2, "stage2.1", make_node("stage2.1.dw", "stage2.1"), Stage::Depthwise);
    EXPECT_EQ(k.vector, 8);
    EXPECT_EQ(k.registers, 16);
    EXPECT_EQ(k.tasks_per_thread, 4);   // the model's default beats the target's
    EXPECT_EQ(k.tile_x, 7);             // the target's kind entry survives the merge
    EXPECT_EQ(k.channel_vectors, 2);    // and gains the model's knob
    EXPECT_EQ(k.fuse, true);            // the unit entry beats both defaults
    k = resolve_knobs(target, kAvx2, "stage3.1", make_node("stage3.1.dw", "stage3.1"), Stage::Depthwise);
    EXPECT_EQ(k.fuse, false);
}

TEST(ScheduleFile, TargetFactsHaveRanges) {
    std::string message = unit::error_of([] {
        parse_schedule_text(schedule_text(R"("defaults": {"registers": 4})"), "s.json");
    });
    EXPECT_NE(message.find("$.defaults.registers"), std::string::npos) << message;
    message = unit::error_of([] { parse_schedule_text(schedule_text(R"("kinds": {"pointwise": {"fuse": 1}})"), "s.json"); });
    EXPECT_NE(message.find("$.kinds.pointwise.fuse: expected true or false"), std::string::npos) << message;
}
