// The tuner's parts apart from one another (compiler/tune/): the search
// strategy proposes only legal, untried points and spends trials where the
// model's time is; a workload's best moves only on a clear gain; the
// whole-model A/B pairs its rounds; the database's records are what its
// reader accepts and reads back. (tests/check_tune.sh runs them together.)
#include <algorithm>
#include <set>

#include "tune/search_strategy.h"
#include "tune/tuning_log.h"
#include "tune/whole_model.h"
#include "tiny_model.h"
#include "util/file_io.h"

using namespace shufflec;

namespace {


// A runner that is never run: records name it.
class NamedRunner : public Runner {
public:
    std::string name() const override { return "ssh://board"; }
    std::string arch() override { return "arm-64"; }
    void put(const std::vector<std::string> &) override {}
    ProcessResult run(const std::string &, const std::vector<std::string> &, double) override { return {}; }
};

}  // namespace

TEST(TunerParts, WorkloadsGroupUnitsOfOneStructure) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    std::vector<Workload> workloads = group_workloads(space);
    EXPECT_EQ(workloads.size(), space.units.size() - 1);  // stage3.1 and stage3.2 share one
    size_t units = 0;
    for (size_t i = 0; i < workloads.size(); i++) {
        EXPECT_EQ(workloads[i].index, static_cast<int>(i));
        EXPECT_EQ(config_to_json(workloads[i].incumbent), config_to_json(default_config(*workloads[i].space)));
        units += workloads[i].units.size();
    }
    EXPECT_EQ(units, space.units.size());
}

TEST(TunerParts, TheStrategyProposesLegalUntriedPoints) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    std::vector<Workload> workloads = group_workloads(space);
    for (const char *search : {"evolve", "random"}) {
        Workload w = workloads[2];
        w.default_done = true;
        w.default_ms = w.incumbent_ms = 1.0;
        w.tried.insert(config_to_json(w.incumbent).dump());
        w.good.push_back({1.0, w.incumbent});
        SearchStrategy strategy(search, 42);
        int mutations_of_one_root = 0;
        for (int i = 0; i < 100; i++) {
            Config c;
            ASSERT_TRUE(strategy.propose(w, c)) << search;
            EXPECT_TRUE(config_is_legal(*w.space, c)) << search << " " << config_to_json(c).dump();
            EXPECT_TRUE(w.tried.insert(config_to_json(c).dump()).second) << "proposed twice: " << config_to_json(c).dump();
            // Evolution stays near its parent (the default here): most proposals change one or two knobs.
            int changed = 0;
            for (size_t r = 0; r < c.size(); r++)
                for (const auto &[knob, value] : c[r]) changed += value != w.incumbent[r].at(knob);
            mutations_of_one_root += changed <= 3;
        }
        if (std::string(search) == "evolve") {
            EXPECT_GT(mutations_of_one_root, 60);
        }
    }
}

TEST(TunerParts, AFullyTriedSpaceIsExhaustedAndTrialsGoWhereTheTimeIs) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    std::vector<Workload> workloads = group_workloads(space);
    // Defaults first, in order.
    EXPECT_EQ(next_workload(workloads), &workloads[0]);
    workloads[0].busy = true;
    EXPECT_EQ(next_workload(workloads), &workloads[1]);
    EXPECT_EQ(model_estimate(workloads, false), 0.0);  // not every default measured
    for (auto &w : workloads) w.busy = false, w.default_done = true, w.default_ms = w.incumbent_ms = 1.0;
    // Then the most model time per trial: a shared workload counts twice.
    Workload *shared = nullptr;
    for (auto &w : workloads)
        if (w.count() == 2) shared = &w;
    ASSERT_NE(shared, nullptr);
    EXPECT_EQ(next_workload(workloads), shared);
    shared->trials = 3;  // 2 x 1 ms / 4 trials < 1 ms / 1 trial
    EXPECT_NE(next_workload(workloads), shared);
    EXPECT_DOUBLE_EQ(model_estimate(workloads, false), static_cast<double>(space.units.size()));
    for (auto &w : workloads) w.exhausted = true;
    EXPECT_EQ(next_workload(workloads), nullptr);
}

TEST(TunerParts, TheBestMovesOnlyOnAClearGainMeasuredAgainstIt) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    Workload w = group_workloads(space)[1];
    w.default_done = true;
    w.default_ms = w.incumbent_ms = 1.0;
    Config a = w.incumbent, b = w.incumbent;
    a[0]["tile_x"] = a[0]["tile_x"] == 1 ? 2 : 1;
    b[0]["channel_vectors"] = 1;
    EXPECT_FALSE(w.add_ok(a, 0.995, false, 0));  // within kImprovement: noise
    EXPECT_FALSE(w.improved());
    EXPECT_TRUE(w.add_ok(a, 0.9, false, 0));
    EXPECT_TRUE(w.improved());
    EXPECT_EQ(w.incumbent_version, 1);
    EXPECT_FALSE(w.add_ok(b, 0.5, false, 0));  // measured against the old best: kept, not promoted
    EXPECT_EQ(config_to_json(w.incumbent), config_to_json(a));
    ASSERT_EQ(w.good.size(), 3u);
    EXPECT_DOUBLE_EQ(w.good[0].first, 0.5);  // best first
}

TEST(TunerParts, WholeModelRoundsArePaired) {
    // b is 10% slower in every round, while the machine's speed drifts 2x.
    std::vector<double> a = {1.0, 2.0, 1.5, 1.2, 1.9}, b;
    for (double x : a) b.push_back(1.1 * x);
    auto [a_ms, b_ms] = paired_times(a, b);
    EXPECT_DOUBLE_EQ(a_ms, 1.5);
    EXPECT_DOUBLE_EQ(b_ms, 1.5 * 1.1);
    EXPECT_THROW(paired_times({1.0}, {}), std::logic_error);
}

TEST(TunerParts, RecordsAreWhatTheLogReaderReadsBack) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    std::vector<Workload> workloads = group_workloads(space);
    const Workload &w = workloads[1];
    NamedRunner runner;
    RunContext run{3, "tiny", space.target, "evolve", 1};
    TrialResult ok;
    ok.status = "ok";
    ok.candidate = {0.5, 0.45, 0.44, 0.6};
    ok.incumbent = {0.6, 0.55, 0.5, 0.7};
    ok.calls = 40;
    TrialResult crashed;
    crashed.status = "crashed";
    crashed.error = "killed by signal 11";
    Config other = w.incumbent;
    other[0]["tile_x"] = other[0]["tile_x"] == 1 ? 2 : 1;
    std::string log_path = dir.file("log.jsonl");
    {
        TuningLog log(log_path);
        log.append(trial_record(run, runner, 0, w, w.incumbent, true, ok, 0.5));
        log.append(trial_record(run, runner, 1, w, other, false, ok, 0.4));
        log.append(trial_record(run, runner, 2, w, other, false, crashed, 0));
        log.append(check_record(run, runner, w.space->key, config_to_json(other), 0.8));
        log.append(check_record(run, runner, "model-wide group_padding", {{"group_padding", 4}}, 1e30));
    }
    std::vector<nlohmann::json> records = read_tuning_log(log_path);
    ASSERT_EQ(records.size(), 5u);
    EXPECT_EQ(records[0]["workload_desc"], w.space->workload);  // with the default's record only
    EXPECT_FALSE(records[1].contains("workload_desc"));
    EXPECT_EQ(records[1]["cpu"], "ssh://board");
    EXPECT_EQ(records[1]["cost"], "time");
    EXPECT_EQ(records[2]["error"], "killed by signal 11");
    EXPECT_FALSE(records[2].contains("est_ms"));
    EXPECT_EQ(records[3]["status"], "ok");
    EXPECT_EQ(records[4]["status"], "failed");
    EXPECT_EQ(records[4]["ratio_to_default"], 0.0);
    LogHistory h = read_log_history(log_path, space, 1, "time");
    EXPECT_EQ(h.last_session, 3);
    EXPECT_EQ(h.trials, 3);
    const WorkloadHistory &wh = h.workloads.at(w.space->key);
    EXPECT_TRUE(wh.default_done);
    EXPECT_DOUBLE_EQ(wh.default_ms, 0.5);
    ASSERT_EQ(wh.good.size(), 2u);
    EXPECT_EQ(config_to_json(wh.good[0].second), config_to_json(other));
}

// The whole-unit fusion move (issue 21): every fusible root of a unit fused
// at once, or none; evolve proposes it from its parents.
TEST(TunerParts, AUnitsFusionChangesAsAWhole) {
    unit::TempDir dir;
    PreparedModel p = unit::prepare_tiny("x86-64-linux", dir);
    ModelSpace space = search_space(p, 1);
    std::vector<Workload> workloads = group_workloads(space);
    auto fusible = [](const UnitSpace &u) {
        std::vector<size_t> roots;
        for (size_t r = 0; r < u.roots.size(); r++)
            for (const auto &k : u.roots[r].knobs)
                if (k.name == "fuse" && k.values.size() > 1) roots.push_back(r);
        return roots;
    };
    auto w = std::find_if(workloads.begin(), workloads.end(), [&](const Workload &x) { return fusible(*x.space).size() >= 2; });
    ASSERT_NE(w, workloads.end()) << "no unit of the tiny model has two fusible roots";
    std::vector<size_t> roots = fusible(*w->space);
    Config c = default_config(*w->space);
    for (size_t r : roots) c[r]["fuse"] = 0;
    Config before = c;
    ASSERT_TRUE(whole_unit_fusion(*w->space, c));
    for (size_t r : roots) EXPECT_EQ(c[r]["fuse"], 1) << r;
    EXPECT_TRUE(config_is_legal(*w->space, c));
    for (size_t r = 0; r < c.size(); r++) {  // nothing else changes
        for (const auto &[knob, value] : c[r]) {
            if (knob != "fuse") {
                EXPECT_EQ(value, before[r].at(knob)) << knob;
            }
        }
    }
    ASSERT_TRUE(whole_unit_fusion(*w->space, c));
    EXPECT_EQ(config_to_json(c), config_to_json(before));  // all fused: back to none
    // A unit without two fusible roots has no such move.
    for (const Workload &x : workloads) {
        if (fusible(*x.space).size() >= 2) continue;
        Config d = default_config(*x.space);
        EXPECT_FALSE(whole_unit_fusion(*x.space, d)) << x.units[0];
    }
    // evolve proposes it: from the unfused parent, proposals that fuse every fusible root.
    Workload state = *w;
    state.incumbent = before;
    state.default_done = true;
    state.default_ms = state.incumbent_ms = 1.0;
    state.good = {{1.0, before}};
    state.tried = {config_to_json(before).dump()};
    SearchStrategy strategy("evolve", 7);
    int whole = 0;
    for (int i = 0; i < 200; i++) {
        Config proposed;
        ASSERT_TRUE(strategy.propose(state, proposed));
        bool all = true;
        for (size_t r : roots) all = all && proposed[r]["fuse"] == 1;
        whole += all;
    }
    EXPECT_GE(whole, 1);
}
