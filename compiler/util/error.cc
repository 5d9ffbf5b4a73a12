#include "util/error.h"

#include <cstdlib>
#include <new>

namespace shufflec {

namespace {

// Appends ch to out, escaping control characters (and, if `quotes`, the quote and backslash).
void escape_into(std::string &out, unsigned char ch, bool quotes) {
    static const char hex[] = "0123456789abcdef";
    switch (ch) {
    case '"': out += quotes ? "\\\"" : "\""; break;
    case '\\': out += quotes ? "\\\\" : "\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    default:
        if (ch < 0x20 || ch == 0x7f) {
            out += "\\u00";
            out += hex[ch >> 4];
            out += hex[ch & 15];
        } else {
            out += static_cast<char>(ch);
        }
    }
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if none starts
// there (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(const std::string &s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = byte(0);
    if (c < 0x80) return 1;
    size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; k++)
        if ((byte(k) >> 6) != 2) return 0;
    unsigned char second = byte(1);
    if ((c == 0xe0 && second < 0xa0) || (c == 0xed && second > 0x9f) || (c == 0xf0 && second < 0x90) ||
        (c == 0xf4 && second > 0x8f))
        return 0;
    return n;
}

}  // namespace

std::string valid_utf8(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        size_t n = utf8_sequence(s, i);
        if (n == 0) {
            out += '?';
            i++;
        } else {
            out.append(s, i, n);
            i += n;
        }
    }
    return out;
}

std::string in_quotes(const std::string &s, size_t limit) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size(); i++) {
        if (i == limit) {
            out += "...";
            break;
        }
        escape_into(out, static_cast<unsigned char>(s[i]), true);
    }
    return out + "\"";
}

std::string one_line(const std::string &s) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < s.size();) {
        size_t n = utf8_sequence(s, i);
        unsigned char ch = static_cast<unsigned char>(s[i]);
        if (n == 1) {
            escape_into(out, ch, false);
        } else if (n > 1) {
            out.append(s, i, n);
        } else {  // not UTF-8: show the byte
            out += "\\x";
            out += hex[ch >> 4];
            out += hex[ch & 15];
        }
        i += n ? n : 1;
    }
    return out;
}

std::string format_error(const std::exception &e) {
    bool ours = dynamic_cast<const Error *>(&e) != nullptr || dynamic_cast<const std::bad_alloc *>(&e) != nullptr;
    std::string text = ours ? "shufflec: error: " + one_line(e.what()) + "\n"
                            : "shufflec: internal error: " + one_line(e.what()) +
                                  kReportRequest + "\n";
    if (const auto *error = dynamic_cast<const Error *>(&e)) {
        if (!error->details().empty()) {
            const char *verbose = std::getenv("SHUFFLEC_VERBOSE");
            if (verbose && *verbose && std::string(verbose) != "0") {
                text += error->details();
                if (text.back() != '\n') text += "\n";
            } else {
                text.insert(text.size() - 1, " (SHUFFLEC_VERBOSE=1 prints its output)");
            }
        }
    }
    return text;
}

}  // namespace shufflec
