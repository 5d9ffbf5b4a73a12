// The targets `shufflec compile --target` accepts, and what each means for
// Halide (the code generator) and for clang (which compiles the small C glue).
#pragma once

#include <string>
#include <vector>

#include <Halide.h>

namespace shufflec {

struct TargetInfo {
    std::string name;       // as given on the command line
    Halide::Target halide;  // with the features we compile for
    std::string triple;     // clang/LLVM triple for the glue
    // The concrete target it belongs to (schedules/<short_name>/, file names):
    // x86-64-linux, x86-64-linux-avx512, arm-64-linux or arm-64-android; `host`
    // resolves to the one this machine is.
    std::string short_name;
};

// Known names: host, x86-64-linux (AVX2+FMA), x86-64-linux-avx512, arm-64-linux,
// arm-64-android, each optionally followed by Halide target features it allows
// ("arm-64-linux-arm_dot_prod-arm_fp16"). Anything else is an error listing them.
// `host` keeps avx512_sapphirerapids on AMD Zen 4/5 too: compiled objects are
// encoded for every AVX512-VNNI CPU (compile_model.cc), but Halide's JIT
// compiles the feature for LLVM's "sapphirerapids" CPU, free to use what only
// Intel's have (AVX-VNNI, AVX512-FP16): JIT code must drop it.
TargetInfo resolve_target(const std::string &name);
std::vector<std::string> target_names();
// The features each target accepts, for help texts.
std::string target_features_help();

}  // namespace shufflec
