// Running the LLVM tools shufflec drives: clang (the C glue), llvm-ar and
// ld.lld (packaging), llc (AVX512-VNNI objects, emit/compile_model.cc). They
// handle every target, unlike the host's binutils.
#pragma once

#include <string>
#include <vector>

namespace shufflec {

struct Toolchain {
    std::string clang, llvm_ar, ld_lld;
    std::string llvm_objcopy, llvm_nm, llvm_objdump, llvm_mca, llc;  // beside llvm-ar (same LLVM)
    std::string clang_resource_dir;  // clang's own headers (stddef.h, stdint.h) for freestanding C
    std::string halide_include;      // where HalideRuntime.h lives
};

// Paths from the build (CMake found them), overridable with $SHUFFLEC_CLANG,
// $SHUFFLEC_LLVM_AR, $SHUFFLEC_LD_LLD.
Toolchain find_toolchain();

// Runs argv (in folder `cwd` if given); on failure throws an Error with
// `what` and the command, and the tool's stderr as the error's details.
void run_tool(const std::vector<std::string> &argv, const std::string &what, const std::string &cwd = "");
// Runs argv and returns its stdout.
std::string run_tool_output(const std::vector<std::string> &argv, const std::string &what, const std::string &cwd = "");

}  // namespace shufflec
