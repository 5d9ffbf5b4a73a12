/* Inputs for the example apps: a float32 NCHW .npy tensor, or an image file
 * (JPEG and PNG when the examples were built with libjpeg / libpng, and
 * binary PPM always) decoded to interleaved 8-bit RGB for NAME_run_rgb8. */
#ifndef SHUFFLEC_EXAMPLES_IMAGE_INPUT_H
#define SHUFFLEC_EXAMPLES_IMAGE_INPUT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether `path` names a .npy file (1) or anything else (0: an image). */
int is_npy(const char *path);

/* Fills `out` (count floats) from an .npy file; returns 0 or prints why not and returns -1. */
int load_npy_input(const char *path, float *out, size_t count);

/* Decodes a JPEG, PNG or PPM (told apart by their first bytes) into a new
 * buffer of height rows of 3 * width bytes (R, G, B); free() it. Returns 0,
 * or prints why not and returns -1. */
int load_rgb8_image(const char *path, unsigned char **pixels, int *width, int *height);

/* Indices of the k largest of `values` (k <= 16), largest first; softmax
 * probabilities of those in `probs`. */
void top_k(const float *values, int count, int k, int *indices, float *probs);

#ifdef __cplusplus
}
#endif

#endif
