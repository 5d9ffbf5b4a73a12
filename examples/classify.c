/* classify: runs a shufflec-compiled ShuffleNet on an image or tensor and
 * prints the top-5 classes.
 *
 *   classify INPUT.ppm|INPUT.npy [THREADS]
 *
 * The model comes from `shufflec compile ... --name shufflenet` (CMake:
 * shufflec_add_model(shufflenet ...)); this file only uses its header. */
#include <stdio.h>
#include <stdlib.h>

#include "image_input.h"
#include "shufflenet.h"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s INPUT.ppm|INPUT.npy [THREADS]\n", argv[0]);
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
    int kind = input_kind(argv[1]), ok;
    if (kind == 0) {
        ok = load_npy_input(argv[1], input, SHUFFLENET_INPUT_SIZE) == 0;
    } else if (kind == 1 && SHUFFLENET_INPUT_N == 1 && SHUFFLENET_INPUT_C == 3) {
        ok = load_ppm_input(argv[1], input, SHUFFLENET_INPUT_H, SHUFFLENET_INPUT_W) == 0;
    } else {
        fprintf(stderr, "%s: expected a .ppm image or a .npy tensor\n", argv[1]);
        return 2;
    }
    if (!ok) return 1;

    int status = shufflenet_run(input, logits);
    if (status != SHUFFLEC_OK) {
        fprintf(stderr, "shufflenet_run: %s\n", shufflec_status_string(status));
        return 1;
    }
    int top[5];
    float prob[5];
    int k = SHUFFLENET_OUTPUT_C < 5 ? SHUFFLENET_OUTPUT_C : 5;
    printf("%s: %d x %d input, %.1f M MACs\n", argv[1], SHUFFLENET_INPUT_H, SHUFFLENET_INPUT_W,
           (double)SHUFFLENET_MACS / 1e6);
    for (int n = 0; n < SHUFFLENET_OUTPUT_N; n++) {
        top_k(logits + n * SHUFFLENET_OUTPUT_C, SHUFFLENET_OUTPUT_C, k, top, prob);
        for (int j = 0; j < k; j++) printf("  #%d  class %4d  p = %.4f\n", j + 1, top[j], prob[j]);
    }
    return 0;
}
