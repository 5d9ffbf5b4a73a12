// One home per op: everything the compiler knows about a primitive op of the
// graph IR, gathered in compiler/ops/<op>.cc and registered in registry.cc.
//
//   spec      the "op" name, its fields (parsed with JSON-path errors), inputs
//   graph     the shape rule (and the shapes of its weight tensors), MACs, params
//   reference plain loops in double precision: the oracle for compiled code
//   packing   how its weights are laid out in the model's weights blob
//   lowering  its Halide algorithm (schedules are applied elsewhere)
//   ONNX      the ONNX op types it imports from
//
// Adding an op means one new file here (listed in compiler/CMakeLists.txt),
// two lines in registry.cc, the enum value in graph.h, and its tests
// (OpRegistry.EveryOpIsComplete checks every Op value has one definition). Passes that fuse or fold pairs of ops (fold
// BatchNorm into convs, fuse activations) name the ops they rewrite.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "spec/json_view.h"
#include "weights/weights.h"

namespace shufflec {

class Lowering;       // lower/lower_segment.h
class WeightPacker;   // lower/weight_packing.h
class OnnxNodeImport; // ops/onnx_node_import.h

// A reference input: its shape and values (NCHW).
struct RefTensor {
    const Shape *shape;
    const std::vector<float> *data;
    float at(int64_t n, int64_t c, int64_t y, int64_t x) const {
        return (*data)[static_cast<size_t>(((n * shape->c + c) * shape->h + y) * shape->w + x)];
    }
};

struct OpDef {
    Op op = Op::Input;
    const char *name = "";  // in specs ("op") and messages

    // Spec: the fields an entry may have besides op, name, input and inputs,
    // how many inputs it takes, and how its fields become node attributes.
    std::vector<std::string> fields;
    size_t min_inputs = 1, max_inputs = 1;
    void (*parse)(const JsonView &entry, Node &node) = nullptr;
    // The weight tensors it reads, by role ("weight", "bias", ...).
    std::vector<std::string> (*params)(const Node &node) = nullptr;

    // Graph: the output shape from the inputs' (errors name the node's spec
    // origin), also setting its parameters' shapes; MACs and parameter count.
    Shape (*infer)(const Graph &graph, Node &node) = nullptr;
    LayerStats (*stats)(const Graph &graph, const Node &node) = nullptr;

    // The oracle: the node's output from its inputs' values.
    std::vector<float> (*reference)(const Graph &graph, const Node &node, const std::vector<RefTensor> &inputs,
                                    const Weights &weights) = nullptr;

    // Lowering: the channel grouping of its value (lower/segment_plan.h; null:
    // none), its weights in the blob, its Halide Funcs.
    int64_t (*grouping)(const Graph &graph, const std::vector<int64_t> &groupings, const Node &node) = nullptr;
    void (*pack)(WeightPacker &packer, int node) = nullptr;
    void (*lower)(Lowering &lowering, int node) = nullptr;

    // ONNX: the op types it imports (import/onnx_import.cc dispatches here).
    std::vector<std::string> onnx_ops;
    void (*import_onnx)(OnnxNodeImport &node) = nullptr;
};

// The definition of an op; the op with this spec name (nullptr if none).
const OpDef &op_def(Op op);
const OpDef *find_op(const std::string &spec_name);
const std::vector<const OpDef *> &all_ops();

// A node's fused activation (passes: fuse_activations) applied to a value.
inline float apply_activation(const Node &node, float v) {
    if (!node.activation.enabled) return v;
    return v < node.activation.lo ? node.activation.lo : v > node.activation.hi ? node.activation.hi : v;
}

// The shape rule of elementwise ops: the first input's shape.
Shape same_shape(const Graph &graph, Node &node);

// Groupings most ops share: none, or the first input's (per-channel ops).
int64_t no_grouping(const Graph &graph, const std::vector<int64_t> &groupings, const Node &node);
int64_t input_grouping(const Graph &graph, const std::vector<int64_t> &groupings, const Node &node);

}  // namespace shufflec
