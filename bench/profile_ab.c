/* Same-run A/B profile of two builds of one model (compiled with --profile
 * --emit obj, names a and b, linked with one shufflec runtime object):
 *   cc -I DIR_A -I DIR_B profile_ab.c a.o b.o shufflec_runtime_*.o -lpthread -lm
 *   profile_ab [RUNS] [THREADS]
 * Runs a and b alternately, one inference each, and prints each pipeline's
 * median for both and their ratio. Alternating is what makes a comparison on a
 * shared machine fair: a neighbour's burst hits both builds alike. */
#include <stdio.h>
#include <stdlib.h>

#include "a.h"
#include "b.h"

static int by_value(const void *x, const void *y) {
    double p = *(const double *)x, q = *(const double *)y;
    return (p > q) - (p < q);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
    int (*run)(const float *, float *);
    void (*reset)(void);
    double (*ms)(int);
    int count;
} Build;

/* One run; writes each pipeline's time, then the whole run's, at row[0..count]. */
static int run_once(const Build *b, const float *in, float *out, double *row) {
    b->reset();
    if (b->run(in, out) != SHUFFLEC_OK) return 0;
    row[b->count] = 0;
    for (int i = 0; i < b->count; i++) row[b->count] += row[i] = b->ms(i);
    return 1;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 200, threads = argc > 2 ? atoi(argv[2]) : 1;
    Build A = {a_run, a_profile_reset, a_profile_ms, a_profile_count()};
    Build B = {b_run, b_profile_reset, b_profile_ms, b_profile_count()};
    if (A.count != B.count || A_INPUT_SIZE != B_INPUT_SIZE || A_OUTPUT_SIZE != B_OUTPUT_SIZE) {
        fprintf(stderr, "profile_ab: a and b are not builds of one model\n");
        return 2;
    }
    int stride = A.count + 1;
    float *in = calloc(A_INPUT_SIZE, sizeof(float)), *out = malloc(sizeof(float) * A_OUTPUT_SIZE);
    double *ta = malloc(sizeof(double) * (size_t)runs * stride), *tb = malloc(sizeof(double) * (size_t)runs * stride);
    double *col = malloc(sizeof(double) * (size_t)runs);
    if (runs < 1 || !in || !out || !ta || !tb || !col || shufflec_set_num_threads(threads) != SHUFFLEC_OK) return 2;
    for (int i = 0; i < 10; i++) a_run(in, out), b_run(in, out);
    for (int r = 0; r < runs; r++)
        if (!run_once(&A, in, out, ta + (size_t)r * stride) || !run_once(&B, in, out, tb + (size_t)r * stride)) return 1;
    printf("%-16s %9s %9s %7s\n", "pipeline", "a ms", "b ms", "b/a");
    for (int i = 0; i <= A.count; i++) {
        double ma, mb;
        for (int r = 0; r < runs; r++) col[r] = ta[(size_t)r * stride + i];
        ma = median(col, runs);
        for (int r = 0; r < runs; r++) col[r] = tb[(size_t)r * stride + i];
        mb = median(col, runs);
        printf("%-16s %9.4f %9.4f %7.3f\n", i < A.count ? a_profile_name(i) : "total", ma, mb, ma > 0 ? mb / ma : 0.0);
    }
    printf("(%d threads, medians of %d alternating runs)\n", threads, runs);
    free(in), free(out), free(ta), free(tb), free(col);
    return 0;
}
