#include "schedule/knobs.h"

#include <algorithm>

#include "schedule/schedule.h"
#include "util/error.h"

namespace shufflec {

namespace {

using Space = KnobSpace (*)(const ScheduleChoice &);

KnobDef count(const char *name, int lo, int hi, bool power_of_two, std::optional<int> ScheduleKnobs::*member,
              const char *meaning, Space space = nullptr, const char *searched = "-") {
    return {name, false, lo, hi, power_of_two, member, nullptr, meaning, space, searched};
}

KnobDef flag(const char *name, std::optional<bool> ScheduleKnobs::*member, const char *meaning,
             Space space = nullptr, const char *searched = "-") {
    return {name, true, 0, 1, false, nullptr, member, meaning, space, searched};
}

// The tuner's ranges (the scheduler's cost model searches the same tiles:
// kMaxTileVectors, kMaxTileX in schedule.h).
constexpr int kMinVector = 4, kMaxTileY = 4, kMaxUnroll = 8, kMinReductionBlock = 16, kMaxReductionBlock = 128;

bool spatial(const ScheduleChoice &c) { return c.width * c.height > 1; }

std::vector<int> range(int lo, int hi) {
    std::vector<int> v;
    for (int i = lo; i <= hi; i++) v.push_back(i);
    return v;
}

// The scheduler's choice when it is one of `values`, else `fallback`.
int chosen_or(const std::vector<int> &values, int chosen, int fallback) {
    return std::count(values.begin(), values.end(), chosen) ? chosen : fallback;
}

KnobSpace on_off(bool searched, bool chosen) { return searched ? KnobSpace{"", {0, 1}, chosen ? 1 : 0} : KnobSpace{}; }

// Narrower vectors than the target's widest: fewer padding lanes for groups
// that are not whole vectors (a group of 20 is 24 lanes in 8s, 20 in 4s), at
// a narrower FMA. From 4 lanes up, within the channels (the scheduler never
// uses more lanes than channels); searched where that is a choice.
KnobSpace vector_space(const ScheduleChoice &c) {
    KnobSpace k{"", {}, c.vector};
    for (int v = kMinVector; v <= c.target_lanes && v <= std::max<int64_t>(c.channels, kMinVector); v *= 2)
        k.values.push_back(v);
    if (k.values.size() < 2 || chosen_or(k.values, c.vector, 0) != c.vector) return {};
    return k;
}

// Vectors over channels up to max_channel_vectors; over pixels, channels per
// tile up to kMaxTileVectors (within the channels).
KnobSpace channel_vectors_space(const ScheduleChoice &c) {
    int max_vectors = max_channel_vectors(c);
    int max_tile_channels = c.pixel_layout_allowed ? static_cast<int>(std::min<int64_t>(kMaxTileVectors, c.channels)) : 0;
    return {"", range(1, std::max(max_vectors, max_tile_channels)),
            c.pixel_vectors ? c.channel_vectors : std::min(c.channel_vectors, max_vectors)};
}

KnobSpace tile_x_space(const ScheduleChoice &c) {
    if (!spatial(c)) return {};
    return {"", range(1, static_cast<int>(std::min<int64_t>(kMaxTileX, c.width))), c.tile_x};
}

// Small tasks keep a task's rows of the input and output in L2 between
// channel blocks (2x g3, stage 2: 28 rows of 1.5 MB tensors; 2-row tasks were
// up to 10% faster there, up to 12% slower at 14 rows in stage 3). Roots with
// row tasks of their own (not fused into another's rows).
KnobSpace tasks_per_thread_space(const ScheduleChoice &c) {
    if (c.height <= 1 || c.fused) return {};
    KnobSpace k{"", {}, 1};
    for (int v : {1, 2, 3, 4, 6, 8, 12, 16})
        if (v <= c.height) k.values.push_back(v);
    k.default_value = chosen_or(k.values, c.tasks_per_thread, 1);
    return k;
}

// Rows per register tile: unfused roots whose taps read neighbouring input
// rows (depthwise and general convs, pools), over channels.
KnobSpace tile_y_space(const ScheduleChoice &c) {
    bool taps = c.kind == "depthwise" || c.kind == "conv" || c.kind == "maxpool" || c.kind == "avgpool";
    if (!taps || c.fused || c.height < 2) return {};
    return {"", range(1, static_cast<int>(std::min<int64_t>(kMaxTileY, c.height))), c.tile_y};
}

bool spatial_pointwise(const ScheduleChoice &c) { return spatial(c) && c.kind == "pointwise"; }

KnobSpace unroll_space(const ScheduleChoice &c) {
    if (!spatial_pointwise(c)) return {};
    KnobSpace k{"", {}, 1};
    for (int steps = 1; steps <= kMaxUnroll; steps *= 2)
        if (c.reduction % steps == 0) k.values.push_back(steps);
    k.default_value = chosen_or(k.values, c.unroll, 1);
    return k;
}

KnobSpace reduction_block_space(const ScheduleChoice &c) {
    if (!spatial_pointwise(c)) return {};
    KnobSpace k{"", {0}, c.reduction_block};
    for (int b = kMinReductionBlock; b <= kMaxReductionBlock; b *= 2)
        if (reduction_block_applies(c.reduction, b)) k.values.push_back(b);
    return k.values.size() > 1 ? k : KnobSpace{};
}

}  // namespace

const std::vector<KnobDef> &knob_defs() {
    static const std::vector<KnobDef> defs = {
        count("vector", 1, 64, true, &ScheduleKnobs::vector, "SIMD lanes over channels (1: scalar)", vector_space,
              "4 lanes up to the target's vector (AVX2: 4, 8; AVX-512: 4, 8, 16; NEON: only 4, so not searched), "
              "within the channels; every root"),
        count("channel_vectors", 1, 16, false, &ScheduleKnobs::channel_vectors,
              "vectors of output channels per register tile", channel_vectors_space,
              "1-8: no whole vector of padding, outputs no block wider than the channels; over pixels, up to 8 "
              "channels; every root"),
        count("tile_x", 1, 64, false, &ScheduleKnobs::tile_x, "output pixels per register tile", tile_x_space,
              "1-8, at most the width; v * t + v + 1 <= registers (over pixels t * v + t + 1, t * lanes <= the "
              "width); spatial roots"),
        count("tile_y", 1, 16, false, &ScheduleKnobs::tile_y,
              "output rows per register tile (a depthwise or general conv or a pool computed at root, vectors over "
              "channels): the rows of a tile share their input rows' loads",
              tile_y_space,
              "1-4, at most the height; v * t * rows + v + 1 <= registers; unfused depthwise and general convs "
              "and pools"),
        count("rows_per_task", 0, 1 << 16, false, &ScheduleKnobs::rows_per_task,
              "output rows per parallel task (0: no threads)"),
        count("tasks_per_thread", 1, 64, false, &ScheduleKnobs::tasks_per_thread,
              "parallel tasks per thread of a row loop (1: one contiguous block of rows per thread; more: smaller "
              "blocks that balance better when other work shares the cores)",
              tasks_per_thread_space,
              "1, 2, 3, 4, 6, 8, 12, 16 (at most the height); roots with row loops"),
        flag("fuse", &ScheduleKnobs::fuse,
             "compute this layer's result inside the rows of the unit output that reads it (a sliding window of "
             "rows) instead of as a whole tensor first; unset: when its output exceeds 1 MB",
             [](const ScheduleChoice &c) { return on_off(!c.output && spatial(c), c.fused); },
             "0, 1; internal spatial roots"),
        count("registers", 8, 64, false, &ScheduleKnobs::registers,
              "vector registers of the target (a fact for the tiling cost model)"),
        count("group_padding", 1, 64, false, &ScheduleKnobs::group_padding,
              "lanes each group of a grouped conv's weights is padded to (model-wide: read from \"defaults\" only; "
              "unset: the widest vector the schedule uses)",
              nullptr, "half the target's vector to 16 lanes; model-wide, measured on the whole model after the search"),
        flag("channels_outer", &ScheduleKnobs::channels_outer,
             "a 1x1 conv's channel blocks outside the pixels of a row task (one block's weights stay in cache) "
             "instead of all blocks per pixel tile; unset: when its weights exceed 32 KB",
             [](const ScheduleChoice &c) { return on_off(spatial_pointwise(c), c.channels_outer); },
             "0, 1; spatial 1x1 convs"),
        count("unroll", 1, 64, false, &ScheduleKnobs::unroll,
              "input channels of a 1x1 conv's reduction per loop iteration (where it divides the reduction)", unroll_space,
              "1, 2, 4, 8 dividing the group's input channels; spatial 1x1 convs"),
        count("reduction_block", 0, 1 << 16, false, &ScheduleKnobs::reduction_block,
              "a 1x1 conv's reduction in blocks of this many input channels (0: whole), accumulators in a row "
              "buffer; where it divides the reduction; implies channels_outer",
              reduction_block_space,
              "0, or 16, 32, 64, 128 dividing the reduction (below it); > 0 only with channels_outer, over "
              "channels; spatial 1x1 convs"),
        flag("planar_input", &ScheduleKnobs::planar_input,
             "a general conv's (the stem's) input copied per row task as planes, x innermost, instead of channels "
             "innermost; unset: planes when it has fewer channels than a vector",
             [](const ScheduleChoice &c) { return on_off(c.staged_input, c.planar_input); },
             "0, 1; general convs with a staged input (the stem)"),
        flag("pixel_vectors", &ScheduleKnobs::pixel_vectors,
             "vectors over pixels instead of channels (an internal 1x1 or depthwise root): broadcast weights, no "
             "padding lanes, stored x innermost; the tile is channel_vectors channels x tile_x vectors of pixels",
             [](const ScheduleChoice &c) { return on_off(c.pixel_layout_allowed, c.pixel_vectors); },
             "0, 1; internal 1x1 and depthwise roots whose channels (per group) are not whole vectors of the "
             "target, rows of at least 4 pixels"),
        flag("dot_product", &ScheduleKnobs::dot_product,
             "a 1x1 conv in steps of adjacent stored input channels where the target has a form for the "
             "model's precision: int8 or bf16 dot products (4 int8 products per lane: vpdpbusd, sdot; without "
             "those 2 int8 products widened to 16 bits: vpmaddwd, NEON mul + sadalp; 2 bf16: vdpbf16ps), or on "
             "ARM fp32 and fp16 (arm_fp16) by lane (a vector load of 4 or 8 input channels "
             "per pixel, fmla v.4s, v.4s, v.s[j]; the channels of steps a group would fill only in part "
             "one broadcast each); false: one broadcast input channel per step (read when the weights are "
             "packed); unset: true"),
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
    std::string md = "| knob | values | tuner searches | meaning |\n|---|---|---|---|\n";
    for (const KnobDef &d : knob_defs()) {
        std::string values = d.flag ? "true, false" : cat(d.lo, "-", d.hi, d.power_of_two ? ", a power of two" : "");
        md += cat("| `", d.name, "` | ", values, " | ", d.searched, " | ", d.meaning, " |\n");
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

std::vector<KnobSpace> root_knob_spaces(const ScheduleChoice &root) {
    std::vector<KnobSpace> spaces;
    for (const KnobDef &d : knob_defs()) {
        if (!d.space) continue;
        KnobSpace k = d.space(root);
        if (k.values.empty()) continue;
        k.name = d.name;
        spaces.push_back(k);
    }
    return spaces;
}

int max_channel_vectors(const ScheduleChoice &root) {
    int64_t lanes = std::max(1, root.vector);
    int64_t whole = root.output ? root.channels / lanes : (root.channels + lanes - 1) / lanes;
    return static_cast<int>(std::clamp<int64_t>(whole, 1, kMaxTileVectors));
}

const std::vector<std::string> &tile_knob_names() {
    static const std::vector<std::string> names = {"channel_vectors", "tile_x", "tile_y", "pixel_vectors", "vector"};
    return names;
}

bool tile_is_legal(const ScheduleChoice &root, const KnobValues &values) {
    auto value = [&](const char *name, int fallback) {
        auto it = values.find(name);
        return it != values.end() ? it->second : fallback;
    };
    int vectors = value("channel_vectors", 1), tile = value("tile_x", 1);
    if (value("pixel_vectors", 0)) {
        if (value("tile_y", 1) > 1) return false;  // rows per tile: over channels only
        // As the scheduler vectorizes over pixels: lanes within the width.
        int lanes = value("vector", root.vector);
        while (lanes > 1 && lanes > root.width) lanes /= 2;
        return vectors <= root.channels && int64_t{tile} * lanes <= root.width &&
               register_tile_fits(tile, vectors, root.registers);
    }
    int rows = value("tile_y", 1);
    return vectors <= max_channel_vectors(root) &&
           (!spatial(root) || register_tile_fits(vectors, tile * rows, root.registers, root.lane_inputs));
}

std::string tile_rule(const ScheduleChoice &root, bool pixels_searched) {
    if (!spatial(root)) return "";
    std::string rule = cat("channel_vectors * tile_x", tile_y_space(root).values.empty() ? "" : " * tile_y",
                           " + channel_vectors + ", root.lane_inputs ? "tile_x" : "1", " <= ", root.registers,
                           " registers");
    if (pixels_searched)
        rule += cat(" and channel_vectors <= ", max_channel_vectors(root),
                    "; with pixel_vectors: channel_vectors * tile_x + tile_x + 1 <= ", root.registers,
                    " and tile_x * lanes <= ", root.width);
    return rule;
}

bool point_is_legal(const ScheduleChoice &root, const std::vector<KnobSpace> &knobs, const KnobValues &values) {
    if (values.size() != knobs.size()) return false;
    for (const KnobSpace &k : knobs) {
        auto it = values.find(k.name);
        if (it == values.end() || std::find(k.values.begin(), k.values.end(), it->second) == k.values.end())
            return false;
    }
    if (!tile_is_legal(root, values)) return false;
    // Rows per tile only where the root is computed at root, not a row at a
    // time in another root's rows.
    auto rows = values.find("tile_y"), fuse = values.find("fuse");
    if (rows != values.end() && rows->second > 1 && fuse != values.end() && fuse->second != 0) return false;
    // A blocked reduction implies channels_outer and vectors over channels:
    // one point, not several.
    auto block = values.find("reduction_block");
    if (block != values.end() && block->second > 0) {
        auto outer = values.find("channels_outer"), pixels = values.find("pixel_vectors");
        if ((outer != values.end() && outer->second == 0) || (pixels != values.end() && pixels->second != 0))
            return false;
    }
    return true;
}

}  // namespace shufflec
