// shufflec run SPEC --input X.npy -o Y.npy [--dump DIR]: the reference interpreter on one input.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "passes/passes.h"
#include "quantize/quantization.h"
#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/npy.h"
#include "weights/weights.h"

namespace shufflec {

int command_run(const std::vector<std::string> &argv) {
    Args args("run",
              {{"--weights", "FILE", "safetensors weights (default: the spec's \"weights\" file)"},
               {"--random-weights", "SEED", "use deterministic random weights instead"},
               {"--input", "X.npy", "input tensor, float32 NCHW; its batch and resolution are used"},
               {"--quantization", "Q.json", "simulate the int8 model of `shufflec quantize`'s parameters: quantized "
                                            "weights, every stored tensor rounded to its scale"},
               {"--precision", "P", "fp32 (default), int8 (with --quantization, its default), fp16 or bf16: "
                                    "simulate that model (conv weights and every value rounded to halves or "
                                    "bfloat16; sums in double)"},
               {"--dump", "DIR", "also write every tensor computed: DIR/0000.npy ... in node order and "
                                 "DIR/index.json (name, op, shape of each); with --quantization or --precision "
                                 "fp16/bf16 the nodes after the passes, as that model rounds them"},
               {"-o", "Y.npy", "where to write the output tensor"}},
              {"SPEC"});
    if (!args.parse(argv)) {
        std::printf("%s\nRuns SPEC with the reference interpreter (plain C++ loops, the oracle for compiled code).\n",
                    args.usage().c_str());
        return 0;
    }
    if (!args.has("--input")) fail("run: missing --input X.npy");
    if (!args.has("-o")) fail("run: missing -o Y.npy");
    std::string precision = args.get("--precision", args.has("--quantization") ? "int8" : "fp32");
    if (precision != "fp32" && precision != "int8" && precision != "fp16" && precision != "bf16")
        fail("--precision: expected fp32, int8, fp16 or bf16, got ", in_quotes(precision));
    if ((precision == "int8") != args.has("--quantization"))
        fail(precision == "int8" ? "--precision int8: missing --quantization Q.json"
                                 : "--quantization: only with --precision int8");
    NpyArray x = read_npy(args.get("--input"));
    if (x.shape.size() != 4)
        fail(args.get("--input"), ": expected a 4-D NCHW tensor, got ", x.shape.size(), " dimensions");
    SpecOptions options;
    options.input_shape = Shape{x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
    Graph graph = load_spec(args.positional()[0]);
    if (graph.input().shape.c != x.shape[1])
        fail(args.get("--input"), ": has ", x.shape[1], " channels, the spec's input has ", graph.input().shape.c);
    try {
        set_input_shape(graph, *options.input_shape);
    } catch (const Error &e) {
        fail("input shape ", to_string(*options.input_shape), " from ", args.get("--input"),
             " does not fit the network: ", e.what());
    }
    Weights weights = resolve_weights(graph, args.get("--weights"), args.get("--random-weights"));
    std::vector<float> y;
    nlohmann::ordered_json index = nlohmann::ordered_json::array();
    NodeHook dump;
    if (args.has("--dump")) {
        make_folders(args.get("--dump"));
        dump = [&](int node, std::vector<float> &value) {
            // File names from the node's position, never from its (spec-given) name.
            char file[16];
            std::snprintf(file, sizeof file, "%04d.npy", node);
            const Node &n = graph.nodes[static_cast<size_t>(node)];
            write_npy(join_path(args.get("--dump"), file), n.shape.dims(), value.data());
            index.push_back({{"file", file}, {"name", n.name}, {"op", op_name(n.op)}, {"shape", n.shape.dims()}});
        };
    }
    if (args.has("--quantization")) {
        Quantization q = load_quantization(args.get("--quantization"));
        optimize(graph, weights);
        check_quantization(graph, q, args.get("--quantization"));
        y = run_reference_quantized(graph, weights, q, x.data, dump);
    } else if (precision == "fp16" || precision == "bf16") {
        optimize(graph, weights);
        y = precision == "fp16" ? run_reference_fp16(graph, weights, x.data, dump)
                                : run_reference_bf16(graph, weights, x.data, dump);
    } else {
        y = run_reference(graph, weights, x.data, dump);
    }
    if (dump) {
        std::string text = "[\n";
        for (size_t i = 0; i < index.size(); i++) text += " " + index[i].dump() + (i + 1 < index.size() ? ",\n" : "\n");
        write_file_atomic(join_path(args.get("--dump"), "index.json"), text + "]\n");
    }
    write_npy(args.get("-o"), graph.output_node().shape.dims(), y.data());
    return 0;
}

}  // namespace shufflec
