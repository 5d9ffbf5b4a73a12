// shufflec model-cycles PROGRAM FEWER MORE: what a static aarch64 program ran
// in one qemu count file beyond another (two runs under shufflec's counting
// plugin that differ by the work measured, e.g. 1 and 2 inferences), as exact
// instructions and as cycles modeled by llvm-mca per core. For programs that
// are not shufflec models: bench/ncnn_count.sh compares ncnn with it.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "measure/qemu_count.h"
#include "util/error.h"
#include "util/temp_folder.h"

namespace shufflec {

int command_model_cycles(const std::vector<std::string> &argv) {
    Args args("model-cycles", {{"--json", "", "print a JSON object {instructions, counts, modeled: [{cpu, cycles, ms}]}"}},
              {"PROGRAM", "FEWER", "MORE"});
    if (!args.parse(argv)) {
        std::printf("%s\nPROGRAM: the static aarch64 program both runs executed. FEWER, MORE: the count files of two\n"
                    "runs under qemu-aarch64 with shufflec's counting plugin (compiler/measure/qemu_count_plugin.c,\n"
                    "-plugin PLUGIN.so,out=FILE). Prints what MORE ran beyond FEWER: instructions, exact, and cycles\n"
                    "modeled by llvm-mca for a little and a big ARM core (no caches: every load an L1 hit).\n",
                    args.usage().c_str());
        return 0;
    }
    const std::string &program = args.positional()[0];
    BlockMap blocks = block_difference(read_count_file(args.positional()[2]), read_count_file(args.positional()[1]));
    InsnCounts total = total_counts(blocks);
    // Blocks may run less often in MORE (a benchmark's time-dependent loops):
    // their difference counts negative, as it should; the total may not.
    if (total.instructions() <= 0)
        fail(args.positional()[2], " ran no more instructions than ", args.positional()[1], " (the files in the wrong order?)");
    TempFolder work("shufflec-cycles-");
    nlohmann::json modeled = nlohmann::json::array();
    for (const CoreModel &core : core_models()) {
        if (core.mca.empty()) {
            modeled.push_back({{"cpu", core.cpu}, {"problem", "needs llvm-mca-19 (Debian's llvm-19)"}});
            continue;
        }
        double cycles = modeled_cycles(program, blocks, core, work.path());
        modeled.push_back({{"cpu", core.cpu}, {"ghz", core.ghz}, {"cycles", cycles}, {"ms", cycles / core.ghz / 1e6}});
    }
    if (args.has("--json")) {
        nlohmann::json counts;
        const auto &columns = insn_count_columns();
        for (size_t k = 0; k < columns.size(); k++) counts[columns[k]] = total.column[k];
        std::printf("%s\n", nlohmann::json{{"instructions", total.instructions()}, {"counts", counts}, {"modeled", modeled}}
                                .dump(2)
                                .c_str());
        return 0;
    }
    double n = total.instructions();
    std::printf("%s: %.3f M instructions beyond the first run (fmla fp32 %.1f%%, fp16 %.1f%%, sdot %.1f%%)\n",
                program.c_str(), n / 1e6, 100 * total.at("fma_f32") / n, 100 * total.at("fma_f16") / n,
                100 * total.at("dot_i8") / n);
    for (const auto &m : modeled) {
        if (m.contains("problem")) {
            std::printf("  %-12s not modeled (%s)\n", m["cpu"].get<std::string>().c_str(),
                        m["problem"].get<std::string>().c_str());
            continue;
        }
        std::printf("  %-12s %.2f M cycles, %.2f per instruction; %.2f ms at %.1f GHz\n",
                    m["cpu"].get<std::string>().c_str(), m["cycles"].get<double>() / 1e6, m["cycles"].get<double>() / n,
                    m["ms"].get<double>(), m["ghz"].get<double>());
    }
    return 0;
}

}  // namespace shufflec
