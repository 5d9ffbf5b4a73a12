#include "measure/qemu_count.h"

#include <algorithm>
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
        "fma_f32",      "fma_f16",     "dot_i8",       "fma_scalar",   "simd_other",
        "load_vector",  "load_scalar", "store_vector", "store_scalar", "branch",
        "scalar",       "other",       "fma_f32_lanes", "fma_f16_lanes", "dot_i8_lanes"};
    return names;
}

namespace {

constexpr size_t kClasses = 12;  // the columns before the lanes
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

std::map<uint64_t, InsnCounts> read_count_file(const std::string &path) {
    std::istringstream in(read_file(path, "qemu count file", kMaxDataFileBytes));
    std::string format;
    size_t columns = 0;
    in >> format >> columns;
    if (format != kFormat || columns != insn_count_columns().size())
        fail(path, ": not a ", kFormat, " file of ", insn_count_columns().size(), " columns (an older plugin?)");
    std::map<uint64_t, InsnCounts> blocks;
    std::string address;
    double executions = 0;
    while (in >> address >> executions) {
        InsnCounts &b = blocks[std::stoull(address, nullptr, 16)];
        for (size_t c = 0; c < columns; c++) {
            double per_execution = 0;
            if (!(in >> per_execution)) fail(path, ": a block line ends early (address ", address, ")");
            b.column[c] += executions * per_execution;
        }
    }
    return blocks;
}

std::map<std::string, InsnCounts> counts_by_function(const std::string &program,
                                                     const std::map<uint64_t, InsnCounts> &blocks) {
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
    std::map<std::string, InsnCounts> by_function;
    for (const auto &[address, counts] : blocks) {
        auto after = std::upper_bound(functions.begin(), functions.end(), std::make_pair(address, std::string()),
                                      [](const auto &a, const auto &b) { return a.first < b.first; });
        by_function[after == functions.begin() ? "?" : std::prev(after)->second] += counts;
    }
    return by_function;
}

}  // namespace shufflec
