// classify_cpp: the C++ flavour of classify.c. It owns its memory (the
// network input and the scratch arena, so several threads could each run their
// own instance) and classifies every input given on the command line.
//
//   classify_cpp IMAGE.jpg|IMAGE.png|IMAGE.ppm|TENSOR.npy...
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "image_input.h"
#include "imagenet_classes.h"
#include "shufflenet.h"

namespace {

// One model instance: its own scratch arena, so instances never share state.
class Classifier {
public:
    Classifier() : scratch_(static_cast<char *>(std::aligned_alloc(64, round_up(SHUFFLENET_SCRATCH_BYTES))), std::free) {
        if (!scratch_) throw std::runtime_error("out of memory");
    }

    std::vector<float> logits(const std::vector<float> &input) {
        std::vector<float> out(SHUFFLENET_OUTPUT_SIZE);
        check(shufflenet_run_with_scratch(input.data(), out.data(), scratch_.get()));
        return out;
    }

    // The network input for a file: a .npy tensor, or an image through the
    // model's compiled preprocessing.
    std::vector<float> input(const std::string &path) {
        std::vector<float> in(SHUFFLENET_INPUT_SIZE);
        if (is_npy(path.c_str())) {
            if (load_npy_input(path.c_str(), in.data(), in.size()) != 0) throw std::runtime_error(path + ": unusable");
            return in;
        }
#ifdef SHUFFLENET_PREPROCESS
        unsigned char *raw;
        int width, height;
        if (load_rgb8_image(path.c_str(), &raw, &width, &height) != 0) throw std::runtime_error(path + ": unusable");
        std::unique_ptr<unsigned char, void (*)(void *)> pixels(raw, std::free);
        check(shufflenet_preprocess_rgb8(pixels.get(), width, height, 3 * width, in.data()));
        return in;
#else
        throw std::runtime_error(path + ": the model was compiled without input.preprocess; give a .npy tensor");
#endif
    }

private:
    static void check(int status) {
        if (status != SHUFFLEC_OK) throw std::runtime_error(shufflec_status_string(status));
    }
    static size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }
    std::unique_ptr<char, void (*)(void *)> scratch_;
};

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s IMAGE.jpg|IMAGE.png|IMAGE.ppm|TENSOR.npy...\n", argv[0]);
        return 2;
    }
    try {
        Classifier model;
        for (int i = 1; i < argc; i++) {
            std::vector<float> logits = model.logits(model.input(argv[i]));
            int top[5];
            float prob[5];
            int k = SHUFFLENET_OUTPUT_C < 5 ? SHUFFLENET_OUTPUT_C : 5;
            top_k(logits.data(), SHUFFLENET_OUTPUT_C, k, top, prob);
            std::printf("%s:", argv[i]);
            for (int j = 0; j < k; j++)
                std::printf("  %s%s%d (%.3f)", SHUFFLENET_OUTPUT_C == IMAGENET_CLASSES ? imagenet_classes[top[j]] : "",
                            SHUFFLENET_OUTPUT_C == IMAGENET_CLASSES ? " " : "", top[j], prob[j]);
            std::printf("\n");
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "classify_cpp: %s\n", e.what());
        return 1;
    }
    return 0;
}
