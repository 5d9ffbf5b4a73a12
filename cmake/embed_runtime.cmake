# Writes a C++ source that holds runtime/shufflec_runtime.{h,c} as strings, so
# the compiler can emit and build them for any target without finding files.
# Usage: cmake -DSOURCE_DIR=... -DOUTPUT=... -P embed_runtime.cmake
file(READ "${SOURCE_DIR}/runtime/shufflec_runtime.h" header)
file(READ "${SOURCE_DIR}/runtime/shufflec_runtime.c" source)
file(WRITE "${OUTPUT}.tmp"
"// Generated from runtime/ by cmake/embed_runtime.cmake. Do not edit.
#include \"emit/embedded_files.h\"
namespace shufflec {
std::string embedded_runtime_header() { return R\"shufflec_embed(${header})shufflec_embed\"; }
std::string embedded_runtime_source() { return R\"shufflec_embed(${source})shufflec_embed\"; }
}  // namespace shufflec
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
