// Exact dynamic instruction counts of aarch64 programs, without a board:
// qemu-aarch64 runs the real binary with a TCG plugin of ours
// (measure/qemu_count_plugin.c, compiled here by the host's C compiler) that
// counts every executed instruction by class (vector FMA lanes in fp32 and
// fp16, int8 dot-product lanes, loads, stores, branches, scalar integer
// work). Deterministic: the same program and input give the same counts to
// the instruction. `shufflec bench --runner qemu --count` reports them per
// inference and per function (a pipeline, or one root Func's row loop).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace shufflec {

// The plugin's columns, in its order: instruction classes, then the lanes
// (multiply-adds) of the three FMA classes.
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

// A plugin output file: executed counts per translated block's address.
std::map<uint64_t, InsnCounts> read_count_file(const std::string &path);

// `blocks` summed per function of `program` (its symbol table, llvm-nm): the
// function whose address is the greatest at or below each block's.
std::map<std::string, InsnCounts> counts_by_function(const std::string &program,
                                                     const std::map<uint64_t, InsnCounts> &blocks);

}  // namespace shufflec
