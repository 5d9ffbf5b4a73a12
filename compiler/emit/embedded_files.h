// Text files embedded in the compiler at build time (cmake/embed_files.cmake):
//   "shufflec_runtime.h", "shufflec_runtime.c"  runtime/, compiled per target by `compile`
//   "bench_main.c"                              compiler/measure/, built by `bench` and `profile`
#pragma once

#include <string>

namespace shufflec {

std::string embedded_file(const std::string &name);

}  // namespace shufflec
