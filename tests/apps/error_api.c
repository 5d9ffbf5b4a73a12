/* Exercises the error contract of a compiled model built with
 * --external-weights --name tiny (see tests/app_contract_test.cc):
 *   error_api WEIGHTS_FILE SCRATCH_DIR
 * Prints one line per failed check and exits with the number of failures. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "HalideRuntime.h"
#include "tiny.h"

static int failures;

#define CHECK_STATUS(call, want)                                                                  \
    do {                                                                                          \
        int got_ = (call);                                                                        \
        if (got_ != (want)) {                                                                     \
            printf("FAIL %s: got %d (%s), want %d\n", #call, got_, shufflec_status_string(got_), (want)); \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)

static void copy_file(const char *from, const char *to, long keep_bytes, long flip_at) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    long i = 0;
    int ch;
    while ((ch = fgetc(in)) != EOF && (keep_bytes < 0 || i < keep_bytes)) {
        fputc(i == flip_at ? ch ^ 0x40 : ch, out);
        i++;
    }
    fclose(in);
    fclose(out);
}

static void dims_nchw(halide_dimension_t *d, int w, int h, int c, int n) {
    int e[4] = {w, h, c, n};
    int s = 1;
    for (int i = 0; i < 4; i++) {
        d[i].min = 0, d[i].extent = e[i], d[i].stride = s, d[i].flags = 0;
        s *= e[i];
    }
}

static void buffer(halide_buffer_t *b, halide_dimension_t *d, int dims, void *host) {
    memset(b, 0, sizeof *b);
    b->host = (uint8_t *)host;
    b->type.code = halide_type_float;
    b->type.bits = 32;
    b->type.lanes = 1;
    b->dimensions = dims;
    b->dim = d;
}

int main(int argc, char **argv) {
    if (argc != 3) return 100;
    const char *weights = argv[1];
    char path[4096];
    static float input[TINY_INPUT_SIZE], output[TINY_OUTPUT_SIZE], again[TINY_OUTPUT_SIZE];
    for (int i = 0; i < TINY_INPUT_SIZE; i++) input[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;

    /* Arguments and weights. */
    CHECK_STATUS(tiny_run(NULL, output), SHUFFLEC_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(tiny_run(input, NULL), SHUFFLEC_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(tiny_run(input, output), SHUFFLEC_ERROR_WEIGHTS_NOT_LOADED);
    CHECK_STATUS(tiny_load_weights(NULL), SHUFFLEC_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(tiny_load_weights("/nonexistent/tiny.weights"), SHUFFLEC_ERROR_WEIGHTS_FILE);
    snprintf(path, sizeof path, "%s/truncated.weights", argv[2]);
    copy_file(weights, path, 1000, -1);
    CHECK_STATUS(tiny_load_weights(path), SHUFFLEC_ERROR_WEIGHTS_CORRUPT);
    snprintf(path, sizeof path, "%s/flipped.weights", argv[2]);
    copy_file(weights, path, -1, 64 + 1234);  /* one payload byte: the checksum must catch it */
    CHECK_STATUS(tiny_load_weights(path), SHUFFLEC_ERROR_WEIGHTS_CORRUPT);
    copy_file(weights, path, -1, 3);          /* the magic */
    CHECK_STATUS(tiny_load_weights(path), SHUFFLEC_ERROR_WEIGHTS_CORRUPT);
    copy_file(weights, path, -1, 40);         /* a reserved header byte (must be zero) */
    CHECK_STATUS(tiny_load_weights(path), SHUFFLEC_ERROR_WEIGHTS_CORRUPT);
    CHECK_STATUS(tiny_load_weights(argv[2]), SHUFFLEC_ERROR_WEIGHTS_FILE); /* a folder: cannot be read */
    CHECK_STATUS(tiny_run(input, output), SHUFFLEC_ERROR_WEIGHTS_NOT_LOADED);
    CHECK_STATUS(tiny_load_weights(weights), SHUFFLEC_OK);
    CHECK_STATUS(tiny_run(input, output), SHUFFLEC_OK);

    /* Threads: the default follows $HL_NUM_THREADS (the test sets 3). */
    const char *env = getenv("HL_NUM_THREADS");
    if (env && shufflec_get_num_threads() != atoi(env))
        printf("FAIL default threads %d, HL_NUM_THREADS=%s\n", shufflec_get_num_threads(), env), failures++;
    CHECK_STATUS(shufflec_set_num_threads(-1), SHUFFLEC_ERROR_BAD_ARGUMENT);
    CHECK_STATUS(shufflec_set_num_threads(65), SHUFFLEC_ERROR_BAD_ARGUMENT);
    CHECK_STATUS(shufflec_set_num_threads(5), SHUFFLEC_OK);
    if (shufflec_get_num_threads() != 5) printf("FAIL set 5 threads, got %d\n", shufflec_get_num_threads()), failures++;
    CHECK_STATUS(shufflec_set_num_threads(1), SHUFFLEC_OK);
    CHECK_STATUS(tiny_run(input, again), SHUFFLEC_OK);
    if (memcmp(output, again, sizeof output) != 0) printf("FAIL 1 thread differs from the default\n"), failures++;

    /* Scratch memory. */
    void *scratch = aligned_alloc(64, (TINY_SCRATCH_BYTES + 63) / 64 * 64);
    CHECK_STATUS(tiny_run_with_scratch(input, again, NULL), SHUFFLEC_ERROR_NULL_ARGUMENT);
    CHECK_STATUS(tiny_run_with_scratch(input, again, (char *)scratch + 4), SHUFFLEC_ERROR_BAD_ARGUMENT);
    CHECK_STATUS(tiny_run_with_scratch(input, again, scratch), SHUFFLEC_OK);
    if (memcmp(output, again, sizeof output) != 0) printf("FAIL scratch run differs\n"), failures++;

    /* The Halide-buffer entry point. */
    halide_dimension_t din[4], dout[2];
    halide_buffer_t bin, bout;
    dims_nchw(din, TINY_INPUT_W, TINY_INPUT_H, TINY_INPUT_C, TINY_INPUT_N);
    buffer(&bin, din, 4, input);
    dout[0].min = 0, dout[0].extent = TINY_OUTPUT_C, dout[0].stride = 1, dout[0].flags = 0;
    dout[1].min = 0, dout[1].extent = TINY_OUTPUT_N, dout[1].stride = TINY_OUTPUT_C, dout[1].flags = 0;
    buffer(&bout, dout, 2, again);
    CHECK_STATUS(tiny_run_halide(&bin, &bout), SHUFFLEC_OK);
    if (memcmp(output, again, sizeof output) != 0) printf("FAIL run_halide differs from run\n"), failures++;
    CHECK_STATUS(tiny_run_halide(NULL, &bout), SHUFFLEC_ERROR_NULL_ARGUMENT);
    din[0].extent = TINY_INPUT_W + 1;
    CHECK_STATUS(tiny_run_halide(&bin, &bout), SHUFFLEC_ERROR_SHAPE_MISMATCH);
    din[0].extent = TINY_INPUT_W;
    din[2].stride += 1;
    CHECK_STATUS(tiny_run_halide(&bin, &bout), SHUFFLEC_ERROR_SHAPE_MISMATCH);
    din[2].stride -= 1;
    bin.type.bits = 16;
    CHECK_STATUS(tiny_run_halide(&bin, &bout), SHUFFLEC_ERROR_SHAPE_MISMATCH);
    bin.type.bits = 32;
    bin.dimensions = 3;
    CHECK_STATUS(tiny_run_halide(&bin, &bout), SHUFFLEC_ERROR_SHAPE_MISMATCH);
    bin.dimensions = 4;
    dout[0].extent = TINY_OUTPUT_C - 1;
    CHECK_STATUS(tiny_run_halide(&bin, &bout), SHUFFLEC_ERROR_SHAPE_MISMATCH);
    dout[0].extent = TINY_OUTPUT_C;
    din[1].min = 1;
    CHECK_STATUS(tiny_run_halide(&bin, &bout), SHUFFLEC_ERROR_SHAPE_MISMATCH);
    din[1].min = 0;
    CHECK_STATUS(tiny_run_halide(&bin, &bout), SHUFFLEC_OK);

    /* Status strings: every code has its own message. */
    for (int a = 0; a <= SHUFFLEC_ERROR_PIPELINE; a++) {
        if (!shufflec_status_string(a)) printf("FAIL no message for %d\n", a), failures++;
        for (int b = 0; b < a; b++)
            if (strcmp(shufflec_status_string(a), shufflec_status_string(b)) == 0)
                printf("FAIL codes %d and %d share a message\n", a, b), failures++;
    }
    if (strstr(shufflec_status_string(1234), "unknown") == NULL) printf("FAIL unknown code\n"), failures++;
    tiny_unload_weights();
    CHECK_STATUS(tiny_run(input, output), SHUFFLEC_ERROR_WEIGHTS_NOT_LOADED);
    free(scratch);
    printf("%d failure(s)\n", failures);
    return failures;
}
