/* What concurrent calls of one compiled model cost: CALLERS app threads call
 * NAME_run back to back for SECONDS; prints calls per second and the median call
 * latency, beside the same for one caller. Built per model (bench/concurrency.sh):
 *   cc -O2 -DMODEL=name -DMODEL_UPPER=NAME -DMODEL_HEADER='"name.h"' concurrency.c name.a -lpthread -lm
 *   concurrency SECONDS THREADS CALLERS...   (THREADS: shufflec_set_num_threads) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include MODEL_HEADER
#include "bench_common.h" /* now(), by_value(), quantile() */

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define M(suffix) CAT(MODEL_UPPER, suffix)
#define RUN CAT(MODEL, _run)

enum { kMaxCalls = 1 << 16 };

typedef struct {
    double until;
    int calls, failed;
    double *latency;
} caller_state;

static void *caller(void *arg) {
    caller_state *s = (caller_state *)arg;
    float *input = malloc(sizeof(float) * M(_INPUT_SIZE)), *output = malloc(sizeof(float) * M(_OUTPUT_SIZE));
    for (long i = 0; i < M(_INPUT_SIZE); i++) input[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    while (now() < s->until && s->calls < kMaxCalls) {
        double t0 = now();
        if (RUN(input, output) != 0) s->failed++;
        s->latency[s->calls++] = now() - t0;
    }
    free(input);
    free(output);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    double seconds = atof(argv[1]);
    shufflec_set_num_threads(atoi(argv[2]));
    float *x = calloc(M(_INPUT_SIZE), sizeof(float)), *y = malloc(sizeof(float) * M(_OUTPUT_SIZE));
    for (int i = 0; i < 5; i++) RUN(x, y); /* warm up: arenas, pool, caches */
    printf("%-8s %10s %12s %14s\n", "callers", "calls/s", "median ms", "ms per call*");
    for (int a = 3; a < argc; a++) {
        int callers = atoi(argv[a]);
        pthread_t t[64];
        caller_state s[64];
        double start = now();
        for (int i = 0; i < callers && i < 64; i++) {
            s[i].until = start + seconds, s[i].calls = 0, s[i].failed = 0;
            s[i].latency = malloc(sizeof(double) * kMaxCalls);
            pthread_create(&t[i], NULL, caller, &s[i]);
        }
        int total = 0, failed = 0;
        double *all = malloc(sizeof(double) * kMaxCalls * (size_t)callers);
        for (int i = 0; i < callers && i < 64; i++) {
            pthread_join(t[i], NULL);
            for (int k = 0; k < s[i].calls; k++) all[total++] = s[i].latency[k];
            failed += s[i].failed;
            free(s[i].latency);
        }
        double elapsed = now() - start;
        qsort(all, (size_t)total, sizeof(double), by_value);
        printf("%-8d %10.1f %12.3f %14.3f%s\n", callers, total / elapsed, all[total / 2] * 1e3, elapsed / total * 1e3,
               failed ? "  (FAILED CALLS)" : "");
        free(all);
    }
    printf("* wall time per completed call (all callers together)\n");
    return 0;
}
