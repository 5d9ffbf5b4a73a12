// shufflec quantize SPEC --calibration X.npy -o Q.json: per-tensor int8 scales
// from calibration inputs (docs/quantization.md).
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "passes/passes.h"
#include "quantize/calibrate.h"
#include "quantize/calibration_inputs.h"
#include "spec/spec_parser.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/progress.h"
#include "weights/weights.h"

namespace shufflec {

int command_quantize(const std::vector<std::string> &argv) {
    Args args("quantize",
              {{"--weights", "FILE", "safetensors weights (default: the spec's \"weights\" file)"},
               {"--random-weights", "SEED", "use deterministic random weights instead"},
               {"--calibration", "X.npy|DIR", "calibration inputs: float32 N x C x H x W, preprocessed as the model "
                                              "expects, or a folder of PNG/JPEG images that the spec's input.preprocess "
                                              "turns into inputs (a few hundred training images)"},
               {"--method", "M", "percentile (default: clip at a percentile of the magnitudes) or minmax"},
               {"--percentile", "P", "for --method percentile (default 99.99)"},
               {"--max-images", "N", "calibrate on the first N inputs only"},
               {"--every-tensor", "", "also scale the tensors read only by adds and concats (the add rounds "
                                      "them first), as ONNX Runtime's QDQ models do: for export-onnx"},
               {"--float-input", "", "keep the input float and compute the stem in float (by default the input "
                                     "takes a scale too and the stem multiplies integers)"},
               {"-o", "Q.json", "where to write the quantization parameters"},
               {"--quiet", "", "print nothing on success"}},
              {"SPEC"});
    if (!args.parse(argv)) {
        std::printf("%s\nComputes int8 quantization parameters for SPEC: one scale per activation tensor from the "
                    "float model's values\non the calibration inputs (the reference interpreter). "
                    "`shufflec run --quantization Q.json` runs the int8 model\nthey define (simulated). See "
                    "docs/quantization.md.\n",
                    args.usage().c_str());
        return 0;
    }
    if (!args.has("--calibration")) fail("quantize: missing --calibration X.npy or DIR");
    if (!args.has("-o")) fail("quantize: missing -o Q.json");
    CalibrationOptions options;
    options.method = args.get("--method", "percentile");
    if (options.method != "percentile" && options.method != "minmax")
        fail("--method: expected percentile or minmax, got ", in_quotes(options.method));
    if (args.has("--percentile") && options.method != "percentile") fail("--percentile: only with --method percentile");
    options.percentile = args.get_number("--percentile", 50, 100, 99.99);
    options.every_tensor = args.has("--every-tensor");
    options.float_input = args.has("--float-input");
    int max_images = args.get_int("--max-images", 1, 1 << 30, 1 << 30);

    const std::string source = args.get("--calibration");
    Graph graph = load_spec(args.positional()[0]);
    std::unique_ptr<CalibrationInputs> inputs = open_calibration_inputs(source, graph);
    Weights weights = resolve_weights(graph, args.get("--weights"), args.get("--random-weights"));
    optimize(graph, weights);

    Calibrator calibrator(graph, weights, options);
    int64_t count = std::min<int64_t>(inputs->count(), max_images);
    Progress progress("quantize", static_cast<int>(count), progress_wanted(args.has("--quiet")));
    for (int64_t i = 0; i < count; i++) {
        progress.update(static_cast<int>(i), cat("calibration input ", i + 1));
        calibrator.add(inputs->get(i));
    }
    progress.finish();
    Quantization q = calibrator.finish();
    write_file_atomic(args.get("-o"), quantization_to_json(q, graph));
    if (!args.has("--quiet"))
        std::printf("%s: %zu tensors calibrated on %lld inputs (%s) -> %s\n", graph.name.c_str(), q.tensors.size(),
                    static_cast<long long>(count),
                    options.method == "minmax" ? "minmax" : cat("percentile ", options.percentile).c_str(),
                    args.get("-o").c_str());
    return 0;
}

}  // namespace shufflec
