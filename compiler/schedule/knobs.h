// Every schedule knob, declared once: its name (in schedule files, tuner
// configs and tuning logs), its type and the values a schedule file may give,
// where it lives in ScheduleKnobs, what it means, and which values the tuner
// may give it at one root Func (with the scheduler's choice as the default).
// Parsing and merging schedule files, writing tuned schedules, the tuner's
// search space (--print-space, sampling, mutation) and applying its configs all
// loop over this table; the legality of a point across knobs (the register
// tile, a blocked reduction's implied loop order) is one function here, used
// by the tuner, on the scheduler's own limits. Adding a knob is a field in
// ScheduleKnobs, a row here, and its use in apply_schedule.cc.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shufflec {

struct ScheduleKnobs;
struct ScheduleChoice;

// One knob's legal values at one root, ascending, and the cost model's choice.
struct KnobSpace {
    std::string name;
    std::vector<int> values;
    int default_value = 0;
};

// One point of a root's space: knob -> value.
using KnobValues = std::map<std::string, int>;

struct KnobDef {
    const char *name;
    bool flag;                 // true/false in files (0/1 in tuner configs); else a count
    int lo, hi;                // a count's range in a schedule file
    bool power_of_two;
    std::optional<int> ScheduleKnobs::*count;   // where it lives (one of the two)
    std::optional<bool> ScheduleKnobs::*boolean;
    const char *meaning;
    // The tuner's values at a root (none: not searched there) and the
    // scheduler's choice among them; null: never searched per root.
    KnobSpace (*space)(const ScheduleChoice &root);
    const char *searched;      // what `space` gives, in words (docs)

    std::optional<int> get(const ScheduleKnobs &k) const;  // flags as 0/1
    void set(ScheduleKnobs &k, int value) const;
};

const std::vector<KnobDef> &knob_defs();
// The knob of this name; an internal error for any other name (configs and
// files are checked against the table before they reach it).
const KnobDef &knob_def(const std::string &name);

// The table as markdown (docs/schedules.md holds it verbatim; a unit test
// compares): knob, the values a schedule file may give, what the tuner
// searches, meaning.
std::string knobs_markdown();

// The knobs set in `k` as a JSON object ({} when none).
nlohmann::json knobs_to_json(const ScheduleKnobs &k);

// The knobs the tuner searches at a root the scheduler reported, in table
// order, each with its legal values and default.
std::vector<KnobSpace> root_knob_spaces(const ScheduleChoice &root);

// Vectors of channels a register tile may hold at `root`: an output's last
// channel block shifts inwards (no block wider than its channels), an
// internal one rounds up (no block with a whole vector of padding).
int max_channel_vectors(const ScheduleChoice &root);
// Whether a root's register tile (channel_vectors x tile_x, over channels or
// pixels, at its vector width) is legal; the other knobs are not checked.
bool tile_is_legal(const ScheduleChoice &root, const KnobValues &values);
// The knobs tile_is_legal reads (their values are legal together or not).
const std::vector<std::string> &tile_knob_names();
// tile_is_legal in words, for --print-space ("" where there is no tile rule).
std::string tile_rule(const ScheduleChoice &root, bool pixels_searched);
// Whether `values` is a legal point at `root`: each knob one of its values,
// every searched knob given, the tile legal, and a blocked reduction with
// what it implies (channels_outer, vectors over channels).
bool point_is_legal(const ScheduleChoice &root, const std::vector<KnobSpace> &knobs, const KnobValues &values);

}  // namespace shufflec
