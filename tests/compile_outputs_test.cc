// What `shufflec compile` leaves in its output folder, whatever happens:
// - a folder name full of quotes, backslashes, newlines and shell or assembler
//   syntax stays a name: the library is the same as from a plain folder;
// - a compile killed at any point (SIGKILL or SIGTERM) leaves the old set of
//   outputs or the new one, never a mix an app could link, no temporary
//   folders after the next compile, and no worker processes;
// - a kill in the middle of publishing is finished by the next compile, and
//   until then the mixed header and library refuse to link;
// - limits are refused at compile time, child tools' output is read without
//   deadlock, and error messages stay one line.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <random>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "emit/compile_model.h"
#include "emit/output_folder.h"
#include "emit/toolchain.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/npy.h"
#include "test_support.h"

using namespace shufflec;
using namespace shufflec_test;

namespace {

// The tiny ShuffleNet V1 (g3, 0.5x, 40x48) every compile test here starts from.
const std::string kTinySpec = read_file(source_dir() + "/tests/tiny_shufflenet_v1.json", "spec");

std::string fresh_dir(const std::string &name) {
    std::string dir = build_dir() + "/outputs/" + name;
    EXPECT_EQ(run_command("rm -rf '" + dir + "' && mkdir -p '" + dir + "'"), 0);
    return dir;
}

std::string write_spec(const std::string &dir) {
    std::string spec = dir + "/tiny.json";
    write_file_atomic(spec, kTinySpec);
    return spec;
}

std::vector<std::string> folder_entries(const std::string &dir) {
    std::vector<std::string> names;
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d))
            if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
        closedir(d);
    }
    return names;
}

int staging_folders(const std::string &dir) {
    int n = 0;
    for (const auto &name : folder_entries(dir)) n += name.rfind(".shufflec-tmp-", 0) == 0;
    return n;
}

bool exists(const std::string &path) { return access(path.c_str(), F_OK) == 0; }

// The build stamp symbol tiny.h refers to, or "" without a header.
std::string header_stamp(const std::string &dir) {
    if (!exists(dir + "/tiny.h")) return "";
    std::string h = read_file(dir + "/tiny.h");
    auto at = h.find("extern const char tiny_build_");
    if (at == std::string::npos) return "?";
    at += std::strlen("extern const char ");
    return h.substr(at, h.find('[', at) - at);
}

bool library_defines(const std::string &dir, const std::string &symbol) {
    std::string out;
    run_command("nm --defined-only --format=just-symbols '" + dir + "/tiny.a'", &out);
    return ("\n" + out).find("\n" + symbol + "\n") != std::string::npos;
}

// The folder holds no outputs, or a header and a library of one compile.
::testing::AssertionResult consistent(const std::string &dir) {
    std::string stamp = header_stamp(dir);
    bool library = exists(dir + "/tiny.a");
    if (stamp.empty() && !library) return ::testing::AssertionSuccess() << "empty";
    if (stamp.empty()) return ::testing::AssertionFailure() << "a library without its header";
    if (!library) return ::testing::AssertionFailure() << "a header without a library";
    if (!library_defines(dir, stamp)) return ::testing::AssertionFailure() << "tiny.h and tiny.a are from different compiles";
    for (const char *f : {"shufflec_runtime.h", "HalideRuntime.h"})
        if (!exists(dir + "/" + f)) return ::testing::AssertionFailure() << "missing " << f;
    return ::testing::AssertionSuccess() << stamp;
}

// Starts `shufflec compile` on `spec` into `dir` with random weights `seed`.
pid_t start_compile(const std::string &spec, const std::string &dir, const std::string &seed,
                    const std::vector<std::string> &env = {}) {
    std::vector<std::string> argv = {shufflec_binary(), "compile", spec, "--random-weights", seed, "--target",
                                     "x86-64-linux", "-o", dir, "--jobs", "2", "--quiet"};
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1), dup2(null, 2);
        for (const auto &e : env) putenv(const_cast<char *>(e.c_str()));
        std::vector<char *> args;
        for (auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    return pid;
}

int wait_for(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

// Processes whose command line mentions `text` (the compile's own spec path).
int processes_mentioning(const std::string &text) {
    int n = 0;
    for (const auto &entry : folder_entries("/proc")) {
        if (entry.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmdline;
        try {
            cmdline = read_file("/proc/" + entry + "/cmdline");
        } catch (const Error &) {
            continue;
        }
        for (auto &ch : cmdline)
            if (ch == '\0') ch = ' ';
        if (std::stol(entry) != getpid() && cmdline.find(text) != std::string::npos) n++;
    }
    return n;
}

std::vector<float> run_tiny(const std::string &dir, const std::string &input) {
    std::string exe = dir + "/run", out;
    std::string link = "cc -O2 -I'" + dir + "' -DMODEL=tiny -DMODEL_UPPER=TINY '-DMODEL_HEADER=\"tiny.h\"' '" + source_dir() +
                       "/tests/apps/npy_runner.c' '" + dir + "/tiny.a' -lpthread -lm -o '" + exe + "'";
    if (run_command(link, &out) != 0) {
        ADD_FAILURE() << link << "\n" << out;
        return {};
    }
    if (run_command("'" + exe + "' '" + input + "' '" + dir + "/y.npy'", &out) != 0) {
        ADD_FAILURE() << out;
        return {};
    }
    return read_npy(dir + "/y.npy").data;
}

std::string tiny_input(const std::string &dir) {
    std::vector<float> x(3 * 40 * 48);
    for (size_t i = 0; i < x.size(); i++) x[i] = static_cast<float>((i * 31) % 97) / 48.0f - 1.0f;
    std::string path = dir + "/x.npy";
    write_npy(path, {1, 3, 40, 48}, x.data());
    return path;
}

}  // namespace

// Paths never become code: a folder named like an injection compiles to the
// same library (same symbols, same output bits) as a plain folder.
TEST(CompileOutputs, HostileFolderNamesStayNames) {
    std::string base = fresh_dir("hostile");
    std::string spec = write_spec(base), input = tiny_input(base);
    // (No '/': a folder name cannot hold one; the rest of the path may.)
    std::string hostile = base + "/q\"uote \\back\\slash\nnew line $(touch pwned); `touch pwned`\\\"\\n.incbin \"x.bin\" #";
    std::string plain = base + "/plain";
    for (const auto &dir : {plain, hostile}) {
        CompileOptions o;
        o.spec_path = spec;
        o.random_seed = "3";
        o.target = "x86-64-linux";
        o.out_dir = dir;
        ASSERT_NO_THROW(compile_model(o)) << in_quotes(dir, 300);
    }
    EXPECT_FALSE(exists(base + "/pwned"));
    EXPECT_FALSE(exists("pwned"));
    std::string a, b;
    auto symbols = [](const std::string &dir, std::string *out) {
        // A copy with a plain name: the test's own shell commands must not be fooled either.
        std::string copy = build_dir() + "/outputs/hostile-copy.a";
        std::string bytes = read_file(dir + "/tiny.a");
        write_file_atomic(copy, bytes);
        // Halide numbers its loop functions per process, and the build stamp differs with them.
        return run_command("nm --defined-only --format=just-symbols '" + copy +
                               "' | grep -v -e '^[.]' -e '_par_for_' | sed -E 's/_build_[0-9a-f]{16}/_build_X/' | sort",
                           out);
    };
    ASSERT_EQ(symbols(plain, &a), 0);
    ASSERT_EQ(symbols(hostile, &b), 0);
    EXPECT_EQ(a, b) << "the library from the hostile folder defines other symbols";
    // Same weights, same code: the plain copy of the hostile library computes the same bits.
    std::string copy = base + "/copy";
    ASSERT_EQ(run_command("mkdir -p '" + copy + "'"), 0);
    for (const char *f : {"tiny.a", "tiny.h", "shufflec_runtime.h", "HalideRuntime.h"})
        write_file_atomic(copy + "/" + f, read_file(hostile + "/" + f));
    std::vector<float> y_plain = run_tiny(plain, input), y_hostile = run_tiny(copy, input);
    ASSERT_EQ(y_plain.size(), 10u);
    EXPECT_EQ(y_plain, y_hostile);
}

// Kills at random points of real compiles, alternating two models (random
// weights 1 and 2) into one folder: after every kill the folder holds a
// consistent set, SIGTERM leaves no temporary folder, no worker survives its
// compile, and the next compile cleans up after SIGKILL.
TEST(CompileOutputs, KilledCompilesNeverLeaveAMix) {
    std::string dir = fresh_dir("killed");
    std::string spec = write_spec(fresh_dir("killed-spec"));
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(wait_for(start_compile(spec, dir, "1")), 0);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(consistent(dir));
    std::string first = header_stamp(dir);
    std::mt19937 rng(12345);
    // Some kills land after the compile finished: then the new set must be complete.
    std::uniform_real_distribution<double> when(0.0, 1.2 * seconds);
    std::set<std::string> stamps = {first};
    const int kKills = 20;
    // On a loaded machine (tests run in parallel) compiles take longer than
    // the first one did, and no random kill may land after a compile ended:
    // then a few more kills come later and later (1.5x, 2.25x ... the first
    // compile's time), until one does.
    int kills = 0;
    for (int k = 0; k < kKills || (stamps.size() < 2 && k < kKills + 5); k++, kills++) {
        int sig = k % 2 ? SIGTERM : SIGKILL;
        pid_t pid = start_compile(spec, dir, k % 2 ? "1" : "2");
        double delay = k < kKills ? when(rng) : seconds * std::pow(1.5, k - kKills + 1);
        usleep(static_cast<useconds_t>(delay * 1e6));
        kill(pid, sig);
        int status = wait_for(pid);
        bool finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        EXPECT_TRUE(finished || WIFSIGNALED(status)) << "kill " << k << ": status " << status;
        EXPECT_TRUE(consistent(dir)) << "after kill " << k << (sig == SIGKILL ? " (SIGKILL)" : " (SIGTERM)");
        stamps.insert(header_stamp(dir));
        if (sig == SIGTERM && !finished) {
            EXPECT_EQ(staging_folders(dir), 0) << "SIGTERM left a temporary folder";
        }
        for (int tries = 0; processes_mentioning(spec) > 0 && tries < 50; tries++) usleep(20000);
        EXPECT_EQ(processes_mentioning(spec), 0) << "a compile worker outlived its killed parent (kill " << k << ")";
    }
    ASSERT_EQ(wait_for(start_compile(spec, dir, "2")), 0);
    EXPECT_TRUE(consistent(dir));
    EXPECT_EQ(staging_folders(dir), 0) << "the next compile must clean up after killed ones";
    EXPECT_GE(stamps.size(), 2u) << "no kill came late enough to see the other model's set";
    std::printf("[ outputs  ] %d kills, %d of them in the first %.1f s of a compile; %zu distinct complete sets seen\n",
                kills, kKills, 1.2 * seconds, stamps.size());
}

// A kill in the middle of publishing (after some files moved into place):
// the mixed header and library refuse to link, and the next compile into the
// folder finishes the interrupted one first.
TEST(CompileOutputs, InterruptedPublishingIsFinishedByTheNextCompile) {
    std::string dir = fresh_dir("publish");
    std::string spec = write_spec(fresh_dir("publish-spec"));
    std::string app = fresh_dir("publish-app") + "/app.c";
    write_file_atomic(app, "#include \"tiny.h\"\nint main(void) { return tiny_run(0, 0) == 0; }\n");
    ASSERT_EQ(wait_for(start_compile(spec, dir, "1")), 0);
    std::string old_stamp = header_stamp(dir);
    // Files are published runtime headers first, then tiny.a, then tiny.h: after
    // three moves the folder holds the new library beside the old header.
    pid_t pid = start_compile(spec, dir, "2", {"SHUFFLEC_TEST_KILL_AFTER_PUBLISHING=3"});
    int status = wait_for(pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    EXPECT_EQ(header_stamp(dir), old_stamp);
    EXPECT_FALSE(library_defines(dir, old_stamp)) << "the new library should be in place";
    std::string out;
    EXPECT_NE(run_command("cc -I'" + dir + "' '" + app + "' '" + dir + "/tiny.a' -lpthread -lm -o '" + dir + "/mixed'", &out), 0)
        << "a header and a library of different compiles must not link";
    EXPECT_NE(out.find("tiny_build_"), std::string::npos) << out;
    EXPECT_EQ(staging_folders(dir), 1);
    EXPECT_EQ(recover_output_folder(dir), 1);
    EXPECT_TRUE(consistent(dir));
    EXPECT_NE(header_stamp(dir), old_stamp) << "the interrupted compile's set is rolled forward";
    EXPECT_EQ(staging_folders(dir), 0);
    EXPECT_EQ(run_command("cc -I'" + dir + "' '" + app + "' '" + dir + "/tiny.a' -lpthread -lm -o '" + dir + "/fixed'", &out), 0)
        << out;
}

// A model whose weights cannot be embedded is refused at compile time, with the way out.
TEST(CompileOutputs, WeightsTooLargeToEmbedAreRefused) {
    std::string dir = fresh_dir("limits");
    std::string spec = dir + "/huge.json";
    write_file_atomic(spec, R"({"format": "shufflec-spec/1", "name": "huge", "input": {"shape": [1, 64, 512, 512]},
  "layers": [{"op": "fc", "name": "fc", "out_features": 20}]})");
    CompileOptions o;
    o.spec_path = spec;
    o.random_seed = "1";
    o.out_dir = dir + "/out";
    try {
        compile_model(o);
        ADD_FAILURE() << "a model with 1.3 GB of weights compiled with embedded weights";
    } catch (const Error &e) {
        std::string what = e.what();
        EXPECT_NE(what.find("--external-weights"), std::string::npos) << what;
        EXPECT_NE(what.find("1024 MiB"), std::string::npos) << what;
    }
    EXPECT_FALSE(exists(dir + "/out/huge.a"));
}

// A child tool that writes a lot to stderr (more than a pipe holds) while we
// read its stdout must not deadlock the compile.
TEST(CompileOutputs, ChildToolOutputIsReadWithoutDeadlock) {
    std::string out = run_tool_output({"sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' e >&2; "
                                                   "head -c 1048576 /dev/zero | tr '\\0' o; echo"},
                                      "a noisy tool");
    EXPECT_EQ(out.size(), 1048577u);
    try {
        run_tool({"sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' e >&2; exit 3"}, "a failing tool");
        ADD_FAILURE() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.details().size(), 1048576u);
        EXPECT_NE(std::string(e.what()).find("exit 3"), std::string::npos);
    }
}

// Names from input files (here: a file name with a newline and an escape
// sequence) never split or forge a line of an error message.
TEST(CompileOutputs, ErrorMessagesStayOneLine) {
    std::string dir = fresh_dir("messages");
    std::string name = dir + "/bad\nshufflec: error: forged\x1b[31m.json";
    write_file_atomic(name, "{");  // a syntax error: the message names the file
    int fd = open((dir + "/args").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, name.data(), name.size()), static_cast<ssize_t>(name.size()));
    close(fd);
    std::string out;
    int rc = run_command("('" + shufflec_binary() + "' info \"$(cat '" + dir + "/args')\" 2>&1 >/dev/null)", &out);
    EXPECT_NE(rc, 0);
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    EXPECT_NE(out.find("bad\\nshufflec: error: forged\\u001b[31m.json"), std::string::npos) << out;

    // A .npy header with a newline in its dtype.
    std::string header = "{'descr': '<i4\nshufflec: error: forged', 'fortran_order': False, 'shape': (1,), }";
    std::string npy = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header + "1234";
    write_file_atomic(dir + "/bad.npy", npy);
    write_file_atomic(dir + "/tiny.json", kTinySpec);
    rc = run_command("('" + shufflec_binary() + "' run '" + dir + "/tiny.json' --random-weights 1 --input '" + dir +
                         "/bad.npy' -o '" + dir + "/y.npy' 2>&1 >/dev/null)",
                     &out);
    EXPECT_NE(rc, 0);
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    EXPECT_NE(out.find("<i4\\nshufflec: error: forged"), std::string::npos) << out;
}

// --name becomes a C prefix: anything that is not an identifier is refused
// with one line naming the flag, and nothing is written.
TEST(CompileOutputs, HostileModelNamesAreRefused) {
    std::string dir = fresh_dir("names");
    std::string spec = write_spec(dir);
    for (const char *name : {"a\"b", "1net", "net;int x", "x\ny", "na me", "caf\xc3\xa9"}) {
        CompileOptions o;
        o.spec_path = spec;
        o.random_seed = "1";
        o.name = name;
        o.out_dir = dir + "/out";
        try {
            compile_model(o);
            ADD_FAILURE() << "--name " << in_quotes(name) << " was accepted";
        } catch (const Error &e) {
            EXPECT_EQ(std::string(e.what()).rfind("--name: ", 0), 0u) << e.what();
        }
        EXPECT_FALSE(exists(dir + "/out"));
    }
}
