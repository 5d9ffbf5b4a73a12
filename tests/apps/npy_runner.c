/* Runs a compiled model on an .npy input and writes the output .npy.
 * Built per model by the tests:
 *   cc -DMODEL=name -DMODEL_UPPER=NAME -DMODEL_HEADER='"name.h"' npy_runner.c name.a -lpthread -lm
 * Usage: npy_runner INPUT.npy OUTPUT.npy [WEIGHTS_FILE] [THREADS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include MODEL_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define RUN CAT(MODEL, _run)
#define M(suffix) CAT(MODEL_UPPER, suffix)

static float *read_npy_floats(const char *path, size_t expected) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) {
        fclose(f);
        return NULL;
    }
    size_t header = (size_t)pre[8] | ((size_t)pre[9] << 8);
    char *text = malloc(header + 1);
    if (fread(text, 1, header, f) != header) {
        fclose(f);
        return NULL;
    }
    text[header] = 0;
    if (!strstr(text, "'<f4'")) {
        fprintf(stderr, "%s: not float32\n", path);
        fclose(f);
        return NULL;
    }
    free(text);
    float *data = malloc(expected * sizeof(float));
    size_t got = fread(data, sizeof(float), expected, f);
    fclose(f);
    if (got != expected) {
        fprintf(stderr, "%s: has %zu floats, the model needs %zu\n", path, got, expected);
        free(data);
        return NULL;
    }
    return data;
}

static int write_npy_floats(const char *path, const float *data, size_t count, const char *shape) {
    char header[128];
    int len = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(header, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(data, sizeof(float), count, f);
    return fclose(f) != 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s INPUT.npy OUTPUT.npy [WEIGHTS] [THREADS]\n", argv[0]);
        return 2;
    }
    size_t in_size = M(_INPUT_SIZE), out_size = M(_OUTPUT_SIZE);
    char shape[96];
#if M(_OUTPUT_RANK) == 2
    snprintf(shape, sizeof shape, "(%d, %d)", M(_OUTPUT_N), M(_OUTPUT_C));
#else
    snprintf(shape, sizeof shape, "(%d, %d, %d, %d)", M(_OUTPUT_N), M(_OUTPUT_C), M(_OUTPUT_H), M(_OUTPUT_W));
#endif
    float *input = read_npy_floats(argv[1], in_size);
    if (!input) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    if (argc > 4) shufflec_set_num_threads(atoi(argv[4]));
#if M(_EXTERNAL_WEIGHTS)
    if (argc > 3) {
        int rc = CAT(MODEL, _load_weights)(argv[3]);
        if (rc) {
            fprintf(stderr, "load_weights: %s\n", shufflec_status_string(rc));
            return 1;
        }
    }
#endif
    float *output = malloc(out_size * sizeof(float));
    int rc = RUN(input, output);
    if (rc) {
        fprintf(stderr, "run: %s\n", shufflec_status_string(rc));
        return 1;
    }
    return write_npy_floats(argv[2], output, out_size, shape);
}
