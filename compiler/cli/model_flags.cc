#include "cli/model_flags.h"

#include "emit/targets.h"
#include "spec/spec_parser.h"

namespace shufflec {

std::vector<FlagSpec> model_flags(const std::string &default_target) {
    std::string targets;
    for (const auto &t : target_names()) targets += (targets.empty() ? "" : ", ") + t;
    return {{"--weights", "FILE", "safetensors weights (default: the spec's \"weights\" file)"},
            {"--random-weights", "SEED", "deterministic random weights instead"},
            {"--target", "T", "one of " + targets + " (default " + default_target + "), optionally with features: " +
                                  target_features_help() + " (e.g. arm-64-linux-arm_dot_prod)"},
            {"--input-shape", "N,C,H,W", "this input shape instead of the spec's"}};
}

void read_model_flags(const Args &args, CompileOptions &o, const std::string &target, bool random_by_default) {
    o.weights_path = args.get("--weights");
    o.random_seed = args.get("--random-weights");
    if (random_by_default && o.weights_path.empty() && o.random_seed.empty() && load_spec(o.spec_path).weights_file.empty())
        o.random_seed = "1";
    o.target = args.get("--target", target);
    if (args.has("--input-shape")) o.input_shape = parse_shape_arg(args.get("--input-shape"), "--input-shape");
}

std::vector<FlagSpec> operator+(std::vector<FlagSpec> a, const std::vector<FlagSpec> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace shufflec
