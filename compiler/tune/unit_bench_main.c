/* The program `shufflec tune` measures one pipeline (unit) with: three
 * compiled variants of the same Halide pipeline, linked in as
 *   ub_default_argv    the cost model's schedule (the reference for outputs)
 *   ub_incumbent_argv  the best schedule measured so far
 *   ub_candidate_argv  the schedule on trial
 * plus the Halide runtime and shufflec's runtime helpers (thread pool,
 * allocation cache), as in a compiled model.
 *
 *   unit_bench LAYOUT WEIGHTS [--threads N] [--rounds R] [--round-ms MS] [--evict-kb KB] [--peak]
 *              [--fault crash|hang|wrong] [--count VARIANT N]
 *
 * LAYOUT is a text file: "weights FLOATS NARROW PAIRS" (NARROW: "i8" where the
 * pipeline also takes the weights as int8, an int8 model's, after the float
 * view; PAIRS: "i16" where it then takes them as int16 too; "-" where not), then one line per buffer argument after the weights
 * and the thread count, in the pipeline's order:
 *   "in|out TYPE DIMS EXTENT... STRIDE..." (TYPE f32, u8 or i8; DIMS extents,
 *   then DIMS strides, in elements)
 * WEIGHTS holds the model's packed weights (raw little-endian floats).
 *
 * Inputs are filled with fixed pseudo-random values. The candidate's outputs
 * are compared with the default's (max |difference| / max |default|; an 8-bit
 * output may differ by one step where a float epilogue lands within rounding
 * of a tie: those elements are counted apart, "step_diffs" of "int_elements",
 * and a difference of more steps counts as the whole range). Timing:
 * after a warm-up, R rounds; each round times calls of the incumbent and then
 * of the candidate (the order alternates per round) for about MS milliseconds
 * each, so slow drifts of the machine hit both alike. Before every timed call
 * the program reads KB kilobytes of other data (default 4096): in a model, a
 * unit's weights were last used a whole inference ago and are no longer in
 * the core's caches, so a unit timed hot in a loop would flatter tiles that
 * reread weights (the evicting read is not timed). Prints one JSON object:
 *   {"max_rel_diff", "step_diffs", "int_elements", "calls", "incumbent": {"median_ms", "min_ms", "p10_ms",
 *    "p90_ms"}, "candidate": {...}, "peak_gmacs"}
 * --count VARIANT N (1: incumbent, 2: candidate): after the output check, N
 * calls of that variant and no timing (timings reported as 0); run under qemu's
 * counting plugin with N = 0 and 1, the difference is one warm call.
 * --fault makes the candidate crash, hang or corrupt its output (for the
 * tuner's isolation tests). */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "HalideRuntime.h"
#include "bench_common.h"
#include "shufflec_runtime.h"

int ub_default_argv(void **args);
int ub_incumbent_argv(void **args);
int ub_candidate_argv(void **args);
void shufflec_internal_install_pool(void);

enum { kMaxBuffers = 32, kMaxCalls = 100000 };

enum element { kF32, kU8, kI8, kI16 };

struct arg_buffer {
    int output;
    enum element type;
    halide_buffer_t buf;
    halide_dimension_t dim[5];
    void *data[3]; /* one per variant for outputs; inputs share data[0] */
    long elements;
};

static struct arg_buffer buffers[kMaxBuffers];
static int n_buffers;
static halide_buffer_t weights_buf, narrow_buf, pair_buf;
static halide_dimension_t weights_dim, narrow_dim, pair_dim;
static int32_t threads = 1;
static void *args[4 + kMaxBuffers];

static void *aligned(long floats) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (size_t)(floats > 0 ? floats : 1) * sizeof(float))) return NULL;
    return p;
}

static void set_buffer(halide_buffer_t *b, halide_dimension_t *d, int dims, void *host, enum element type) {
    memset(b, 0, sizeof *b);
    b->host = (uint8_t *)host;
    b->type.code = type == kF32 ? halide_type_float : type == kU8 ? halide_type_uint : halide_type_int;
    b->type.bits = type == kF32 ? 32 : type == kI16 ? 16 : 8, b->type.lanes = 1;
    b->dimensions = dims;
    b->dim = d;
}

/* Points the output buffers at variant v's storage and calls it. */
static int call(int v) {
    static int (*const fn[3])(void **) = {ub_default_argv, ub_incumbent_argv, ub_candidate_argv};
    for (int i = 0; i < n_buffers; i++)
        if (buffers[i].output) buffers[i].buf.host = (uint8_t *)buffers[i].data[v];
    return fn[v](args);
}

/* Element k of variant v's data as a number. */
static double value_at(const struct arg_buffer *b, int v, long k) {
    switch (b->type) {
    case kU8: return ((const uint8_t *)b->data[v])[k];
    case kI8: return ((const int8_t *)b->data[v])[k];
    default: return ((const float *)b->data[v])[k];
    }
}

static void report(const char *name, double *t, int n) {
    double p10 = quantile(t, n, 0.1), p90 = quantile(t, n, 0.9), median = quantile(t, n, 0.5);
    printf("\"%s\": {\"median_ms\": %.6f, \"min_ms\": %.6f, \"p10_ms\": %.6f, \"p90_ms\": %.6f}", name, median, t[0],
           p10, p90);
}

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: unit_bench LAYOUT WEIGHTS [options]\n"), 2;
    int rounds = 10, peak = 0;
    double round_ms = 20;
    long evict_kb = 4096;
    const char *fault = "";
    int count_variant = 0, count_calls = -1;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--round-ms") && i + 1 < argc) round_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--evict-kb") && i + 1 < argc) evict_kb = atol(argv[++i]);
        else if (!strcmp(argv[i], "--peak")) peak = 1;
        else if (!strcmp(argv[i], "--fault") && i + 1 < argc) fault = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 2 < argc) count_variant = atoi(argv[++i]), count_calls = atoi(argv[++i]);
        else return fprintf(stderr, "unit_bench: unknown argument %s\n", argv[i]), 2;
    }
    if (threads < 1 || threads > 64 || rounds < 1 || rounds > 1000 || evict_kb < 0 || evict_kb > (1L << 22))
        return fprintf(stderr, "unit_bench: bad --threads or --rounds\n"), 2;
    if (count_calls >= 0 && (count_variant < 1 || count_variant > 2 || count_calls > 100))
        return fprintf(stderr, "unit_bench: bad --count\n"), 2;

    FILE *f = fopen(argv[1], "r");
    if (!f) return fprintf(stderr, "unit_bench: cannot open %s\n", argv[1]), 1;
    long weight_floats = 0;
    char narrow[8], pairs[8];
    if (fscanf(f, " weights %ld %7s %7s", &weight_floats, narrow, pairs) != 3 || weight_floats < 1 ||
        (strcmp(narrow, "-") && strcmp(narrow, "i8")) || (strcmp(pairs, "-") && strcmp(pairs, "i16")))
        return fprintf(stderr, "unit_bench: %s: bad weights line\n", argv[1]), 1;
    char kind[8], type[8];
    while (n_buffers < kMaxBuffers && fscanf(f, " %7s", kind) == 1) {
        struct arg_buffer *b = &buffers[n_buffers];
        int dims = 0;
        if (fscanf(f, " %7s %d", type, &dims) != 2 || dims < 1 || dims > 5)
            return fprintf(stderr, "unit_bench: %s: bad buffer line\n", argv[1]), 1;
        if (!strcmp(type, "f32")) b->type = kF32;
        else if (!strcmp(type, "u8")) b->type = kU8;
        else if (!strcmp(type, "i8")) b->type = kI8;
        else return fprintf(stderr, "unit_bench: %s: unknown element type %s\n", argv[1], type), 1;
        long extent[5], stride[5];
        for (int d = 0; d < dims; d++)
            if (fscanf(f, " %ld", &extent[d]) != 1) return fprintf(stderr, "unit_bench: bad extent\n"), 1;
        for (int d = 0; d < dims; d++)
            if (fscanf(f, " %ld", &stride[d]) != 1) return fprintf(stderr, "unit_bench: bad stride\n"), 1;
        b->output = !strcmp(kind, "out");
        b->elements = 1;
        for (int d = 0; d < dims; d++) {
            b->dim[d].min = 0, b->dim[d].extent = (int32_t)extent[d], b->dim[d].stride = (int32_t)stride[d];
            b->dim[d].flags = 0;
            b->elements += (extent[d] - 1) * stride[d];
        }
        for (int v = 0; v < (b->output ? 3 : 1); v++) {
            /* (aligned() counts floats: 8-bit elements take a quarter) */
            b->data[v] = aligned(b->type == kF32 ? b->elements : (b->elements + 3) / 4);
            if (!b->data[v]) return fprintf(stderr, "unit_bench: out of memory\n"), 1;
            /* Fixed pseudo-random values, floats in [-1, 1), any 8-bit
             * integer: inputs; outputs start equal (a view writes only some
             * channels of its buffer). */
            uint32_t state = 12345u + (uint32_t)n_buffers;
            for (long i = 0; i < b->elements; i++) {
                state = state * 1664525u + 1013904223u;
                if (b->type == kF32) ((float *)b->data[v])[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
                else ((uint8_t *)b->data[v])[i] = (uint8_t)(state >> 24);
            }
        }
        set_buffer(&b->buf, b->dim, dims, b->data[0], b->type);
        n_buffers++;
    }
    fclose(f);

    float *weights = aligned(weight_floats);
    FILE *w = fopen(argv[2], "rb");
    if (!weights || !w || fread(weights, sizeof(float), (size_t)weight_floats, w) != (size_t)weight_floats)
        return fprintf(stderr, "unit_bench: cannot read %ld floats from %s\n", weight_floats, argv[2]), 1;
    fclose(w);
    weights_dim.min = 0, weights_dim.extent = (int32_t)weight_floats, weights_dim.stride = 1, weights_dim.flags = 0;
    set_buffer(&weights_buf, &weights_dim, 1, weights, kF32);
    /* An int8 model's pipelines also read the weights as int8 (and int16). */
    narrow_dim = weights_dim;
    narrow_dim.extent = (int32_t)(weight_floats * 4);
    set_buffer(&narrow_buf, &narrow_dim, 1, weights, kI8);
    pair_dim = weights_dim;
    pair_dim.extent = (int32_t)(weight_floats * 2);
    set_buffer(&pair_buf, &pair_dim, 1, weights, kI16);

    if (shufflec_set_num_threads(threads) != SHUFFLEC_OK) return fprintf(stderr, "unit_bench: bad thread count\n"), 2;
    shufflec_internal_install_pool();
    int a = 0;
    args[a++] = &weights_buf;
    if (!strcmp(narrow, "i8")) args[a++] = &narrow_buf;
    if (!strcmp(pairs, "i16")) args[a++] = &pair_buf;
    args[a++] = &threads;
    for (int i = 0; i < n_buffers; i++) args[a + i] = &buffers[i].buf;

    if (!strcmp(fault, "crash")) raise(SIGSEGV);
    if (!strcmp(fault, "hang"))
        for (;;) pause();
    for (int v = 0; v < 3; v++)
        if (call(v) != 0) return fprintf(stderr, "unit_bench: variant %d failed\n", v), 1;
    if (!strcmp(fault, "wrong"))
        for (int i = 0; i < n_buffers; i++)
            if (buffers[i].output) {
                if (buffers[i].type == kF32) ((float *)buffers[i].data[2])[0] += 1.0f;
                else ((uint8_t *)buffers[i].data[2])[0] ^= 0x40;
            }
    double max_diff = 0, max_ref = 0;
    long step_diffs = 0, int_elements = 0;
    int nan_seen = 0, int_far = 0;
    for (int i = 0; i < n_buffers; i++) {
        const struct arg_buffer *b = &buffers[i];
        if (!b->output) continue;
        for (long k = 0; k < b->elements; k++) {
            double ref = value_at(b, 0, k), d = fabs(value_at(b, 2, k) - ref);
            if (b->type != kF32) {
                int_elements++;
                step_diffs += d == 1;
                int_far |= d > 1;
                continue;
            }
            if (d != d) nan_seen = 1;
            else if (d > max_diff) max_diff = d;
            if (fabs(ref) > max_ref) max_ref = fabs(ref);
        }
    }
    double rel = nan_seen || int_far ? 1e30 : max_diff / (max_ref > 0 ? max_ref : 1);
    if (count_calls >= 0) {
        for (int k = 0; k < count_calls; k++)
            if (call(count_variant) != 0) return fprintf(stderr, "unit_bench: variant %d failed\n", count_variant), 1;
        printf("{\"max_rel_diff\": %.9g, \"step_diffs\": %ld, \"int_elements\": %ld, \"calls\": %d, "
               "\"incumbent\": {\"median_ms\": 0, \"min_ms\": 0, \"p10_ms\": 0, "
               "\"p90_ms\": 0}, \"candidate\": {\"median_ms\": 0, \"min_ms\": 0, \"p10_ms\": 0, \"p90_ms\": 0}}\n",
               rel, step_diffs, int_elements, count_calls);
        return 0;
    }

    /* Warm-up, and the calls per round from the slower variant's time. */
    double slowest = 0;
    for (int v = 1; v < 3; v++)
        for (int k = 0; k < 3; k++) {
            double t0 = now();
            call(v);
            double t = now() - t0;
            if (k == 2 && t > slowest) slowest = t;
        }
    long evict_floats = evict_kb * 256;
    float *evict = aligned(evict_floats > 0 ? evict_floats : 1);
    if (!evict) return fprintf(stderr, "unit_bench: out of memory\n"), 1;
    for (long i = 0; i < evict_floats; i++) evict[i] = (float)(i & 255);
    volatile float evict_sink = 0;
    double evict_seconds = 0;
    for (int k = 0; k < 3; k++) {
        double t0 = now();
        float sum = 0;
        for (long i = 0; i < evict_floats; i += 16) sum += evict[i];
        evict_sink += sum;
        evict_seconds = now() - t0;
    }
    /* A round is about round_ms of calls and their evicting reads. */
    double per_call = slowest + evict_seconds;
    int calls = (int)(round_ms * 1e-3 / (per_call > 1e-7 ? per_call : 1e-7));
    if (calls < 3) calls = 3;
    if (calls * rounds > kMaxCalls) calls = kMaxCalls / rounds;
    double *times[2];
    for (int v = 0; v < 2; v++) {
        times[v] = malloc(sizeof(double) * (size_t)calls * (size_t)rounds);
        if (!times[v]) return fprintf(stderr, "unit_bench: out of memory\n"), 1;
    }
    for (int r = 0; r < rounds; r++)
        for (int o = 0; o < 2; o++) {
            int v = (r + o) % 2; /* 0: incumbent, 1: candidate */
            for (int k = 0; k < calls; k++) {
                float sum = 0;
                for (long i = 0; i < evict_floats; i += 16) sum += evict[i]; /* one read per 64-byte line */
                evict_sink += sum;
                double t0 = now();
                int status = call(1 + v);
                times[v][r * calls + k] = (now() - t0) * 1e3;
                if (status) return fprintf(stderr, "unit_bench: variant %d failed\n", 1 + v), 1;
            }
        }
    printf("{\"max_rel_diff\": %.9g, \"step_diffs\": %ld, \"int_elements\": %ld, \"calls\": %d, ", rel,
           step_diffs, int_elements, calls * rounds);
    report("incumbent", times[0], calls * rounds);
    printf(", ");
    report("candidate", times[1], calls * rounds);
    if (peak) printf(", \"peak_gmacs\": %.3f", fma_peak(threads));
    printf("}\n");
    return 0;
}
