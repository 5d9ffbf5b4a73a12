// Exact dynamic instruction counts of aarch64 programs, without a board:
// qemu-aarch64 runs the real binary with a TCG plugin of ours
// (measure/qemu_count_plugin.c, compiled here by the host's C compiler) that
// counts every executed instruction by class (vector FMA lanes in fp32 and
// fp16, int8 dot-product lanes, loads, stores, branches, scalar integer
// work). Deterministic: the same program and input give the same counts to
// the instruction. `shufflec bench --runner qemu --count` reports them per
// inference and per function (a pipeline, or one root Func's row loop), with
// cycles modeled by llvm-mca for each executed block.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace shufflec {

// The plugin's columns, in its order: instruction classes, then the lanes
// (multiply-adds, or products) of the four multiply classes: fp32 and fp16
// FMA, int8 dot products, integer vector multiplies.
const std::vector<std::string> &insn_count_columns();

struct InsnCounts {
    std::vector<double> column = std::vector<double>(insn_count_columns().size(), 0.0);
    double instructions() const;  // the classes summed (not the lanes)
    double at(const std::string &name) const;
    InsnCounts &operator+=(const InsnCounts &other);
    InsnCounts &operator-=(const InsnCounts &other);
};

// Compiles the plugin into `dir` (once per folder); returns the .so path.
std::string build_count_plugin(const std::string &dir);

// One translated block of a run: how often it ran, its instructions, and
// the counts it contributed (per execution x executions).
struct BlockCounts {
    double executions = 0;
    int instructions = 0;
    InsnCounts counts;
};
using BlockMap = std::map<uint64_t, BlockCounts>;  // by the block's address

// A plugin output file.
BlockMap read_count_file(const std::string &path);

// The blocks of what `more` ran beyond `fewer`: two runs of one program that
// differ by one execution of the code measured (setup and warm-up cancel).
BlockMap block_difference(const BlockMap &more, const BlockMap &fewer);

// The summed counts of `blocks`.
InsnCounts total_counts(const BlockMap &blocks);

// The function of `program` (its symbol table, llvm-nm) each block belongs
// to: the function whose address is the greatest at or below the block's.
std::map<uint64_t, std::string> functions_of_blocks(const std::string &program, const BlockMap &blocks);

// Modeled cycles per execution of each block (no caches: every load hits):
// the blocks' instructions (llvm-objdump of `program`) as code regions of one
// llvm-mca run for `cpu`, each region's steady-state cycles per iteration. A
// block that qemu ended without a branch (at a page boundary, or its size
// limit) is modeled together with the blocks it falls into, so the result
// does not depend on where the code was linked.
// `mca`: the llvm-mca binary. Throws an Error when llvm-mca fails.
std::map<uint64_t, double> modeled_block_cycles(const std::string &program, const BlockMap &blocks,
                                                const std::string &mca, const std::string &cpu, const std::string &dir);

// A core llvm-mca models: its name there, a short column label, what it
// stands for, the clock cycles are converted to milliseconds at, and the
// llvm-mca that has a real model of it ("" when none here does).
struct CoreModel {
    std::string cpu, column, what;
    double ghz = 1;
    std::string mca;
};

// The modeled cores: cortex-a55 (little, in-order) and neoverse-n1 (big,
// out-of-order, A76 class). LLVM 14 models the A55 but gives Neoverse-N1 the
// Cortex-A57's pipeline; Debian's llvm-19 has both.
std::vector<CoreModel> core_models();

// The core named `cpu`; an error listing the modeled cores when none is, or
// when no llvm-mca here models it.
CoreModel find_core_model(const std::string &cpu);

// Modeled cycles of `blocks` on `core`: each block's cycles per execution
// (modeled_block_cycles) times its executions, summed.
double modeled_cycles(const std::string &program, const BlockMap &blocks, const CoreModel &core, const std::string &dir);

}  // namespace shufflec
