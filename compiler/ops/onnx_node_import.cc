#include "ops/onnx_node_import.h"

#include "util/error.h"

namespace shufflec {

namespace {
// Kernel sizes, strides and padding beyond this are refused (and keep shape arithmetic far from overflow).
constexpr int64_t kMaxWindow = 1 << 16;
}  // namespace

std::vector<int64_t> OnnxNodeImport::two(const std::string &name) {
    std::vector<int64_t> v = attr_ints(name, {1, 1});
    if (v.size() != 2) error(name + " must have 2 values (2-D)");
    for (int64_t x : v)
        if (x < 1 || x > kMaxWindow) error(cat(name, " must be from 1 to ", kMaxWindow, ", got ", x));
    return v;
}

std::vector<int64_t> OnnxNodeImport::pads() {
    // ONNX pads are [begin_h, begin_w, end_h, end_w]; the spec's are [top, left, bottom, right]: the same order.
    std::vector<int64_t> p = attr_ints("pads", {0, 0, 0, 0});
    if (p.size() != 4) error("pads must have 4 values (2-D)");
    for (int64_t v : p) {
        if (v < 0) error("negative padding is not supported");
        if (v > kMaxWindow) error(cat("padding ", v, " is larger than ", kMaxWindow));
    }
    if (has_attr("auto_pad")) {
        std::string ap = attr_string("auto_pad", "NOTSET");
        if (ap != "NOTSET" && ap != "VALID") error("auto_pad " + ap + " is not supported (export with explicit pads)");
    }
    return p;
}

std::vector<int64_t> OnnxNodeImport::window_output(const std::vector<int64_t> &in, int64_t channels, int64_t kh,
                                                   int64_t kw, const std::vector<int64_t> &stride,
                                                   const std::vector<int64_t> &pads) {
    if (in.size() != 4) error("needs a 4-D input");
    if (kh < 1 || kw < 1 || kh > kMaxWindow || kw > kMaxWindow) error(cat("kernel ", kh, "x", kw, " is not supported"));
    int64_t h = in[2] + pads[0] + pads[2] - kh, w = in[3] + pads[1] + pads[3] - kw;
    if (h < 0 || w < 0) error("the kernel is larger than the padded input");
    return {in[0], channels, h / stride[0] + 1, w / stride[1] + 1};
}

}  // namespace shufflec
