/* Per-pipeline (per-unit) profile of a model compiled with --profile:
 *   cc -DMODEL=name -DMODEL_UPPER=NAME -DMODEL_HEADER='"name.h"' profile.c name.a -lpthread -lm
 *   profile [RUNS] [THREADS] [tsv]
 * Prints each pipeline's median time over RUNS single runs, its share and its
 * GMAC/s; the total is the median of whole runs. Medians, not means: on a
 * shared machine a neighbour's burst lands in a few runs and should not move
 * the figure. With "tsv": one "name<TAB>ms" line per pipeline (tools/autotune.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include MODEL_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define M(suffix) CAT(MODEL_UPPER, suffix)
#define F(suffix) CAT(MODEL, suffix)

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of column `col` of a runs x stride table (sorts a copy). */
static double median(const double *table, int runs, int stride, int col, double *scratch) {
    for (int r = 0; r < runs; r++) scratch[r] = table[(size_t)r * stride + col];
    qsort(scratch, (size_t)runs, sizeof(double), by_value);
    return runs % 2 ? scratch[runs / 2] : 0.5 * (scratch[runs / 2 - 1] + scratch[runs / 2]);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 100, threads = argc > 2 ? atoi(argv[2]) : 1;
    int count = F(_profile_count)(), stride = count + 1; /* per run: each pipeline, then the whole run */
    float *input = calloc(M(_INPUT_SIZE), sizeof(float)), *output = malloc(sizeof(float) * M(_OUTPUT_SIZE));
    double *table = runs > 0 ? malloc(sizeof(double) * (size_t)runs * stride) : NULL;
    double *scratch = runs > 0 ? malloc(sizeof(double) * (size_t)runs) : NULL;
    if (runs < 1 || !input || !output || !table || !scratch || shufflec_set_num_threads(threads) != SHUFFLEC_OK) return 2;
    for (int i = 0; i < 10; i++) F(_run)(input, output);
    for (int r = 0; r < runs; r++) {
        F(_profile_reset)();
        if (F(_run)(input, output) != SHUFFLEC_OK) return 1;
        double whole = 0;
        for (int i = 0; i < count; i++) whole += table[(size_t)r * stride + i] = F(_profile_ms)(i);
        table[(size_t)r * stride + count] = whole;
    }
    double total = median(table, runs, stride, count, scratch);
    if (argc > 3 && strcmp(argv[3], "tsv") == 0) {
        for (int i = 0; i < count; i++)
            printf("%s\t%.6f\n", F(_profile_name)(i), median(table, runs, stride, i, scratch));
        return 0;
    }
    printf("%-16s %9s %6s %9s %8s\n", "pipeline", "ms", "share", "MMACs", "GMAC/s");
    for (int i = 0; i < count; i++) {
        double ms = median(table, runs, stride, i, scratch);
        long long macs = F(_profile_macs)(i);
        printf("%-16s %9.4f %5.1f%% %9.2f %8.2f\n", F(_profile_name)(i), ms, 100 * ms / total, macs / 1e6,
               ms > 0 ? macs / ms / 1e6 : 0.0);
    }
    printf("%-16s %9.4f %5.1f%% %9.2f %8.2f   (%d threads, median of %d runs)\n", "total", total, 100.0,
           M(_MACS) / 1e6, M(_MACS) / total / 1e6, threads, runs);
    printf("memory: %.2f MB static arena (NAME_SCRATCH_BYTES) + %.2f MB pipeline-internal buffers at peak\n",
           M(_SCRATCH_BYTES) / 1e6, shufflec_peak_pipeline_bytes() / 1e6);
    free(table);
    free(scratch);
    free(input);
    free(output);
    return 0;
}
