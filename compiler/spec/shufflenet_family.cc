#include "spec/shufflenet_family.h"

#include <array>
#include <cmath>

#include "util/error.h"

namespace shufflec {

int64_t round_to_multiple(double x, int64_t multiple) {
    int64_t r = static_cast<int64_t>(std::floor(x / static_cast<double>(multiple) + 0.5)) * multiple;
    return std::max(r, multiple);
}

ShuffleNetWidths shufflenet_v1_widths(int64_t groups, double scale) {
    // Table 1: stage-2 output channels at 1x; stages 3 and 4 double each time.
    int64_t base;
    switch (groups) {
    case 1: base = 144; break;
    case 2: base = 200; break;
    case 3: base = 240; break;
    case 4: base = 272; break;
    case 8: base = 384; break;
    default: return {0, {0, 0, 0}};
    }
    ShuffleNetWidths w;
    int64_t stage2 = round_to_multiple(static_cast<double>(base) * scale, groups);
    w.stage[0] = stage2, w.stage[1] = 2 * stage2, w.stage[2] = 4 * stage2;
    // The stem scales too (24 at 1x, 48 at 2x), but not below 12 channels, and it
    // is rounded down to a multiple of g so that the first unit's branch
    // (stage2 - stem channels) splits evenly into g groups. This reproduces the
    // paper's 38 M / 13 M MACs at 0.5x / 0.25x and 524 M for 2x g3.
    double stem = std::max(24.0 * scale, 12.0);
    w.stem = static_cast<int64_t>(std::floor(stem / static_cast<double>(groups))) * groups;
    return w;
}

json expand_family(const JsonView &family) {
    std::string name = family.at("name").as_string();
    if (name == "shufflenet_v1") return expand_shufflenet_v1(family);
    if (name == "shufflenet_v2") return expand_shufflenet_v2(family);
    family.at("name").error("unknown family \"" + name + "\" (known: \"shufflenet_v1\", \"shufflenet_v2\")");
}

namespace {

// "stage_repeats": units per stage 2, 3, 4 (default Table 1's / Table 5's 4, 8, 4).
std::array<int64_t, 3> stage_repeats(const JsonView &family) {
    std::array<int64_t, 3> repeats = {4, 8, 4};
    if (family.has("stage_repeats")) {
        JsonView list = family.at("stage_repeats");
        if (list.size() != 3) list.error("expected 3 repeat counts [stage2, stage3, stage4]");
        for (int i = 0; i < 3; i++) repeats[static_cast<size_t>(i)] = list[i].as_int(1, 1000);
    }
    return repeats;
}

}  // namespace

std::vector<int64_t> shufflenet_v2_widths(double width) {
    // Table 5 of the paper (and torchvision's stages_out_channels).
    if (width == 0.5) return {48, 96, 192, 1024};
    if (width == 1.0) return {116, 232, 464, 1024};
    if (width == 1.5) return {176, 352, 704, 1024};
    if (width == 2.0) return {244, 488, 976, 2048};
    return {};
}

json expand_shufflenet_v2(const JsonView &family) {
    family.check_fields({"name", "width", "stage_out_channels", "stage_repeats", "num_classes", "bn_eps"});
    std::vector<int64_t> widths;
    if (family.has("stage_out_channels")) {
        if (family.has("width")) family.at("width").error("give either \"width\" or \"stage_out_channels\", not both");
        JsonView list = family.at("stage_out_channels");
        if (list.size() != 5) list.error("expected 5 widths [conv1, stage2, stage3, stage4, conv5]");
        for (int i = 0; i < 5; i++) widths.push_back(list[i].as_int(1, 1 << 20));
    } else {
        double width = family.get_number("width", 1.0, 0.01, 16.0);
        std::vector<int64_t> w = shufflenet_v2_widths(width);
        if (w.empty()) family.at("width").error(cat("Table 5 has widths 0.5, 1.0, 1.5 and 2.0, not ", width,
                                                    "; give \"stage_out_channels\" instead"));
        widths = {24, w[0], w[1], w[2], w[3]};
    }
    std::array<int64_t, 3> repeats = stage_repeats(family);
    int64_t num_classes = family.get_int("num_classes", 1000, 1, 1 << 24);
    double eps = family.get_number("bn_eps", 1e-5, 0.0, 1.0);
    json layers = json::array();
    auto layer = [&](json entry) { layers.push_back(std::move(entry)); };
    layer({{"op", "conv"}, {"name", "conv1.0"}, {"out_channels", widths[0]}, {"kernel", 3}, {"stride", 2}, {"pad", 1},
           {"bias", false}});
    layer({{"op", "batchnorm"}, {"name", "conv1.1"}, {"eps", eps}});
    layer({{"op", "relu"}, {"name", "conv1.2"}});
    layer({{"op", "maxpool"}, {"name", "maxpool"}, {"kernel", 3}, {"stride", 2}, {"pad", 1}});
    for (int s = 0; s < 3; s++)
        for (int64_t i = 0; i < repeats[s]; i++)
            layer({{"op", "shufflenet_v2_unit"}, {"name", cat("stage", s + 2, ".", i)}, {"out_channels", widths[s + 1]},
                   {"stride", i == 0 ? 2 : 1}, {"bn_eps", eps}});
    layer({{"op", "conv"}, {"name", "conv5.0"}, {"out_channels", widths[4]}, {"kernel", 1}, {"bias", false}});
    layer({{"op", "batchnorm"}, {"name", "conv5.1"}, {"eps", eps}});
    layer({{"op", "relu"}, {"name", "conv5.2"}});
    layer({{"op", "global_avgpool"}, {"name", "global_pool"}});
    layer({{"op", "fc"}, {"name", "fc"}, {"out_features", num_classes}, {"bias", true}});
    return layers;
}

json expand_shufflenet_v1(const JsonView &family) {
    family.check_fields({"name", "groups", "scale", "stage_out_channels", "stage_repeats", "num_classes", "shuffle",
                         "shuffle_convention", "shuffle_position", "first_pw_grouped", "bottleneck_ratio",
                         "bottleneck_of", "concat_order", "count_include_pad", "se", "fc_bias", "bn_eps"});
    std::string name = family.at("name").as_string();
    if (name != "shufflenet_v1") family.at("name").error("unknown family \"" + name + "\" (known: \"shufflenet_v1\")");

    int64_t groups = family.at("groups").as_int(1, 1 << 16);
    double scale = family.get_number("scale", 1.0, 0.01, 16.0);
    int64_t stem;
    int64_t stages[3];
    if (family.has("stage_out_channels")) {
        if (family.has("scale")) family.at("scale").error("give either \"scale\" or \"stage_out_channels\", not both");
        JsonView list = family.at("stage_out_channels");
        if (list.size() != 4) list.error("expected 4 widths [stem, stage2, stage3, stage4]");
        stem = list[0].as_int(1, 1 << 20);
        for (int i = 0; i < 3; i++) stages[i] = list[i + 1].as_int(1, 1 << 20);
    } else {
        ShuffleNetWidths w = shufflenet_v1_widths(groups, scale);
        if (w.stem == 0)
            family.at("groups").error(cat("Table 1 has no widths for groups = ", groups,
                                          " (1, 2, 3, 4 or 8); give \"stage_out_channels\" instead"));
        stem = w.stem;
        for (int i = 0; i < 3; i++) stages[i] = w.stage[i];
    }
    std::array<int64_t, 3> repeats = stage_repeats(family);
    int64_t num_classes = family.get_int("num_classes", 1000, 1, 1 << 24);
    double ratio = family.get_number("bottleneck_ratio", 0.25, 1e-3, 16.0);
    std::string bottleneck_of = family.get_choice("bottleneck_of", "out", {"out", "branch"});
    double eps = family.get_number("bn_eps", 1e-5, 0.0, 1.0);

    // Options passed to every unit, checked here so errors name $.family.
    family.get_bool("shuffle", true);
    family.get_bool("count_include_pad", true);
    family.get_choice("shuffle_convention", "paper", {"paper", "inverse"});
    family.get_choice("shuffle_position", "after_pw1", {"after_pw1", "after_dw"});
    family.get_choice("concat_order", "shortcut_first", {"shortcut_first", "branch_first"});
    if (family.has("se") && !family.at("se").raw().is_boolean()) {
        JsonView se = family.at("se");
        se.check_fields({"reduction"});
        se.get_int("reduction", 16, 1, 1 << 20);
    }
    json unit_options = json::object();
    for (const char *key : {"shuffle", "shuffle_convention", "shuffle_position", "concat_order", "count_include_pad",
                            "se"})
        if (family.has(key)) unit_options[key] = family.raw()[key];
    unit_options["bn_eps"] = eps;
    bool first_pw_grouped = family.get_bool("first_pw_grouped", false);

    json layers = json::array();
    auto layer = [&](json entry) { layers.push_back(std::move(entry)); };
    layer({{"op", "conv"}, {"name", "stem.conv"}, {"out_channels", stem}, {"kernel", 3}, {"stride", 2}, {"pad", 1},
           {"bias", false}});
    layer({{"op", "batchnorm"}, {"name", "stem.bn"}, {"eps", eps}});
    layer({{"op", "relu"}, {"name", "stem.relu"}});
    layer({{"op", "maxpool"}, {"name", "maxpool"}, {"kernel", 3}, {"stride", 2}, {"pad", 1}});
    int64_t in = stem;
    for (int s = 0; s < 3; s++) {
        for (int64_t i = 0; i < repeats[s]; i++) {
            int64_t out = stages[s];
            int64_t stride = i == 0 ? 2 : 1;
            int64_t branch = stride == 2 ? out - in : out;
            double base = static_cast<double>(bottleneck_of == "out" ? out : branch);
            json unit = unit_options;
            unit["op"] = "shufflenet_unit";
            unit["name"] = cat("stage", s + 2, ".", i);
            unit["out_channels"] = out;
            unit["groups"] = groups;
            unit["stride"] = stride;
            unit["bottleneck"] = round_to_multiple(base * ratio, groups);
            // Stage 2's first pointwise conv sees only the stem's channels and is not grouped.
            unit["first_pw_grouped"] = (s == 0 && i == 0) ? first_pw_grouped : true;
            layer(unit);
            in = out;
        }
    }
    layer({{"op", "global_avgpool"}, {"name", "global_pool"}});
    layer({{"op", "fc"}, {"name", "fc"}, {"out_features", num_classes}, {"bias", family.get_bool("fc_bias", true)}});
    return layers;
}

}  // namespace shufflec
