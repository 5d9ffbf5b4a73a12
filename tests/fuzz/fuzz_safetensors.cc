// The safetensors reader (weights files from users and exporters).
#include "fuzz_support.h"
#include "weights/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return shufflec_fuzz::guarded([&] { shufflec::parse_safetensors(shufflec_fuzz::bytes(data, size), "fuzz.safetensors"); });
}
