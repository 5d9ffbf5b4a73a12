#include "schedule/schedule.h"

#include "spec/json_view.h"
#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

constexpr const char *kScheduleFormat = "shufflec-schedule/1";

ScheduleKnobs parse_knobs(const JsonView &v) {
    v.check_fields({"vector", "channel_vectors", "tile_x", "rows_per_task", "fuse", "registers", "tasks_per_thread",
                    "group_padding", "channels_outer", "unroll", "reduction_block", "planar_input", "pixel_vectors",
                    "comment"});
    ScheduleKnobs k;
    if (v.has("vector")) {
        int64_t lanes = v.at("vector").as_int(1, 64);
        if (lanes & (lanes - 1)) v.at("vector").error("vector width must be a power of two");
        k.vector = static_cast<int>(lanes);
    }
    if (v.has("channel_vectors")) k.channel_vectors = static_cast<int>(v.at("channel_vectors").as_int(1, 16));
    if (v.has("tile_x")) k.tile_x = static_cast<int>(v.at("tile_x").as_int(1, 64));
    if (v.has("rows_per_task")) k.rows_per_task = static_cast<int>(v.at("rows_per_task").as_int(0, 1 << 16));
    if (v.has("fuse")) k.fuse = v.at("fuse").as_bool();
    if (v.has("registers")) k.registers = static_cast<int>(v.at("registers").as_int(8, 64));
    if (v.has("tasks_per_thread")) k.tasks_per_thread = static_cast<int>(v.at("tasks_per_thread").as_int(1, 64));
    if (v.has("group_padding")) k.group_padding = static_cast<int>(v.at("group_padding").as_int(1, 64));
    if (v.has("channels_outer")) k.channels_outer = v.at("channels_outer").as_bool();
    if (v.has("unroll")) k.unroll = static_cast<int>(v.at("unroll").as_int(1, 64));
    if (v.has("reduction_block")) k.reduction_block = static_cast<int>(v.at("reduction_block").as_int(0, 1 << 16));
    if (v.has("planar_input")) k.planar_input = v.at("planar_input").as_bool();
    if (v.has("pixel_vectors")) k.pixel_vectors = v.at("pixel_vectors").as_bool();
    return k;
}

}  // namespace

void ScheduleKnobs::merge(const ScheduleKnobs &over) {
    if (over.vector) vector = over.vector;
    if (over.channel_vectors) channel_vectors = over.channel_vectors;
    if (over.tile_x) tile_x = over.tile_x;
    if (over.rows_per_task) rows_per_task = over.rows_per_task;
    if (over.fuse) fuse = over.fuse;
    if (over.registers) registers = over.registers;
    if (over.tasks_per_thread) tasks_per_thread = over.tasks_per_thread;
    if (over.group_padding) group_padding = over.group_padding;
    if (over.channels_outer) channels_outer = over.channels_outer;
    if (over.unroll) unroll = over.unroll;
    if (over.reduction_block) reduction_block = over.reduction_block;
    if (over.planar_input) planar_input = over.planar_input;
    if (over.pixel_vectors) pixel_vectors = over.pixel_vectors;
}

ScheduleFile parse_schedule_text(const std::string &text, const std::string &source) {
    json root = parse_json_text(text, source);
    JsonView v(root, "$");
    v.check_fields({"format", "target", "model", "description", "defaults", "kinds", "layers"});
    std::string format = v.at("format").as_string();
    if (format != kScheduleFormat)
        v.at("format").error("unsupported format \"" + format + "\" (this compiler reads \"" + kScheduleFormat + "\")");
    for (const char *info : {"target", "model", "description"})
        if (v.has(info)) v.at(info).as_string();
    ScheduleFile file;
    file.source = source;
    if (v.has("defaults")) file.defaults = parse_knobs(v.at("defaults"));
    if (v.has("kinds")) {
        JsonView kinds = v.at("kinds");
        kinds.check_fields({"pointwise", "depthwise", "conv", "maxpool", "avgpool", "global_pool", "dense"});
        for (auto it = kinds.raw().begin(); it != kinds.raw().end(); ++it)
            file.kinds[it.key()] = parse_knobs(kinds.at(it.key()));
    }
    if (v.has("layers")) {
        JsonView layers = v.at("layers");
        layers.expect_object();
        for (auto it = layers.raw().begin(); it != layers.raw().end(); ++it)
            file.layers[it.key()] = parse_knobs(layers.at(it.key()));
    }
    return file;
}

ScheduleFile load_schedule(const std::string &path) { return parse_schedule_text(read_file(path, "schedule"), path); }

void merge_schedule(ScheduleFile &base, const ScheduleFile &over) {
    base.source = base.source.empty() || base.source == "built-in" ? over.source : base.source + " + " + over.source;
    base.defaults.merge(over.defaults);
    for (const auto &[kind, knobs] : over.kinds) base.kinds[kind].merge(knobs);
    for (const auto &[layer, knobs] : over.layers) base.layers[layer].merge(knobs);
}

ScheduleKnobs target_defaults(const Halide::Target &target) {
    ScheduleKnobs k;
    int bits = target.has_feature(Halide::Target::AVX512) ? 512 : target.arch == Halide::Target::X86 && target.has_feature(Halide::Target::AVX) ? 256 : 128;
    k.vector = bits / 32;
    k.registers = target.arch == Halide::Target::X86 && !target.has_feature(Halide::Target::AVX512) ? 16 : 32;
    k.tasks_per_thread = 1;
    // channel_vectors, tile_x and rows_per_task stay unset: the scheduler picks
    // them per layer (cost model; rows split among the threads at run time)
    // unless a schedule file gives them.
    return k;
}

int group_padding(const ScheduleFile &file, const Halide::Target &target) {
    if (file.defaults.group_padding) return *file.defaults.group_padding;
    int widest = *target_defaults(target).vector;
    if (file.defaults.vector) widest = *file.defaults.vector;
    for (const auto *knobs : {&file.kinds, &file.layers})
        for (const auto &[name, k] : *knobs)
            if (k.vector) widest = std::max(widest, *k.vector);
    return widest;
}

const char *stage_kind_name(Stage::Kind kind) {
    switch (kind) {
    case Stage::Pointwise: return "pointwise";
    case Stage::Depthwise: return "depthwise";
    case Stage::Conv: return "conv";
    case Stage::MaxPool: return "maxpool";
    case Stage::AvgPool: return "avgpool";
    case Stage::GlobalPool: return "global_pool";
    case Stage::Dense: return "dense";
    case Stage::Elementwise: return "elementwise";
    }
    return "?";
}

ScheduleKnobs resolve_knobs(const ScheduleFile &file, const Halide::Target &target, const std::string &unit,
                           const Node &node, Stage::Kind kind) {
    ScheduleKnobs k = target_defaults(target);
    k.merge(file.defaults);
    auto kind_it = file.kinds.find(stage_kind_name(kind));
    if (kind_it != file.kinds.end()) k.merge(kind_it->second);
    auto unit_it = file.layers.find(unit);
    if (unit_it != file.layers.end()) k.merge(unit_it->second);
    auto layer_it = file.layers.find(node.name);
    if (layer_it != file.layers.end() && node.name != unit) k.merge(layer_it->second);
    return k;
}

}  // namespace shufflec
