#include "emit/targets.h"

#include "util/error.h"

namespace shufflec {

namespace {

struct Known {
    const char *name;
    const char *halide;
    const char *triple;
    // Target features that may be appended ("-arm_dot_prod"), for later kernels.
    std::vector<const char *> features;
};

const std::vector<Known> &known_targets() {
    static const std::vector<Known> targets = {
        {"x86-64-linux", "x86-64-linux-sse41-avx-f16c-fma-avx2", "x86_64-linux-gnu", {}},
        {"x86-64-linux-avx512", "x86-64-linux-sse41-avx-f16c-fma-avx2-avx512-avx512_skylake", "x86_64-linux-gnu",
         {"avx512_cannonlake", "avx512_sapphirerapids"}},
        {"arm-64-linux", "arm-64-linux", "aarch64-linux-gnu", {"arm_dot_prod", "arm_fp16", "armv81a"}},
        {"arm-64-android", "arm-64-android", "aarch64-linux-android21", {"arm_dot_prod", "arm_fp16", "armv81a"}},
    };
    return targets;
}

// The target folder (schedules/<folder>/) that describes this machine best.
std::string host_folder(const Halide::Target &host) {
    if (host.arch == Halide::Target::X86)
        return host.has_feature(Halide::Target::AVX512_Skylake) ? "x86-64-linux-avx512" : "x86-64-linux";
    return "arm-64-linux";
}

std::string known_list() {
    std::string list;
    for (const auto &n : target_names()) list += (list.empty() ? "" : ", ") + n;
    return list;
}

}  // namespace

std::vector<std::string> target_names() {
    std::vector<std::string> names = {"host"};
    for (const auto &k : known_targets()) names.push_back(k.name);
    return names;
}

std::string target_features_help() {
    std::string help;
    for (const auto &k : known_targets()) {
        if (k.features.empty()) continue;
        std::string f;
        for (const char *feature : k.features) f += (f.empty() ? "" : ", ") + std::string(feature);
        help += (help.empty() ? "" : "; ") + std::string(k.name) + ": " + f;
    }
    return help;
}

TargetInfo resolve_target(const std::string &name) {
    TargetInfo info;
    info.name = name;
    if (name == "host") {
        Halide::Target host = Halide::get_host_target();
        bool supported = host.bits == 64 && host.os == Halide::Target::Linux &&
                         (host.arch == Halide::Target::X86 || host.arch == Halide::Target::ARM);
        if (!supported) fail("--target host: this machine (", host.to_string(), ") is not a supported target");
        // Halide 14 reports avx512_sapphirerapids for any CPU with AVX512-VNNI
        // and BF16 (Intel Sapphire Rapids and later, AMD Zen 4): int8 1x1
        // convs then use vpdpbusd. Objects for it are encoded for every such
        // CPU (emit/compile_model.cc); Halide's JIT code is not (targets.h).
        // The "avx512" feature links Halide's AVX-512 runtime module (where
        // its VNNI dot-product wrappers live); Halide's host target omits it.
        if (host.has_feature(Halide::Target::AVX512_Skylake)) host = host.with_feature(Halide::Target::AVX512);
        info.halide = host;
        info.triple = host.arch == Halide::Target::X86 ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
        info.short_name = host_folder(host);
        return info;
    }
    // The longest known name that starts `name`, then "-feature" suffixes.
    const Known *base = nullptr;
    for (const auto &k : known_targets()) {
        std::string n = k.name;
        bool prefix = name == n || (name.size() > n.size() && name.compare(0, n.size(), n) == 0 && name[n.size()] == '-');
        if (prefix && (!base || n.size() > std::string(base->name).size())) base = &k;
    }
    if (!base) fail("--target: unsupported target ", in_quotes(name), " (supported: ", known_list(), ")");
    std::string halide = base->halide;
    std::string rest = name.substr(std::string(base->name).size());
    while (!rest.empty()) {
        size_t next = rest.find('-', 1);
        std::string feature = rest.substr(1, next == std::string::npos ? std::string::npos : next - 1);
        rest = next == std::string::npos ? "" : rest.substr(next);
        bool allowed = false;
        for (const char *f : base->features) allowed = allowed || feature == f;
        if (!allowed) {
            std::string f;
            for (const char *k : base->features) f += (f.empty() ? "" : ", ") + std::string(k);
            fail("--target: ", in_quotes(name), ": feature ", in_quotes(feature), " is not available for ", base->name,
                 f.empty() ? std::string(" (it takes none)") : " (available: " + f + ")");
        }
        halide += "-" + feature;
    }
    info.halide = Halide::Target(halide);
    info.triple = base->triple;
    info.short_name = base->name;
    return info;
}

}  // namespace shufflec
