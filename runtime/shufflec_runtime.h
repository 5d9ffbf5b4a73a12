/* shufflec runtime: what every compiled model shares (error codes, threads).
 *
 * Apps include the model's own header (NAME.h), which includes this one. The
 * implementation is part of the Halide runtime object that `shufflec compile`
 * emits (NAME.a, or shufflec_runtime_<target>.o with --emit obj), so several
 * models in one app share it. Plain C; no dependency beyond libc, libm and
 * pthreads. */
#ifndef SHUFFLEC_RUNTIME_H
#define SHUFFLEC_RUNTIME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every model function returns one of these. */
enum shufflec_status {
    SHUFFLEC_OK = 0,
    SHUFFLEC_ERROR_NULL_ARGUMENT = 1,     /* a pointer argument was NULL */
    SHUFFLEC_ERROR_BAD_ARGUMENT = 2,      /* e.g. a negative thread count */
    SHUFFLEC_ERROR_SHAPE_MISMATCH = 3,    /* a buffer's type, rank, extents or strides differ from the model's */
    SHUFFLEC_ERROR_WEIGHTS_NOT_LOADED = 4,/* an external-weights model ran before NAME_load_weights */
    SHUFFLEC_ERROR_WEIGHTS_FILE = 5,      /* the weights file could not be opened or read */
    SHUFFLEC_ERROR_WEIGHTS_CORRUPT = 6,   /* wrong magic, size, model fingerprint or checksum */
    SHUFFLEC_ERROR_OUT_OF_MEMORY = 7,
    SHUFFLEC_ERROR_PIPELINE = 8           /* the Halide pipeline reported an error (printed by Halide) */
};

/* The pixel formats of NAME_run_image / NAME_preprocess_image. Packed formats:
 * `height` rows of `width` pixels of 3 or 4 bytes (the 4th, alpha, is ignored).
 * NV12 / NV21 (YUV 4:2:0, what Android and V4L2 cameras deliver; even width and
 * height): `height` rows of `width` Y bytes, then height / 2 rows of `width`
 * bytes of interleaved U, V (NV21: V, U), one pair per 2x2 pixels, all rows
 * `row_stride_bytes` apart; converted with BT.601 video-range coefficients in
 * OpenCV's fixed point (cvtColor's COLOR_YUV2RGB_NV12 / NV21, to the grey level). */
enum shufflec_pixel_format {
    SHUFFLEC_PIXELS_RGB8 = 0,
    SHUFFLEC_PIXELS_BGR8 = 1,
    SHUFFLEC_PIXELS_RGBA8 = 2,
    SHUFFLEC_PIXELS_BGRA8 = 3,
    SHUFFLEC_PIXELS_NV12 = 4,
    SHUFFLEC_PIXELS_NV21 = 5
};

/* A static, human-readable description of a status code. Never NULL. */
const char *shufflec_status_string(int status);

/* Threads used by every model in the process: 1 <= n <= 64, or 0 for the
 * default ($HL_NUM_THREADS if set to a number, else the number of cores, at
 * most 64). Returns SHUFFLEC_OK or SHUFFLEC_ERROR_BAD_ARGUMENT. A run splits
 * its parallel loops into one block of rows per thread; any count computes the
 * same bits. */
int shufflec_set_num_threads(int n);

/* The thread count the next run will use. */
int shufflec_get_num_threads(void);

/* The most bytes that pipelines' internal buffers (beyond each model's static
 * scratch arena, NAME_SCRATCH_BYTES) have held at once so far. They are
 * allocated on the first run and reused by every later one. */
size_t shufflec_peak_pipeline_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* SHUFFLEC_RUNTIME_H */
