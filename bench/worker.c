/* A compiled model as a benchmark worker for bench/compare.py.
 * Built per model:
 *   cc -O2 -DMODEL=net -DMODEL_UPPER=NET '-DMODEL_HEADER="net.h"' worker.c net.a -lpthread -lm
 *   worker INPUT.npy
 * Protocol (one command per line on stdin, one JSON line per answer on stdout):
 *   "T N"          run N times with T threads (after 2 untimed runs) -> {"ms": [...]}
 *   "output FILE"  write the last output as raw float32                 -> {"ok": true}
 * Prints {"ready": true} first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include MODEL_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define M(suffix) CAT(MODEL_UPPER, suffix)
#define RUN CAT(MODEL, _run)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* Reads the float32 payload of a version-1 .npy file (the header says nothing we need). */
static int read_npy(const char *path, float *out, size_t count) {
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    if (!f || fread(pre, 1, 10, f) != 10) return -1;
    if (fseek(f, 10 + (pre[8] | (pre[9] << 8)), SEEK_SET) != 0) return -1;
    size_t got = fread(out, sizeof(float), count, f);
    fclose(f);
    return got == count ? 0 : -1;
}

int main(int argc, char **argv) {
    float *input = malloc(sizeof(float) * M(_INPUT_SIZE)), *output = malloc(sizeof(float) * M(_OUTPUT_SIZE));
    if (argc != 2 || read_npy(argv[1], input, M(_INPUT_SIZE)) != 0) {
        fprintf(stderr, "worker: cannot read the input tensor\n");
        return 2;
    }
    double *ms = NULL;
    char line[4096];
    printf("{\"ready\": true}\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        char path[4000];
        int threads, runs;
        if (sscanf(line, "output %3999s", path) == 1) {
            FILE *f = fopen(path, "wb");
            int ok = f && fwrite(output, sizeof(float), M(_OUTPUT_SIZE), f) == M(_OUTPUT_SIZE);
            if (f) fclose(f);
            printf("{\"ok\": %s}\n", ok ? "true" : "false");
        } else if (sscanf(line, "%d %d", &threads, &runs) == 2 && runs > 0) {
            if (shufflec_set_num_threads(threads) != SHUFFLEC_OK) return 2;
            ms = realloc(ms, sizeof(double) * (size_t)runs);
            for (int i = 0; i < 2; i++) RUN(input, output);
            for (int i = 0; i < runs; i++) {
                double start = now_ms();
                if (RUN(input, output) != SHUFFLEC_OK) return 1;
                ms[i] = now_ms() - start;
            }
            printf("{\"ms\": [");
            for (int i = 0; i < runs; i++) printf("%s%.5f", i ? ", " : "", ms[i]);
            printf("]}\n");
        } else {
            break;
        }
        fflush(stdout);
    }
    free(ms);
    free(input);
    free(output);
    return 0;
}
