/* The shared part of every compiled model: status strings, threads, and the
 * external-weights file reader. Compiled freestanding by `shufflec compile`
 * for the target (it sees only compiler-provided headers), so the few libc
 * functions it needs are declared here. */
#include <stddef.h>
#include <stdint.h>

#include "shufflec_runtime.h"

extern int halide_set_num_threads(int n);
extern void halide_shutdown_thread_pool(void);
extern void *fopen(const char *path, const char *mode);
extern size_t fread(void *dst, size_t size, size_t count, void *file);
extern int fclose(void *file);
extern void *malloc(size_t bytes);
extern void free(void *p);

const char *shufflec_status_string(int status) {
    switch (status) {
    case SHUFFLEC_OK: return "success";
    case SHUFFLEC_ERROR_NULL_ARGUMENT: return "a pointer argument is NULL";
    case SHUFFLEC_ERROR_BAD_ARGUMENT: return "an argument is out of range";
    case SHUFFLEC_ERROR_SHAPE_MISMATCH: return "a buffer's type, rank, extents or strides do not match the model";
    case SHUFFLEC_ERROR_WEIGHTS_NOT_LOADED: return "the model's external weights are not loaded";
    case SHUFFLEC_ERROR_WEIGHTS_FILE: return "the weights file cannot be opened or read";
    case SHUFFLEC_ERROR_WEIGHTS_CORRUPT: return "the weights file is corrupt or belongs to another model";
    case SHUFFLEC_ERROR_OUT_OF_MEMORY: return "out of memory";
    case SHUFFLEC_ERROR_PIPELINE: return "the compiled pipeline reported an error";
    default: return "unknown shufflec status code";
    }
}

int shufflec_set_num_threads(int n) {
    if (n < 0 || n > 1024) return SHUFFLEC_ERROR_BAD_ARGUMENT;
    /* Halide's pool keeps its worker threads once they exist; a smaller count
     * only takes effect in a fresh pool. Not for the hot path. */
    halide_shutdown_thread_pool();
    halide_set_num_threads(n);
    return SHUFFLEC_OK;
}

/* FNV-1a, 64 bit: the checksum of external weights files. */
uint64_t shufflec_internal_checksum(const void *data, size_t bytes) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Validates an external weights image: a 64-byte header
 *   "SHFCWTS1", u64 payload bytes, u64 model fingerprint, u64 FNV-1a of the payload, zeros
 * followed by the payload. Returns the payload or NULL with *status set. */
const void *shufflec_internal_check_weights(const void *image, size_t bytes, uint64_t payload_bytes,
                                            uint64_t fingerprint, int *status) {
    const unsigned char *p = (const unsigned char *)image;
    static const char magic[8] = {'S', 'H', 'F', 'C', 'W', 'T', 'S', '1'};
    uint64_t fields[3];
    *status = SHUFFLEC_ERROR_WEIGHTS_CORRUPT;
    if (bytes != 64 + payload_bytes) return NULL;
    for (int i = 0; i < 8; i++)
        if (p[i] != (unsigned char)magic[i]) return NULL;
    for (int f = 0; f < 3; f++) {
        fields[f] = 0;
        for (int b = 7; b >= 0; b--) fields[f] = (fields[f] << 8) | p[8 + 8 * f + b];
    }
    if (fields[0] != payload_bytes || fields[1] != fingerprint) return NULL;
    if (fields[2] != shufflec_internal_checksum(p + 64, payload_bytes)) return NULL;
    *status = SHUFFLEC_OK;
    return p + 64;
}

/* Reads exactly `bytes` bytes of `path` into 64-byte aligned memory (one more
 * byte is requested to detect a longer file). Returns the block to free with
 * shufflec_internal_free_aligned, or NULL with *status set. */
void *shufflec_internal_read_file(const char *path, size_t bytes, int *status) {
    void *file = fopen(path, "rb");
    if (!file) {
        *status = SHUFFLEC_ERROR_WEIGHTS_FILE;
        return NULL;
    }
    unsigned char *raw = (unsigned char *)malloc(bytes + 1 + 64 + sizeof(void *));
    if (!raw) {
        fclose(file);
        *status = SHUFFLEC_ERROR_OUT_OF_MEMORY;
        return NULL;
    }
    uintptr_t aligned = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
    ((void **)aligned)[-1] = raw;
    size_t got = fread((void *)aligned, 1, bytes + 1, file);
    fclose(file);
    if (got != bytes) {
        free(raw);
        *status = SHUFFLEC_ERROR_WEIGHTS_CORRUPT;
        return NULL;
    }
    *status = SHUFFLEC_OK;
    return (void *)aligned;
}

void shufflec_internal_free_aligned(void *p) {
    if (p) free(((void **)p)[-1]);
}
