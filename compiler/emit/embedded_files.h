// runtime/shufflec_runtime.{h,c}, embedded in the compiler at build time
// (cmake/embed_runtime.cmake) and compiled for each target by `shufflec compile`.
#pragma once

#include <string>

namespace shufflec {

std::string embedded_runtime_header();
std::string embedded_runtime_source();

}  // namespace shufflec
