/* The machine's fp32 FMA peak, measured: each thread runs 12 independent
 * 8-lane FMA chains (enough to cover the FMA latency on current x86 cores).
 *   cc -O2 -mavx2 -mfma fma_peak.c -lpthread -o fma_peak && ./fma_peak [THREADS]
 * Prints GMAC/s (one FMA lane = one multiply-accumulate) per thread count. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { kIterations = 20000000 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *chains(void *out) {
    __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    /* Twelve named accumulators so they stay in registers (an indexed array may not). */
    __m256 c0 = _mm256_set1_ps(0), c1 = _mm256_set1_ps(1), c2 = _mm256_set1_ps(2), c3 = _mm256_set1_ps(3);
    __m256 c4 = _mm256_set1_ps(4), c5 = _mm256_set1_ps(5), c6 = _mm256_set1_ps(6), c7 = _mm256_set1_ps(7);
    __m256 c8 = _mm256_set1_ps(8), c9 = _mm256_set1_ps(9), c10 = _mm256_set1_ps(10), c11 = _mm256_set1_ps(11);
    for (long it = 0; it < kIterations; it++) {
        c0 = _mm256_fmadd_ps(c0, a, b), c1 = _mm256_fmadd_ps(c1, a, b), c2 = _mm256_fmadd_ps(c2, a, b);
        c3 = _mm256_fmadd_ps(c3, a, b), c4 = _mm256_fmadd_ps(c4, a, b), c5 = _mm256_fmadd_ps(c5, a, b);
        c6 = _mm256_fmadd_ps(c6, a, b), c7 = _mm256_fmadd_ps(c7, a, b), c8 = _mm256_fmadd_ps(c8, a, b);
        c9 = _mm256_fmadd_ps(c9, a, b), c10 = _mm256_fmadd_ps(c10, a, b), c11 = _mm256_fmadd_ps(c11, a, b);
    }
    __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                               _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    sum = _mm256_add_ps(sum, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    _mm256_storeu_ps((float *)out, sum);
    return NULL;
}

static double run(int threads) {
    pthread_t t[64];
    float sink[64][8];
    double start = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, chains, sink[i]);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double seconds = now() - start;
    return (double)threads * kIterations * 12 * 8 / seconds / 1e9;
}

int main(int argc, char **argv) {
    int max_threads = argc > 1 ? atoi(argv[1]) : 2;
    if (max_threads < 1 || max_threads > 64) return 2;
    for (int t = 1; t <= max_threads; t++) {
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            double g = run(t);
            best = g > best ? g : best;
        }
        printf("fma_peak threads %d: %.1f GMAC/s (%.1f per thread)\n", t, best, best / t);
    }
    return 0;
}
