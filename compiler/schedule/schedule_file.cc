#include "schedule/schedule.h"

#include "schedule/knobs.h"

#include "spec/json_view.h"
#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

constexpr const char *kScheduleFormat = "shufflec-schedule/1";

ScheduleKnobs parse_knobs(const JsonView &v) {
    std::vector<std::string> fields = {"comment"};
    for (const KnobDef &d : knob_defs()) fields.push_back(d.name);
    v.check_fields(fields);
    ScheduleKnobs k;
    for (const KnobDef &d : knob_defs()) {
        if (!v.has(d.name)) continue;
        JsonView f = v.at(d.name);
        if (d.flag) {
            d.set(k, f.as_bool() ? 1 : 0);
            continue;
        }
        int64_t value = f.as_int(d.lo, d.hi);
        if (d.power_of_two && (value & (value - 1))) f.error(cat(d.name, " must be a power of two"));
        d.set(k, static_cast<int>(value));
    }
    return k;
}

}  // namespace

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

DotProduct dot_product(const Halide::Target &target, Precision precision) {
    bool x86_dot = target.arch == Halide::Target::X86 && target.has_feature(Halide::Target::AVX512_SapphireRapids);
    if (precision == Precision::BF16) return x86_dot ? DotProduct::BF16 : DotProduct::None;
    bool arm = target.arch == Halide::Target::ARM;
    if (arm && precision == Precision::FP32) return DotProduct::F32Lanes;
    if (arm && precision == Precision::FP16 && target.has_feature(Halide::Target::ARMFp16))
        return DotProduct::F16Lanes;
    if (precision != Precision::Int8) return DotProduct::None;
    if (x86_dot) return DotProduct::U8S8;
    if (arm && target.has_feature(Halide::Target::ARMDotProd)) return DotProduct::S8S8;
    return DotProduct::I8Pairs;
}

bool dot_product_wanted(const ScheduleFile &file, const Halide::Target &target, const std::string &unit,
                        const Node &node) {
    return resolve_knobs(file, target, unit, node, Stage::Pointwise).dot_product.value_or(true);
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

int64_t dense_panel_vectors(const ScheduleFile &file, const Halide::Target &target, const std::string &unit,
                            const Node &node) {
    if (target.arch == Halide::Target::ARM) return 1;
    ScheduleKnobs k = resolve_knobs(file, target, unit, node, Stage::Dense);
    if (k.channel_vectors) return *k.channel_vectors;
    return std::min(kMaxTileVectors, (k.registers.value_or(16) - 1) / 2);
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
