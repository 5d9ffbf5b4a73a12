// The fused image preprocessing of NAME_run_rgb8 (the spec's input.preprocess):
// one Halide pipeline from an interleaved RGB8 image of any size to the
// network's float input, with no float copy of the image in between (the
// resize's two passes hold only the crop's columns and the rows it needs):
//
//   resize the shorter side (bilinear; with antialias, the filter widens by the
//   downscale factor: torchvision's Resize(size, antialias=True) on tensors,
//   i.e. PyTorch's separable _upsample_bilinear2d_aa, horizontal pass first;
//   without, OpenCV's INTER_LINEAR), round to grey levels as both do, center
//   crop, channel order, then (x * scale - mean) / std.
//
// Against torchvision the result is exact but for float rounding, except that
// a resized value within 1e-3 of a tie stays unrounded (half a grey level from
// either answer: 0.5 * scale / std = 0.0087 in the normalized tensor for
// ImageNet's std); see preprocess.cc.
//
// Arguments: threads, the image's bytes (uint8, dims: the bytes of a row
// (stride 1), rows with the caller's row stride), its format (PixelFormat, one
// loop nest each), width, height (in pixels), resize_w, resize_h (the resized
// size; the input's without a resize), crop_x, crop_y (where the crop starts in
// it); output: the input tensor, planar (x, y, c, n).
#pragma once

#include <Halide.h>

#include "graph/graph.h"

namespace shufflec {

// The pixel formats of NAME_run_image (runtime/shufflec_runtime.h's
// SHUFFLEC_PIXELS_*, the same numbers). NV12/NV21: `height` rows of Y bytes,
// then height / 2 rows of interleaved U, V (V, U) for 2x2 pixels each.
enum PixelFormat { kPixelsRGB8, kPixelsBGR8, kPixelsRGBA8, kPixelsBGRA8, kPixelsNV12, kPixelsNV21, kPixelFormats };

struct PreprocessPipeline {
    Halide::Pipeline pipeline;
    std::vector<Halide::Argument> arguments;
    // The same parameters, to run the pipeline here (JIT: calibration images).
    Halide::ImageParam pixels;
    Halide::Param<int32_t> threads, format, width, height, resize_w, resize_h, crop_x, crop_y;
};

PreprocessPipeline build_preprocess(const Preprocess &pre, const Shape &input);

// Where an image of width x height lands: the resized size (the shorter side
// becomes pre.resize; the longer as torchvision or megvii compute it) and the
// crop's corner (Python's round((size - crop) / 2)). The generated
// NAME_preprocess_image computes the same in C (emit/model_sources.cc); errors
// (the resized image smaller than the input) name `what`.
struct PreprocessGeometry {
    int32_t resize_w = 0, resize_h = 0, crop_x = 0, crop_y = 0;
};
PreprocessGeometry preprocess_geometry(const Preprocess &pre, const Shape &input, int width, int height,
                                       const std::string &what);

// An RGB8 image (height rows of width x R, G, B) as the network's input,
// N = 1 (JIT-compiled `pipeline` for this machine).
std::vector<float> run_preprocess(PreprocessPipeline &pipeline, const Preprocess &pre, const Shape &input,
                                  const uint8_t *pixels, int width, int height, const std::string &what);

}  // namespace shufflec
