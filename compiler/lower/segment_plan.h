// How an optimized graph becomes a sequence of Halide pipelines ("segments")
// and where every tensor that crosses a segment boundary lives.
//
// Granularity: one segment per unit (a node's `block`: the structural unit
// passes/mark_units finds, or the spec entry before the passes ran), and runs
// of plain layers grouped up to a few convolutions. Segments share one
// Halide runtime and compile independently, which keeps compile time linear in
// the number of units (one big pipeline grows superlinearly, see
// docs/design.md), and the whole unit stays one fusable loop nest.
//
// Memory: materialized tensors live in one arena whose offsets are planned at
// compile time from tensor lifetimes (no allocation per call). A concat whose
// inputs are all materialized is never copied: each input is written straight
// into its channel range of the concat's storage (a "view").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace shufflec {

// Where a materialized tensor's elements are, as halide_buffer_t dims
// (c, x, y, n) with c innermost unless it is the network input or output.
struct Placement {
    enum Kind { None, Input, Output, Arena } kind = None;
    // In elements of the storage's type (storage_element): from the arena's
    // start (Arena) or within the input/output.
    int64_t offset = 0;
    int64_t stride[4] = {0, 0, 0, 0};  // strides of (c, x, y, n) in elements
};

// How a node's value is represented in an int8 model (docs/quantization.md):
// integers of one scale (real value = q * scale; zero point 0), or float.
struct ValueQuant {
    bool quantized = false;
    bool is_unsigned = false;  // uint8 [0, 255], else int8 [-128, 127]
    double scale = 0;
};

// The element type of a buffer.
// I16: only the weights' view of an int8 model whose 1x1 convs sum pairs of
// 16-bit products (weight_packing.h: PackedWeights::pair_weights).
enum class Element { F32, F16, BF16, I8, U8, I16 };

// What a plan computes in: fp32; int8 (with a quantization, checked against
// the graph: quantized tensors are stored as 8-bit integers in the arena);
// fp16 or bf16 (docs/quantization.md): every value rounded to that 16-bit
// float where it is computed and stored so in the arena.
enum class Precision { FP32, Int8, FP16, BF16 };
int element_bytes(Element e);

struct Segment {
    std::string name;             // C-identifier suffix, e.g. "stage2_0"
    std::string block;            // the unit it computes (schedules and profiles name it so)
    std::vector<int> nodes;       // computed here, topological order
    std::vector<int> inputs;      // materialized tensors it reads
    std::vector<int> outputs;     // tensors it writes
};

// Channel grouping of a node's value: 0, or g such that the lowering computes
// it over (k, g', x, y, n) with channel c = g' * g + k. A grouped conv's output
// is grouped by its output channels per group; per-channel ops keep their
// input's grouping. Vectors then run along k inside one group, whatever the
// group size (20, 45, 17...), and no index ever needs c / g on a vector.
int64_t value_grouping(const Graph &graph, const std::vector<int64_t> &groupings, int node);

struct SegmentPlan {
    std::vector<Segment> segments;
    std::vector<int64_t> grouping;     // per node, see value_grouping
    std::vector<Placement> placement;  // per node; kind None = never materialized
    std::vector<bool> concat_view;     // per node: a concat realized by writing its inputs in place
    int64_t arena_floats = 0;
    // Which segment computes each node (-1 for the input and for view concats).
    std::vector<int> segment_of;
    // int8 models: per node, its value's representation (a view concat's
    // inputs take the concat's), and whether a conv multiplies integers
    // (quantize/quantization.h: quantized_conv). Empty for a float model.
    std::vector<ValueQuant> quant;
    std::vector<bool> int8_conv;
    bool fc_int8_weights = false;  // Quantization::fc_int8_weights
    bool int8() const { return !quant.empty(); }
    Precision precision = Precision::FP32;
    // fp16: convolutions multiply and accumulate in halves. bf16: they multiply
    // bfloat16 values and accumulate in float32 (pairs per lane: vdpbf16ps).
    bool fp16() const { return precision == Precision::FP16; }
    bool bf16() const { return precision == Precision::BF16; }
    // The 16-bit float of an fp16 or bf16 model's values (F32 otherwise).
    Element float_element() const { return fp16() ? Element::F16 : bf16() ? Element::BF16 : Element::F32; }
};

// Pipeline granularity: one pipeline per unit (the default, see above), or the
// whole network as one pipeline (measured in docs/design.md: compile time grows
// superlinearly and the run is no faster).
enum class Granularity { Unit, Network };

struct Quantization;  // quantize/quantization.h

SegmentPlan plan_segments(const Graph &graph, Granularity granularity = Granularity::Unit,
                          const Quantization *quantization = nullptr, Precision precision = Precision::FP32);

// "fp32", "int8", "fp16" or "bf16".
const char *precision_name(const SegmentPlan &plan);

// The element type of a materialized tensor's storage: the app's input and
// output are float; arena tensors are 8-bit when their value is quantized,
// 16-bit floats in an fp16 or bf16 model.
Element storage_element(const SegmentPlan &plan, int node);

// A C identifier made from a node or block name ("stage2.0" -> "stage2_0").
std::string c_identifier(const std::string &name);

// A materialized tensor's buffer as the pipelines see it, in halide_buffer_t
// dimension order: (c, x, y, n), or (k, g, x, y, n) for a tensor a pipeline
// writes grouped (`grouped` and the plan groups it). The one description of a
// buffer: the lowering constrains its arguments to it, the glue builds its
// halide_buffer_t from it, unit benchmarks allocate it, workload keys name it.
struct BufferLayout {
    std::vector<int64_t> extent, stride;
    Element element = Element::F32;
};
BufferLayout buffer_layout(const Graph &graph, const SegmentPlan &plan, int node, bool grouped);
// The buffer arguments of a segment's pipeline after the weights and the
// thread count: its inputs (as (c, x, y, n)), then its outputs (grouped if
// written grouped).
std::vector<BufferLayout> segment_buffer_layouts(const Graph &graph, const SegmentPlan &plan, int segment);

}  // namespace shufflec
