// shufflec info SPEC [--json] [--quantization Q.json]: the per-layer table (op,
// output shape, MACs, params) and totals; with a quantization file, what the
// int8 model computes in integers and what in float, per node after the passes.
#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "passes/passes.h"
#include "quantize/quantization.h"
#include "spec/spec_parser.h"
#include "util/error.h"
#include "weights/weights.h"

namespace shufflec {

namespace {

// Per node of the optimized graph: integer or float arithmetic, and how its
// output is stored ("uint8 x 0.0207", "float", "unstored": read only by an add or concat).
nlohmann::json int8_summary(const Graph &spec_graph, const std::string &path) {
    Graph graph = spec_graph;
    Weights weights = random_weights(graph, 1);  // the passes need weights; their values do not matter here
    optimize(graph, weights);
    Quantization q = load_quantization(path);
    check_quantization(graph, q, path);
    std::vector<QuantRole> roles = quant_roles(graph, &q);
    nlohmann::json nodes = nlohmann::json::array();
    int64_t macs = 0, int8_macs = 0, convs = 0, int8_convs = 0;
    for (size_t i = 0; i < graph.nodes.size(); i++) {  // the input too: int8 or float
        const Node &node = graph.nodes[i];
        int64_t m = node_stats(graph, node).macs;
        bool integer = quantized_conv(graph, roles, q, static_cast<int>(i));
        macs += m;
        if (node.op == Op::Conv) convs++, int8_convs += integer ? 1 : 0, int8_macs += integer ? m : 0;
        std::string stored = "float";
        if (roles[i] == QuantRole::Unstored) stored = "unstored";
        if (roles[i] == QuantRole::Quantized) {
            const TensorQuant &t = q.tensors.at(node.name);
            stored = cat(t.is_unsigned ? "uint8" : "int8", " x ", t.scale);
        }
        // FCs: float sums, of int8 weights where the file says so (Quantization::fc_int8_weights).
        std::string compute = node.op == Op::Dense ? (q.fc_int8_weights ? "float (int8 weights)" : "float")
                              : node.op != Op::Conv ? "-"
                              : integer             ? "int8"
                                                    : "float";
        nodes.push_back({{"name", node.name}, {"op", op_name(node.op)}, {"macs", m}, {"compute", compute}, {"stored", stored}});
    }
    return {{"nodes", nodes}, {"macs", macs}, {"int8_macs", int8_macs}, {"convs", convs}, {"int8_convs", int8_convs}};
}

}  // namespace

int command_info(const std::vector<std::string> &argv) {
    Args args("info",
              {{"--json", "", "print a JSON object {name, input, output, macs, params, layers: [...]}"},
               {"--input-shape", "N,C,H,W", "override the spec's input shape"},
               {"--quantization", "Q.json", "also show the int8 model of these scales: per node after the passes, "
                                            "integer or float arithmetic and the stored type"}},
              {"SPEC"});
    if (!args.parse(argv)) {
        std::printf("%s\nPrints the layers of SPEC with output shapes, multiply-accumulates and parameters.\n",
                    args.usage().c_str());
        return 0;
    }
    SpecOptions options;
    if (args.has("--input-shape")) options.input_shape = parse_shape_arg(args.get("--input-shape"), "--input-shape");
    Graph graph = load_spec(args.positional()[0], options);
    LayerStats total = graph_stats(graph);
    const Shape &in = graph.input().shape;

    nlohmann::json int8;
    if (args.has("--quantization")) int8 = int8_summary(graph, args.get("--quantization"));
    if (args.has("--json")) {
        nlohmann::json layers = nlohmann::json::array();
        for (const auto &node : graph.nodes) {
            LayerStats st = node_stats(graph, node);
            nlohmann::json inputs = nlohmann::json::array();
            for (int i : node.inputs) inputs.push_back(graph.nodes[i].name);
            layers.push_back({{"name", node.name}, {"op", op_name(node.op)}, {"inputs", inputs},
                              {"shape", node.shape.dims()}, {"macs", st.macs}, {"params", st.params},
                              {"block", node.block}});
        }
        nlohmann::json out = {{"name", graph.name},
                              {"input", in.dims()},
                              {"output", graph.output_node().shape.dims()},
                              {"macs", total.macs},
                              {"macs_per_image", total.macs / in.n},
                              {"params", total.params},
                              {"layers", layers}};
        if (graph.preprocess.enabled) out["preprocess"] = describe(graph.preprocess);
        if (!int8.is_null()) out["int8"] = int8;
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("%s: input %s, output %s\n", graph.name.c_str(), to_string(in).c_str(),
                to_string(graph.output_node().shape).c_str());
    if (graph.preprocess.enabled)
        std::printf("preprocess (NAME_run_rgb8): %s\n", describe(graph.preprocess).c_str());
    std::printf("\n");
    std::printf("%-28s %-16s %-18s %12s %10s\n", "layer", "op", "output", "MACs", "params");
    for (const auto &node : graph.nodes) {
        LayerStats st = node_stats(graph, node);
        std::printf("%-28s %-16s %-18s %12lld %10lld\n", node.name.c_str(), op_name(node.op),
                    to_string(node.shape).c_str(), static_cast<long long>(st.macs),
                    static_cast<long long>(st.params));
    }
    std::printf("\ntotal: %.2f M MACs per image (batch %lld), %.3f M params, %zu nodes\n",
                static_cast<double>(total.macs) / static_cast<double>(in.n) / 1e6, static_cast<long long>(in.n),
                static_cast<double>(total.params) / 1e6, graph.nodes.size());
    if (!int8.is_null()) {
        std::printf("\nint8 (%s), after the passes:\n%-28s %-16s %12s  %-8s %s\n", args.get("--quantization").c_str(),
                    "node", "op", "MACs", "compute", "stored");
        for (const auto &n : int8["nodes"])
            std::printf("%-28s %-16s %12lld  %-8s %s\n", n["name"].get<std::string>().c_str(),
                        n["op"].get<std::string>().c_str(), static_cast<long long>(n["macs"].get<int64_t>()),
                        n["compute"].get<std::string>().c_str(), n["stored"].get<std::string>().c_str());
        std::printf("integer arithmetic: %.1f%% of the MACs (%lld of %lld convs)\n",
                    100.0 * int8["int8_macs"].get<double>() / std::max(1.0, int8["macs"].get<double>()),
                    static_cast<long long>(int8["int8_convs"].get<int64_t>()),
                    static_cast<long long>(int8["convs"].get<int64_t>()));
    }
    return 0;
}

}  // namespace shufflec
