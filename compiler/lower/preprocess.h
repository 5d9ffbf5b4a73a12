// The fused image preprocessing of NAME_run_rgb8 (the spec's input.preprocess):
// one Halide pipeline from an interleaved RGB8 image of any size to the
// network's float input, with no float copy of the image in between:
//
//   resize the shorter side (bilinear; with antialias, the filter widens by the
//   downscale factor: torchvision's Resize(size, antialias=True) on tensors,
//   i.e. PyTorch's separable _upsample_bilinear2d_aa, horizontal pass first),
//   center crop, channel order, then (x * scale - mean) / std.
//
// Only the crop's rows and columns are resized. torchvision rounds the resized
// image to uint8 before normalizing; this pipeline keeps it in float, so it
// differs from torchvision by at most half a grey level (0.5 * scale / std in
// the normalized tensor: 0.0087 for ImageNet's std).
//
// Arguments: threads, the image (uint8, dims c (3, stride 1), x, y with the
// caller's row stride), resize_w, resize_h (the resized size; the input's
// without a resize), crop_x, crop_y (where the crop starts in it); output: the
// input tensor, planar (x, y, c, n).
#pragma once

#include <Halide.h>

#include "graph/graph.h"

namespace shufflec {

struct PreprocessPipeline {
    Halide::Pipeline pipeline;
    std::vector<Halide::Argument> arguments;
};

PreprocessPipeline build_preprocess(const Preprocess &pre, const Shape &input);

}  // namespace shufflec
