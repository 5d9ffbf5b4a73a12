// shufflec: an ahead-of-time compiler for ShuffleNet-family networks.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "util/error.h"
#include "util/version.h"

namespace {

const char *kUsage =
    "usage: shufflec COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  info SPEC             layers, shapes, MACs and parameters of a network spec\n"
    "  run SPEC              run a spec with the reference interpreter (.npy in, .npy out)\n"
    "  compile SPEC          compile a spec to a static library + C header for x86-64 or ARM64\n"
    "  import-onnx MODEL     turn an ONNX model into a spec and a weights file\n"
    "  export-onnx SPEC      write a spec as an ONNX model, float or QDQ int8 (for ONNX Runtime)\n"
    "  bench SPEC|DIR        latency, GMAC/s and share of the FMA peak of a compiled model (here or on a runner)\n"
    "  profile SPEC          time and GMAC/s per unit and per layer (--csv, --json, --plot FILE.svg)\n"
    "  tune SPEC             search every unit's schedule on this machine (or boards) and write the best\n"
    "  quantize SPEC         int8 scales per tensor from calibration inputs (docs/quantization.md)\n"
    "  model-cycles PROGRAM FEWER MORE\n"
    "                        exact instructions and modeled ARM cycles of any aarch64 program from two qemu counts\n"
    "  version               print the version\n"
    "\n"
    "'shufflec COMMAND --help' describes a command's options. Specs: docs/spec.md.\n";

}  // namespace

int main(int argc, char **argv) {
    // Past a file size limit (ulimit -f) writes fail with EFBIG, reported like a full disk, instead of killing us.
    std::signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    std::string command = argv[1];
    std::vector<std::string> rest(argv + 2, argv + argc);
    try {
        if (command == "-h" || command == "--help" || command == "help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (command == "version" || command == "--version") {
            std::printf("shufflec %s (spec format shufflec-spec/1)\n", shufflec::kShufflecVersion);
            return 0;
        }
        if (command == "info") return shufflec::command_info(rest);
        if (command == "run") return shufflec::command_run(rest);
        if (command == "compile") return shufflec::command_compile(rest);
        if (command == "import-onnx") return shufflec::command_import_onnx(rest);
        if (command == "export-onnx") return shufflec::command_export_onnx(rest);
        if (command == "bench") return shufflec::command_bench(rest);
        if (command == "profile") return shufflec::command_profile(rest);
        if (command == "tune") return shufflec::command_tune(rest);
        if (command == "quantize") return shufflec::command_quantize(rest);
        if (command == "model-cycles") return shufflec::command_model_cycles(rest);
        std::fprintf(stderr, "shufflec: error: unknown command '%s'\n\n%s", command.c_str(), kUsage);
        return 2;
    } catch (const shufflec::Error &e) {
        std::fputs(shufflec::format_error(e).c_str(), stderr);
        return 1;
    } catch (const std::bad_alloc &) {
        std::fprintf(stderr, "shufflec: error: out of memory\n");
        return 1;
    } catch (const std::exception &e) {
        std::fputs(shufflec::format_error(e).c_str(), stderr);  // "internal error ... please report"
        return 3;
    }
}
