// What user text may do (issue 19): names never become paths, reads are
// bounded, runner specs and numbers are parsed strictly, temporary folders
// never outlive their run, tuning-log records are checked field by field.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "cli/args.h"
#include "measure/runner.h"
#include "tune/tuning_log.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/temp_folder.h"
#include "util/workers.h"

using namespace shufflec;

namespace {

// The message of the Error that `f` throws ("" if none).
template <typename F>
std::string error_of(F f) {
    try {
        f();
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

bool exists(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

std::string write_temp(const std::string &name, const std::string &text) {
    std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

}  // namespace

TEST(FileNames, OnlyPlainNamesPass) {
    for (const char *ok : {"shufflenet_v1_g3_1.0x", "a", "net-2.json", "A_b.c-d"}) EXPECT_TRUE(is_file_name(ok)) << ok;
    for (const char *bad : {"", "../x", "a/b", "/tmp/x", ".hidden", "..", "-rf", "a b", "tab\there", "new\nline", "x;y",
                            "a\\b"})
        EXPECT_FALSE(is_file_name(bad)) << bad;
    EXPECT_FALSE(is_file_name(std::string(129, 'a')));
    EXPECT_NE(error_of([] { checked_file_name("../../../../tmp/x", "the model name"); }).find("cannot be a file name"),
              std::string::npos);
}

TEST(ReadFile, RegularFilesUpToTheLimit) {
    std::string path = write_temp("ten_bytes", "0123456789");
    EXPECT_EQ(read_file(path, "spec", 10), "0123456789");
    EXPECT_NE(error_of([&] { read_file(path, "spec", 9); }).find("larger than"), std::string::npos);
    // Devices and folders are refused at once, before any read.
    EXPECT_NE(error_of([] { read_file("/dev/zero", "spec"); }).find("not a regular file"), std::string::npos);
    EXPECT_NE(error_of([] { read_file("/tmp", "spec"); }).find("it is a folder"), std::string::npos);
    EXPECT_NE(error_of([] { read_file("/nonexistent/x", "spec"); }).find("cannot open spec"), std::string::npos);
}

TEST(ReadFile, PipesAreBoundedToo) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t writer = fork();
    ASSERT_GE(writer, 0);
    if (writer == 0) {  // writes until the reader goes away
        close(fds[0]);
        char block[4096] = {};
        while (write(fds[1], block, sizeof block) > 0) {
        }
        _exit(0);
    }
    close(fds[1]);
    std::string path = "/proc/self/fd/" + std::to_string(fds[0]);
    EXPECT_NE(error_of([&] { read_file(path, "weights file", 1 << 20); }).find("larger than 1 MiB"), std::string::npos);
    close(fds[0]);
    int status = 0;
    waitpid(writer, &status, 0);
}

TEST(ReadFile, APipeWithoutWriterDoesNotHang) {
    std::string fifo = ::testing::TempDir() + "/no_writer";
    unlink(fifo.c_str());
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(read_file(fifo, "spec"), "");  // no writer: empty at once (the parser then says so)
    unlink(fifo.c_str());
}

TEST(Runners, SshSpecsAreParsedStrictly) {
    SshAddress a = parse_ssh_runner("ssh://pi@board:2222/tmp/sc");
    EXPECT_EQ(a.user, "pi");
    EXPECT_EQ(a.host, "board");
    EXPECT_EQ(a.port, 2222);
    EXPECT_EQ(a.dir, "/tmp/sc");  // absolute, as in git's ssh:// URLs
    EXPECT_EQ(parse_ssh_runner("ssh://board/~/sc").dir, "~/sc");  // the home folder
    EXPECT_EQ(parse_ssh_runner("ssh://board").dir, "~/.shufflec-runner");
    EXPECT_EQ(parse_ssh_runner("ssh://board//tmp/x").dir, "//tmp/x");
    SshAddress v6 = parse_ssh_runner("ssh://root@[::1]:22/tmp/r");
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, 22);
    for (const char *bad : {"ssh://-F/tmp/x", "ssh://-oProxyCommand=x", "ssh://a|b", "ssh://a&b", "ssh://a\tb",
                            "ssh://a\nb", "ssh://host/dir\nx", "ssh://-u@h", "ssh://@h", "ssh://h:", "ssh://h:0",
                            "ssh://h:70000", "ssh://h:22x", "ssh://", "ssh://a b", "ssh://h;x", "ssh://[zz]",
                            "ssh://h/"}) {
        std::string e = error_of([&] { parse_ssh_runner(bad); });
        EXPECT_NE(e.find("--runner"), std::string::npos) << bad;
        EXPECT_EQ(e.find('\n'), std::string::npos) << bad;
    }
    for (const char *bad : {"adb:-x", "adb:a b", "adb:", "adbx"})
        EXPECT_NE(error_of([&] { make_runner(bad); }).find("--runner"), std::string::npos) << bad;
}

TEST(Runners, ListsHaveNoEmptyEntries) {
    EXPECT_EQ(split_runners({"local,qemu", "ssh://a"}), (std::vector<std::string>{"local", "qemu", "ssh://a"}));
    for (const char *bad : {"local,", ",,", ",local", ""})
        EXPECT_NE(error_of([&] { split_runners({bad}); }).find("empty runner"), std::string::npos) << bad;
}

TEST(Args, RepeatableOptionsSuggestionsAndDoubleDash) {
    Args args("tune", {{"--runner", "R", "where", true}, {"--weights", "FILE", "w"}, {"--budget", "M", "b"},
                       {"--threads", "N", "t"}, {"--quiet", "", "q"}},
              {"SPEC"});
    ASSERT_TRUE(args.parse({"--runner", "local", "--runner=qemu", "--", "-spec.json"}));
    EXPECT_EQ(args.all("--runner"), (std::vector<std::string>{"local", "qemu"}));
    EXPECT_EQ(args.positional(), (std::vector<std::string>{"-spec.json"}));
    Args twice("tune", {{"--weights", "FILE", "w"}}, {});
    EXPECT_NE(error_of([&] { twice.parse({"--weights", "a", "--weights", "b"}); }).find("given twice"), std::string::npos);
    Args typo("compile", {{"--weights", "FILE", "w"}}, {});
    std::string e = error_of([&] { typo.parse({"--weigths", "a"}); });
    EXPECT_EQ(e.rfind("compile: unknown option", 0), 0u) << e;  // one prefix: no "shufflec compile:" inside
    EXPECT_NE(e.find("did you mean '--weights'?"), std::string::npos) << e;
}

TEST(Args, NumbersAreParsedStrictly) {
    auto budget = [](const std::string &text) {
        Args a("tune", {{"--budget", "M", "b"}}, {});
        a.parse({"--budget", text});
        return a.get_number("--budget", 0.01, 10080, 10);
    };
    EXPECT_EQ(budget("2.5"), 2.5);
    EXPECT_EQ(budget("10"), 10);
    for (const char *bad : {"10abc", "0x10", " 5", "1e3", "-1", "", ".", "1.2.3", "nan", "inf", "0", "99999"})
        EXPECT_NE(error_of([&] { budget(bad); }).find("expected a number"), std::string::npos) << bad;
    auto threads = [](const std::string &text) {
        Args a("bench", {{"--threads", "N", "t"}}, {});
        a.parse({"--threads", text});
        return a.get_int("--threads", 1, 64, 1);
    };
    EXPECT_EQ(threads("8"), 8);
    for (const char *bad : {"1.5", "8x", "0x8", "+8", " 8", "65", "0", "99999999999"})
        EXPECT_NE(error_of([&] { threads(bad); }).find("expected a whole number"), std::string::npos) << bad;
}

TEST(TempFolders, RemovedOnReturnAndOnError) {
    std::string kept;
    {
        TempFolder t("shufflec-unittest-");
        kept = t.path();
        ASSERT_TRUE(exists(kept));
        make_folders(kept + "/a/b");
        write_file_atomic(kept + "/a/b/f", "x");
    }
    EXPECT_FALSE(exists(kept));
    try {
        TempFolder t("shufflec-unittest-");
        kept = t.path();
        fail("an error on the way");
    } catch (const Error &) {
    }
    EXPECT_FALSE(exists(kept));
}

TEST(TempFolders, SignalsAndStaleFoldersLeaveNothing) {
    // SIGTERM: the handler removes the folder (with subfolders) before the default action.
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        TempFolder t("shufflec-unittest-");
        make_folders(t.path() + "/sub");
        write_file_atomic(t.path() + "/sub/f", "x");
        std::string line = t.path() + "\n";
        if (write(fds[1], line.data(), line.size()) < 0) _exit(2);
        pause();
        _exit(1);
    }
    close(fds[1]);
    char buf[4096];
    ssize_t got = read(fds[0], buf, sizeof buf);
    close(fds[0]);
    ASSERT_GT(got, 1);
    std::string path(buf, static_cast<size_t>(got - 1));
    ASSERT_TRUE(exists(path + "/sub/f"));
    kill(child, SIGTERM);
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    EXPECT_FALSE(exists(path)) << path;
    // SIGKILL cannot be caught: the folder of a dead owner is removed by the next one of its kind.
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, &status, 0);
    std::string stale = cat(::testing::TempDir(), "/shufflec-unittest-", dead, "-abcdef");
    make_folders(stale + "/x");
    { TempFolder next("shufflec-unittest-", ::testing::TempDir()); }
    EXPECT_FALSE(exists(stale)) << stale;
}

TEST(Workers, AnAbortingWorkerIsOneErrorLine) {
    std::vector<int> done;
    run_in_workers({{0, 1}, {2}}, [](int) {}, [&](int i) { done.push_back(i); });
    EXPECT_EQ(done.size(), 3u);
    // What LLVM does on a full disk: print and abort.
    std::string e = error_of([] {
        run_in_workers({{0}}, [](int) {
            std::fputs("LLVM ERROR: IO failure on output stream: No space left on device\n", stderr);
            std::abort();
        }, [](int) {});
    });
    EXPECT_EQ(e, "LLVM could not write its output: IO failure on output stream: No space left on device");
    e = error_of([] { run_in_workers({{0}}, [](int) { fail("pipeline ", 3, " failed"); }, [](int) {}); });
    EXPECT_EQ(e, "pipeline 3 failed");
    // A crash (Halide 14 segfaults on some schedules) names the item the worker was on.
    auto describe = [](int item) { return cat("compiling unit ", item); };
    e = error_of([&] {
        run_in_workers({{0, 1}, {2}}, [](int item) {
            if (item == 1) std::raise(SIGSEGV);
        }, [](int) {}, describe);
    });
    // (SIGSEGV, or SIGABRT where a sanitizer catches it first and aborts.)
    EXPECT_EQ(e.rfind("compiling unit 1: a worker was killed by signal ", 0), 0u) << e;
    EXPECT_NE(e.find(" (a crash in Halide or LLVM)"), std::string::npos) << e;
    // An abort with LLVM's message keeps the message alone.
    e = error_of([&] {
        run_in_workers({{0}}, [](int) {
            std::fputs("LLVM ERROR: IO failure on output stream: No space left on device\n", stderr);
            std::abort();
        }, [](int) {}, describe);
    });
    EXPECT_EQ(e, "LLVM could not write its output: IO failure on output stream: No space left on device");
}

TEST(TuningLogs, FieldsAreCheckedOneByOne) {
    const std::string good =
        R"({"format":"shufflec-tune/1","workload":"w","status":"ok","target":"x86-64-linux","threads":1,"est_ms":0.5})";
    EXPECT_EQ(read_tuning_log(write_temp("good.jsonl", good + "\n")).size(), 1u);
    struct Case {
        std::string record, expected;
    };
    std::vector<Case> cases = {
        {R"({"format":"shufflec-tune/1","workload":12345,"status":"ok","target":"t","threads":1})", ":1: workload: expected a string"},
        {R"({"format":"shufflec-tune/1","workload":"w","status":"ok","target":"t","threads":"1"})", ":1: threads: expected a whole number"},
        {R"({"format":"shufflec-tune/1","workload":"w","status":"ok","target":"t","threads":1,"est_ms":null})", ":1: est_ms: expected a time"},
        {R"({"format":"shufflec-tune/1","workload":"w","status":"ok","target":"t","threads":1,"est_ms":-1e308})", ":1: est_ms: expected a time"},
        {R"({"format":"shufflec-tune/1","workload":"w","workload":"v","status":"ok","target":"t","threads":1})", ":1: $.workload: given twice"},
        {R"({"format":"shufflec-tune/1","workload":"w","status":"ok","target":"t","threads":0})", ":1: threads: expected a whole number"},
        {R"({"format":"shufflec-tune/1","workload":"w","status":"ok","target":"t","threads":1,"config":7})", ":1: config: expected a list or an object"},
        {R"({"format":"shufflec-tune/1","workload":"w","status":"ok","target":"t","threads":1,"default":"yes"})", ":1: default: expected true or false"},
        {R"({"format":"shufflec-tune/2","workload":"w"})", ":1: not a shufflec-tune/1 record"},
        {R"({"workload":"w"})", ":1: not a shufflec-tune/1 record"},
    };
    for (const auto &c : cases) {
        std::string path = write_temp("bad.jsonl", c.record + "\n");
        std::string e = error_of([&] { read_tuning_log(path); });
        EXPECT_EQ(e.rfind(path + ":1: ", 0), 0u) << e;
        EXPECT_NE(e.find(c.expected), std::string::npos) << c.record << " -> " << e;
    }
}
