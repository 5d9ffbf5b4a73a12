#include "lower/preprocess.h"

#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

// One axis of the resize: for output index i, the first input index, the
// number of taps and each tap's weight, computed as PyTorch's CPU kernel does
// (aten's separable _upsample_bilinear2d_aa: center = scale * (i + 0.5);
// support = scale when shrinking with antialias, else 1; triangle filter;
// weights normalized), down to which steps are float and which double: with
// the pipeline compiled with strict float, the resized values are then
// PyTorch's to the bit, and rounding them to uint8 as torchvision does lands on
// the same grey levels (a value one ulp from .5 would otherwise round apart).
struct Axis {
    Expr scale, support, invscale;  // float
    Expr in_size;
    static Expr f64(Expr e) { return cast<double>(e); }
    static Expr f32(Expr e) { return cast<float>(e); }
    Expr center(Expr i) const { return f32(f64(scale) * (f64(i) + Expr(0.5))); }
    Expr first(Expr i) const { return max(cast<int>(f64(center(i) - support) + Expr(0.5)), 0); }
    Expr count(Expr i) const { return min(cast<int>(f64(center(i) + support) + Expr(0.5)), in_size) - first(i); }
    Expr taps() const { return cast<int>(ceil(support)) * 2 + 1; }

    Axis(Expr in, Expr out, bool antialias) : in_size(in) {
        scale = f32(in) / f32(out);
        Expr shrink = antialias ? scale >= 1.0f : Expr(false);
        support = select(shrink, scale, 1.0f);
        invscale = select(shrink, f32(Expr(1.0) / f64(scale)), 1.0f);
    }

    // Normalized weights w(i, j), j < taps().
    Func weights(const std::string &name) const {
        Var i("i"), j("j");
        Func raw(name + "_raw"), total(name + "_total"), w(name);
        Expr x = f32((f64(f32(j + first(i)) - center(i)) + Expr(0.5)) * f64(invscale));
        raw(i, j) = select(j < count(i), max(1.0f - abs(x), 0.0f), 0.0f);
        RDom r(0, taps(), name + "_r");
        total(i) = 0.0f;
        total(i) += raw(i, r);
        w(i, j) = select(total(i) != 0.0f, raw(i, j) / total(i), raw(i, j));
        total.compute_root();
        w.compute_root();
        return w;
    }
};

// One pixel's channel c (0 R, 1 G, 2 B) as 0..255, from the bytes of any
// format, for 0 <= x < width, 0 <= y < height. Each read is promised to lie in
// the buffer the caller's sizes describe (NAME_preprocess_image sets its
// extents to exactly the format's bytes): bounds inference then asks for that
// buffer whatever the format, where it would otherwise take the union of all
// formats' reads, and no clamp is computed per tap (an explicit clamp cost 7%
// at 1920x1080).
Expr pixel_value(const ImageParam &bytes, Expr format, Expr height, Expr c, Expr x, Expr y) {
    Expr row_bytes = bytes.dim(0).extent(), rows = bytes.dim(1).extent();
    auto byte = [&](Expr i, Expr row) {
        return cast<int32_t>(bytes(unsafe_promise_clamped(i, 0, row_bytes - 1), unsafe_promise_clamped(row, 0, rows - 1)));
    };
    Expr four = format == kPixelsRGBA8 || format == kPixelsBGRA8;
    Expr blue_first = format == kPixelsBGR8 || format == kPixelsBGRA8;
    Expr packed = byte(x * select(four, 4, 3) + select(blue_first, 2 - c, c), y);
    // YUV 4:2:0, BT.601 video range, in OpenCV's fixed point (cvtColor's
    // COLOR_YUV2RGB_NV12/NV21: 20 fraction bits, rounded, saturated), so the
    // grey levels are OpenCV's.
    Expr chroma_row = height + y / 2, chroma_col = (x / 2) * 2;
    Expr u = byte(chroma_col + select(format == kPixelsNV21, 1, 0), chroma_row) - 128;
    Expr v = byte(chroma_col + select(format == kPixelsNV21, 0, 1), chroma_row) - 128;
    Expr luma = max(byte(x, y) - 16, 0) * 1220542 + (1 << 19);
    Expr rgb = select(c == 0, luma + 1673527 * v, c == 1, luma - 852492 * v - 409993 * u, luma + 2116026 * u);
    Expr yuv = clamp(rgb >> 20, 0, 255);
    return cast<float>(select(format >= kPixelsNV12, yuv, packed));
}

// One compiled loop nest per format, none for the others.
void specialize_formats(Stage stage, Expr format) {
    for (int f = 0; f < kPixelFormats; f++) stage.specialize(format == f);
    stage.specialize_fail("unknown pixel format");
}

}  // namespace

PreprocessPipeline build_preprocess(const Preprocess &pre, const Shape &s) {
    ImageParam image(UInt(8), 2, "pixels");  // the bytes of each row, rows
    Halide::Param<int32_t> threads("threads"), format("format"), in_w("width"), in_h("height"), resize_w("resize_w"),
        resize_h("resize_h"), crop_x("crop_x"), crop_y("crop_y");
    image.dim(0).set_min(0).set_stride(1);
    image.dim(1).set_min(0);
    Var c("c"), x("x"), y("y"), n("n");
    auto pixel = [&](Expr ch, Expr px, Expr py) { return pixel_value(image, format, in_h, ch, px, py); };

    Func value("resized");  // value(c, x, y): the image at the resized size, as float
    if (pre.resize) {
        Axis ax(in_w, resize_w, pre.antialias), ay(in_h, resize_h, pre.antialias);
        Func wx = ax.weights("weights_x"), wy = ay.weights("weights_y");
        // Each output's first input index, once (not per tap and channel).
        Func first_x("first_x"), first_y("first_y");
        first_x(x) = ax.first(x);
        first_y(y) = ay.first(y);
        first_x.compute_root();
        first_y.compute_root();
        // Only the rows the crop's vertical taps read are resized horizontally.
        Expr row_lo = ay.first(crop_y);
        Expr row_hi = min(ay.first(crop_y + static_cast<int>(s.h) - 1) + ay.taps(), in_h);
        Func horizontal("horizontal");
        RDom rx(0, ax.taps(), "rx");
        horizontal(c, x, y) = 0.0f;
        horizontal(c, x, y) += wx(x, rx) * pixel(c, clamp(first_x(x) + rx, 0, in_w - 1), y);
        RDom ry(0, ay.taps(), "ry");
        value(c, x, y) = 0.0f;
        value(c, x, y) += wy(y, ry) * horizontal(c, x, clamp(first_y(y) + ry, row_lo, row_hi - 1));
        // Both passes vectorize along x (planar storage: x innermost), the
        // taps in order around it: each value's sum is the same sequence of
        // multiply-adds as PyTorch's.
        for (Func f : {horizontal, value}) {
            f.compute_root().bound(c, 0, 3).reorder_storage(x, c, y);
            f.vectorize(x, 8, TailStrategy::GuardWithIf).parallel(y, 8, TailStrategy::GuardWithIf);
        }
        horizontal.update().reorder(x, c, rx, y).vectorize(x, 8, TailStrategy::GuardWithIf).unroll(c)
            .parallel(y, 8, TailStrategy::GuardWithIf);
        value.update().reorder(x, c, ry, y).vectorize(x, 8, TailStrategy::GuardWithIf).unroll(c)
            .parallel(y, 8, TailStrategy::GuardWithIf);
        specialize_formats(horizontal.update(), format);
    } else {
        value(c, x, y) = pixel(c, x, y);
    }
    // Channel order, crop and normalization into the network's input.
    Func input("preprocessed");
    Expr source_channel = pre.bgr ? 2 - c : c;
    Expr v = value(source_channel, x + crop_x, y + crop_y);
    // The resized image is uint8 in both conventions (torchvision rounds half
    // to even, as round() does; OpenCV rounds its fixed-point result), so
    // rounding lands on the reference's grey level for nearly every value. A
    // value within 1e-3 of a tie (x.5) could round either way, depending on
    // the last bits of float arithmetic done in another order (PyTorch's
    // kernels fuse multiply-adds their own way): it stays unrounded, half a
    // level from either answer rather than possibly a whole level.
    if (pre.resize) {
        Expr tie = abs(v - floor(v) - 0.5f) < 1e-3f;
        v = select(tie, v, clamp(round(v), 0.0f, 255.0f));
    }
    v = v * pre.scale;
    Expr mean = select(c == 0, pre.mean[0], c == 1, pre.mean[1], pre.mean[2]);
    Expr std_dev = select(c == 0, pre.std[0], c == 1, pre.std[1], pre.std[2]);
    input(x, y, c, n) = (v - mean) / std_dev;
    input.bound(c, 0, 3).unroll(c).vectorize(x, 8, TailStrategy::GuardWithIf).parallel(y, 8);
    if (!pre.resize) specialize_formats(input, format);
    input.output_buffer().dim(0).set_bounds(0, static_cast<int>(s.w)).set_stride(1);
    input.output_buffer().dim(1).set_bounds(0, static_cast<int>(s.h)).set_stride(static_cast<int>(s.w));
    input.output_buffer().dim(2).set_bounds(0, 3).set_stride(static_cast<int>(s.w * s.h));
    input.output_buffer().dim(3).set_bounds(0, 1);
    // `threads` is every pipeline's first argument; this one splits its rows in fixed blocks of 8.
    return {Pipeline(input), {threads, image, format, in_w, in_h, resize_w, resize_h, crop_x, crop_y},
            image, threads, format, in_w, in_h, resize_w, resize_h, crop_x, crop_y};
}

PreprocessGeometry preprocess_geometry(const Preprocess &pre, const Shape &s, int width, int height,
                                       const std::string &what) {
    PreprocessGeometry g{width, height, 0, 0};
    if (pre.resize) {
        // The same double arithmetic as the Python each convention comes from.
        auto long_side = [&](int lng, int shrt) {
            double r = static_cast<double>(pre.resize);
            return static_cast<int32_t>(pre.round_long_side ? r / shrt * lng + 0.5 : r * lng / shrt);
        };
        if (width <= height) g.resize_w = static_cast<int32_t>(pre.resize), g.resize_h = long_side(height, width);
        else g.resize_h = static_cast<int32_t>(pre.resize), g.resize_w = long_side(width, height);
    }
    auto center = [](int32_t size, int64_t crop) {  // Python's round((size - crop) / 2), ties to even
        int32_t d = size - static_cast<int32_t>(crop), q = d / 2;
        return (d % 2 != 0 && q % 2 != 0) ? q + 1 : q;
    };
    if (pre.crop_h) {
        if (g.resize_w < s.w || g.resize_h < s.h)
            fail(what, ": ", width, "x", height, " resizes to ", g.resize_w, "x", g.resize_h, ", smaller than the ",
                 s.w, "x", s.h, " crop");
        g.crop_x = center(g.resize_w, s.w);
        g.crop_y = center(g.resize_h, s.h);
    } else if (g.resize_w != s.w || g.resize_h != s.h) {
        fail(what, ": ", width, "x", height, " becomes ", g.resize_w, "x", g.resize_h, ", not the input's ", s.w, "x",
             s.h, " (the spec's preprocess has no crop)");
    }
    return g;
}

std::vector<float> run_preprocess(PreprocessPipeline &p, const Preprocess &pre, const Shape &s, const uint8_t *pixels,
                                  int width, int height, const std::string &what) {
    PreprocessGeometry g = preprocess_geometry(pre, s, width, height, what);
    Buffer<uint8_t> image(const_cast<uint8_t *>(pixels), 3 * width, height);
    p.pixels.set(image);
    p.threads.set(1);
    p.format.set(kPixelsRGB8);
    p.width.set(width);
    p.height.set(height);
    p.resize_w.set(g.resize_w);
    p.resize_h.set(g.resize_h);
    p.crop_x.set(g.crop_x);
    p.crop_y.set(g.crop_y);
    std::vector<float> out(static_cast<size_t>(s.w * s.h * 3));
    Buffer<float> tensor(out.data(), static_cast<int>(s.w), static_cast<int>(s.h), 3, 1);
    p.pipeline.realize(tensor, get_jit_target_from_environment());
    return out;
}

}  // namespace shufflec
