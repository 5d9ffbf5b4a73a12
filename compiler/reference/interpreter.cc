#include "reference/interpreter.h"

#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

namespace {

using Buffer = std::vector<float>;

Buffer evaluate(const Graph &graph, const Node &node, const std::vector<Buffer> &values, const Weights &w) {
    const OpDef &def = op_def(node.op);
    if (!def.reference) internal_error(def.name, " has no reference implementation");
    std::vector<RefTensor> inputs;
    for (int in : node.inputs) inputs.push_back({&graph.nodes[in].shape, &values[in]});
    for (const auto &p : node.params)
        if (!w.count(p.tensor)) fail("reference interpreter: missing tensor '", p.tensor, "'");
    return def.reference(graph, node, inputs, w);
}

void check_input(const Graph &graph, const std::vector<float> &input) {
    if (static_cast<int64_t>(input.size()) != graph.input().shape.elements())
        fail("reference interpreter: input has ", input.size(), " values, the graph's input ",
             to_string(graph.input().shape), " needs ", graph.input().shape.elements());
}

}  // namespace

std::vector<std::vector<float>> run_reference_all(const Graph &graph, const Weights &weights,
                                                  const std::vector<float> &input) {
    check_input(graph, input);
    std::vector<Buffer> values(graph.nodes.size());
    values[0] = input;
    for (size_t i = 1; i < graph.nodes.size(); i++) values[i] = evaluate(graph, graph.nodes[i], values, weights);
    return values;
}

std::vector<float> run_reference(const Graph &graph, const Weights &weights, const std::vector<float> &input,
                                 const NodeHook &hook) {
    // Keep only what later nodes still need, so large inputs stay within memory.
    check_input(graph, input);
    std::vector<int> last_use(graph.nodes.size(), -1);
    for (size_t i = 0; i < graph.nodes.size(); i++)
        for (int in : graph.nodes[i].inputs) last_use[in] = static_cast<int>(i);
    std::vector<Buffer> values(graph.nodes.size());
    values[0] = input;
    if (hook) hook(0, values[0]);
    for (size_t i = 1; i < graph.nodes.size(); i++) {
        values[i] = evaluate(graph, graph.nodes[i], values, weights);
        if (hook) hook(static_cast<int>(i), values[i]);
        for (int in : graph.nodes[i].inputs)
            if (last_use[in] == static_cast<int>(i) && in != graph.output) Buffer().swap(values[in]);
    }
    return values[graph.output];
}

}  // namespace shufflec
