// shufflec import-onnx MODEL.onnx -o DIR [--name NAME]: an ONNX model as a spec + weights.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "import/onnx_import.h"
#include "util/error.h"

namespace shufflec {

int command_import_onnx(const std::vector<std::string> &argv) {
    Args args("import-onnx",
              {{"-o", "DIR", "output folder (created if missing)"},
               {"--name", "NAME", "spec name and file stem (default: the model's file name)"},
               {"--preprocess", "PRESET", "write input.preprocess for NAME_run_rgb8: torchvision (RGB, /255, ImageNet "
                                          "mean/std, resize 256 + center crop), megvii (BGR 0..255, resize + crop) or "
                                          "none (default)"},
               {"--batch", "N", "the batch to compile a model with a dynamic batch dimension for (refused without)"},
               {"--quiet", "", "print nothing on success"}},
              {"MODEL.onnx"});
    if (!args.parse(argv)) {
        std::printf("%s\nWrites DIR/NAME.json (a shufflec spec) and DIR/NAME.safetensors from an ONNX model.\n"
                    "Channel shuffles (Reshape -> Transpose -> Reshape) become channel_shuffle layers. A QDQ model\n"
                    "(QuantizeLinear/DequantizeLinear) also gives DIR/NAME.quantization.json, its int8 scales.\n",
                    args.usage().c_str());
        return 0;
    }
    if (!args.has("-o")) fail("import-onnx: missing -o DIR");
    ImportOptions options;
    options.name = args.get("--name");
    options.preprocess = args.get("--preprocess", "none");
    options.batch = args.get_int("--batch", 1, 4096, 0);
    ImportedModel m = import_onnx(args.positional()[0], options);
    write_imported_model(m, args.get("-o"));
    if (!args.has("--quiet")) {
        std::printf("imported %s: %zu layers, %zu tensors -> %s/%s.json\n", args.positional()[0].c_str(),
                    m.spec["layers"].size(), m.weights.size(), args.get("-o").c_str(), m.name.c_str());
        if (!m.quantization.empty())
            std::printf("QDQ model: %zu int8 tensor scales -> %s/%s.quantization.json (compile with --precision int8 "
                        "--quantization FILE)\n",
                        m.quantized_tensors, args.get("-o").c_str(), m.name.c_str());
    }
    return 0;
}

}  // namespace shufflec
