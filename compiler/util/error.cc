#include "util/error.h"

namespace shufflec {

std::string in_quotes(const std::string &s, size_t limit) {
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (size_t i = 0; i < s.size(); i++) {
        if (i == limit) {
            out += "...";
            break;
        }
        unsigned char ch = static_cast<unsigned char>(s[i]);
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
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
    return out + "\"";
}

}  // namespace shufflec
