// What an app relies on: the library links with nothing but libc, libm and
// pthreads; the error codes of docs/api.md (bad arguments, wrong buffer
// shapes, corrupt external weights) come back as codes, never as crashes.
#include <cstring>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "emit/compile_model.h"
#include "util/error.h"
#include "util/npy.h"
#include "test_support.h"

using namespace shufflec;
using namespace shufflec_test;

namespace {

const char *kTinySpec = R"({
  "format": "shufflec-spec/1", "name": "tiny", "input": {"shape": [1, 3, 40, 48]},
  "family": {"name": "shufflenet_v1", "groups": 3, "scale": 0.5, "stage_repeats": [2, 2, 1], "num_classes": 10}
})";

// Compiles the tiny model once into build/contract/<variant>.
std::string compile_tiny(const std::string &variant, bool external) {
    std::string dir = build_dir() + "/contract/" + variant;
    EXPECT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "'"), 0);
    std::string spec = dir + "/tiny.json";
    FILE *f = std::fopen(spec.c_str(), "w");
    std::fputs(kTinySpec, f);
    std::fclose(f);
    CompileOptions o;
    o.spec_path = spec;
    o.random_seed = "5";
    o.target = "x86-64-linux";
    o.out_dir = dir;
    o.external_weights = external;
    compile_model(o);
    return dir;
}

std::set<std::string> words(const std::string &text) {
    std::set<std::string> out;
    std::istringstream in(text);
    std::string w;
    while (in >> w) out.insert(w);
    return out;
}

}  // namespace

TEST(AppContract, LinksWithOnlyLibcLibmAndPthread) {
    std::string dir = compile_tiny("embedded", false);
    std::string out;
    // Every symbol the archive needs from outside must come from libc or libm
    // (pthreads live in libc since glibc 2.34).
    ASSERT_EQ(run_command("nm -u --format=just-symbols '" + dir + "/tiny.a' | sort -u", &out), 0);
    std::set<std::string> undefined = words(out);
    ASSERT_EQ(run_command("nm --defined-only --format=just-symbols '" + dir + "/tiny.a' | sort -u", &out), 0);
    std::set<std::string> defined = words(out);
    ASSERT_EQ(run_command("nm -D --defined-only --format=just-symbols /lib/x86_64-linux-gnu/libc.so.6 "
                          "/lib/x86_64-linux-gnu/libm.so.6 | sed 's/@.*//' | sort -u",
                          &out),
              0);
    std::set<std::string> system = words(out);
    int external = 0;
    for (const auto &sym : undefined) {
        if (defined.count(sym)) continue;
        external++;
        EXPECT_TRUE(system.count(sym)) << "tiny.a needs '" << sym << "', which libc and libm do not define";
    }
    EXPECT_GT(external, 0);  // it does use libc (malloc, pthread_create...)
    std::printf("[ contract ] tiny.a needs %d symbols from outside, all from libc/libm\n", external);

    // A C app links with -lpthread -lm and its dynamic dependencies are only those.
    std::string app = dir + "/app";
    ASSERT_EQ(run_command("cc -O2 -I'" + dir + "' -DMODEL=tiny -DMODEL_UPPER=TINY '-DMODEL_HEADER=\"tiny.h\"' '" +
                              source_dir() + "/tests/apps/npy_runner.c' '" + dir + "/tiny.a' -lpthread -lm -o '" + app + "'",
                          &out),
              0)
        << out;
    ASSERT_EQ(run_command("ldd '" + app + "'", &out), 0) << out;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        bool allowed = line.find("linux-vdso") != std::string::npos || line.find("libc.so") != std::string::npos ||
                       line.find("libm.so") != std::string::npos || line.find("libpthread.so") != std::string::npos ||
                       line.find("ld-linux") != std::string::npos;
        EXPECT_TRUE(allowed) << "unexpected dependency: " << line;
    }
}

// A failed compile leaves the output folder as it was: no library, no header,
// no temporary folder.
TEST(AppContract, FailedCompileWritesNothing) {
    std::string dir = build_dir() + "/contract/failed";
    ASSERT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "'"), 0);
    std::string spec = dir + "/../tiny_failed.json";
    FILE *f = std::fopen(spec.c_str(), "w");
    std::fputs(kTinySpec, f);
    std::fclose(f);
    auto listing = [&]() {
        std::string out;
        run_command("ls -A '" + dir + "'", &out);
        return out;
    };
    CompileOptions o;
    o.spec_path = spec;
    o.target = "x86-64-linux";
    o.out_dir = dir;
    // No weights at all, then weights of another spec, then an unknown target.
    EXPECT_THROW(compile_model(o), Error);
    EXPECT_EQ(listing(), "");
    o.weights_path = source_dir() + "/tests/bad_specs/expected.tsv";
    EXPECT_THROW(compile_model(o), Error);
    EXPECT_EQ(listing(), "");
    o.weights_path.clear();
    o.random_seed = "1";
    o.target = "riscv-64-linux";
    EXPECT_THROW(compile_model(o), Error);
    EXPECT_EQ(listing(), "");
}

TEST(AppContract, ErrorCodesNotCrashes) {
    std::string dir = compile_tiny("external", true);
    std::string out;
    std::string app = dir + "/error_api";
    ASSERT_EQ(run_command("cc -O1 -g -I'" + dir + "' '" + source_dir() + "/tests/apps/error_api.c' '" + dir +
                              "/tiny.a' -lpthread -lm -o '" + app + "'",
                          &out),
              0)
        << out;
    int rc = run_command("HL_NUM_THREADS=3 '" + app + "' '" + dir + "/tiny.weights' '" + dir + "'", &out);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("0 failure(s)"), std::string::npos) << out;
}

// The thread pool splits every parallel loop into one share of tasks per
// thread and lets threads take over each other's shares: any thread count,
// more threads than cores or than tasks included, computes the same bits
// (each task writes its own rows with the same code).
TEST(AppContract, AnyThreadCountGivesTheSameOutput) {
    std::string dir = compile_tiny("threads", false);
    std::string out;
    std::string app = dir + "/app";
    ASSERT_EQ(run_command("cc -O2 -I'" + dir + "' -DMODEL=tiny -DMODEL_UPPER=TINY '-DMODEL_HEADER=\"tiny.h\"' '" +
                              source_dir() + "/tests/apps/npy_runner.c' '" + dir + "/tiny.a' -lpthread -lm -o '" + app + "'",
                          &out),
              0)
        << out;
    std::vector<float> input(3 * 40 * 48);
    for (size_t i = 0; i < input.size(); i++) input[i] = static_cast<float>((i * 7919) % 1000) / 500.0f - 1.0f;
    write_npy(dir + "/input.npy", {1, 3, 40, 48}, input.data());
    std::vector<float> first;
    for (int threads : {1, 2, 3, 8, 64}) {
        std::string result = dir + "/output_" + std::to_string(threads) + ".npy";
        ASSERT_EQ(run_command("'" + app + "' '" + dir + "/input.npy' '" + result + "' - " + std::to_string(threads), &out), 0)
            << out;
        std::vector<float> got = read_npy(result).data;
        ASSERT_EQ(got.size(), 10u);
        if (first.empty()) {
            first = got;
            continue;
        }
        EXPECT_EQ(std::memcmp(got.data(), first.data(), got.size() * sizeof(float)), 0) << threads << " threads";
    }
}
