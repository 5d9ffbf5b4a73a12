// The flags that say which model a command compiles, worded and read once for
// compile, tune, bench and profile: --weights, --random-weights, --target,
// --input-shape.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "emit/compile_model.h"

namespace shufflec {

// `default_target`: how the command picks a target without --target (words for --help).
std::vector<FlagSpec> model_flags(const std::string &default_target);

// Reads them into `o` (its spec_path set). `target`: the target without
// --target. `random_by_default`: a spec without a weights file and neither
// flag gets random weights of seed 1 (commands that only time the model).
void read_model_flags(const Args &args, CompileOptions &o, const std::string &target, bool random_by_default);

// `a` then `b`.
std::vector<FlagSpec> operator+(std::vector<FlagSpec> a, const std::vector<FlagSpec> &b);

}  // namespace shufflec
