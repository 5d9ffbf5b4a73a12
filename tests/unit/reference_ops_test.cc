// The reference interpreter, one op at a time, on tiny hand-made graphs: every
// expected value is either worked out by hand (in the comments) or computed by
// a separate straightforward loop written here, not by the interpreter's code.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "graph/builder.h"
#include "graph/graph.h"
#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "util/error.h"
#include "unit_support.h"
#include "weights/weights.h"

using namespace shufflec;

namespace {

Shape shape4(int64_t n, int64_t c, int64_t h, int64_t w) { return Shape{n, c, h, w}; }

std::vector<float> iota(size_t count, float start = 1.0f, float step = 1.0f) {
    std::vector<float> v(count);
    for (size_t i = 0; i < count; i++) v[i] = start + step * static_cast<float>(i);
    return v;
}

// Element (n, c, y, x) of an NCHW tensor of shape s.
size_t at(const Shape &s, int64_t n, int64_t c, int64_t y, int64_t x) {
    return static_cast<size_t>(((n * s.c + c) * s.h + y) * s.w + x);
}

void expect_near_all(const std::vector<float> &actual, const std::vector<float> &expected, double tol = 1e-5) {
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); i++)
        EXPECT_NEAR(actual[i], expected[i], tol * std::max(1.0, std::fabs(static_cast<double>(expected[i]))))
            << "at element " << i;
}

// A separate convolution: the input is first copied into an explicitly
// zero-padded array, then correlated with the kernel.
std::vector<float> conv_by_padding(const std::vector<float> &x, const Shape &s, const std::vector<float> &weight,
                                   const std::vector<float> &bias, int64_t cout, int kh, int kw, int sh, int sw,
                                   int top, int left, int bottom, int right, int64_t groups) {
    int64_t ph = s.h + top + bottom, pw = s.w + left + right;
    std::vector<double> padded(static_cast<size_t>(s.n * s.c * ph * pw), 0.0);
    for (int64_t n = 0; n < s.n; n++)
        for (int64_t c = 0; c < s.c; c++)
            for (int64_t y = 0; y < s.h; y++)
                for (int64_t xx = 0; xx < s.w; xx++)
                    padded[static_cast<size_t>(((n * s.c + c) * ph + y + top) * pw + xx + left)] = x[at(s, n, c, y, xx)];
    int64_t oh = (ph - kh) / sh + 1, ow = (pw - kw) / sw + 1;
    int64_t cin_per_group = s.c / groups, cout_per_group = cout / groups;
    std::vector<float> out(static_cast<size_t>(s.n * cout * oh * ow));
    for (int64_t n = 0; n < s.n; n++)
        for (int64_t o = 0; o < cout; o++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double sum = bias.empty() ? 0.0 : bias[static_cast<size_t>(o)];
                    int64_t first_in = (o / cout_per_group) * cin_per_group;
                    for (int64_t i = 0; i < cin_per_group; i++)
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++) {
                                double pv = padded[static_cast<size_t>(
                                    ((n * s.c + first_in + i) * ph + oy * sh + ky) * pw + ox * sw + kx)];
                                double wv = weight[static_cast<size_t>(((o * cin_per_group + i) * kh + ky) * kw + kx)];
                                sum += pv * wv;
                            }
                    out[static_cast<size_t>(((n * cout + o) * oh + oy) * ow + ox)] = static_cast<float>(sum);
                }
    return out;
}

// The channel shuffle as the spec describes it: view the C channels as a
// (rows, cols) matrix, transpose it, flatten. Paper: rows = g; inverse: rows = n.
std::vector<float> transpose_channels(const std::vector<float> &x, const Shape &s, int64_t rows, int64_t cols) {
    std::vector<float> out(x.size());
    int64_t plane = s.h * s.w;
    for (int64_t n = 0; n < s.n; n++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t k = 0; k < cols; k++) {
                int64_t src = r * cols + k;  // element (r, k) of the (rows, cols) matrix
                int64_t dst = k * rows + r;  // element (k, r) of the transposed (cols, rows) matrix
                for (int64_t p = 0; p < plane; p++)
                    out[static_cast<size_t>((n * s.c + dst) * plane + p)] = x[static_cast<size_t>((n * s.c + src) * plane + p)];
            }
    return out;
}

std::vector<float> run_shuffle(const std::vector<float> &x, const Shape &s, int64_t groups, ShuffleConvention conv) {
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", s);
    g.output = b.shuffle("shuffle", in, groups, conv);
    return run_reference(g, {}, x);
}

}  // namespace

TEST(ReferenceConv, HandComputedStride2Pad1WithBias) {
    // Input 3x3 holding 1..9, a 2x2 kernel of ones, stride 2, pad 1, bias 0.5.
    // Windows (rows x cols of the input they cover):
    //   (0,0): row 0, col 0          -> 1
    //   (0,1): row 0, cols 1-2       -> 2 + 3 = 5
    //   (1,0): rows 1-2, col 0       -> 4 + 7 = 11
    //   (1,1): rows 1-2, cols 1-2    -> 5 + 6 + 8 + 9 = 28
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", shape4(1, 1, 3, 3));
    g.output = b.conv("conv", in, 1, Window::square(2, 2, 1), 1, true);
    EXPECT_EQ(g.output_node().shape, shape4(1, 1, 2, 2));
    Weights w;
    w["conv.weight"] = {{1, 1, 2, 2}, {1, 1, 1, 1}};
    w["conv.bias"] = {{1}, {0.5f}};
    expect_near_all(run_reference(g, w, iota(9)), {1.5f, 5.5f, 11.5f, 28.5f});
}

TEST(ReferenceConv, Stride2AsymmetricPadsGroupsBiasMatchPaddedLoop) {
    // 2 groups, kernel 3x2, stride 2, pads top 1, left 0, bottom 2, right 1, batch 2.
    Shape s = shape4(2, 4, 5, 6);
    Window win{3, 2, 2, 2, {1, 0, 2, 1}};
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", s);
    g.output = b.conv("conv", in, 6, win, 2, true);
    // Height: (5 + 1 + 2 - 3) / 2 + 1 = 3; width: (6 + 0 + 1 - 2) / 2 + 1 = 3.
    EXPECT_EQ(g.output_node().shape, shape4(2, 6, 3, 3));
    ASSERT_NE(g.output_node().param("weight"), nullptr);
    EXPECT_EQ(g.output_node().param("weight")->shape, (std::vector<int64_t>{6, 2, 3, 2}));
    std::vector<float> x = unit::random_values(static_cast<size_t>(s.elements()), 1);
    std::vector<float> weight = unit::random_values(6 * 2 * 3 * 2, 2), bias = unit::random_values(6, 3);
    Weights w;
    w["conv.weight"] = {{6, 2, 3, 2}, weight};
    w["conv.bias"] = {{6}, bias};
    std::vector<float> expected = conv_by_padding(x, s, weight, bias, 6, 3, 2, 2, 2, 1, 0, 2, 1, 2);
    expect_near_all(run_reference(g, w, x), expected);

    // Groups really separate: output channels 0-2 must not depend on input channels 2-3.
    std::vector<float> x2 = x;
    for (int64_t n = 0; n < s.n; n++)
        for (int64_t c = 2; c < 4; c++)
            for (int64_t y = 0; y < s.h; y++)
                for (int64_t xx = 0; xx < s.w; xx++) x2[at(s, n, c, y, xx)] += 10.0f;
    std::vector<float> a = run_reference(g, w, x), b2 = run_reference(g, w, x2);
    const Shape &o = g.output_node().shape;
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t c = 0; c < o.c; c++) {
            size_t k = at(o, n, c, 1, 1);
            if (c < 3) EXPECT_EQ(a[k], b2[k]) << "channel " << c;
            else EXPECT_NE(a[k], b2[k]) << "channel " << c;
        }
}

TEST(ReferenceConv, DepthwiseHandValuesAndLoop) {
    // Depthwise 3x3, pad 1, no bias, on ones: channel c's kernel is all (c + 1).
    // A corner sees 4 input cells, an edge 6, the interior 9.
    Shape s = shape4(1, 3, 4, 4);
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", s);
    g.output = b.conv("dw", in, 3, Window::square(3, 1, 1), 3, false);
    Weights w;
    std::vector<float> k(27);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 9; i++) k[c * 9 + i] = static_cast<float>(c + 1);
    w["dw.weight"] = {{3, 1, 3, 3}, k};
    std::vector<float> out = run_reference(g, w, std::vector<float>(48, 1.0f));
    for (int c = 0; c < 3; c++) {
        float m = static_cast<float>(c + 1);
        EXPECT_FLOAT_EQ(out[at(s, 0, c, 0, 0)], 4 * m);
        EXPECT_FLOAT_EQ(out[at(s, 0, c, 0, 2)], 6 * m);
        EXPECT_FLOAT_EQ(out[at(s, 0, c, 3, 1)], 6 * m);
        EXPECT_FLOAT_EQ(out[at(s, 0, c, 1, 2)], 9 * m);
        EXPECT_FLOAT_EQ(out[at(s, 0, c, 3, 3)], 4 * m);
    }
    // Stride 2 with random values against the padded loop.
    Graph g2;
    GraphBuilder b2(g2);
    Shape s2 = shape4(1, 5, 7, 6);
    int in2 = b2.input("input", s2);
    g2.output = b2.conv("dw", in2, 5, Window::square(3, 2, 1), 5, true);
    EXPECT_EQ(g2.output_node().shape, shape4(1, 5, 4, 3));
    std::vector<float> x = unit::random_values(static_cast<size_t>(s2.elements()), 11);
    std::vector<float> weight = unit::random_values(45, 12), bias = unit::random_values(5, 13);
    Weights w2;
    w2["dw.weight"] = {{5, 1, 3, 3}, weight};
    w2["dw.bias"] = {{5}, bias};
    expect_near_all(run_reference(g2, w2, x), conv_by_padding(x, s2, weight, bias, 5, 3, 3, 2, 2, 1, 1, 1, 1, 5));
}

TEST(ReferenceOps, BatchNormInferenceMode) {
    // y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel.
    // Channel 0: gamma 3, beta 1, mean 1, var 3, eps 1: x = 2 -> 1/2*3+1 = 2.5; x = -1 -> -2/2*3+1 = -2.
    // Channel 1: gamma 0.5, beta -1, mean -2, var 15: x = 2 -> 4/4*0.5-1 = -0.5; x = -1 -> 1/4*0.5-1 = -0.875.
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", shape4(1, 2, 1, 2));
    g.output = b.batchnorm("bn", in, 1.0);
    Weights w;
    w["bn.weight"] = {{2}, {3.0f, 0.5f}};
    w["bn.bias"] = {{2}, {1.0f, -1.0f}};
    w["bn.running_mean"] = {{2}, {1.0f, -2.0f}};
    w["bn.running_var"] = {{2}, {3.0f, 15.0f}};
    expect_near_all(run_reference(g, w, {2, -1, 2, -1}), {2.5f, -2.0f, -0.5f, -0.875f});
}

TEST(ReferenceOps, MaxPoolPaddingNeverWins) {
    // All inputs negative (-1 .. -16 on a 4x4 grid); 3x3, stride 2, pad 1.
    // If padding counted as 0 every output would be 0. The real maxima:
    //   (0,0): cells (0..1, 0..1) -> max(-1,-2,-5,-6) = -1
    //   (0,1): cells (0..1, 1..3) -> -2
    //   (1,0): cells (1..3, 0..1) -> -5
    //   (1,1): cells (1..3, 1..3) -> -6
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", shape4(1, 1, 4, 4));
    g.output = b.maxpool("pool", in, Window::square(3, 2, 1));
    EXPECT_EQ(g.output_node().shape, shape4(1, 1, 2, 2));
    expect_near_all(run_reference(g, {}, iota(16, -1.0f, -1.0f)), {-1, -2, -5, -6});
}

TEST(ReferenceOps, AvgPoolBorderDivisors) {
    // 4x4 input holding 1..16; 3x3, stride 2, pad 1.
    //   (0,0) sums 1+2+5+6 = 14 over 4 real cells;
    //   (0,1) sums 2+3+4+6+7+8 = 30 over 6;
    //   (1,0) sums 5+6+9+10+13+14 = 57 over 6;
    //   (1,1) sums 6+7+8+10+11+12+14+15+16 = 99 over 9.
    // count_include_pad (PyTorch's default) divides by the window inside the padded input (9 here).
    for (bool include : {true, false}) {
        Graph g;
        GraphBuilder b(g);
        int in = b.input("input", shape4(1, 1, 4, 4));
        g.output = b.avgpool("pool", in, Window::square(3, 2, 1), include);
        std::vector<float> out = run_reference(g, {}, iota(16));
        std::vector<float> expected = include ? std::vector<float>{14.0f / 9, 30.0f / 9, 57.0f / 9, 11.0f}
                                              : std::vector<float>{3.5f, 5.0f, 9.5f, 11.0f};
        SCOPED_TRACE(include ? "count_include_pad" : "exclude pad");
        expect_near_all(out, expected);
    }
}

TEST(ReferenceOps, AvgPoolAsymmetricPadDivisors) {
    // 1x5 row holding 1..5, kernel [1, 3], stride [1, 2], pads left 2, right 0:
    // padded width 7, so 3 outputs, at padded starts 0, 2 and 4:
    //   out 0: input cols -2..0 -> 1       (include: /3, exclude: /1)
    //   out 1: input cols  0..2 -> 1+2+3   (/3 either way)
    //   out 2: input cols  2..4 -> 3+4+5   (/3 either way)
    for (bool include : {true, false}) {
        Graph g;
        GraphBuilder b(g);
        int in = b.input("input", shape4(1, 1, 1, 5));
        g.output = b.avgpool("pool", in, Window{1, 3, 1, 2, {0, 2, 0, 0}}, include);
        EXPECT_EQ(g.output_node().shape, shape4(1, 1, 1, 3));
        SCOPED_TRACE(include ? "count_include_pad" : "exclude pad");
        expect_near_all(run_reference(g, {}, iota(5)), {include ? 1.0f / 3 : 1.0f, 2.0f, 4.0f});
    }
}

TEST(ReferenceOps, GlobalAvgPool) {
    // Channel 0 holds 1..6 (mean 3.5), channel 1 holds 10, 20, ..., 60 (mean 35); batch 2 repeats with +1.
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", shape4(2, 2, 2, 3));
    g.output = b.global_avgpool("gap", in);
    EXPECT_EQ(g.output_node().shape, shape4(2, 2, 1, 1));
    std::vector<float> x;
    for (int n = 0; n < 2; n++) {
        for (int i = 1; i <= 6; i++) x.push_back(static_cast<float>(i + n));
        for (int i = 1; i <= 6; i++) x.push_back(static_cast<float>(10 * i + n));
    }
    expect_near_all(run_reference(g, {}, x), {3.5f, 35.0f, 4.5f, 36.0f});
}

TEST(ReferenceOps, FullyConnectedReadsFeaturesInNchwOrder) {
    // Input 2x2x2x2; fc with 3 outputs over the 8 features. Row j of the weight
    // is one-hot at feature f = (c*H + y)*W + x, so output j copies that element:
    //   j=0: (c=1, y=0, x=1) -> f = 5;  j=1: (c=0, y=1, x=0) -> f = 2;  j=2: (c=1, y=1, x=1) -> f = 7.
    Shape s = shape4(2, 2, 2, 2);
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", s);
    g.output = b.dense("fc", in, 3, true);
    EXPECT_EQ(g.output_node().shape.rank, 2);
    EXPECT_EQ(g.output_node().shape.c, 3);
    std::vector<float> weight(24, 0.0f);
    weight[0 * 8 + 5] = 1, weight[1 * 8 + 2] = 1, weight[2 * 8 + 7] = 1;
    Weights w;
    w["fc.weight"] = {{3, 8}, weight};
    w["fc.bias"] = {{3}, {0.25f, -0.5f, 1.0f}};
    std::vector<float> x = iota(16, 0.0f);  // element k holds k
    std::vector<float> out = run_reference(g, w, x);
    std::vector<float> expected;
    for (int n = 0; n < 2; n++) {
        expected.push_back(x[at(s, n, 1, 0, 1)] + 0.25f);
        expected.push_back(x[at(s, n, 0, 1, 0)] - 0.5f);
        expected.push_back(x[at(s, n, 1, 1, 1)] + 1.0f);
    }
    EXPECT_EQ(expected, (std::vector<float>{5.25f, 1.5f, 8.0f, 13.25f, 9.5f, 16.0f}));
    expect_near_all(out, expected);

    // Random weights, no bias, against a plain dot product per row.
    Graph g2;
    GraphBuilder b2(g2);
    int in2 = b2.input("input", s);
    g2.output = b2.dense("fc", in2, 4, false);
    std::vector<float> wr = unit::random_values(32, 21), xr = unit::random_values(16, 22);
    Weights w2;
    w2["fc.weight"] = {{4, 8}, wr};
    std::vector<float> expected2;
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 4; j++) {
            double sum = 0;
            for (int f = 0; f < 8; f++) sum += static_cast<double>(wr[j * 8 + f]) * xr[n * 8 + f];
            expected2.push_back(static_cast<float>(sum));
        }
    expect_near_all(run_reference(g2, w2, xr), expected2);
}

TEST(ReferenceOps, AddChannelScaleSigmoid) {
    Shape s = shape4(1, 2, 1, 2);
    std::vector<float> x = {1, -3, 2, 6};
    {
        // add(x, relu(x)): negative entries cancel to x, positive ones double.
        Graph g;
        GraphBuilder b(g);
        int in = b.input("input", s);
        g.output = b.add("add", in, b.relu("relu", in));
        expect_near_all(run_reference(g, {}, x), {2, -3, 4, 12});
    }
    {
        // mul(x, gap(x)): channel 0 mean -1, channel 1 mean 4.
        Graph g;
        GraphBuilder b(g);
        int in = b.input("input", s);
        g.output = b.mul("scale", in, b.global_avgpool("gap", in));
        expect_near_all(run_reference(g, {}, x), {-1, 3, 8, 24});
    }
    {
        // sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4, sigmoid(20) ~ 1.
        Graph g;
        GraphBuilder b(g);
        int in = b.input("input", s);
        g.output = b.sigmoid("sigmoid", in);
        float l3 = static_cast<float>(std::log(3.0));
        expect_near_all(run_reference(g, {}, {0.0f, l3, -l3, 20.0f}), {0.5f, 0.75f, 0.25f, 1.0f});
    }
}

// MobileNet V3's and EfficientNet's activations, from a spec: hard_sigmoid
// clamp(alpha x + beta, 0, 1), hard_swish x * clamp(x/6 + 1/2, 0, 1), and SiLU
// as mul(x, sigmoid(x)) of two tensors of one shape. A NaN stays a NaN.
TEST(ReferenceOps, HardSigmoidHardSwishAndElementwiseMul) {
    auto spec = [](const std::string &layer) {
        return parse_spec_text(R"({"format": "shufflec-spec/1", "name": "t", "input": {"shape": [1, 1, 1, 6]},
            "layers": [)" + layer + "]}", "t.json");
    };
    const float nan = std::nanf("");
    std::vector<float> x = {-4, -3, 0, 1.5f, 3, 7};
    std::vector<float> y = run_reference(spec(R"({"op": "hard_sigmoid", "alpha": 0.25, "beta": 0.5})"), {}, x);
    expect_near_all(y, {0, 0, 0.5f, 0.875f, 1, 1});
    y = run_reference(spec(R"({"op": "hard_sigmoid"})"), {}, x);  // ONNX's defaults 0.2, 0.5
    expect_near_all(y, {0, 0, 0.5f, 0.8f, 1, 1});
    y = run_reference(spec(R"({"op": "hard_swish"})"), {}, x);
    expect_near_all(y, {0, 0, 0, 1.5f * 0.75f, 3, 7});
    y = run_reference(spec(R"({"op": "sigmoid", "name": "s"}, {"op": "mul", "inputs": ["input", "s"]})"), {}, x);
    for (size_t i = 0; i < x.size(); i++) EXPECT_NEAR(y[i], x[i] / (1 + std::exp(-static_cast<double>(x[i]))), 1e-6);
    for (const char *op : {R"({"op": "hard_sigmoid"})", R"({"op": "hard_swish"})"}) {
        y = run_reference(spec(op), {}, {nan, 0, 0, 0, 0, 0});
        EXPECT_TRUE(std::isnan(y[0])) << op;
    }
    EXPECT_THROW(spec(R"({"op": "conv", "name": "c", "out_channels": 1, "kernel": [1, 2]},
                         {"op": "mul", "inputs": ["input", "c"]})"), Error);
}

TEST(ReferenceOps, ConcatAlongChannels) {
    // concat(relu(x), x) for a batch of 2: per image, relu's 2 channels then x's 2 channels.
    Shape s = shape4(2, 2, 1, 2);
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", s);
    g.output = b.concat("cat", {b.relu("relu", in), in});
    EXPECT_EQ(g.output_node().shape, shape4(2, 4, 1, 2));
    std::vector<float> x = {1, -2, -3, 4, 5, -6, 7, -8};
    expect_near_all(run_reference(g, {}, x), {1, 0, 0, 4, 1, -2, -3, 4, 5, 0, 7, 0, 5, -6, 7, -8});
}

TEST(ReferenceOps, FlattenKeepsNchwOrderAndFeedsFc) {
    Shape s = shape4(2, 3, 2, 2);
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", s);
    int flat = b.flatten("flat", in);
    EXPECT_EQ(g.nodes[flat].shape.rank, 2);
    EXPECT_EQ(g.nodes[flat].shape.n, 2);
    EXPECT_EQ(g.nodes[flat].shape.c, 12);
    EXPECT_EQ(g.nodes[flat].shape.dims(), (std::vector<int64_t>{2, 12}));
    g.output = flat;
    std::vector<float> x = unit::random_values(24, 31);
    EXPECT_EQ(run_reference(g, {}, x), x);

    // fc after flatten equals fc on the 4-D tensor.
    g.output = b.dense("fc", flat, 2, false);
    Graph g2;
    GraphBuilder b2(g2);
    g2.output = b2.dense("fc", b2.input("input", s), 2, false);
    Weights w;
    w["fc.weight"] = {{2, 12}, unit::random_values(24, 32)};
    std::vector<float> a = run_reference(g, w, x), c = run_reference(g2, w, x);
    ASSERT_EQ(a.size(), 4u);
    EXPECT_EQ(a, c);
}

TEST(ReferenceShuffle, PaperConventionIsReshapeGnTransposeFlatten) {
    for (int64_t groups : {2, 3, 4, 6}) {
        Shape s = shape4(2, 12, 2, 3);
        std::vector<float> x = unit::random_values(static_cast<size_t>(s.elements()), 40 + static_cast<uint64_t>(groups));
        std::vector<float> out = run_shuffle(x, s, groups, ShuffleConvention::Paper);
        SCOPED_TRACE(testing::Message() << "groups " << groups);
        EXPECT_EQ(out, transpose_channels(x, s, groups, 12 / groups));
        // out[j*g + i] = in[i*n + j], checked on the channel indices themselves.
        int64_t n = 12 / groups;
        for (int64_t i = 0; i < groups; i++)
            for (int64_t j = 0; j < n; j++)
                EXPECT_EQ(shuffle_source_channel(ShuffleConvention::Paper, groups, 12, j * groups + i), i * n + j);
    }
    // A hand example: C = 6, g = 2 (n = 3): channels [a0 a1 a2 | b0 b1 b2] -> [a0 b0 a1 b1 a2 b2].
    Shape s = shape4(1, 6, 1, 1);
    EXPECT_EQ(run_shuffle({0, 1, 2, 10, 11, 12}, s, 2, ShuffleConvention::Paper),
              (std::vector<float>{0, 10, 1, 11, 2, 12}));
}

TEST(ReferenceShuffle, InverseConventionIsReshapeNgTransposeFlatten) {
    for (int64_t groups : {2, 3, 4, 6}) {
        Shape s = shape4(1, 12, 3, 2);
        std::vector<float> x = unit::random_values(static_cast<size_t>(s.elements()), 50 + static_cast<uint64_t>(groups));
        std::vector<float> out = run_shuffle(x, s, groups, ShuffleConvention::Inverse);
        SCOPED_TRACE(testing::Message() << "groups " << groups);
        int64_t n = 12 / groups;
        EXPECT_EQ(out, transpose_channels(x, s, n, groups));
        // out[b*n + a] = in[a*g + b].
        for (int64_t a = 0; a < n; a++)
            for (int64_t bb = 0; bb < groups; bb++)
                EXPECT_EQ(shuffle_source_channel(ShuffleConvention::Inverse, groups, 12, bb * n + a), a * groups + bb);
    }
    // C = 6, g = 2 (n = 3): channels [0 1 2 3 4 5] -> [0 2 4 1 3 5] (megvii's x.reshape(n, g) transpose).
    Shape s = shape4(1, 6, 1, 1);
    EXPECT_EQ(run_shuffle({0, 1, 2, 3, 4, 5}, s, 2, ShuffleConvention::Inverse), (std::vector<float>{0, 2, 4, 1, 3, 5}));
}

TEST(ReferenceShuffle, ConventionsAreInversePermutations) {
    for (int64_t groups : {2, 3, 4, 6}) {
        const int64_t C = 12;
        SCOPED_TRACE(testing::Message() << "groups " << groups);
        // As index maps: paper(inverse(c)) = c and inverse(paper(c)) = c.
        std::vector<bool> hit(C, false);
        for (int64_t c = 0; c < C; c++) {
            int64_t p = shuffle_source_channel(ShuffleConvention::Paper, groups, C, c);
            ASSERT_GE(p, 0);
            ASSERT_LT(p, C);
            hit[static_cast<size_t>(p)] = true;
            EXPECT_EQ(shuffle_source_channel(ShuffleConvention::Inverse, groups, C, p), c);
            EXPECT_EQ(shuffle_source_channel(ShuffleConvention::Paper, groups, C,
                                             shuffle_source_channel(ShuffleConvention::Inverse, groups, C, c)),
                      c);
        }
        for (int64_t c = 0; c < C; c++) EXPECT_TRUE(hit[static_cast<size_t>(c)]) << "paper shuffle misses channel " << c;

        // As graphs: one shuffle after the other gives the input back, in both orders;
        // and the two differ whenever g != n.
        Shape s = shape4(1, C, 2, 2);
        std::vector<float> x = unit::random_values(static_cast<size_t>(s.elements()), 60 + static_cast<uint64_t>(groups));
        for (auto first : {ShuffleConvention::Paper, ShuffleConvention::Inverse}) {
            auto second = first == ShuffleConvention::Paper ? ShuffleConvention::Inverse : ShuffleConvention::Paper;
            Graph g;
            GraphBuilder b(g);
            int in = b.input("input", s);
            g.output = b.shuffle("s2", b.shuffle("s1", in, groups, first), groups, second);
            EXPECT_EQ(run_reference(g, {}, x), x);
        }
        std::vector<float> p = run_shuffle(x, s, groups, ShuffleConvention::Paper);
        std::vector<float> q = run_shuffle(x, s, groups, ShuffleConvention::Inverse);
        EXPECT_NE(p, q);
        EXPECT_NE(p, x);
    }
    // With g == n the transpose is of a square matrix: both conventions coincide (and are involutions).
    Shape s = shape4(1, 9, 1, 2);
    std::vector<float> x = unit::random_values(18, 70);
    std::vector<float> p = run_shuffle(x, s, 3, ShuffleConvention::Paper);
    EXPECT_EQ(p, run_shuffle(x, s, 3, ShuffleConvention::Inverse));
    EXPECT_EQ(run_shuffle(p, s, 3, ShuffleConvention::Paper), x);
}

TEST(ReferenceShuffle, ComposedStepsInShuffledChannel) {
    // shuffled_channel applies the steps in order: step 1's source, then step 2's source of that.
    std::vector<ShuffleStep> steps = {{ShuffleConvention::Paper, 3, 12}, {ShuffleConvention::Inverse, 2, 12}};
    for (int64_t c = 0; c < 12; c++) {
        int64_t after_first = (c % 3) * 4 + c / 3;             // paper, g = 3, n = 4
        int64_t expected = (after_first % 6) * 2 + after_first / 6;  // inverse, g = 2, n = 6
        EXPECT_EQ(shuffled_channel(steps, c), expected) << "channel " << c;
    }
    EXPECT_EQ(shuffled_channel({}, 7), 7);
}

TEST(ReferenceConv, InputShufflesEqualExplicitShuffleBeforeConv) {
    // A conv with input_shuffles reads channel shuffled_channel(c): the same as a shuffle node before it.
    Shape s = shape4(1, 6, 3, 3);
    std::vector<float> x = unit::random_values(static_cast<size_t>(s.elements()), 80);
    Weights w;
    w["conv.weight"] = {{4, 3, 1, 1}, unit::random_values(12, 81)};
    for (auto conv_kind : {ShuffleConvention::Paper, ShuffleConvention::Inverse}) {
        Graph explicit_graph;
        GraphBuilder b(explicit_graph);
        int in = b.input("input", s);
        explicit_graph.output = b.conv("conv", b.shuffle("shuffle", in, 3, conv_kind), 4, Window::square(1, 1, 0), 2, false);

        Graph folded;
        GraphBuilder b2(folded);
        int in2 = b2.input("input", s);
        folded.output = b2.conv("conv", in2, 4, Window::square(1, 1, 0), 2, false);
        folded.nodes[folded.output].input_shuffles = {{conv_kind, 3, 6}};
        std::vector<float> a = run_reference(explicit_graph, w, x), c = run_reference(folded, w, x);
        EXPECT_LE(unit::max_abs_diff(a, c), 1e-6 * unit::max_abs(a));

        Graph plain;
        GraphBuilder b3(plain);
        plain.output = b3.conv("conv", b3.input("input", s), 4, Window::square(1, 1, 0), 2, false);
        EXPECT_GT(unit::max_abs_diff(a, run_reference(plain, w, x)), 1e-3) << "the shuffle must matter here";
    }
}

TEST(ReferenceOps, FusedReluOnConvDenseAdd) {
    Shape s = shape4(1, 2, 2, 2);
    std::vector<float> x = unit::random_values(8, 90);
    Graph g;
    GraphBuilder b(g);
    int in = b.input("input", s);
    int conv = b.conv("conv", in, 2, Window::square(1, 1, 0), 1, false);
    g.output = conv;
    Weights w;
    w["conv.weight"] = {{2, 2, 1, 1}, {1.0f, -1.0f, -2.0f, 0.5f}};
    std::vector<float> plain = run_reference(g, w, x);
    g.nodes[conv].activation = Activation::relu();
    std::vector<float> fused = run_reference(g, w, x);
    bool some_negative = false;
    for (size_t i = 0; i < plain.size(); i++) {
        some_negative = some_negative || plain[i] < 0;
        EXPECT_EQ(fused[i], std::max(plain[i], 0.0f));
    }
    EXPECT_TRUE(some_negative) << "the test input should produce negative conv outputs";
}
