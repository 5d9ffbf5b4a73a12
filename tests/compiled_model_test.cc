// Compiled models against PyTorch and the reference interpreter: each golden
// case is compiled for x86-64 (run natively) and/or ARM64 (linked with
// aarch64-linux-gnu-gcc, run under qemu-aarch64), through the same C program
// an app would write (tests/apps/npy_runner.c).
#include <chrono>
#include <cstdio>

#include <gtest/gtest.h>

#include "emit/compile_model.h"
#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "test_support.h"
#include "util/npy.h"
#include "weights/weights.h"

using namespace shufflec;
using namespace shufflec_test;

namespace {

struct TargetCase {
    GoldenCase golden;
    std::string target;  // x86 or arm
};

void PrintTo(const TargetCase &c, std::ostream *os) { *os << c.golden.name << " on " << c.target; }

std::vector<TargetCase> target_cases() {
    std::vector<TargetCase> out;
    for (const auto &c : golden_cases())
        for (const auto &t : c.targets) out.push_back({c, t});
    return out;
}

int jobs_from_env() {
    const char *j = std::getenv("SHUFFLEC_TEST_JOBS");
    return j ? std::atoi(j) : 0;
}

}  // namespace

class CompiledModel : public ::testing::TestWithParam<TargetCase> {};

TEST_P(CompiledModel, MatchesPyTorchAndReference) {
    const GoldenCase &c = GetParam().golden;
    ASSERT_TRUE(c.missing.empty()) << c.missing;
    bool arm = GetParam().target == "arm";
    std::string dir = build_dir() + "/compiled/" + c.name + "-" + GetParam().target;
    ASSERT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "'"), 0);

    NpyArray x = read_npy(c.input), expected = read_npy(c.expected);
    Shape shape{x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
    CompileOptions o;
    o.spec_path = c.spec;
    o.weights_path = c.weights;
    o.target = arm ? "arm-64-linux" : "x86-64-linux";
    o.name = "net";
    o.out_dir = dir;
    o.input_shape = shape;
    o.jobs = jobs_from_env();
    CompileReport report = compile_model(o);

    std::string cc = arm ? "aarch64-linux-gnu-gcc" : "cc";
    std::string log;
    std::string link = cc + " -O2 -I'" + dir + "' -DMODEL=net -DMODEL_UPPER=NET '-DMODEL_HEADER=\"net.h\"' '" +
                       source_dir() + "/tests/apps/npy_runner.c' '" + dir + "/net.a' -lpthread -lm -o '" + dir + "/run'";
    ASSERT_EQ(run_command(link, &log), 0) << link << "\n" << log;
    std::string out = dir + "/output.npy";
    std::string run = (arm ? "qemu-aarch64 -L /usr/aarch64-linux-gnu " : "") + ("'" + dir + "/run' '" + c.input + "' '" + out + "'");
    ASSERT_EQ(run_command(run, &log), 0) << run << "\n" << log;
    NpyArray y = read_npy(out);
    EXPECT_EQ(y.shape, expected.shape);

    SpecOptions so;
    so.input_shape = shape;
    Graph graph = load_spec(c.spec, so);
    std::vector<float> ref = run_reference(graph, read_safetensors(c.weights), x.data);

    Difference vs_torch = compare(y.data, expected.data), vs_ref = compare(y.data, ref);
    std::printf("[ compiled ] %-18s %-3s compile %.1f s: vs PyTorch %.2e, vs reference %.2e (relative to max|expected| %.4g)\n",
                c.name.c_str(), GetParam().target.c_str(), report.seconds, vs_torch.relative(), vs_ref.relative(),
                vs_torch.max_abs_expected);
    EXPECT_LE(vs_torch.max_abs_error, kRelativeTolerance * vs_torch.max_abs_expected);
    EXPECT_LE(vs_ref.max_abs_error, kRelativeTolerance * vs_ref.max_abs_expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, CompiledModel, ::testing::ValuesIn(target_cases()), [](const auto &p) {
    std::string n = p.param.golden.name + "_" + p.param.target;
    for (auto &ch : n)
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return n;
});
