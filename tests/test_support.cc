#include "test_support.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/file_io.h"

namespace shufflec_test {

std::string source_dir() { return SHUFFLEC_SOURCE_DIR; }
std::string build_dir() { return SHUFFLEC_BINARY_DIR; }

std::string golden_dir() {
    const char *dir = std::getenv("SHUFFLEC_GOLDEN_DIR");
    return dir && *dir ? dir : build_dir() + "/golden";
}

std::vector<GoldenCase> golden_cases() {
    std::vector<GoldenCase> cases;
    auto list = nlohmann::json::parse(shufflec::read_file(source_dir() + "/tests/golden/cases.json"));
    for (const auto &c : list["cases"]) {
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
