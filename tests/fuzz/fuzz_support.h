// Shared by the fuzz harnesses (tests/fuzz/fuzz_*.cc, tools/fuzz.sh).
//
// Each harness defines LLVMFuzzerTestOneInput. Built with clang and
// -fsanitize=fuzzer (SHUFFLEC_FUZZ=ON) it is a libFuzzer binary; otherwise it is
// linked with replay_main.cc and runs the files it is given once each, so the
// seed corpora and every crash turned regression input run in every build.
//
// A shufflec::Error is the expected answer to bad input (the CLI prints it and
// exits 1); any other exception would reach the CLI as "internal error" (exit
// 3) and is a finding, as is every sanitizer report.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

#include "util/error.h"

namespace shufflec_fuzz {

template <typename F>
int guarded(F &&f) {
    try {
        f();
    } catch (const shufflec::Error &) {
    } catch (const std::bad_alloc &) {
    } catch (const std::exception &e) {
        std::fprintf(stderr, "finding: an exception other than shufflec::Error escaped: %s\n", e.what());
        std::abort();
    }
    return 0;
}

inline std::string bytes(const uint8_t *data, size_t size) {
    return std::string(reinterpret_cast<const char *>(data), size);
}

}  // namespace shufflec_fuzz
