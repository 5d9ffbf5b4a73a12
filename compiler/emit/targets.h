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
    std::string short_name; // used in file names: x86-64-linux, arm-64-android...
};

// Known names: host, x86-64-linux (AVX2+FMA), x86-64-linux-avx512, arm-64-linux,
// arm-64-android. Anything else is an error listing them.
TargetInfo resolve_target(const std::string &name);
std::vector<std::string> target_names();

}  // namespace shufflec
