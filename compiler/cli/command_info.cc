// shufflec info SPEC [--json]: the per-layer table (op, output shape, MACs, params) and totals.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "spec/spec_parser.h"
#include "util/error.h"

namespace shufflec {

int command_info(const std::vector<std::string> &argv) {
    Args args("info",
              {{"--json", "", "print a JSON object {name, input, output, macs, params, layers: [...]}"},
               {"--input-shape", "N,C,H,W", "override the spec's input shape"}},
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
    return 0;
}

}  // namespace shufflec
