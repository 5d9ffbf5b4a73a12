/* A compiled model as a benchmark worker for bench/compare.py.
 * Built per model:
 *   cc -O2 -DMODEL=net -DMODEL_UPPER=NET '-DMODEL_HEADER="net.h"' worker.c net.a -lpthread -lm
 * (-DMODEL_PREPROCESS when the model has NAME_run_rgb8)
 *   worker INPUT.npy [WIDTHxHEIGHT]
 * With an image size (a model with input.preprocess), each run is MODEL_run_rgb8
 * on a synthetic RGB8 image of that size: preprocessing and network together.
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
#define RUN_RGB8 CAT(MODEL, _run_rgb8)

static unsigned char *image;  /* the synthetic image of rgb8 runs, or NULL */
static int image_w, image_h;

static int run_once(const float *input, float *output) {
#ifdef MODEL_PREPROCESS
    if (image) return RUN_RGB8(image, image_w, image_h, 3 * image_w, output);
#endif
    return RUN(input, output);
}

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
    if (argc < 2 || argc > 3 || read_npy(argv[1], input, M(_INPUT_SIZE)) != 0) {
        fprintf(stderr, "worker: cannot read the input tensor\n");
        return 2;
    }
    if (argc == 3) {
#ifdef MODEL_PREPROCESS
        if (sscanf(argv[2], "%dx%d", &image_w, &image_h) != 2 || image_w < 1 || image_h < 1) return 2;
        image = malloc((size_t)image_w * (size_t)image_h * 3);
        for (size_t i = 0; i < (size_t)image_w * (size_t)image_h * 3; i++) image[i] = (unsigned char)(i * 7 % 251);
#else
        fprintf(stderr, "worker: the model has no input.preprocess\n");
        return 2;
#endif
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
            for (int i = 0; i < 2; i++) run_once(input, output);
            for (int i = 0; i < runs; i++) {
                double start = now_ms();
                if (run_once(input, output) != SHUFFLEC_OK) return 1;
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
    free(image);
    free(input);
    free(output);
    return 0;
}
