#include "test_support.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "emit/compile_model.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/npy.h"

namespace shufflec_test {

std::string source_dir() { return SHUFFLEC_SOURCE_DIR; }
std::string build_dir() { return SHUFFLEC_BINARY_DIR; }
std::string shufflec_binary() { return SHUFFLEC_BINARY; }

std::string golden_dir() {
    const char *dir = std::getenv("SHUFFLEC_GOLDEN_DIR");
    return dir && *dir ? dir : build_dir() + "/golden";
}

std::vector<GoldenCase> golden_cases(const std::string &list_name) {
    std::vector<GoldenCase> cases;
    auto list = nlohmann::json::parse(shufflec::read_file(source_dir() + "/tests/golden/cases.json"));
    for (const auto &c : list[list_name]) {
        std::string path = golden_dir() + "/" + c["name"].get<std::string>() + "/case.json";
        GoldenCase g;
        g.name = c["name"];
        nlohmann::json info;
        try {
            info = nlohmann::json::parse(shufflec::read_file(path, "golden case (made by tools/make_golden.py)"));
        } catch (const shufflec::Error &e) {
            g.missing = e.what();
            cases.push_back(g);
            continue;
        }
        g.name = info["name"];
        g.spec = info["spec"];
        g.weights = info["weights"];
        g.input = info["input"];
        g.expected = info["expected"];
        g.onnx = info.value("onnx", "");
        g.macs = info.value("macs", int64_t{-1});
        g.shuffles = info.value("shuffles", int64_t{-1});
        for (const auto &t : info["targets"]) g.targets.push_back(t);
        cases.push_back(g);
    }
    return cases;
}

Difference compare(const std::vector<float> &actual, const std::vector<float> &expected) {
    Difference d;
    EXPECT_EQ(actual.size(), expected.size());
    if (actual.size() != expected.size()) {
        d.max_abs_error = INFINITY;
        return d;
    }
    for (size_t i = 0; i < actual.size(); i++) {
        double e = std::fabs(static_cast<double>(actual[i]) - expected[i]);
        if (!(e <= d.max_abs_error)) d.max_abs_error = std::isnan(e) ? INFINITY : e;
        d.max_abs_expected = std::max(d.max_abs_expected, std::fabs(static_cast<double>(expected[i])));
    }
    return d;
}

std::vector<TargetCase> target_cases(const std::string &list) {
    std::vector<TargetCase> out;
    for (const auto &c : golden_cases(list))
        for (const auto &t : c.targets) out.push_back({c, t});
    return out;
}

std::string test_name(const std::string &name) {
    std::string n = name;
    for (auto &ch : n)
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return n;
}

std::vector<float> compile_and_run(const std::string &spec, const std::string &weights, const std::string &target,
                                   const std::string &dir, const std::string &input, double *seconds,
                                   const std::string &schedule) {
    bool arm = target == "arm";
    EXPECT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "'"), 0);
    shufflec::NpyArray x = shufflec::read_npy(input);
    shufflec::CompileOptions o;
    o.spec_path = spec;
    o.weights_path = weights;
    o.schedule_path = schedule;
    o.target = arm ? "arm-64-linux" : "x86-64-linux";
    o.name = "net";
    o.out_dir = dir;
    o.input_shape = shufflec::Shape{x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
    const char *jobs = std::getenv("SHUFFLEC_TEST_JOBS");
    o.jobs = jobs ? std::atoi(jobs) : 0;
    *seconds = shufflec::compile_model(o).seconds;

    std::string cc = arm ? "aarch64-linux-gnu-gcc" : "cc", log;
    std::string link = cc + " -O2 -I'" + dir + "' -DMODEL=net -DMODEL_UPPER=NET '-DMODEL_HEADER=\"net.h\"' '" + source_dir() +
                       "/tests/apps/npy_runner.c' '" + dir + "/net.a' -lpthread -lm -o '" + dir + "/run'";
    if (run_command(link, &log) != 0) {
        ADD_FAILURE() << link << "\n" << log;
        return {};
    }
    return run_compiled(target, dir, input);
}

std::vector<float> run_compiled(const std::string &target, const std::string &dir, const std::string &input) {
    std::string out = dir + "/output.npy", log;
    std::string run = (target == "arm" ? "qemu-aarch64 -L /usr/aarch64-linux-gnu " : "") +
                      ("'" + dir + "/run' '" + input + "' '" + out + "'");
    if (run_command(run, &log) != 0) {
        ADD_FAILURE() << run << "\n" << log;
        return {};
    }
    return shufflec::read_npy(out).data;
}

int run_command(const std::string &command, std::string *output) {
    std::string full = command + " 2>&1";
    FILE *p = popen(full.c_str(), "r");
    if (!p) return -1;
    std::string text;
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, got);
    int status = pclose(p);
    if (output) *output = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace shufflec_test
