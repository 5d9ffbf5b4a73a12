// Post-training int8 quantization of an optimized graph (docs/quantization.md).
//
// The scheme (TFLite's and ONNX Runtime's QDQ conventions, zero points 0):
//   weights      of every conv that reads a quantized tensor: int8, symmetric,
//                one scale per output channel (max |w| / 127), after BatchNorm folding;
//   activations  one scale per tensor from calibration: uint8 [0, 255] where the
//                tensor cannot be negative (a fused ReLU, pools and concats of such),
//                else int8 [-128, 127]; q = clamp(round_half_even(x / scale));
//   accumulation int32 (exact), then a float epilogue: bias, activation, the
//                residual add, and the rounding to the output's scale;
//   FCs          int8 weights per output channel (as the convs'), float inputs,
//                sums and bias: a quarter of the float weights' bytes
//                (Quantization::fc_int8_weights);
//   input        int8 at a calibrated scale (the app's floats rounded as the
//                stem reads them), so the stem multiplies integers too;
//   not quantized: global pools and elementwise ops other than add (they
//                read dequantized values and compute in float).
// A tensor read only by an add or a concat is never stored on its own (the
// compiled code writes the sum, or writes into the concat's buffer), so it takes
// no scale: the add or concat quantizes. A channel shuffle is a permutation, so
// folding it into a conv's indexing is exact in int8 too.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "reference/interpreter.h"
#include "weights/weights.h"

namespace shufflec {

inline constexpr const char *kQuantizationFormat = "shufflec-quantization/1";

struct TensorQuant {
    double scale = 0;         // real value = q * scale
    bool is_unsigned = false; // uint8 [0, 255], else int8 [-128, 127]
    double min = 0, max = 0;  // the calibration data's range (information)
    int qmin() const { return is_unsigned ? 0 : -128; }
    int qmax() const { return is_unsigned ? 255 : 127; }
};

struct Quantization {
    std::string model;    // the spec's name
    std::string method;   // "minmax", "percentile" or "qdq" (read from a QDQ ONNX model)
    double percentile = 0;
    int64_t images = 0;   // calibration images
    std::map<std::string, TensorQuant> tensors;  // by node name in the optimized graph
    // Fully connected layers take int8 weights per output channel (float
    // inputs and sums): `shufflec quantize` sets it ("fc_weights": "int8"); a
    // file without the field (before 2026-12-07) or an imported QDQ model
    // keeps them float.
    bool fc_int8_weights = false;
};

// What quantization does to each node of an optimized graph.
enum class QuantRole {
    Float,      // computed and stored in float (not quantized)
    Quantized,  // its output is stored quantized with its own scale
    Unstored,   // read only by an add or a concat, which quantizes
};
// With `q`, a tensor read only by adds and concats that `q` gives a scale
// (`shufflec quantize --every-tensor`, or an imported QDQ model) is Quantized:
// rounded to its scale before the add or concat reads it, as in ONNX Runtime's
// QDQ models, where every conv's output is quantized.
std::vector<QuantRole> quant_roles(const Graph &graph, const Quantization *q = nullptr);
// Whether the network input may be stored quantized: convs read it, each
// whole (the stem). Its scale is then in the quantization file (`shufflec
// quantize` writes one unless --float-input); a file without one keeps the
// input and the stem float (files from before the twenty-third session, 2026-12-07).
bool input_quantizable(const Graph &graph);
// Whether a node's output is >= 0 by construction (so stored as uint8).
bool never_negative(const Graph &graph, int node);
// Whether a conv multiplies integers: it reads one quantized tensor, whole, or
// parts of several quantized tensors of one scale and type (ShuffleNet V2's
// folded channel split; calibration gives them one scale). Its weights are
// quantized; other convs compute in float.
bool quantized_conv(const Graph &graph, const std::vector<QuantRole> &roles, const Quantization &q, int node);
// The tensor whose stored integers `node` reads: itself, or for a slice (of a
// slice...) its source, whose integers and scale a slice keeps (ShuffleNet V2's
// split depthwise convs read slices of quantized tensors).
int stored_source(const Graph &graph, int node);

// The scale of a tensor whose calibrated magnitude is `bound` (its max for
// uint8, its max |x| for int8); a tensor that was always zero gets scale 1.
TensorQuant make_tensor_quant(double bound, bool is_unsigned, double min, double max);
// x rounded (half to even) to the nearest representable value of q, in real units.
double fake_quantize(const TensorQuant &q, double x);

// A conv weight tensor's per-output-channel scales (max |w| / 127; 1 for an
// all-zero channel) and one weight's integer (round half to even, [-127, 127]).
std::vector<double> weight_channel_scales(const Tensor &w);
int quantize_weight(double w, double scale);
// An int8 conv's bias is an int32 at scale input scale x weight scale[c]
// (TFLite's and ONNX Runtime's convention): its integer, and the real value
// the int8 model adds (bias rounded to that step; the compiled epilogue adds
// it in float).
int32_t quantize_bias(double b, double scale);
float quantized_bias(double b, double scale);

// The quantized weights of every quantized conv and (fc_int8_weights) every FC, back in float
// (w = q * scale, one scale per output channel), and the quantized convs'
// biases rounded (quantized_bias): what the int8 model computes with.
Weights fake_quantize_weights(const Graph &graph, const Weights &weights, const Quantization &q);

// Checks that `q` belongs to `graph` (every quantized tensor has a scale, no
// scale names an unknown tensor); errors name `source`.
void check_quantization(const Graph &graph, const Quantization &q, const std::string &source);

// The int8 model simulated by the reference interpreter: quantized weights,
// and every quantized tensor rounded to its scale where it is stored. Returns
// the output (float, like the compiled model's).
// `observe` (if given) sees every node's value as the int8 model has it.
std::vector<float> run_reference_quantized(const Graph &graph, const Weights &weights, const Quantization &q,
                                           const std::vector<float> &input, const NodeHook &observe = nullptr);

// The fp16 model (--precision fp16) simulated by the reference interpreter:
// conv weights and biases rounded to halves, every node's value (the input
// too) rounded to a half where it is computed. The compiled model also
// multiplies and accumulates its convolutions in halves, which this (double
// sums) does not: they agree to about the halves' precision, not exactly.
std::vector<float> run_reference_fp16(const Graph &graph, const Weights &weights, const std::vector<float> &input,
                                      const NodeHook &observe = nullptr);
// The bf16 model (--precision bf16) the same way with bfloat16: conv weights
// (not biases: the compiled convs start their float32 sums at them) and every
// value rounded to bfloat16. The compiled model sums float32 products, close to
// this one's double sums.
std::vector<float> run_reference_bf16(const Graph &graph, const Weights &weights, const std::vector<float> &input,
                                      const NodeHook &observe = nullptr);

// The quantization of an optimized graph from scales given per tensor of the
// unoptimized one (an imported QDQ model's QuantizeLinear scales, by spec
// layer): each node takes the scale of the last tensor the passes folded into
// it (Node::aliases: a fused ReLU's over its conv's), else its own. Scales of
// tensors shufflec computes in float are dropped; a max pool without one keeps
// its input's. Fails, naming `source`, where a tensor shufflec stores in int8
// has none.
Quantization quantization_from_layers(const Graph &graph, const std::map<std::string, TensorQuant> &by_layer,
                                      const std::string &source);

// The JSON file (format kQuantizationFormat): read (errors name the JSON path
// in `source`) and written.
Quantization parse_quantization_text(const std::string &text, const std::string &source);
Quantization load_quantization(const std::string &path);
std::string quantization_to_json(const Quantization &q, const Graph &graph);  // tensors in graph order

}  // namespace shufflec
