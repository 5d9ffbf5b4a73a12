// Every schedule knob, declared once: its name (in schedule files, tuner
// configs and tuning logs), its type and the values a schedule file may give,
// where it lives in ScheduleKnobs, and what it means. Parsing and merging
// schedule files, writing tuned schedules and applying tuner configs all loop
// over this table; adding a knob is a field in ScheduleKnobs, a row here, and
// its use in apply_schedule.cc (and, if the tuner searches it, its legal
// values per root in tune/search_space.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shufflec {

struct ScheduleKnobs;

struct KnobDef {
    const char *name;
    bool flag;                 // true/false in files (0/1 in tuner configs); else a count
    int lo, hi;                // a count's range in a schedule file
    bool power_of_two;
    std::optional<int> ScheduleKnobs::*count;   // where it lives (one of the two)
    std::optional<bool> ScheduleKnobs::*boolean;
    const char *meaning;

    std::optional<int> get(const ScheduleKnobs &k) const;  // flags as 0/1
    void set(ScheduleKnobs &k, int value) const;
};

const std::vector<KnobDef> &knob_defs();
// The knob of this name; an internal error for any other name (configs and
// files are checked against the table before they reach it).
const KnobDef &knob_def(const std::string &name);

// The table as markdown (docs/schedules.md holds it verbatim; a unit test
// compares): knob, the values a schedule file may give, meaning.
std::string knobs_markdown();

// The knobs set in `k` as a JSON object ({} when none).
nlohmann::json knobs_to_json(const ScheduleKnobs &k);

}  // namespace shufflec
