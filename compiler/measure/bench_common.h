/* What the benchmark programs share (compiler/measure/bench_main.c for whole
 * models, compiler/tune/unit_bench_main.c for one pipeline): a clock,
 * quantiles, the FMA peak loop, small parsing and JSON helpers. Embedded in the
 * compiler and written beside the program's source when it is built. */
#ifndef SHUFFLEC_BENCH_COMMON_H
#define SHUFFLEC_BENCH_COMMON_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef SHUFFLEC_BENCH_VECTOR_BYTES
#define SHUFFLEC_BENCH_VECTOR_BYTES 16
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of n values (sorts them). */
static double quantile(double *v, int n, double q) {
    qsort(v, (size_t)n, sizeof(double), by_value);
    double at = q * (n - 1);
    int i = (int)at;
    return i + 1 < n ? v[i] + (at - i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* ---- FMA peak ---------------------------------------------------------- */

typedef float vec __attribute__((vector_size(SHUFFLEC_BENCH_VECTOR_BYTES)));

enum { kLanes = SHUFFLEC_BENCH_VECTOR_BYTES / 4, kChains = 12 };

struct fma_job {
    long iterations;
    float sink;
};

static void *fma_chains(void *arg) {
    struct fma_job *job = (struct fma_job *)arg;
    vec a, b, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    /* Named accumulators (an array would live in memory), twelve independent
     * chains: more than latency x FMA ports on current cores (4 x 2). */
    for (int l = 0; l < kLanes; l++) {
        a[l] = 0.999999f, b[l] = 1e-7f;
        c0[l] = 0, c1[l] = 1, c2[l] = 2, c3[l] = 3, c4[l] = 4, c5[l] = 5;
        c6[l] = 6, c7[l] = 7, c8[l] = 8, c9[l] = 9, c10[l] = 10, c11[l] = 11;
    }
    for (long it = 0; it < job->iterations; it++) {
        c0 = c0 * a + b, c1 = c1 * a + b, c2 = c2 * a + b, c3 = c3 * a + b, c4 = c4 * a + b, c5 = c5 * a + b;
        c6 = c6 * a + b, c7 = c7 * a + b, c8 = c8 * a + b, c9 = c9 * a + b, c10 = c10 * a + b, c11 = c11 * a + b;
    }
    vec sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
    job->sink = sum[0];
    return NULL;
}

/* Seconds for `threads` threads to run `iterations` of the chains each. */
static double fma_seconds(int threads, long iterations) {
    pthread_t t[64];
    struct fma_job jobs[64];
    double start = now();
    for (int i = 0; i < threads; i++) {
        jobs[i].iterations = iterations;
        pthread_create(&t[i], NULL, fma_chains, &jobs[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return now() - start;
}

/* Best of 3 runs of `threads` threads running the chains, in GMAC/s. Each run
 * lasts about 0.1 s (calibrated on a first run): long enough for the clock to
 * settle and for thread start-up to vanish (a fixed 9 ms once read a 88 GMAC/s
 * core as 59-75, and layers appeared faster than the peak). */
static double fma_peak(int threads) {
    long iterations = 1000000;
    double first = fma_seconds(1, iterations);
    if (first > 0) iterations = (long)((double)iterations * 0.1 / first) + 1;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double g = (double)threads * (double)iterations * kChains * kLanes / fma_seconds(threads, iterations) / 1e9;
        best = g > best ? g : best;
    }
    return best;
}

static int parse_list(const char *text, int *out, int max) {
    int n = 0;
    while (*text && n < max) {
        out[n++] = atoi(text);
        while (*text && *text != ',') text++;
        if (*text == ',') text++;
    }
    return n;
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

#endif
