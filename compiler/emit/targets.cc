#include "emit/targets.h"

#include "util/error.h"

namespace shufflec {

namespace {

struct Known {
    const char *name;
    const char *halide;
    const char *triple;
};

const Known kTargets[] = {
    {"x86-64-linux", "x86-64-linux-sse41-avx-f16c-fma-avx2", "x86_64-linux-gnu"},
    {"x86-64-linux-avx512", "x86-64-linux-sse41-avx-f16c-fma-avx2-avx512-avx512_skylake", "x86_64-linux-gnu"},
    {"arm-64-linux", "arm-64-linux", "aarch64-linux-gnu"},
    {"arm-64-android", "arm-64-android", "aarch64-linux-android21"},
};

}  // namespace

std::vector<std::string> target_names() {
    std::vector<std::string> names = {"host"};
    for (const auto &k : kTargets) names.push_back(k.name);
    return names;
}

TargetInfo resolve_target(const std::string &name) {
    TargetInfo info;
    info.name = name;
    if (name == "host") {
        Halide::Target host = Halide::get_host_target();
        if (host.arch == Halide::Target::X86 && host.bits == 64 && host.os == Halide::Target::Linux) {
            info.halide = host;
            info.triple = "x86_64-linux-gnu";
            info.short_name = "x86-64-linux-host";
        } else if (host.arch == Halide::Target::ARM && host.bits == 64 && host.os == Halide::Target::Linux) {
            info.halide = host;
            info.triple = "aarch64-linux-gnu";
            info.short_name = "arm-64-linux-host";
        } else {
            fail("--target host: this machine (", host.to_string(), ") is not a supported target");
        }
    } else {
        for (const auto &k : kTargets) {
            if (name != k.name) continue;
            info.halide = Halide::Target(k.halide);
            info.triple = k.triple;
            info.short_name = k.name;
        }
        if (info.triple.empty()) {
            std::string list;
            for (const auto &n : target_names()) list += (list.empty() ? "" : ", ") + n;
            fail("--target: unsupported target \"", name, "\" (supported: ", list, ")");
        }
    }
    return info;
}

}  // namespace shufflec
