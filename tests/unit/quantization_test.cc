// int8 post-training quantization (compiler/quantize/): which tensors are
// stored quantized, the rounding, per-channel weight scales, calibration
// against values computed here from the float reference, the simulated int8
// model, and the quantization file's errors.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "passes/passes.h"
#include "quantize/calibrate.h"
#include "quantize/quantization.h"
#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "unit_support.h"
#include "weights/weights.h"

using namespace shufflec;

namespace {

// Two stages of ShuffleNet V1 units (stride 2 then stride 1, g3) and a classifier, optimized.
struct TinyNet {
    Graph graph;
    Weights weights;
    TinyNet() {
        graph = parse_spec_text(R"({"format": "shufflec-spec/1", "name": "qtiny", "input": {"shape": [1, 3, 24, 20]},
            "family": {"name": "shufflenet_v1", "groups": 3, "scale": 0.5, "stage_repeats": [2, 1, 1],
                       "num_classes": 7}})",
                                "qtiny.json");
        weights = random_weights(graph, 3);
        optimize(graph, weights);
    }
    std::vector<float> input(uint64_t seed) const {
        return unit::random_values(static_cast<size_t>(graph.input().shape.elements()), seed, -2.0f, 2.0f);
    }
    int index(const std::string &name) const { return graph.find(name); }
    // Scales calibrated on two random inputs.
    Quantization quantization() const {
        Calibrator c(graph, weights, CalibrationOptions{});
        for (uint64_t seed : {1, 2}) c.add(input(seed));
        return c.finish();
    }
};

TEST(Quantization, RoundsHalfToEvenAndSaturates) {
    TensorQuant s = make_tensor_quant(12.7, false, -1, 1);  // scale 0.1, [-128, 127]
    EXPECT_DOUBLE_EQ(s.scale, 0.1);
    EXPECT_NEAR(fake_quantize(s, 0.25), 0.2, 1e-12);   // 2.5 -> 2
    EXPECT_NEAR(fake_quantize(s, 0.35), 0.4, 1e-12);   // 3.5 -> 4
    EXPECT_NEAR(fake_quantize(s, -0.25), -0.2, 1e-12);
    EXPECT_NEAR(fake_quantize(s, 100.0), 12.7, 1e-9);  // 127
    EXPECT_NEAR(fake_quantize(s, -100.0), -12.8, 1e-9);  // -128
    TensorQuant u = make_tensor_quant(25.5, true, 0, 1);  // scale 0.1, [0, 255]
    EXPECT_NEAR(fake_quantize(u, -0.3), 0.0, 1e-12);
    EXPECT_NEAR(fake_quantize(u, 30.0), 25.5, 1e-9);
    EXPECT_TRUE(std::isnan(fake_quantize(u, NAN)));
    EXPECT_EQ(make_tensor_quant(0, true, 0, 0).scale, 1.0);  // a tensor that was always zero
}

TEST(Quantization, TensorsReadOnlyByAddOrConcatAreNotStored) {
    TinyNet net;
    const Graph &g = net.graph;
    std::vector<QuantRole> roles = quant_roles(g);
    std::vector<std::vector<int>> consumers = g.consumers();
    int quantized = 0, unstored = 0;
    for (size_t i = 0; i < g.nodes.size(); i++) {
        const Node &n = g.nodes[i];
        bool into_merge = !consumers[i].empty();
        for (int r : consumers[i]) into_merge &= g.nodes[r].op == Op::Add || g.nodes[r].op == Op::Concat;
        // Without a quantization the network input stays float (a file gives it a scale: below).
        if (static_cast<int>(i) == g.output || n.op == Op::Input || n.op == Op::GlobalAvgPool || n.op == Op::Dense) {
            EXPECT_EQ(roles[i], QuantRole::Float) << n.name;
        } else if (into_merge) {
            EXPECT_EQ(roles[i], QuantRole::Unstored) << n.name;
            unstored++;
        } else {
            EXPECT_EQ(roles[i], QuantRole::Quantized) << n.name;
            quantized++;
        }
    }
    // Each stride-2 unit's conv3 and shortcut pool (into the concat), each stride-1 unit's conv3 (into the add).
    EXPECT_EQ(unstored, 3 * 2 + 1);
    EXPECT_GT(quantized, 10);
    // The stem reads the float input: it computes in float, unless the file
    // gives the input a scale (the calibrated one does: convs read it).
    ASSERT_GE(net.index("stem.conv"), 0);
    EXPECT_FALSE(quantized_conv(g, roles, Quantization{}, net.index("stem.conv")));
    EXPECT_TRUE(input_quantizable(g));
    Quantization q = net.quantization();
    std::vector<QuantRole> with_input = quant_roles(g, &q);
    EXPECT_EQ(with_input[0], QuantRole::Quantized);
    EXPECT_TRUE(quantized_conv(g, with_input, q, net.index("stem.conv")));
    // An input a residual add reads too stays float, whatever a file says.
    Graph unit = parse_spec_text(R"({"format": "shufflec-spec/1", "name": "u", "input": {"shape": [1, 12, 6, 6]},
        "layers": [{"op": "shufflenet_unit", "name": "u", "out_channels": 12, "groups": 3}]})", "u.json");
    Weights w = random_weights(unit, 1);
    optimize(unit, w);
    EXPECT_FALSE(input_quantizable(unit));
    Quantization scaled;
    scaled.tensors[unit.input().name] = make_tensor_quant(1.0, false, -1, 1);
    EXPECT_EQ(quant_roles(unit, &scaled)[0], QuantRole::Float);
    // ReLU'd tensors are unsigned; the depthwise conv's output (BN, no ReLU) and the input are signed.
    EXPECT_TRUE(never_negative(g, net.index("stage2.0.conv1")));
    EXPECT_FALSE(never_negative(g, net.index("stage2.0.dw")));
    EXPECT_FALSE(never_negative(g, 0));
    EXPECT_TRUE(never_negative(g, net.index("stage2.0")));  // concat(avgpool(relu'd), relu(branch))
}

// Every quantized conv's weights, and the FC's where the file says so
// (`shufflec quantize` does; "fc_weights": "float" keeps them): one scale
// per output channel, max |w| at 127 steps, every weight within half a step.
TEST(Quantization, WeightsGetOneScalePerOutputChannel) {
    TinyNet net;
    const Quantization calibrated = net.quantization();
    EXPECT_TRUE(calibrated.fc_int8_weights);
    for (bool fc_int8 : {true, false}) {
        Quantization quantization = calibrated;
        quantization.fc_int8_weights = fc_int8;
        Weights q = fake_quantize_weights(net.graph, net.weights, quantization);
        std::vector<QuantRole> roles = quant_roles(net.graph, &quantization);
        int convs = 0, fcs = 0;
        for (size_t i = 0; i < net.graph.nodes.size(); i++) {
            const Node &n = net.graph.nodes[i];
            if (n.op != Op::Conv && n.op != Op::Dense) continue;
            const Tensor &before = net.weights.at(n.param("weight")->tensor), &after = q.at(n.param("weight")->tensor);
            bool dense = n.op == Op::Dense;
            if (dense ? !fc_int8 : !quantized_conv(net.graph, roles, quantization, static_cast<int>(i))) {
                EXPECT_EQ(before.data, after.data) << n.name << " is not quantized";
                continue;
            }
            (dense ? fcs : convs)++;
            size_t per = before.data.size() / static_cast<size_t>(before.shape[0]);
            for (int64_t co = 0; co < before.shape[0]; co++) {
                double amax = 0;
                for (size_t j = 0; j < per; j++) amax = std::max(amax, std::fabs(double{before.data[co * per + j]}));
                double scale = amax / 127;
                for (size_t j = 0; j < per; j++) {
                    double w = before.data[co * per + j], v = after.data[co * per + j];
                    double steps = v / scale;
                    ASSERT_NEAR(steps, std::nearbyint(steps), 1e-3) << n.name << " channel " << co;
                    ASSERT_LE(std::fabs(v - w), scale / 2 * (1 + 1e-5)) << n.name;
                    if (std::fabs(w) == amax) {
                        ASSERT_NEAR(std::fabs(steps), 127, 1e-3) << n.name;
                    }
                }
            }
        }
        EXPECT_GT(convs, 9);  // every unit's three convs, and the stem (its input has a scale)
        EXPECT_EQ(fcs, fc_int8 ? 1 : 0);
    }
}

TEST(Quantization, CalibrationScalesComeFromTheFloatValues) {
    TinyNet net;
    std::vector<std::vector<float>> inputs = {net.input(1), net.input(2), net.input(3)};
    // Independently: every node's values on the three inputs.
    std::vector<double> lo(net.graph.nodes.size(), INFINITY), hi(net.graph.nodes.size(), -INFINITY);
    for (const auto &x : inputs) {
        auto all = run_reference_all(net.graph, net.weights, x);
        for (size_t i = 0; i < all.size(); i++)
            for (float v : all[i]) lo[i] = std::min(lo[i], double{v}), hi[i] = std::max(hi[i], double{v});
    }
    CalibrationOptions minmax;
    minmax.method = "minmax";
    Calibrator c(net.graph, net.weights, minmax);
    for (const auto &x : inputs) c.add(x);
    Quantization q = c.finish();
    EXPECT_EQ(q.images, 3);
    EXPECT_EQ(q.model, "qtiny");
    std::vector<QuantRole> roles = quant_roles(net.graph, &q);
    EXPECT_EQ(roles[0], QuantRole::Quantized) << "the input, read by the stem conv, takes a scale";
    for (size_t i = 0; i < net.graph.nodes.size(); i++) {
        const Node &n = net.graph.nodes[i];
        if (roles[i] != QuantRole::Quantized) {
            EXPECT_EQ(q.tensors.count(n.name), 0u) << n.name;
            continue;
        }
        const TensorQuant &t = q.tensors.at(n.name);
        EXPECT_NEAR(t.min, lo[i], 1e-6) << n.name;
        EXPECT_NEAR(t.max, hi[i], 1e-6) << n.name;
        EXPECT_EQ(t.is_unsigned, never_negative(net.graph, static_cast<int>(i))) << n.name;
        if (t.is_unsigned) {
            EXPECT_GE(lo[i], 0) << n.name;
        }
        if (n.op == Op::MaxPool) {
            EXPECT_EQ(t.scale, q.tensors.at(net.graph.nodes[n.inputs[0]].name).scale) << "max pool keeps its input's";
            continue;
        }
        double bound = t.is_unsigned ? hi[i] : std::max(-lo[i], hi[i]);
        EXPECT_NEAR(t.scale, bound / t.qmax(), 1e-6 * bound) << n.name;
    }
    // A percentile clips: never above the largest magnitude.
    Calibrator p(net.graph, net.weights, CalibrationOptions{"percentile", 99.0});
    for (const auto &x : inputs) p.add(x);
    Quantization qp = p.finish();
    int smaller = 0, max_pools = 0;
    for (const Node &n : net.graph.nodes)
        if (n.op == Op::MaxPool) {
            max_pools++;
            EXPECT_EQ(qp.tensors.at(n.name).scale, qp.tensors.at(net.graph.nodes[n.inputs[0]].name).scale)
                << "a max pool keeps its input's scale";
        }
    EXPECT_EQ(max_pools, 1);
    for (const auto &[name, t] : qp.tensors) {
        EXPECT_LE(t.scale, q.tensors.at(name).scale * (1 + 1e-9)) << name;
        smaller += t.scale < q.tensors.at(name).scale;
    }
    EXPECT_GT(smaller, 5);
    const std::string &input = net.graph.input().name;
    EXPECT_EQ(qp.tensors.at(input).scale, q.tensors.at(input).scale) << "the input is never clipped";
}

TEST(Quantization, SimulatedInt8ModelStaysCloseToFloat) {
    TinyNet net;
    Calibrator c(net.graph, net.weights, CalibrationOptions{});
    for (uint64_t s = 1; s <= 4; s++) c.add(net.input(s));
    Quantization q = c.finish();
    // Activation scales 4x coarser: more rounding noise.
    Quantization coarser = q;
    for (auto &[name, t] : coarser.tensors) t.scale = std::max(std::fabs(t.min), std::fabs(t.max)) * 4 / t.qmax();
    // Over 8 inputs (7 outputs each: one input's noise is a handful of values).
    double signal = 0, noise = 0, coarse_noise = 0;
    for (uint64_t seed = 9; seed < 17; seed++) {
        std::vector<float> x = net.input(seed);
        std::vector<float> ref = run_reference(net.graph, net.weights, x);
        std::vector<float> int8 = run_reference_quantized(net.graph, net.weights, q, x);
        std::vector<float> coarse = run_reference_quantized(net.graph, net.weights, coarser, x);
        for (size_t i = 0; i < ref.size(); i++) {
            signal += double{ref[i]} * ref[i];
            noise += std::pow(ref[i] - int8[i], 2);
            coarse_noise += std::pow(ref[i] - coarse[i], 2);
        }
    }
    double snr_db = 10 * std::log10(signal / noise);
    EXPECT_GT(snr_db, 25) << "int8 simulation far from float";
    EXPECT_LT(snr_db, 80) << "nothing was quantized";
    EXPECT_GT(coarse_noise, noise) << "4x coarser activation scales must cost accuracy";
}

TEST(Quantization, FileRoundTripsAndErrorsNameThePlace) {
    TinyNet net;
    Calibrator c(net.graph, net.weights, CalibrationOptions{});
    c.add(net.input(1));
    Quantization q = c.finish();
    std::string text = quantization_to_json(q, net.graph);
    Quantization back = parse_quantization_text(text, "q.json");
    EXPECT_EQ(back.model, "qtiny");
    EXPECT_EQ(back.method, "percentile");
    EXPECT_TRUE(back.fc_int8_weights);
    EXPECT_FALSE(parse_quantization_text(R"({"format": "shufflec-quantization/1", "model": "m", "tensors": {}})", "old.json")
                     .fc_int8_weights);  // files from before the field: float FCs
    ASSERT_EQ(back.tensors.size(), q.tensors.size());
    for (const auto &[name, t] : q.tensors) {
        EXPECT_DOUBLE_EQ(back.tensors.at(name).scale, t.scale) << name;
        EXPECT_EQ(back.tensors.at(name).is_unsigned, t.is_unsigned) << name;
    }
    check_quantization(net.graph, back, "q.json");

    struct Case {
        std::string text, expected;
    };
    const Case cases[] = {
        {R"({"format": "other/1", "model": "m", "tensors": {}})", "q.json: $.format: unsupported format"},
        {R"({"format": "shufflec-quantization/1", "model": "m", "tensors": {"a": {"dtype": "int4", "scale": 1}}})",
         "$.tensors.a.dtype"},
        {R"({"format": "shufflec-quantization/1", "model": "m", "tensors": {"a": {"dtype": "int8", "scale": -1}}})",
         "$.tensors.a.scale"},
        {R"({"format": "shufflec-quantization/1", "model": "m", "tensors": {"a": {"scale": 1}}})",
         "$.tensors.a: missing field \"dtype\""},
        {R"({"format": "shufflec-quantization/1", "model": "m", "tensors": {}, "extra": 1})", "$.extra"},
        {R"({"format": "shufflec-quantization/1", "model": "m"})", "tensors"},
        {R"({"format": "shufflec-quantization/1", "model": "m", "fc_weights": "int4", "tensors": {}})", "$.fc_weights"},
    };
    for (const auto &k : cases) {
        std::string message = unit::error_of([&] { parse_quantization_text(k.text, "q.json"); });
        EXPECT_NE(message.find(k.expected), std::string::npos) << message;
        EXPECT_EQ(message.rfind("q.json", 0), 0u) << message;
    }

    // Made for another model, or a signed tensor declared unsigned: errors before any use.
    Quantization missing = q;
    missing.tensors.erase("stage2.0.dw");
    EXPECT_NE(unit::error_of([&] { check_quantization(net.graph, missing, "q.json"); }).find("stage2.0.dw"),
              std::string::npos);
    Quantization unsigned_dw = q;
    unsigned_dw.tensors["stage2.0.dw"].is_unsigned = true;
    EXPECT_NE(unit::error_of([&] { check_quantization(net.graph, unsigned_dw, "q.json"); }).find("can be negative"),
              std::string::npos);
    Quantization extra = q;
    extra.tensors["fc"] = q.tensors.begin()->second;
    EXPECT_NE(unit::error_of([&] { check_quantization(net.graph, extra, "q.json"); }).find("not stored quantized"),
              std::string::npos);
}

}  // namespace
