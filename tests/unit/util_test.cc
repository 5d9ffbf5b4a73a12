// Message and text helpers (util/error): what reaches a terminal or a JSON file.
#include <gtest/gtest.h>

#include <csignal>
#include <unistd.h>

#include "util/error.h"
#include "util/workers.h"

using namespace shufflec;

// Exactly RFC 3629 UTF-8 survives; everything else becomes '?' (nlohmann's
// JSON writer refuses the rest, which once crashed the ONNX importer: a 0xF5
// byte in a producer name, found by fuzzing).
TEST(Utf8, OnlyValidSequencesSurvive) {
    EXPECT_EQ(valid_utf8("plain ascii"), "plain ascii");
    EXPECT_EQ(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    EXPECT_EQ(valid_utf8("a\xf5\x9c\x90\x91z"), "a????z");      // lead byte beyond U+10FFFF
    EXPECT_EQ(valid_utf8("\xf4\x90\x80\x80"), "????");          // U+110000
    EXPECT_EQ(valid_utf8("\xed\xa0\x80"), "???");               // a surrogate
    EXPECT_EQ(valid_utf8("\xe0\x80\x80"), "???");               // overlong
    EXPECT_EQ(valid_utf8("\xc0\x80"), "??");                    // overlong NUL
    EXPECT_EQ(valid_utf8("\xc3"), "?");                         // truncated
    EXPECT_EQ(valid_utf8("\x80x"), "?x");                       // stray continuation byte
}

TEST(OneLine, EscapesControlCharactersAndForeignBytes) {
    EXPECT_EQ(one_line("a\nb\tc\x1b[31m"), "a\\nb\\tc\\u001b[31m");
    EXPECT_EQ(one_line("caf\xc3\xa9"), "caf\xc3\xa9");
    EXPECT_EQ(one_line("bad\xff\xfe"), "bad\\xff\\xfe");
    EXPECT_EQ(in_quotes("x\"y\\z\n"), "\"x\\\"y\\\\z\\n\"");
}

// One worker process with a time limit (tune's candidate compiles): its
// success, its error line, an internal error kept apart, a crash and an
// endless loop become outcomes of the caller, which goes on.
TEST(Workers, OneWorkerEndsInAnOutcome) {
    EXPECT_TRUE(shufflec::run_in_worker([] {}, 5).ok);
    auto user = shufflec::run_in_worker([] { shufflec::fail("bad knob"); }, 5);
    EXPECT_FALSE(user.ok);
    EXPECT_EQ(user.error, "bad knob");
    auto internal = shufflec::run_in_worker([] { shufflec::internal_error("no such loop"); }, 5);
    EXPECT_EQ(internal.error, "internal error: no such loop");
    // (SIGKILL: sanitizers would catch a SIGSEGV and exit instead.)
    auto crash = shufflec::run_in_worker([] { std::raise(SIGKILL); }, 5);
    EXPECT_FALSE(crash.ok);
    EXPECT_NE(crash.error.find("signal 9"), std::string::npos) << crash.error;
    auto hang = shufflec::run_in_worker([] {
        for (;;) pause();
    }, 0.3);
    EXPECT_TRUE(hang.timed_out);
    EXPECT_FALSE(hang.ok);
}
