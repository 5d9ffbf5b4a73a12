#include "image_input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int is_npy(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".npy") == 0;
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
        if (*value > 65536) return -1;
        ch = fgetc(f);
    }
    return 0;
}

static int load_ppm(const char *path, FILE *f, unsigned char **pixels, int *width, int *height) {
    int w, h, maxval;
    if (fgetc(f) != 'P' || fgetc(f) != '6' || ppm_number(f, &w) || ppm_number(f, &h) || ppm_number(f, &maxval) ||
        w < 1 || h < 1 || maxval != 255) {
        fprintf(stderr, "%s: not a binary 8-bit PPM (P6, maxval 255) image\n", path);
        return -1;
    }
    size_t bytes = (size_t)w * (size_t)h * 3;
    unsigned char *rgb = (unsigned char *)malloc(bytes);
    if (!rgb || fread(rgb, 1, bytes, f) != bytes) {
        fprintf(stderr, "%s: truncated image data\n", path);
        free(rgb);
        return -1;
    }
    *pixels = rgb, *width = w, *height = h;
    return 0;
}

#ifdef EXAMPLES_HAVE_JPEG
#include <jpeglib.h>
#include <setjmp.h>

struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
};

static void jpeg_fail(j_common_ptr info) {
    (*info->err->output_message)(info);
    longjmp(((struct jpeg_failure *)info->err)->jump, 1);
}

static int load_jpeg(const char *path, FILE *f, unsigned char **pixels, int *width, int *height) {
    struct jpeg_decompress_struct info;
    struct jpeg_failure failure;
    unsigned char *volatile rgb = NULL;
    info.err = jpeg_std_error(&failure.mgr);
    failure.mgr.error_exit = jpeg_fail;
    if (setjmp(failure.jump)) {
        fprintf(stderr, "%s: cannot decode this JPEG\n", path);
        jpeg_destroy_decompress(&info);
        free(rgb);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, f);
    jpeg_read_header(&info, TRUE);
    info.out_color_space = JCS_RGB; /* grey and CMYK-free YCbCr images come out as RGB */
    jpeg_start_decompress(&info);
    if (info.output_components != 3) {
        fprintf(stderr, "%s: a %d-channel JPEG (need RGB or grey)\n", path, info.output_components);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    size_t row = (size_t)info.output_width * 3;
    rgb = (unsigned char *)malloc(row * info.output_height);
    if (!rgb) longjmp(failure.jump, 1);
    while (info.output_scanline < info.output_height) {
        JSAMPROW line = rgb + row * info.output_scanline;
        jpeg_read_scanlines(&info, &line, 1);
    }
    jpeg_finish_decompress(&info);
    *width = (int)info.output_width, *height = (int)info.output_height;
    jpeg_destroy_decompress(&info);
    *pixels = rgb;
    return 0;
}
#endif

#ifdef EXAMPLES_HAVE_PNG
#include <png.h>

static int load_png(const char *path, FILE *f, unsigned char **pixels, int *width, int *height) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&image, f)) {
        fprintf(stderr, "%s: %s\n", path, image.message);
        return -1;
    }
    image.format = PNG_FORMAT_RGB; /* grey, palette and alpha images are converted */
    size_t bytes = PNG_IMAGE_SIZE(image);
    unsigned char *rgb = (unsigned char *)malloc(bytes);
    if (!rgb || !png_image_finish_read(&image, NULL, rgb, 0, NULL)) {
        fprintf(stderr, "%s: %s\n", path, rgb ? image.message : "out of memory");
        png_image_free(&image);
        free(rgb);
        return -1;
    }
    *pixels = rgb, *width = (int)image.width, *height = (int)image.height;
    return 0;
}
#endif

int load_rgb8_image(const char *path, unsigned char **pixels, int *width, int *height) {
    FILE *f = fopen(path, "rb");
    unsigned char magic[8] = {0};
    int status = -1;
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    size_t got = fread(magic, 1, sizeof magic, f);
    rewind(f);
    if (got >= 2 && magic[0] == 'P' && magic[1] == '6') {
        status = load_ppm(path, f, pixels, width, height);
    } else if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) {
#ifdef EXAMPLES_HAVE_JPEG
        status = load_jpeg(path, f, pixels, width, height);
#else
        fprintf(stderr, "%s: a JPEG, but the examples were built without libjpeg\n", path);
#endif
    } else if (got == 8 && memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0) {
#ifdef EXAMPLES_HAVE_PNG
        status = load_png(path, f, pixels, width, height);
#else
        fprintf(stderr, "%s: a PNG, but the examples were built without libpng\n", path);
#endif
    } else {
        fprintf(stderr, "%s: not a JPEG, PNG or binary PPM image, nor a .npy tensor\n", path);
    }
    fclose(f);
    return status;
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
