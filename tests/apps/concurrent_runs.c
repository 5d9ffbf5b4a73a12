/* Calls a compiled model from many threads at once and checks every output
 * bit for bit against the same input computed alone (tests/app_contract_test.cc):
 *   concurrent_runs THREADS CALLS [WEIGHTS_FILE]
 * Each thread cycles through NAME_run, NAME_run_halide and NAME_run_with_scratch
 * (its own scratch) on inputs that differ per call, and, for a model with
 * input.preprocess, NAME_run_rgb8 on 8-bit images (of two sizes) that differ per call. Meanwhile one more thread
 * keeps changing the thread count and, for a model built with
 * --external-weights (WEIGHTS_FILE given), another one keeps reloading the
 * weights. Prints "<wrong> of <calls> outputs wrong, <errors> errors" and exits
 * 1 on any wrong output or error status. Built like npy_runner.c:
 *   cc -DMODEL=tiny -DMODEL_UPPER=TINY -DMODEL_HEADER='"tiny.h"' concurrent_runs.c tiny.a -lpthread -lm */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "HalideRuntime.h"
#include MODEL_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define F(suffix) CAT(MODEL, suffix)
#define M(suffix) CAT(MODEL_UPPER, suffix)

enum { kInputs = 12 };

#if M(_PREPROCESS)
enum { kEntries = 4 };
#else
enum { kEntries = 3 };
#endif

static float *inputs[kInputs], *expected[kInputs];
static uint8_t *images[kInputs];
static float *expected_rgb8[kInputs];

/* Image k: 64x52 for even k, 50x41 for odd k (any size is resized and cropped). */
static int image_w(int k) { return k % 2 ? 50 : 64; }
static int image_h(int k) { return k % 2 ? 41 : 52; }
static int calls_per_thread;
static const char *weights_file;
static atomic_int wrong, errors, done;

static void halide_buffer(halide_buffer_t *b, halide_dimension_t *d, int dims, const int *extents, float *host) {
    int stride = 1;
    memset(b, 0, sizeof *b);
    for (int i = 0; i < dims; i++) {
        d[i].min = 0, d[i].extent = extents[i], d[i].stride = stride, d[i].flags = 0;
        stride *= extents[i];
    }
    b->host = (uint8_t *)host;
    b->type.code = halide_type_float, b->type.bits = 32, b->type.lanes = 1;
    b->dimensions = dims, b->dim = d;
}

static int run_entry(int entry, int which, float *out, void *scratch) {
    float *in = inputs[which];
#if M(_PREPROCESS)
    if (entry == 3) return F(_run_rgb8)(images[which], image_w(which), image_h(which), 3 * image_w(which), out);
#endif
    if (entry == 0) return F(_run)(in, out);
    if (entry == 1) return F(_run_with_scratch)(in, out, scratch);
    halide_dimension_t din[4], dout[4];
    halide_buffer_t bin, bout;
    int ein[4] = {M(_INPUT_W), M(_INPUT_H), M(_INPUT_C), M(_INPUT_N)};
    int eout4[4] = {M(_OUTPUT_W), M(_OUTPUT_H), M(_OUTPUT_C), M(_OUTPUT_N)};
    int eout2[2] = {M(_OUTPUT_C), M(_OUTPUT_N)};
    halide_buffer(&bin, din, 4, ein, in);
    if (M(_OUTPUT_RANK) == 2) halide_buffer(&bout, dout, 2, eout2, out);
    else halide_buffer(&bout, dout, 4, eout4, out);
    return F(_run_halide)(&bin, &bout);
}

static void *caller(void *arg) {
    int id = (int)(intptr_t)arg;
    float *out = malloc(sizeof(float) * M(_OUTPUT_SIZE));
    void *scratch = aligned_alloc(64, (M(_SCRATCH_BYTES) + 63) / 64 * 64);
    for (int i = 0; i < calls_per_thread; i++) {
        int which = (id * 5 + i * 7) % kInputs, entry = (id + i) % kEntries;
        memset(out, 0xff, sizeof(float) * M(_OUTPUT_SIZE));
        int status = run_entry(entry, which, out, scratch);
        const float *want = entry == 3 ? expected_rgb8[which] : expected[which];
        if (status != SHUFFLEC_OK) {
            if (atomic_fetch_add(&errors, 1) < 5) printf("thread %d call %d: status %d (%s)\n", id, i, status, shufflec_status_string(status));
        } else if (memcmp(out, want, sizeof(float) * M(_OUTPUT_SIZE)) != 0) {
            if (atomic_fetch_add(&wrong, 1) < 5) printf("thread %d call %d (entry %d, input %d): wrong output\n", id, i, entry, which);
        }
    }
    free(out);
    free(scratch);
    return NULL;
}

/* Keeps changing the thread count (and reloading the weights) until the callers finish. */
static void *disturber(void *arg) {
    (void)arg;
    struct timespec pause = {0, 2000000};
    for (int k = 0; !atomic_load(&done); k++) {
        nanosleep(&pause, NULL);
        shufflec_set_num_threads(1 + k % 4);
#if M(_EXTERNAL_WEIGHTS)
        if (F(_load_weights)(weights_file) != SHUFFLEC_OK) atomic_fetch_add(&errors, 1);
#endif
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) return 100;
    int threads = atoi(argv[1]);
    calls_per_thread = atoi(argv[2]);
    weights_file = argc > 3 ? argv[3] : NULL;
#if M(_EXTERNAL_WEIGHTS)
    if (!weights_file || F(_load_weights)(weights_file) != SHUFFLEC_OK) return printf("cannot load weights\n"), 1;
#endif
    for (int k = 0; k < kInputs; k++) {
        inputs[k] = malloc(sizeof(float) * M(_INPUT_SIZE));
        expected[k] = malloc(sizeof(float) * M(_OUTPUT_SIZE));
        for (int i = 0; i < M(_INPUT_SIZE); i++) inputs[k][i] = (float)((i * 7919 + k * 104729) % 1000) / 500.0f - 1.0f;
        if (F(_run)(inputs[k], expected[k]) != SHUFFLEC_OK) return printf("reference run failed\n"), 1;
        int pixels = 3 * image_w(k) * image_h(k);
        images[k] = malloc((size_t)pixels);
        expected_rgb8[k] = malloc(sizeof(float) * M(_OUTPUT_SIZE));
        for (int i = 0; i < pixels; i++) images[k][i] = (uint8_t)((i * 31 + k * 17) % 256);
#if M(_PREPROCESS)
        if (F(_run_rgb8)(images[k], image_w(k), image_h(k), 3 * image_w(k), expected_rgb8[k]) != SHUFFLEC_OK)
            return printf("reference run_rgb8 failed\n"), 1;
#endif
    }
    pthread_t t[65], d;
    pthread_create(&d, NULL, disturber, NULL);
    for (int i = 0; i < threads && i < 64; i++) pthread_create(&t[i], NULL, caller, (void *)(intptr_t)i);
    for (int i = 0; i < threads && i < 64; i++) pthread_join(t[i], NULL);
    atomic_store(&done, 1);
    pthread_join(d, NULL);
    printf("%d of %d outputs wrong, %d errors\n", atomic_load(&wrong), threads * calls_per_thread, atomic_load(&errors));
    return atomic_load(&wrong) || atomic_load(&errors);
}
