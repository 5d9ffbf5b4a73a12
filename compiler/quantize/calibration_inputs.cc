#include "quantize/calibration_inputs.h"

#include <algorithm>
#include <dirent.h>
#include <sys/stat.h>

#include "lower/preprocess.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/image_file.h"
#include "util/npy.h"

namespace shufflec {

namespace {

class NpyInputs : public CalibrationInputs {
public:
    NpyInputs(const std::string &source, Graph &graph) : x_(read_npy(source)) {
        if (x_.shape.size() != 4 || x_.shape[0] < 1)
            fail(source, ": expected float32 N x C x H x W calibration inputs, got ", x_.shape.size(), " dimensions");
        Shape one{1, x_.shape[1], x_.shape[2], x_.shape[3]};
        if (graph.input().shape.c != one.c)
            fail(source, ": has ", one.c, " channels, the spec's input has ", graph.input().shape.c);
        try {
            set_input_shape(graph, one);
        } catch (const Error &e) {
            fail("input shape ", to_string(one), " from ", source, " does not fit the network: ", e.what());
        }
        per_ = static_cast<size_t>(one.elements());
    }
    int64_t count() const override { return x_.shape[0]; }
    std::vector<float> get(int64_t i) override {
        auto begin = x_.data.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(i) * per_);
        return std::vector<float>(begin, begin + static_cast<std::ptrdiff_t>(per_));
    }

private:
    NpyArray x_;
    size_t per_ = 0;
};

class ImageInputs : public CalibrationInputs {
public:
    ImageInputs(const std::string &folder, Graph &graph) : pre_(graph.preprocess) {
        if (!pre_.enabled)
            fail(folder, ": a folder of images needs the spec's input.preprocess (how an image becomes the "
                         "network's input)",
                 graph.preprocess_dropped.empty() ? "" : ", which does not apply here: " + graph.preprocess_dropped,
                 "; give an .npy of model inputs instead");
        Shape one = graph.input().shape;
        one.n = 1;
        set_input_shape(graph, one);
        shape_ = one;
        DIR *dir = opendir(folder.c_str());
        if (!dir) fail(folder, ": cannot read the folder");
        while (dirent *e = readdir(dir))
            if (e->d_name[0] != '.' && is_image_file_name(e->d_name)) files_.push_back(join_path(folder, e->d_name));
        closedir(dir);
        std::sort(files_.begin(), files_.end());
        if (files_.empty()) fail(folder, ": no .png, .jpg or .jpeg files in the folder");
        pipeline_ = build_preprocess(pre_, shape_);
    }
    int64_t count() const override { return static_cast<int64_t>(files_.size()); }
    std::vector<float> get(int64_t i) override {
        const std::string &file = files_[static_cast<size_t>(i)];
        RgbImage image = read_image_file(file);
        return run_preprocess(pipeline_, pre_, shape_, image.pixels.data(), image.width, image.height, file);
    }

private:
    Preprocess pre_;
    Shape shape_;
    std::vector<std::string> files_;
    PreprocessPipeline pipeline_;
};

}  // namespace

std::unique_ptr<CalibrationInputs> open_calibration_inputs(const std::string &source, Graph &graph) {
    struct stat st;
    if (stat(source.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return std::make_unique<ImageInputs>(source, graph);
    return std::make_unique<NpyInputs>(source, graph);
}

}  // namespace shufflec
