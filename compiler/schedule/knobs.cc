#include "schedule/knobs.h"

#include "schedule/schedule.h"
#include "util/error.h"

namespace shufflec {

namespace {

KnobDef count(const char *name, int lo, int hi, bool power_of_two, std::optional<int> ScheduleKnobs::*member,
              const char *meaning) {
    return {name, false, lo, hi, power_of_two, member, nullptr, meaning};
}

KnobDef flag(const char *name, std::optional<bool> ScheduleKnobs::*member, const char *meaning) {
    return {name, true, 0, 1, false, nullptr, member, meaning};
}

}  // namespace

const std::vector<KnobDef> &knob_defs() {
    static const std::vector<KnobDef> defs = {
        count("vector", 1, 64, true, &ScheduleKnobs::vector, "SIMD lanes over channels (1: scalar)"),
        count("channel_vectors", 1, 16, false, &ScheduleKnobs::channel_vectors,
              "vectors of output channels per register tile"),
        count("tile_x", 1, 64, false, &ScheduleKnobs::tile_x, "output pixels per register tile"),
        count("rows_per_task", 0, 1 << 16, false, &ScheduleKnobs::rows_per_task,
              "output rows per parallel task (0: no threads)"),
        flag("fuse", &ScheduleKnobs::fuse,
             "compute this layer's result inside the rows of the unit output that reads it (a sliding window of "
             "rows) instead of as a whole tensor first; unset: when its output exceeds 1 MB"),
        count("registers", 8, 64, false, &ScheduleKnobs::registers,
              "vector registers of the target (a fact for the tiling cost model)"),
        count("tasks_per_thread", 1, 64, false, &ScheduleKnobs::tasks_per_thread,
              "parallel tasks per thread of a row loop (1: one contiguous block of rows per thread; more: smaller "
              "blocks that balance better when other work shares the cores)"),
        count("group_padding", 1, 64, false, &ScheduleKnobs::group_padding,
              "lanes each group of a grouped conv's weights is padded to (model-wide: read from \"defaults\" only; "
              "unset: the widest vector the schedule uses)"),
        flag("channels_outer", &ScheduleKnobs::channels_outer,
             "a 1x1 conv's channel blocks outside the pixels of a row task (one block's weights stay in cache) "
             "instead of all blocks per pixel tile; unset: when its weights exceed 32 KB"),
        count("unroll", 1, 64, false, &ScheduleKnobs::unroll,
              "input channels of a 1x1 conv's reduction per loop iteration (where it divides the reduction)"),
        count("reduction_block", 0, 1 << 16, false, &ScheduleKnobs::reduction_block,
              "a 1x1 conv's reduction in blocks of this many input channels (0: whole), accumulators in a row "
              "buffer; where it divides the reduction; implies channels_outer"),
        flag("planar_input", &ScheduleKnobs::planar_input,
             "a general conv's (the stem's) input copied per row task as planes, x innermost, instead of channels "
             "innermost; unset: planes when it has fewer channels than a vector"),
        flag("pixel_vectors", &ScheduleKnobs::pixel_vectors,
             "vectors over pixels instead of channels (an internal 1x1 or depthwise root): broadcast weights, no "
             "padding lanes, stored x innermost; the tile is channel_vectors channels x tile_x vectors of pixels"),
    };
    return defs;
}

const KnobDef &knob_def(const std::string &name) {
    for (const KnobDef &d : knob_defs())
        if (name == d.name) return d;
    internal_error("no schedule knob ", in_quotes(name));
}

std::optional<int> KnobDef::get(const ScheduleKnobs &k) const {
    if (flag) return (k.*boolean) ? std::optional<int>(*(k.*boolean) ? 1 : 0) : std::nullopt;
    return k.*count;
}

void KnobDef::set(ScheduleKnobs &k, int value) const {
    if (flag) k.*boolean = value != 0;
    else k.*count = value;
}

std::string knobs_markdown() {
    std::string md = "| knob | values | meaning |\n|---|---|---|\n";
    for (const KnobDef &d : knob_defs()) {
        std::string values = d.flag ? "true, false" : cat(d.lo, "-", d.hi, d.power_of_two ? ", a power of two" : "");
        md += cat("| `", d.name, "` | ", values, " | ", d.meaning, " |\n");
    }
    return md;
}

nlohmann::json knobs_to_json(const ScheduleKnobs &k) {
    nlohmann::json o = nlohmann::json::object();
    for (const KnobDef &d : knob_defs())
        if (auto v = d.get(k)) o[d.name] = d.flag ? nlohmann::json(*v != 0) : nlohmann::json(*v);
    return o;
}

void ScheduleKnobs::merge(const ScheduleKnobs &over) {
    for (const KnobDef &d : knob_defs())
        if (auto v = d.get(over)) d.set(*this, *v);
}

}  // namespace shufflec
