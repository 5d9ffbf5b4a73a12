#include "image_input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int input_kind(const char *path) {
    size_t n = strlen(path);
    if (n >= 4 && strcmp(path + n - 4, ".npy") == 0) return 0;
    if (n >= 4 && (strcmp(path + n - 4, ".ppm") == 0 || strcmp(path + n - 4, ".pnm") == 0)) return 1;
    return -1;
}

int load_npy_input(const char *path, float *out, size_t count) {
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) {
        fprintf(stderr, "%s: not a version 1 .npy file\n", path);
        fclose(f);
        return -1;
    }
    size_t header_len = (size_t)pre[8] | ((size_t)pre[9] << 8);
    char header[65536];
    if (header_len >= sizeof header || fread(header, 1, header_len, f) != header_len) {
        fprintf(stderr, "%s: bad .npy header\n", path);
        fclose(f);
        return -1;
    }
    header[header_len] = 0;
    if (!strstr(header, "'<f4'") || strstr(header, "True")) {
        fprintf(stderr, "%s: need a C-ordered float32 array\n", path);
        fclose(f);
        return -1;
    }
    size_t got = fread(out, sizeof(float), count, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != count || extra) {
        fprintf(stderr, "%s: the model needs exactly %zu floats\n", path, count);
        return -1;
    }
    return 0;
}

/* Reads the next header number of a PPM, skipping whitespace and comments. */
static int ppm_number(FILE *f, int *value) {
    int ch;
    do {
        ch = fgetc(f);
        if (ch == '#')
            while (ch != '\n' && ch != EOF) ch = fgetc(f);
    } while (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r');
    if (ch < '0' || ch > '9') return -1;
    *value = 0;
    while (ch >= '0' && ch <= '9') {
        *value = *value * 10 + (ch - '0');
        if (*value > 100000) return -1;
        ch = fgetc(f);
    }
    return 0;
}

int load_ppm_input(const char *path, float *out, int height, int width) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, stddev[3] = {0.229f, 0.224f, 0.225f};
    FILE *f = fopen(path, "rb");
    int w, h, maxval;
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    if (fgetc(f) != 'P' || fgetc(f) != '6' || ppm_number(f, &w) || ppm_number(f, &h) || ppm_number(f, &maxval) ||
        w < 1 || h < 1 || maxval < 1 || maxval > 255) {
        fprintf(stderr, "%s: not a binary 8-bit PPM (P6) image\n", path);
        fclose(f);
        return -1;
    }
    size_t bytes = (size_t)w * (size_t)h * 3;
    unsigned char *rgb = (unsigned char *)malloc(bytes);
    if (!rgb || fread(rgb, 1, bytes, f) != bytes) {
        fprintf(stderr, "%s: truncated image data\n", path);
        free(rgb);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* Bilinear resize with pixel centers aligned (as PIL/torchvision do without antialiasing). */
    for (int y = 0; y < height; y++) {
        float sy = ((float)y + 0.5f) * (float)h / (float)height - 0.5f;
        sy = sy < 0 ? 0 : sy;
        int y0 = (int)sy, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        float fy = sy - (float)y0;
        for (int x = 0; x < width; x++) {
            float sx = ((float)x + 0.5f) * (float)w / (float)width - 0.5f;
            sx = sx < 0 ? 0 : sx;
            int x0 = (int)sx, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
            float fx = sx - (float)x0;
            for (int c = 0; c < 3; c++) {
                float a = rgb[((size_t)y0 * w + x0) * 3 + c], b = rgb[((size_t)y0 * w + x1) * 3 + c];
                float d = rgb[((size_t)y1 * w + x0) * 3 + c], e = rgb[((size_t)y1 * w + x1) * 3 + c];
                float v = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
                out[((size_t)c * height + y) * width + x] = (v / (float)maxval - mean[c]) / stddev[c];
            }
        }
    }
    free(rgb);
    return 0;
}

void top_k(const float *values, int count, int k, int *indices, float *probs) {
    float max = values[0];
    double sum = 0;
    for (int i = 1; i < count; i++) max = values[i] > max ? values[i] : max;
    for (int i = 0; i < count; i++) sum += exp((double)(values[i] - max));
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < count; i++) {
            int taken = 0;
            for (int t = 0; t < j; t++) taken |= indices[t] == i;
            if (!taken && (best < 0 || values[i] > values[best])) best = i;
        }
        indices[j] = best;
        probs[j] = (float)(exp((double)(values[best] - max)) / sum);
    }
}
