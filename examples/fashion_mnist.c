/* fashion_mnist: classifies real Fashion-MNIST test images with the committed
 * trained ShuffleNet (specs/fashion_mnist/), compiled at build time three
 * times: in fp32 (`fashion`), in int8 with the committed quantization file
 * (`fashion_int8`) and in fp16 (`fashion_fp16`: halves; emulated, slowly, on
 * x86). All take the same RGB8 pixels and return float logits.
 *
 *   fashion_mnist IMAGES_IDX LABELS_IDX [SHOWN [FIRST]]
 *
 * IMAGES_IDX and LABELS_IDX are the data set's idx files, uncompressed (Debian's
 * dataset-fashion-mnist: gunzip -c /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz).
 * Each 28x28 grey image goes to fashion_run_rgb8 as an RGB image: the model's
 * own preprocessing (its spec's input.preprocess) upscales and normalizes it.
 * Prints SHOWN images (default 8) from FIRST (default 0) with each model's
 * predicted class and its probability, the true class and whether each is
 * right, then each model's top-1 accuracy over every image of the file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fashion.h"
#include "fashion_fp16.h"
#include "fashion_int8.h"

static const char *const classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static uint32_t big_endian(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads an idx file with the given magic and dimension count; returns its data (count items of
 * item_bytes each) or NULL after one error line. */
static unsigned char *read_idx(const char *path, uint32_t magic, int dims, long *count, long item_bytes) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    unsigned char header[16];
    size_t header_bytes = 4 + 4 * (size_t)dims;
    unsigned char *data = NULL;
    if (fread(header, 1, header_bytes, f) != header_bytes || big_endian(header) != magic) {
        fprintf(stderr, "%s: not an idx file of %s (uncompressed; gunzip it first)\n", path,
                dims == 3 ? "images" : "labels");
    } else if (dims == 3 && (big_endian(header + 8) != 28 || big_endian(header + 12) != 28)) {
        fprintf(stderr, "%s: images are %u x %u, expected 28 x 28\n", path, big_endian(header + 8),
                big_endian(header + 12));
    } else if (big_endian(header + 4) == 0 || big_endian(header + 4) > 1000000) {
        fprintf(stderr, "%s: %u items (expected 1 to 1000000)\n", path, big_endian(header + 4));
    } else {
        *count = (long)big_endian(header + 4);
        data = malloc((size_t)(*count * item_bytes));
        if (!data) {
            fprintf(stderr, "%s: out of memory\n", path);
        } else if (fread(data, (size_t)item_bytes, (size_t)*count, f) != (size_t)*count) {
            fprintf(stderr, "%s: truncated (the header says %ld items)\n", path, *count);
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    return data;
}

static long parse_count(const char *text, const char *what) {
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 0 || v > 1000000) {
        fprintf(stderr, "%s: \"%s\" is not a number from 0 to 1000000\n", what, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s IMAGES_IDX LABELS_IDX [SHOWN [FIRST]]\n", argv[0]);
        return 2;
    }
    long shown = argc > 3 ? parse_count(argv[3], "SHOWN") : 8, first = argc > 4 ? parse_count(argv[4], "FIRST") : 0;
    long images = 0, labels = 0;
    unsigned char *pixels = read_idx(argv[1], 0x803, 3, &images, 28 * 28);
    unsigned char *truth = pixels ? read_idx(argv[2], 0x801, 1, &labels, 1) : NULL;
    if (!truth) return 1;
    if (labels != images) {
        fprintf(stderr, "%s: %ld labels for %ld images\n", argv[2], labels, images);
        return 1;
    }
    static unsigned char rgb[28 * 28 * 3];
    _Static_assert(FASHION_OUTPUT_SIZE == 10 && FASHION_INT8_OUTPUT_SIZE == 10 && FASHION_FP16_OUTPUT_SIZE == 10,
                   "10 classes");
    static float logits[FASHION_OUTPUT_SIZE];
    typedef int (*run_rgb8_fn)(const unsigned char *, int, int, int, float *);
    enum { MODELS = 3 };
    static const run_rgb8_fn models[MODELS] = {fashion_run_rgb8, fashion_int8_run_rgb8, fashion_fp16_run_rgb8};
    static const char *const names[MODELS] = {FASHION_PRECISION, FASHION_INT8_PRECISION, FASHION_FP16_PRECISION};
    long right[MODELS] = {0, 0, 0};
    printf("%-7s %-12s", "image", "true class");
    for (int m = 0; m < MODELS; m++) printf(" %s: %-20s", names[m], "predicted (p)");
    printf("\n");
    for (long i = 0; i < images; i++) {
        const unsigned char *grey = pixels + i * 28 * 28;
        for (int p = 0; p < 28 * 28; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey[p];
        int label = truth[i] < 10 ? truth[i] : -1;
        int shown_now = i >= first && i < first + shown;
        if (shown_now) printf("%-7ld %-12s", i, label >= 0 ? classes[label] : "?");
        for (int m = 0; m < MODELS; m++) {
            int status = models[m](rgb, 28, 28, 3 * 28, logits);
            if (status != SHUFFLEC_OK) {
                fprintf(stderr, "image %ld, %s model: %s\n", i, names[m], shufflec_status_string(status));
                return 1;
            }
            int best = 0;
            for (int c = 1; c < 10; c++)
                if (logits[c] > logits[best]) best = c;
            double sum = 0;
            for (int c = 0; c < 10; c++) sum += exp((double)(logits[c] - logits[best]));
            right[m] += best == label;
            if (shown_now) {
                char cell[40];
                snprintf(cell, sizeof cell, "%s (%.2f) %s", classes[best], 1.0 / sum, best == label ? "right" : "WRONG");
                printf(" %-26s", cell);
            }
        }
        if (shown_now) printf("\n");
    }
    for (int m = 0; m < MODELS; m++)
        printf("%s top-1 accuracy on all %ld images: %.2f%% (%ld right)\n", names[m], images,
               100.0 * (double)right[m] / (double)images, right[m]);
    free(pixels);
    free(truth);
    return 0;
}
