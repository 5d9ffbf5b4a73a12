// What an app relies on: the library links with nothing but libc, libm and
// pthreads; the error codes of docs/api.md (bad arguments, wrong buffer
// shapes, corrupt external weights) come back as codes, never as crashes.
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "../runtime/shufflec_runtime.h"
#include "emit/compile_model.h"
#include "util/error.h"
#include "util/npy.h"
#include "test_support.h"
#include "util/file_io.h"

using namespace shufflec;
using namespace shufflec_test;

namespace {

// The tiny ShuffleNet V1 (g3, 0.5x, 40x48) every compile test here starts from.
const std::string kTinySpec = read_file(source_dir() + "/tests/tiny_shufflenet_v1.json", "spec");

void write_text(const std::string &path, const std::string &text) {
    FILE *f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr) << path;
    std::fputs(text.c_str(), f);
    std::fclose(f);
}

// An input.preprocess block for the tiny model's 40x48 input.
const char *kTinyPreprocess = R"(, "preprocess": {"order": "rgb", "scale": 0.00392156862745098, "mean": [0.5, 0.4, 0.3],
    "std": [0.2, 0.25, 0.3], "resize": {"shorter_side": 48, "antialias": true}, "center_crop": [40, 48]})";

// The tiny spec with `family_extra` (e.g. ', "shuffle_convention": "inverse"') added to its family and
// `input_extra` to its input.
std::string tiny_spec(const std::string &family_extra, const std::string &input_extra = "") {
    std::string spec = kTinySpec;
    spec.replace(spec.find("\"num_classes\": 10"), 17, "\"num_classes\": 10" + family_extra);
    return spec.replace(spec.find("[1, 3, 40, 48]"), 14, "[1, 3, 40, 48]" + input_extra);
}

// Compiles the tiny model once into build/contract/<variant>.
std::string compile_tiny(const std::string &variant, bool external, const std::string &family_extra = "",
                         const std::string &input_extra = "") {
    std::string dir = build_dir() + "/contract/" + variant;
    EXPECT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "'"), 0);
    std::string spec = dir + "/tiny.json";
    write_text(spec, tiny_spec(family_extra, input_extra));
    CompileOptions o;
    o.spec_path = spec;
    o.random_seed = "5";
    o.target = "x86-64-linux";
    o.out_dir = dir;
    o.external_weights = external;
    compile_model(o);
    return dir;
}

// Links a test app (tests/apps/<app>.c) against the tiny model in `dir`.
std::string link_app(const std::string &dir, const std::string &app) {
    std::string out, exe = dir + "/" + app;
    EXPECT_EQ(run_command("cc -O2 -I'" + dir + "' -DMODEL=tiny -DMODEL_UPPER=TINY '-DMODEL_HEADER=\"tiny.h\"' '" +
                              source_dir() + "/tests/apps/" + app + ".c' '" + dir + "/tiny.a' -lpthread -lm -o '" + exe +
                              "'",
                          &out),
              0)
        << out;
    return exe;
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
    std::fputs(kTinySpec.c_str(), f);
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

// Every entry point may be called from any number of threads: 8 threads, each
// cycling through NAME_run, NAME_run_halide and NAME_run_with_scratch on
// different inputs, while another thread keeps changing the thread count (and,
// for external weights, reloading them), give the bits of single calls.
TEST(AppContract, ConcurrentCallsGiveTheSameBits) {
    std::string out;
    std::string embedded = compile_tiny("concurrent", false);
    std::string app = link_app(embedded, "concurrent_runs");
    EXPECT_EQ(run_command("'" + app + "' 8 300", &out), 0) << out;
    std::printf("[ contract ] embedded weights, 8 threads x 300 calls: %s", out.c_str());
    EXPECT_NE(out.find("0 of 2400 outputs wrong, 0 errors"), std::string::npos) << out;

    std::string external = compile_tiny("concurrent-external", true);
    app = link_app(external, "concurrent_runs");
    EXPECT_EQ(run_command("'" + app + "' 8 150 '" + external + "/tiny.weights'", &out), 0) << out;
    std::printf("[ contract ] external weights reloaded meanwhile, 8 threads x 150 calls: %s", out.c_str());
    EXPECT_NE(out.find("0 of 1200 outputs wrong, 0 errors"), std::string::npos) << out;

    // With input.preprocess: NAME_run_rgb8 joins the cycle.
    std::string rgb8 = compile_tiny("concurrent-rgb8", false, "", kTinyPreprocess);
    app = link_app(rgb8, "concurrent_runs");
    EXPECT_EQ(run_command("'" + app + "' 8 300", &out), 0) << out;
    std::printf("[ contract ] with NAME_run_rgb8, 8 threads x 300 calls: %s", out.c_str());
    EXPECT_NE(out.find("0 of 2400 outputs wrong, 0 errors"), std::string::npos) << out;
}

// The external-weights fingerprint covers what gives the weights their
// meaning, not just their size: models whose folded weights have the same size
// but a different meaning reject each other's files.
TEST(AppContract, WeightsFingerprintCoversTheModel) {
    std::string dir = build_dir() + "/contract/fingerprint";
    ASSERT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "'"), 0);
    auto identity_of = [&](const std::string &variant, const std::string &text) {
        std::string spec = dir + "/" + variant + ".json";
        write_text(spec, text);
        CompileOptions o;
        o.spec_path = spec;
        o.random_seed = "5";
        o.target = "x86-64-linux";
        o.external_weights = true;
        return weights_identity(o);
    };
    auto identity = [&](const std::string &variant, const std::string &extra) {
        return identity_of(variant, tiny_spec(extra));
    };
    WeightsIdentity base = identity("base", "");
    struct Variant {
        const char *what, *extra;
    } variants[] = {
        {"the shuffle convention only", ", \"shuffle_convention\": \"inverse\""},
        {"the channel order of stride-2 concats only", ", \"concat_order\": \"branch_first\""},
        {"averaging without the padding only", ", \"count_include_pad\": false"},
    };
    for (const auto &v : variants) {
        WeightsIdentity other = identity("variant", v.extra);
        EXPECT_EQ(other.floats, base.floats) << v.what << ": the test wants a model of the same weights size";
        EXPECT_NE(other.fingerprint, base.fingerprint) << v.what;
    }
    EXPECT_EQ(identity("again", "").fingerprint, base.fingerprint) << "the fingerprint must be deterministic";
    // A different network whose weights have the same size: 3x1 instead of 1x3 kernels.
    auto plain = [&](const char *kernel, const char *pad) {
        return std::string(R"({"format": "shufflec-spec/1", "name": "plain", "input": {"shape": [1, 3, 16, 16]},
  "layers": [{"op": "conv", "name": "conv", "out_channels": 8, "kernel": )") + kernel + R"(, "pad": )" + pad + R"(},
             {"op": "relu", "name": "relu"}, {"op": "global_avgpool", "name": "pool"},
             {"op": "fc", "name": "fc", "out_features": 10}]})";
    };
    WeightsIdentity tall = identity_of("tall", plain("[3, 1]", "[1, 0]")), wide = identity_of("wide", plain("[1, 3]", "[0, 1]"));
    EXPECT_EQ(tall.floats, wide.floats);
    EXPECT_NE(tall.fingerprint, wide.fingerprint) << "3x1 and 1x3 convolutions";
    // What the passes make identical is the same model: the shuffle placed after
    // the depthwise conv, with its weights permuted, is the same folded graph.
    EXPECT_EQ(identity("after_dw", ", \"shuffle_position\": \"after_dw\"").fingerprint, base.fingerprint);

    // End to end: the library of the convention-only variant refuses the base model's file.
    std::string a = compile_tiny("fingerprint-a", true);
    std::string b = compile_tiny("fingerprint-b", true, ", \"shuffle_convention\": \"inverse\"");
    std::string probe = dir + "/probe.c";
    write_text(probe, "#include <stdio.h>\n#include \"tiny.h\"\nint main(int argc, char **argv) {\n"
                      "    (void)argc;\n    printf(\"%d\\n\", tiny_load_weights(argv[1]));\n    return 0;\n}\n");
    std::string exe = dir + "/probe", text;
    ASSERT_EQ(run_command("cc -I'" + b + "' '" + probe + "' '" + b + "/tiny.a' -lpthread -lm -o '" + exe + "'", &text), 0)
        << text;
    ASSERT_EQ(run_command("'" + exe + "' '" + a + "/tiny.weights'", &text), 0);
    EXPECT_EQ(std::atoi(text.c_str()), SHUFFLEC_ERROR_WEIGHTS_CORRUPT) << text;
    ASSERT_EQ(run_command("'" + exe + "' '" + b + "/tiny.weights'", &text), 0);
    EXPECT_EQ(std::atoi(text.c_str()), SHUFFLEC_OK) << text;
}

// Two models whose names differ only in case have different include guards
// (the second header is no longer skipped in silence: the compiler reports the
// colliding upper-case macros), and a header links only with the library of
// its own compile.
TEST(AppContract, HeadersBelongToTheirLibrary) {
    std::string dir = build_dir() + "/contract/headers";
    ASSERT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "/Net' '" + dir + "/net' '" + dir + "/other'"), 0);
    std::string spec = dir + "/tiny.json";
    write_text(spec, kTinySpec);
    auto compile = [&](const std::string &name, const std::string &sub, const std::string &seed) {
        CompileOptions o;
        o.spec_path = spec;
        o.random_seed = seed;
        o.target = "x86-64-linux";
        o.name = name;
        o.out_dir = dir + "/" + sub;
        o.emit = CompileOptions::Emit::Objects;
        compile_model(o);
    };
    compile("Net", "Net", "5");
    compile("net", "net", "5");
    compile("net", "other", "6");
    std::string both = dir + "/both.c", text;
    write_text(both, "#include \"Net/Net.h\"\n#include \"net/net.h\"\n"
                     "int main(void) {\n    int (*a)(const float *, float *) = Net_run, (*b)(const float *, float *) = net_run;\n"
                     "    return a == b;\n}\n");
    // Both headers are read (their functions are declared): nothing is skipped in
    // silence. Their upper-case macros collide (NET_NAME), and the compiler says so.
    EXPECT_EQ(run_command("cc -Wall -c -I'" + dir + "/net' -I'" + dir + "' '" + both + "' -o '" + dir + "/both.o'", &text), 0)
        << "both headers must be read: " << text;
    EXPECT_NE(text.find("\"NET_NAME\" redefined"), std::string::npos) << text;

    // net.h of one compile with net.o of another: the link fails and names the build stamp.
    std::string app = dir + "/app.c";
    write_text(app, "#include \"net.h\"\nint main(void) { return net_run(0, 0) == SHUFFLEC_OK; }\n");
    std::string runtime = "'" + dir + "/net/shufflec_runtime_x86-64-linux.o'";
    EXPECT_EQ(run_command("cc -I'" + dir + "/net' '" + app + "' '" + dir + "/net/net.o' " + runtime + " -lpthread -lm -o '" +
                              dir + "/app'", &text), 0) << text;
    EXPECT_NE(run_command("cc -I'" + dir + "/net' '" + app + "' '" + dir + "/other/net.o' " + runtime +
                              " -lpthread -lm -o '" + dir + "/mixed'", &text), 0);
    EXPECT_NE(text.find("net_build_"), std::string::npos) << text;
}
