/* classify: runs a shufflec-compiled classifier on an image or a tensor and
 * prints the top-5 classes (with ImageNet names for 1000-class models).
 *
 *   classify IMAGE.jpg|IMAGE.png|IMAGE.ppm|TENSOR.npy [THREADS]
 *
 * An image of any size goes straight to shufflenet_run_rgb8: the model's own
 * preprocessing (its spec's input.preprocess: resize, crop, channel order,
 * normalization) runs inside the compiled code, exactly as the model expects.
 * A .npy tensor is the network input itself. The model comes from
 * `shufflec compile ... --name shufflenet` (CMake: shufflec_add_model); this
 * file only uses its header. */
#include <stdio.h>
#include <stdlib.h>

#include "image_input.h"
#include "imagenet_classes.h"
#include "shufflenet.h"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s IMAGE.jpg|IMAGE.png|IMAGE.ppm|TENSOR.npy [THREADS]\n", argv[0]);
        return 2;
    }
    if (argc == 3) {
        int status = shufflec_set_num_threads(atoi(argv[2]));
        if (status != SHUFFLEC_OK) {
            fprintf(stderr, "threads: %s\n", shufflec_status_string(status));
            return 2;
        }
    }
    static float input[SHUFFLENET_INPUT_SIZE], logits[SHUFFLENET_OUTPUT_SIZE];
    int status;
    if (is_npy(argv[1])) {
        if (load_npy_input(argv[1], input, SHUFFLENET_INPUT_SIZE) != 0) return 1;
        status = shufflenet_run(input, logits);
        printf("%s: tensor %d x %d x %d x %d, %.1f M MACs\n", argv[1], SHUFFLENET_INPUT_N, SHUFFLENET_INPUT_C,
               SHUFFLENET_INPUT_H, SHUFFLENET_INPUT_W, (double)SHUFFLENET_MACS / 1e6);
    } else {
#ifdef SHUFFLENET_PREPROCESS
        unsigned char *pixels;
        int width, height;
        if (load_rgb8_image(argv[1], &pixels, &width, &height) != 0) return 1;
        status = shufflenet_run_rgb8(pixels, width, height, 3 * width, logits);
        free(pixels);
        printf("%s: %d x %d image, %.1f M MACs\n", argv[1], width, height, (double)SHUFFLENET_MACS / 1e6);
#else
        fprintf(stderr, "%s: this model was compiled without input.preprocess (docs/spec.md), so it cannot take an "
                        "image; give a .npy tensor\n", argv[1]);
        return 2;
#endif
    }
    if (status != SHUFFLEC_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], shufflec_status_string(status));
        return 1;
    }
    int top[5];
    float prob[5];
    int k = SHUFFLENET_OUTPUT_C < 5 ? SHUFFLENET_OUTPUT_C : 5;
    for (int n = 0; n < SHUFFLENET_OUTPUT_N; n++) {
        top_k(logits + n * SHUFFLENET_OUTPUT_C, SHUFFLENET_OUTPUT_C, k, top, prob);
        for (int j = 0; j < k; j++)
            printf("  #%d  %-28s class %4d  p = %.4f\n", j + 1,
                   SHUFFLENET_OUTPUT_C == IMAGENET_CLASSES ? imagenet_classes[top[j]] : "", top[j], prob[j]);
    }
    return 0;
}
