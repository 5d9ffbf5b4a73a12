// A small command-line parser: `command POSITIONAL... --flag [VALUE]...`.
// Unknown flags, missing values and repeated flags are errors naming the flag.
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
};

class Args {
public:
    Args(std::string command, std::vector<FlagSpec> flags, std::vector<std::string> positional_names);
    // Parses argv (after the command word). Returns false if --help was given.
    bool parse(const std::vector<std::string> &argv);

    bool has(const std::string &flag) const { return values_.count(flag) > 0; }
    std::string get(const std::string &flag, const std::string &fallback = "") const;
    const std::vector<std::string> &positional() const { return positional_; }
    std::string usage() const;

private:
    std::string command_;
    std::vector<FlagSpec> flags_;
    std::vector<std::string> positional_names_;
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

}  // namespace shufflec
