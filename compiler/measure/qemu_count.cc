#include "measure/qemu_count.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unistd.h>

#include "emit/embedded_files.h"
#include "emit/toolchain.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/process.h"

namespace shufflec {

const std::vector<std::string> &insn_count_columns() {
    static const std::vector<std::string> names = {
        "fma_f32",      "fma_f16",     "dot_i8",        "mul_int",       "fma_scalar",   "simd_other",
        "load_vector",  "load_scalar", "store_vector",  "store_scalar",  "branch",       "scalar",
        "other",        "fma_f32_lanes", "fma_f16_lanes", "dot_i8_lanes", "mul_int_lanes"};
    return names;
}

namespace {

constexpr size_t kClasses = 13;  // the columns before the lanes
constexpr const char *kFormat = "shufflec-qemu-count/1";

}  // namespace

double InsnCounts::instructions() const {
    double n = 0;
    for (size_t c = 0; c < kClasses; c++) n += column[c];
    return n;
}

double InsnCounts::at(const std::string &name) const {
    const auto &names = insn_count_columns();
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) internal_error("no instruction count column ", in_quotes(name));
    return column[static_cast<size_t>(it - names.begin())];
}

InsnCounts &InsnCounts::operator+=(const InsnCounts &other) {
    for (size_t c = 0; c < column.size(); c++) column[c] += other.column[c];
    return *this;
}

InsnCounts &InsnCounts::operator-=(const InsnCounts &other) {
    for (size_t c = 0; c < column.size(); c++) column[c] -= other.column[c];
    return *this;
}

std::string build_count_plugin(const std::string &dir) {
    std::string so = join_path(dir, "qemu_count_plugin.so");
    if (access(so.c_str(), R_OK) == 0) return so;
    std::string source = join_path(dir, "qemu_count_plugin.c");
    write_file_atomic(source, embedded_file("qemu_count_plugin.c"));
    run_tool({"cc", "-shared", "-fPIC", "-O2", "-fvisibility=hidden", source, "-o", so},
             "building the qemu counting plugin");
    return so;
}

BlockMap read_count_file(const std::string &path) {
    std::istringstream in(read_file(path, "qemu count file", kMaxDataFileBytes));
    std::string format;
    size_t columns = 0;
    in >> format >> columns;
    if (format != kFormat || columns != insn_count_columns().size())
        fail(path, ": not a ", kFormat, " file of ", insn_count_columns().size(), " columns (an older plugin?)");
    BlockMap blocks;
    std::string address;
    double executions = 0;
    while (in >> address >> executions) {
        BlockCounts &b = blocks[std::stoull(address, nullptr, 16)];
        b.executions += executions;
        int instructions = 0;
        for (size_t c = 0; c < columns; c++) {
            double per_execution = 0;
            if (!(in >> per_execution)) fail(path, ": a block line ends early (address ", address, ")");
            b.counts.column[c] += executions * per_execution;
            if (c < kClasses) instructions += static_cast<int>(per_execution);
        }
        // A block retranslated at one address has the same instructions.
        b.instructions = std::max(b.instructions, instructions);
    }
    return blocks;
}

BlockMap block_difference(const BlockMap &more, const BlockMap &fewer) {
    BlockMap d;
    for (const auto &[address, block] : more) {
        BlockCounts b = block;
        auto before = fewer.find(address);
        if (before != fewer.end()) b.executions -= before->second.executions, b.counts -= before->second.counts;
        if (b.executions != 0) d[address] = b;
    }
    return d;
}

InsnCounts total_counts(const BlockMap &blocks) {
    InsnCounts total;
    for (const auto &[address, block] : blocks) total += block.counts;
    return total;
}

std::map<uint64_t, std::string> functions_of_blocks(const std::string &program, const BlockMap &blocks) {
    ProcessResult r = run_process({find_toolchain().llvm_nm, "--defined-only", "--numeric-sort", program});
    if (r.status != 0) throw Error("reading the symbols of " + in_quotes(program) + " failed", r.err);
    std::vector<std::pair<uint64_t, std::string>> functions;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string address, type, name;
        if (!(fields >> address >> type >> name) || (type != "T" && type != "t")) continue;
        functions.emplace_back(std::stoull(address, nullptr, 16), name);
    }
    std::map<uint64_t, std::string> function_of;
    for (const auto &[address, block] : blocks) {
        auto after = std::upper_bound(functions.begin(), functions.end(), std::make_pair(address, std::string()),
                                      [](const auto &a, const auto &b) { return a.first < b.first; });
        function_of[address] = after == functions.begin() ? "?" : std::prev(after)->second;
    }
    return function_of;
}

std::map<uint64_t, double> modeled_block_cycles(const std::string &program, const BlockMap &blocks,
                                                const std::string &mca, const std::string &cpu, const std::string &dir) {
    // The program's instructions by address, as llvm-mca's assembler reads
    // them: branch and address operands ("0x4005d0 <main+0x20>") become "."
    // (a block's cycles do not depend on where it jumps), undecodable words nops.
    ProcessResult d = run_process({find_toolchain().llvm_objdump, "-d", "--no-show-raw-insn", program});
    if (d.status != 0) throw Error("disassembling " + in_quotes(program) + " failed", d.err);
    std::map<uint64_t, std::string> text;
    std::istringstream in(d.out);
    std::string line;
    while (std::getline(in, line)) {
        size_t colon = line.find(':');
        size_t first = line.find_first_not_of(" \t");
        if (colon == std::string::npos || first == std::string::npos || first >= colon) continue;
        std::string address = line.substr(first, colon - first);
        if (address.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
        std::string insn = line.substr(colon + 1);
        insn = insn.substr(0, insn.find("//"));
        std::replace(insn.begin(), insn.end(), '\t', ' ');
        for (size_t at; (at = insn.find(" 0x")) != std::string::npos;) {
            size_t end = insn.find('>', at);
            size_t stop = insn.find_first_of(" ,", at + 1);
            insn.replace(at + 1, (end != std::string::npos ? end + 1 : stop == std::string::npos ? insn.size() : stop) - at - 1, ".");
        }
        size_t begin = insn.find_first_not_of(' ');
        insn = begin == std::string::npos || insn.find('<') != std::string::npos ? "nop" : insn.substr(begin);
        text[std::stoull(address, nullptr, 16)] = insn;
    }
    // qemu ends a block at a branch, but also at a 4 KiB page boundary and
    // after 512 instructions; where the linker placed a loop then decides how
    // it is cut, and pieces modeled apart would each be a loop of their own
    // (3.3% on one unit between two links of the same object). So a block
    // whose last instruction is not a branch falls into the block at its end
    // and is modeled together with it (the chain up to a branch), as one
    // block; the block entered there is also a region of its own for the
    // executions that did not come from its predecessor (jumps into it): what
    // qemu's blocks would be with no page or size limit.
    auto instruction = [&](uint64_t address) {
        auto it = text.find(address);
        return it == text.end() ? std::string("nop") : it->second;
    };
    auto is_branch = [](const std::string &insn) {
        std::string op = insn.substr(0, insn.find(' '));
        static const std::set<std::string> branches = {"b", "bl", "br", "blr", "ret", "cbz", "cbnz", "tbz", "tbnz",
                                                       "svc", "braa", "brab", "blraa", "blrab", "retaa", "retab"};
        return branches.count(op) > 0 || op.rfind("b.", 0) == 0;
    };
    auto end_of = [&](uint64_t address) { return address + 4 * static_cast<uint64_t>(blocks.at(address).instructions); };
    std::map<uint64_t, uint64_t> falls_into;  // block -> the block at its end it always continues into
    for (const auto &[address, block] : blocks) {
        uint64_t end = end_of(address);
        if (block.instructions > 0 && blocks.count(end) && !is_branch(instruction(end - 4))) falls_into[address] = end;
    }
    std::map<uint64_t, double> entered;  // block -> executions that did not fall in from its predecessor
    for (const auto &[address, block] : blocks) entered[address] += block.executions;
    for (const auto &[from, to] : falls_into) entered[to] -= blocks.at(from).executions;
    std::string source;
    for (const auto &[address, block] : blocks) {
        source += cat("# LLVM-MCA-BEGIN b", address, "\n");
        std::set<uint64_t> seen;
        for (uint64_t at = address;; at = falls_into.at(at)) {
            for (uint64_t pc = at; pc < end_of(at); pc += 4) source += instruction(pc) + "\n";
            seen.insert(at);
            if (!falls_into.count(at) || seen.count(falls_into.at(at))) break;
        }
        source += "# LLVM-MCA-END\n";
    }
    // Named after the program and core: several counts may run at once in `dir`.
    std::string file = join_path(dir, cat(program.substr(program.find_last_of('/') + 1), "-", cpu, ".s"));
    write_file_atomic(file, source);
    ProcessResult r = run_process({mca, "-mtriple=aarch64", "-mcpu=" + cpu, "-mattr=+fullfp16,+dotprod",
                                   "-iterations=100", "-all-views=false", "-summary-view", file});
    if (r.status != 0) throw Error(cat(mca, " -mcpu=", cpu, " failed (exit ", r.status, ")"), r.err);
    // "[N] Code Region - b<address>", then "Iterations: I" and "Total Cycles: C".
    std::map<uint64_t, double> cycles;
    std::istringstream out(r.out);
    uint64_t region = 0;
    double iterations = 0;
    bool in_region = false;
    while (std::getline(out, line)) {
        size_t at = line.find("Code Region - b");
        if (at != std::string::npos) {
            region = std::stoull(line.substr(at + 15));
            in_region = true;
        } else if (in_region && line.rfind("Iterations:", 0) == 0) {
            iterations = std::stod(line.substr(11));
        } else if (in_region && line.rfind("Total Cycles:", 0) == 0 && iterations > 0) {
            cycles[region] = std::stod(line.substr(13)) / iterations;
            in_region = false;
        }
    }
    if (cycles.size() != blocks.size())
        throw Error(cat(mca, " -mcpu=", cpu, " modeled ", cycles.size(), " of ", blocks.size(), " blocks"), r.out + r.err);
    // Per execution of each block: its chain's cycles times the share of its
    // executions entered directly (the rest is in its predecessor's chain).
    std::map<uint64_t, double> per_block;
    for (const auto &[address, block] : blocks)
        per_block[address] = block.executions != 0 ? cycles.at(address) * entered.at(address) / block.executions : 0;
    return per_block;
}

std::vector<CoreModel> core_models() {
    std::string mca19 = access("/usr/bin/llvm-mca-19", X_OK) == 0 ? "/usr/bin/llvm-mca-19" : "";
    return {{"cortex-a55", "A55", "little in-order core", 1.8, mca19.empty() ? find_toolchain().llvm_mca : mca19},
            {"neoverse-n1", "N1", "big out-of-order core (A76 class)", 2.4, mca19}};
}

CoreModel find_core_model(const std::string &cpu) {
    std::string names;
    for (const CoreModel &core : core_models()) {
        if (core.cpu == cpu) {
            if (core.mca.empty()) fail(cpu, ": no llvm-mca here models it (needs llvm-mca-19, Debian's llvm-19: tools/setup.sh)");
            return core;
        }
        names += (names.empty() ? "" : ", ") + core.cpu;
    }
    fail(in_quotes(cpu), " is not a modeled core (", names, ")");
}

double modeled_cycles(const std::string &program, const BlockMap &blocks, const CoreModel &core, const std::string &dir) {
    std::map<uint64_t, double> per_block = modeled_block_cycles(program, blocks, core.mca, core.cpu, dir);
    double cycles = 0;
    for (const auto &[address, block] : blocks) cycles += block.executions * per_block.at(address);
    return cycles;
}

}  // namespace shufflec
