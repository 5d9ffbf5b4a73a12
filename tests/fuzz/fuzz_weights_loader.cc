// The runtime's external-weights check (runtime/shufflec_runtime.c, compiled
// into this harness with the fuzzer's instrumentation): any file image must be
// accepted only with the right size, magic, fingerprint, checksum and zero
// reserved bytes, and never read outside the image.
//
// The first 8 bytes of an input choose the payload size the "model" expects;
// the rest is the file image. The fingerprint is fixed.
#include <cstring>
#include <memory>

#include "fuzz_support.h"

extern "C" {
const void *shufflec_internal_check_weights(const void *image, size_t bytes, uint64_t payload_bytes,
                                            uint64_t fingerprint, int *status);
// The Halide runtime functions shufflec_runtime.c uses (none is reached here).
struct halide_mutex;
struct halide_cond;
typedef int (*halide_do_par_for_t)(void *, int (*)(void *, int, uint8_t *), int, int, uint8_t *);
halide_do_par_for_t halide_set_custom_do_par_for(halide_do_par_for_t f) { return f; }
void *halide_spawn_thread(void (*)(void *), void *) { std::abort(); }
void halide_mutex_lock(halide_mutex *) {}
void halide_mutex_unlock(halide_mutex *) {}
void halide_cond_broadcast(halide_cond *) {}
void halide_cond_wait(halide_cond *, halide_mutex *) {}
int halide_host_cpu_count(void) { return 1; }
typedef void (*halide_error_handler_t)(void *, const char *);
halide_error_handler_t halide_set_error_handler(halide_error_handler_t f) { return f; }
void halide_print(void *, const char *) { std::abort(); }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8) return 0;
    uint64_t payload = 0;
    std::memcpy(&payload, data, 8);
    payload %= 1 << 20;
    // A copy exactly as long as the image: ASan reports any read past it.
    std::unique_ptr<uint8_t[]> image(new uint8_t[size - 8]);
    std::memcpy(image.get(), data + 8, size - 8);
    int status = -1;
    const void *p = shufflec_internal_check_weights(image.get(), size - 8, payload, 0x1234567890abcdefull, &status);
    if ((p != nullptr) != (status == 0)) std::abort();
    if (p && (size - 8 != 64 + payload || p != image.get() + 64)) std::abort();
    return 0;
}
