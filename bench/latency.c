/* Latency of one compiled model: median (and quartiles) of many runs at each
 * thread count. Thread counts alternate in blocks of 10 runs (after 2 untimed
 * runs that settle the re-created thread pool), so machine noise hits them alike. Built per model (see bench/model_latency.sh):
 *   cc -DMODEL=name -DMODEL_UPPER=NAME -DMODEL_HEADER='"name.h"' latency.c name.a -lpthread -lm
 *   latency [RUNS] [THREADS...]      (default 200 runs, threads 1 2) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include MODEL_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define M(suffix) CAT(MODEL_UPPER, suffix)
#define RUN CAT(MODEL, _run)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 200;
    int threads[8] = {1, 2}, n_threads = 2;
    if (argc > 2) {
        n_threads = 0;
        for (int i = 2; i < argc && n_threads < 8; i++) threads[n_threads++] = atoi(argv[i]);
    }
    if (runs < 1) return 2;
    float *input = malloc(sizeof(float) * M(_INPUT_SIZE)), *output = malloc(sizeof(float) * M(_OUTPUT_SIZE));
    for (long i = 0; i < M(_INPUT_SIZE); i++) input[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    double *times = malloc(sizeof(double) * (size_t)runs * (size_t)n_threads);
    enum { kBlock = 10 };
    for (int done = 0; done < runs; done += kBlock)
        for (int t = 0; t < n_threads; t++) {
            shufflec_set_num_threads(threads[t]);
            for (int i = 0; i < 2; i++) RUN(input, output);
            for (int i = done; i < done + kBlock && i < runs; i++) {
                double start = now();
                int status = RUN(input, output);
                times[(size_t)t * runs + i] = now() - start;
                if (status != SHUFFLEC_OK) {
                    fprintf(stderr, "run failed: %s\n", shufflec_status_string(status));
                    return 1;
                }
            }
        }
    printf("%-8s %10s %10s %10s %10s\n", "threads", "median ms", "p25 ms", "p75 ms", "GMAC/s");
    for (int t = 0; t < n_threads; t++) {
        double *v = times + (size_t)t * runs;
        qsort(v, (size_t)runs, sizeof(double), by_value);
        double median = v[runs / 2];
        printf("%-8d %10.3f %10.3f %10.3f %10.2f\n", threads[t], median * 1e3, v[runs / 4] * 1e3, v[(3 * runs) / 4] * 1e3,
               (double)M(_MACS) / median / 1e9);
    }
    free(times);
    free(input);
    free(output);
    return 0;
}
