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

// The function of `program` (its symbol table, llvm-nm) each block belongs
// to: the function whose address is the greatest at or below the block's.
std::map<uint64_t, std::string> functions_of_blocks(const std::string &program, const BlockMap &blocks);

// Modeled cycles per execution of each block (no caches: every load hits):
// the blocks' instructions (llvm-objdump of `program`) as code regions of one
// llvm-mca run for `cpu`, each region's steady-state cycles per iteration.
// `mca`: the llvm-mca binary. Throws an Error when llvm-mca fails.
std::map<uint64_t, double> modeled_block_cycles(const std::string &program, const BlockMap &blocks,
                                                const std::string &mca, const std::string &cpu, const std::string &dir);

}  // namespace shufflec
