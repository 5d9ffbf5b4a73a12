// A small command-line parser: `command POSITIONAL... --flag [VALUE]... [-- POSITIONAL...]`.
// Unknown flags (with the nearest known one suggested), missing values and
// repeated flags (unless declared repeatable) are errors naming the flag;
// `--` ends the options. Numbers are parsed strictly (no "10abc", "0x10", " 5").
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace shufflec {

struct FlagSpec {
    std::string name;     // "--weights"
    std::string value;    // metavariable ("FILE"); empty for a boolean flag
    std::string help;
    bool repeatable = false;  // given several times: every value counts (all())
};

class Args {
public:
    Args(std::string command, std::vector<FlagSpec> flags, std::vector<std::string> positional_names);
    // Parses argv (after the command word). Returns false if --help was given.
    bool parse(const std::vector<std::string> &argv);

    bool has(const std::string &flag) const { return values_.count(flag) > 0; }
    // The value (the last one of a repeatable flag).
    std::string get(const std::string &flag, const std::string &fallback = "") const;
    // Every value of a repeatable flag, in order.
    std::vector<std::string> all(const std::string &flag) const;
    // A whole number from min to max / a decimal number (digits, one '.') from min to max.
    int get_int(const std::string &flag, int min, int max, int fallback) const;
    double get_number(const std::string &flag, double min, double max, double fallback) const;
    const std::vector<std::string> &positional() const { return positional_; }
    std::string usage() const;

private:
    std::string command_;
    std::vector<FlagSpec> flags_;
    std::vector<std::string> positional_names_;
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::string> positional_;
};

}  // namespace shufflec
