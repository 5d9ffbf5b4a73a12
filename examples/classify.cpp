// classify_cpp: the C++ flavour of classify.c. It owns its scratch memory
// (so several threads could each run the model) and classifies every input
// given on the command line.
//
//   classify_cpp INPUT.ppm|INPUT.npy...
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "image_input.h"
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
        int status = shufflenet_run_with_scratch(input.data(), out.data(), scratch_.get());
        if (status != SHUFFLEC_OK) throw std::runtime_error(shufflec_status_string(status));
        return out;
    }

private:
    static size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }
    std::unique_ptr<char, void (*)(void *)> scratch_;
};

std::vector<float> load(const std::string &path) {
    std::vector<float> input(SHUFFLENET_INPUT_SIZE);
    int kind = input_kind(path.c_str());
    bool ok = kind == 0   ? load_npy_input(path.c_str(), input.data(), input.size()) == 0
              : kind == 1 ? SHUFFLENET_INPUT_N == 1 && SHUFFLENET_INPUT_C == 3 &&
                                load_ppm_input(path.c_str(), input.data(), SHUFFLENET_INPUT_H, SHUFFLENET_INPUT_W) == 0
                          : false;
    if (!ok) throw std::runtime_error(path + ": cannot use this input (need a .ppm image or a .npy tensor)");
    return input;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s INPUT.ppm|INPUT.npy...\n", argv[0]);
        return 2;
    }
    try {
        Classifier model;
        for (int i = 1; i < argc; i++) {
            std::vector<float> logits = model.logits(load(argv[i]));
            int top[5];
            float prob[5];
            int k = SHUFFLENET_OUTPUT_C < 5 ? SHUFFLENET_OUTPUT_C : 5;
            top_k(logits.data(), SHUFFLENET_OUTPUT_C, k, top, prob);
            std::printf("%s:", argv[i]);
            for (int j = 0; j < k; j++) std::printf("  %d (%.3f)", top[j], prob[j]);
            std::printf("\n");
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "classify_cpp: %s\n", e.what());
        return 1;
    }
    return 0;
}
