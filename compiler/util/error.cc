#include "util/error.h"

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

}  // namespace

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
    std::string out;
    for (unsigned char ch : s) escape_into(out, ch, false);
    return out;
}

std::string format_error(const std::exception &e) {
    std::string text = "shufflec: error: " + one_line(e.what()) + "\n";
    if (const auto *error = dynamic_cast<const Error *>(&e)) {
        if (!error->details().empty()) {
            text += error->details();
            if (text.back() != '\n') text += "\n";
        }
    }
    return text;
}

}  // namespace shufflec
