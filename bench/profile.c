/* Per-pipeline (per-unit) profile of a model compiled with --profile:
 *   cc -DMODEL=name -DMODEL_UPPER=NAME -DMODEL_HEADER='"name.h"' profile.c name.a -lpthread -lm
 *   profile [RUNS] [THREADS] [tsv]
 * Prints each pipeline's average time per run, its share and its GMAC/s (with
 * "tsv": one "name<TAB>ms" line per pipeline, for tools/autotune.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include MODEL_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define M(suffix) CAT(MODEL_UPPER, suffix)
#define F(suffix) CAT(MODEL, suffix)

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 100, threads = argc > 2 ? atoi(argv[2]) : 1;
    float *input = calloc(M(_INPUT_SIZE), sizeof(float)), *output = malloc(sizeof(float) * M(_OUTPUT_SIZE));
    if (runs < 1 || shufflec_set_num_threads(threads) != SHUFFLEC_OK) return 2;
    for (int i = 0; i < 10; i++) F(_run)(input, output);
    F(_profile_reset)();
    for (int i = 0; i < runs; i++)
        if (F(_run)(input, output) != SHUFFLEC_OK) return 1;
    double total = 0;
    for (int i = 0; i < F(_profile_count)(); i++) total += F(_profile_ms)(i);
    if (argc > 3 && strcmp(argv[3], "tsv") == 0) {
        for (int i = 0; i < F(_profile_count)(); i++) printf("%s\t%.6f\n", F(_profile_name)(i), F(_profile_ms)(i));
        return 0;
    }
    printf("%-16s %9s %6s %9s %8s\n", "pipeline", "ms", "share", "MMACs", "GMAC/s");
    for (int i = 0; i < F(_profile_count)(); i++) {
        double ms = F(_profile_ms)(i);
        long long macs = F(_profile_macs)(i);
        printf("%-16s %9.4f %5.1f%% %9.2f %8.2f\n", F(_profile_name)(i), ms, 100 * ms / total, macs / 1e6,
               ms > 0 ? macs / ms / 1e6 : 0.0);
    }
    printf("%-16s %9.4f %5.1f%% %9.2f %8.2f   (%d threads, mean of %d runs)\n", "total", total, 100.0,
           M(_MACS) / 1e6, M(_MACS) / total / 1e6, threads, runs);
    printf("memory: %.2f MB static arena (NAME_SCRATCH_BYTES) + %.2f MB pipeline-internal buffers at peak\n",
           M(_SCRATCH_BYTES) / 1e6, shufflec_peak_pipeline_bytes() / 1e6);
    free(input);
    free(output);
    return 0;
}
