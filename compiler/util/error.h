// Error reporting shared by every stage of the compiler.
//
// Every user-facing failure is a shufflec::Error whose message names the place
// (a JSON path such as `$.layers[3].kernel`, a tensor name, a file, a flag).
// The CLI prints it once and exits 1; nothing else catches it. A bug in
// shufflec itself (internal_error) is a std::logic_error instead: exit 3.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace shufflec {

class Error : public std::runtime_error {
public:
    // `details`: text printed verbatim below the one-line message (a tool's own output).
    explicit Error(const std::string &message, std::string details = "")
        : std::runtime_error(message), details_(std::move(details)) {}
    const std::string &details() const { return details_; }

private:
    std::string details_;
};

// `s` with control characters escaped (\n, \t, \u001b...) and bytes that are
// not UTF-8 shown as \xNN, so that names and paths from input files never
// split or forge a message line.
std::string one_line(const std::string &s);

// `s` with every byte that is not part of valid UTF-8 replaced by '?' (for JSON output).
std::string valid_utf8(const std::string &s);

// "shufflec: error: MESSAGE\n" (one line, escaped); the details (a tool's own
// output) follow only with SHUFFLEC_VERBOSE=1, else the line says they exist.
std::string format_error(const std::exception &e);

// Concatenates anything streamable: cat("layer ", name, " has ", n, " inputs").
template <typename... Args>
std::string cat(const Args &...args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

// `s` in double quotes with control characters, quotes and backslashes escaped
// (so a message stays one line), cut after `limit` characters.
std::string in_quotes(const std::string &s, size_t limit = 60);

template <typename... Args>
[[noreturn]] void fail(const Args &...args) {
    throw Error(cat(args...));
}

// What format_error adds to an internal error's line.
inline const std::string kReportRequest = " (a bug in shufflec, not in its input: please report it with the command)";

// Something shufflec's own code should have made impossible (not bad input):
// "shufflec: internal error: ...", exit 3.
template <typename... Args>
[[noreturn]] void internal_error(const Args &...args) {
    throw std::logic_error(cat(args...));
}

}  // namespace shufflec
