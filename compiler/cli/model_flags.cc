#include "cli/model_flags.h"

#include "emit/targets.h"
#include "spec/spec_parser.h"
#include "util/error.h"

namespace shufflec {

std::vector<FlagSpec> model_flags(const std::string &default_target) {
    std::string targets;
    for (const auto &t : target_names()) targets += (targets.empty() ? "" : ", ") + t;
    return {{"--weights", "FILE", "safetensors weights (default: the spec's \"weights\" file)"},
            {"--random-weights", "SEED", "deterministic random weights instead"},
            {"--target", "T", "one of " + targets + " (default " + default_target + "), optionally with features: " +
                                  target_features_help() + " (e.g. arm-64-linux-arm_dot_prod)"},
            {"--input-shape", "N,C,H,W", "this input shape instead of the spec's"},
            {"--precision", "P", "fp32 (default), int8 (needs --quantization), fp16 (halves; fast where the "
                                 "target has fp16 arithmetic: arm-64-*-arm_fp16) or bf16 (bfloat16 values, float32 "
                                 "sums; dot products with avx512_sapphirerapids)"},
            {"--quantization", "Q.json", "int8 scales from `shufflec quantize` (docs/quantization.md)"}};
}

void read_model_flags(const Args &args, CompileOptions &o, const std::string &target, bool random_by_default) {
    o.weights_path = args.get("--weights");
    o.random_seed = args.get("--random-weights");
    if (random_by_default && o.weights_path.empty() && o.random_seed.empty() && load_spec(o.spec_path).weights_file.empty())
        o.random_seed = "1";
    o.target = args.get("--target", target);
    if (args.has("--input-shape")) o.input_shape = parse_shape_arg(args.get("--input-shape"), "--input-shape");
    o.precision = args.get("--precision", "fp32");
    if (o.precision != "fp32" && o.precision != "int8" && o.precision != "fp16" && o.precision != "bf16")
        fail("--precision: expected fp32, int8, fp16 or bf16, got ", in_quotes(o.precision));
    o.quantization_path = args.get("--quantization");
    if (o.precision == "int8" && o.quantization_path.empty())
        fail("--precision int8: missing --quantization Q.json (make one with `shufflec quantize`)");
    if (o.precision != "int8" && !o.quantization_path.empty()) fail("--quantization: only with --precision int8");
}

std::vector<FlagSpec> operator+(std::vector<FlagSpec> a, const std::vector<FlagSpec> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace shufflec
