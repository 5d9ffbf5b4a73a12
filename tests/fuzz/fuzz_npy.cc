// The .npy reader (inputs of `shufflec run`, the tests' tensors).
#include "fuzz_support.h"
#include "util/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return shufflec_fuzz::guarded([&] { shufflec::parse_npy(shufflec_fuzz::bytes(data, size), "fuzz.npy"); });
}
