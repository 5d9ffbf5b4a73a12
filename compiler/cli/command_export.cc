// shufflec export-onnx SPEC -o MODEL.onnx [--quantization Q.json]: the model as
// ONNX, float or QDQ int8 (import/onnx_export.h).
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "import/onnx_export.h"
#include "passes/passes.h"
#include "spec/spec_parser.h"
#include "util/error.h"
#include "util/file_io.h"
#include "weights/weights.h"

namespace shufflec {

int command_export_onnx(const std::vector<std::string> &argv) {
    Args args("export-onnx",
              {{"--weights", "FILE", "safetensors weights (default: the spec's \"weights\" file)"},
               {"--random-weights", "SEED", "use deterministic random weights instead"},
               {"--input-shape", "NxCxHxW", "the input shape to export for (default: the spec's)"},
               {"--quantization", "Q.json", "export the int8 model of `shufflec quantize`'s parameters as a QDQ "
                                            "model (QuantizeLinear/DequantizeLinear, int8 weights)"},
               {"-o", "MODEL.onnx", "where to write the model"},
               {"--quiet", "", "print nothing on success"}},
              {"SPEC"});
    if (!args.parse(argv)) {
        std::printf("%s\nWrites SPEC as an ONNX model (opset 13) after shufflec's graph passes (BatchNorm folded, "
                    "activations fused),\nfor ONNX Runtime or another runtime to run the same network. With "
                    "--quantization: the QDQ form of the int8\nmodel shufflec compiles (use `shufflec quantize "
                    "--every-tensor` for one ONNX Runtime runs with integer convs\nthroughout). See "
                    "docs/quantization.md.\n",
                    args.usage().c_str());
        return 0;
    }
    if (!args.has("-o")) fail("export-onnx: missing -o MODEL.onnx");
    Graph graph = load_spec(args.positional()[0]);
    if (args.has("--input-shape")) {
        Shape s = parse_shape_arg(args.get("--input-shape"), "--input-shape");
        try {
            set_input_shape(graph, s);
        } catch (const Error &e) {
            fail("--input-shape ", to_string(s), " does not fit the network: ", e.what());
        }
    }
    Weights weights = resolve_weights(graph, args.get("--weights"), args.get("--random-weights"));
    optimize(graph, weights);
    Quantization q;
    if (args.has("--quantization")) {
        q = load_quantization(args.get("--quantization"));
        check_quantization(graph, q, args.get("--quantization"));
    }
    std::string bytes = export_onnx(graph, weights, args.has("--quantization") ? &q : nullptr);
    write_file_atomic(args.get("-o"), bytes);
    if (!args.has("--quiet"))
        std::printf("%s: %s model (%zu nodes after the passes), %.2f MB -> %s\n", graph.name.c_str(),
                    args.has("--quantization") ? "QDQ int8" : "float", graph.nodes.size() - 1,
                    static_cast<double>(bytes.size()) / 1e6, args.get("-o").c_str());
    return 0;
}

}  // namespace shufflec
