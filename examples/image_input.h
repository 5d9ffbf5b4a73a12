/* Loading a network input for the example apps: a float32 NCHW .npy tensor,
 * or a binary PPM (P6) image resized (bilinear) and normalized with the
 * ImageNet mean and standard deviation into a 1 x 3 x H x W float tensor. */
#ifndef SHUFFLEC_EXAMPLES_IMAGE_INPUT_H
#define SHUFFLEC_EXAMPLES_IMAGE_INPUT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fills `out` (count floats) from an .npy file; returns 0 or prints why not and returns -1. */
int load_npy_input(const char *path, float *out, size_t count);

/* Fills `out` (3 x height x width floats, NCHW) from a PPM image; returns 0 or -1. */
int load_ppm_input(const char *path, float *out, int height, int width);

/* 0 for ".npy", 1 for ".ppm"/".pnm", -1 otherwise. */
int input_kind(const char *path);

/* Indices of the k largest of `values` (k <= 16), largest first; softmax
 * probabilities of those in `probs`. */
void top_k(const float *values, int count, int k, int *indices, float *probs);

#ifdef __cplusplus
}
#endif

#endif
