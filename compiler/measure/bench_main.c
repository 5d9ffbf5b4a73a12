/* The benchmark program `shufflec bench` and `shufflec profile` build around a
 * compiled model (embedded in the compiler; compiled for the runner's machine):
 *   cc -O2 -DSHUFFLEC_BENCH_MODEL=net -DSHUFFLEC_BENCH_UPPER=NET -DSHUFFLEC_BENCH_HEADER='"net.h"' \
 *      bench_main.c net.a -lpthread -lm
 *   bench [--runs N] [--threads 1,2] [--warmup N] [--peak] [--weights FILE] [--sample-seconds S] [--no-report]
 * Prints one JSON object on stdout:
 *   {"model", "macs", "results": [{"threads", "runs", "median_ms", "min_ms", "p10_ms", "p90_ms"}],
 *    "peak_gmacs": [{"threads", "gmacs"}],                       (with --peak)
 *    "units": [{"name", "macs", "median_ms"}],                   (model built with --profile)
 *    "funcs": [{"pipeline", "name", "ms", "samples"}]}
 *        (built with --profile-halide: per run, at the first thread count, sampled for S seconds)
 * Thread counts alternate in blocks of runs, so a burst of machine noise hits
 * them alike; times are medians. The FMA peak is a loop of 12 independent
 * vector FMA chains per thread (vector width from SHUFFLEC_BENCH_VECTOR_BYTES,
 * compiled with the target's FMA flags). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include SHUFFLEC_BENCH_HEADER
#include "bench_common.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define M(suffix) CAT(SHUFFLEC_BENCH_UPPER, suffix)
#define F(suffix) CAT(SHUFFLEC_BENCH_MODEL, suffix)

#if M(_HALIDE_PROFILE)
#include "HalideRuntime.h"
#endif


enum { kBlock = 10, kMaxThreadCounts = 16 };

/* ---- The model ---------------------------------------------------------- */

int main(int argc, char **argv) {
    int runs = 100, warmup = 5, peak = 0, report = 1, threads[kMaxThreadCounts] = {1}, n_threads = 1;
    double sample_seconds = 3;
    const char *weights = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) n_threads = parse_list(argv[++i], threads, kMaxThreadCounts);
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
        else if (!strcmp(argv[i], "--peak")) peak = 1;
        else if (!strcmp(argv[i], "--no-report")) report = 0;
        else if (!strcmp(argv[i], "--sample-seconds") && i + 1 < argc) sample_seconds = atof(argv[++i]);
        else return fprintf(stderr, "bench: unknown argument %s\n", argv[i]), 2;
    }
    if (runs < 1 || n_threads < 1) return fprintf(stderr, "bench: bad --runs or --threads\n"), 2;
#if M(_EXTERNAL_WEIGHTS)
    if (!weights) return fprintf(stderr, "bench: the model needs --weights FILE\n"), 2;
    int loaded = F(_load_weights)(weights);
    if (loaded) return fprintf(stderr, "bench: %s: %s\n", weights, shufflec_status_string(loaded)), 1;
#else
    (void)weights;
#endif
    float *input = malloc(sizeof(float) * M(_INPUT_SIZE)), *output = malloc(sizeof(float) * M(_OUTPUT_SIZE));
    double *times = malloc(sizeof(double) * (size_t)runs * (size_t)n_threads);
    if (!input || !output || !times) return fprintf(stderr, "bench: out of memory\n"), 1;
    for (long i = 0; i < M(_INPUT_SIZE); i++) input[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    for (int t = 0; t < n_threads; t++) {
        if (shufflec_set_num_threads(threads[t]) != SHUFFLEC_OK) return fprintf(stderr, "bench: bad thread count\n"), 2;
        for (int w = 0; w < warmup; w++) {
            int status = F(_run)(input, output);
            if (status) return fprintf(stderr, "bench: run failed: %s\n", shufflec_status_string(status)), 1;
        }
    }
#if M(_PROFILE)
    int units = F(_profile_count)();
    double *unit_times = malloc(sizeof(double) * (size_t)runs * (size_t)units);
#endif
#if M(_HALIDE_PROFILE)
    halide_profiler_reset();
#endif
    for (int done = 0; done < runs; done += kBlock)
        for (int t = 0; t < n_threads; t++) {
            shufflec_set_num_threads(threads[t]);
            for (int k = done; k < done + kBlock && k < runs; k++) {
#if M(_PROFILE)
                F(_profile_reset)();
#endif
                double t0 = now();
                int status = F(_run)(input, output);
                times[(size_t)t * runs + k] = (now() - t0) * 1e3;
                if (status) return fprintf(stderr, "bench: run failed: %s\n", shufflec_status_string(status)), 1;
#if M(_PROFILE)
                if (t == 0)
                    for (int u = 0; u < units; u++) unit_times[(size_t)u * runs + k] = F(_profile_ms)(u);
#endif
            }
        }
    /* Counting instructions (shufflec bench --count): the report's work
     * (sorting times, printing digits) depends on the times; leave it out. */
    if (!report) return 0;
    printf("{\"model\": ");
    json_string(M(_NAME));
    printf(", \"target\": ");
    json_string(M(_TARGET));
    printf(", \"macs\": %lld, \"results\": [", (long long)M(_MACS));
    for (int t = 0; t < n_threads; t++) {
        double *v = times + (size_t)t * runs;
        double p10 = quantile(v, runs, 0.1), p90 = quantile(v, runs, 0.9), median = quantile(v, runs, 0.5);
        printf("%s{\"threads\": %d, \"runs\": %d, \"median_ms\": %.6f, \"min_ms\": %.6f, \"p10_ms\": %.6f, \"p90_ms\": %.6f}",
               t ? ", " : "", threads[t], runs, median, v[0], p10, p90);
    }
    printf("]");
#if M(_PROFILE)
    printf(", \"units\": [");
    for (int u = 0; u < units; u++) {
        printf("%s{\"name\": ", u ? ", " : "");
        json_string(F(_profile_name)(u));
        printf(", \"macs\": %lld, \"median_ms\": %.6f}", F(_profile_macs)(u),
               quantile(unit_times + (size_t)u * runs, runs, 0.5));
    }
    printf("], \"unit_threads\": %d", threads[0]);
#endif
#if M(_HALIDE_PROFILE)
    {
        /* Halide's profiler samples the running Func every millisecond: run for
         * a while at the first thread count so that every layer gets samples. */
        shufflec_set_num_threads(threads[0]);
        halide_profiler_reset();
        for (double until = now() + sample_seconds; now() < until;) F(_run)(input, output);
        struct halide_profiler_state *state = halide_profiler_get_state();
        int first = 1;
        printf(", \"funcs\": [");
        for (struct halide_profiler_pipeline_stats *p = state->pipelines; p; p = (struct halide_profiler_pipeline_stats *)p->next)
            for (int f = 0; f < p->num_funcs; f++) {
                if (!p->funcs[f].time) continue;
                printf("%s{\"pipeline\": ", first ? "" : ", ");
                json_string(p->name);
                printf(", \"name\": ");
                json_string(p->funcs[f].name);
                printf(", \"ms\": %.6f, \"samples\": %d}", p->funcs[f].time / 1e6 / (p->runs ? p->runs : 1), p->samples);
                first = 0;
            }
        printf("]");
        halide_profiler_reset(); /* no report at exit: the numbers are in the JSON */
    }
#endif
    if (peak) {
        printf(", \"peak_gmacs\": [");
        for (int t = 0; t < n_threads; t++)
            printf("%s{\"threads\": %d, \"gmacs\": %.3f}", t ? ", " : "", threads[t], fma_peak(threads[t]));
        printf("]");
    }
    printf("}\n");
    return 0;
}
