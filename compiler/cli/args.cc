#include "cli/args.h"

#include <algorithm>
#include <cstdlib>

#include "spec/json_view.h"
#include "util/error.h"

namespace shufflec {

Args::Args(std::string command, std::vector<FlagSpec> flags, std::vector<std::string> positional_names)
    : command_(std::move(command)), flags_(std::move(flags)), positional_names_(std::move(positional_names)) {}

bool Args::parse(const std::vector<std::string> &argv) {
    bool options = true;
    for (size_t i = 0; i < argv.size(); i++) {
        const std::string &a = argv[i];
        if (options && a == "--") {
            options = false;
            continue;
        }
        if (options && (a == "-h" || a == "--help")) return false;
        if (!options || a.size() < 2 || a[0] != '-') {
            positional_.push_back(a);
            continue;
        }
        std::string name = a, inline_value;
        bool has_inline = false;
        auto eq = a.find('=');
        if (eq != std::string::npos) name = a.substr(0, eq), inline_value = a.substr(eq + 1), has_inline = true;
        const FlagSpec *spec = nullptr;
        for (const auto &f : flags_)
            if (f.name == name) spec = &f;
        if (!spec) {
            const FlagSpec *near = nullptr;
            size_t best = 3;  // at most two edits away
            for (const auto &f : flags_) {
                size_t d = edit_distance(name, f.name);
                if (d < best) best = d, near = &f;
            }
            fail(command_, ": unknown option ", in_quotes(name),
                 near ? cat(" (did you mean '", near->name, "'?)") : cat(" (see 'shufflec ", command_, " --help')"));
        }
        if (values_.count(name) && !spec->repeatable)
            fail(command_, ": option '", name, "' is given twice");
        std::string value = "1";
        if (spec->value.empty()) {
            if (has_inline) fail(command_, ": option '", name, "' takes no value");
        } else if (has_inline) {
            value = inline_value;
        } else {
            if (i + 1 >= argv.size()) fail(command_, ": option '", name, "' needs a value (", spec->value, ")");
            value = argv[++i];
        }
        values_[name].push_back(value);
    }
    if (positional_.size() != positional_names_.size()) {
        if (positional_.size() < positional_names_.size())
            fail(command_, ": missing ", positional_names_[positional_.size()], " (see 'shufflec ", command_, " --help')");
        fail(command_, ": unexpected argument ", in_quotes(positional_[positional_names_.size()]));
    }
    return true;
}

std::string Args::get(const std::string &flag, const std::string &fallback) const {
    auto it = values_.find(flag);
    return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::all(const std::string &flag) const {
    auto it = values_.find(flag);
    return it == values_.end() ? std::vector<std::string>() : it->second;
}

int Args::get_int(const std::string &flag, int min, int max, int fallback) const {
    if (!has(flag)) return fallback;
    std::string text = get(flag);
    bool ok = !text.empty() && text.size() <= 10 && text.find_first_not_of("0123456789") == std::string::npos;
    long long v = ok ? std::atoll(text.c_str()) : 0;
    if (!ok || v < min || v > max)
        fail(command_, ": ", flag, ": expected a whole number from ", min, " to ", max, ", got ", in_quotes(text));
    return static_cast<int>(v);
}

double Args::get_number(const std::string &flag, double min, double max, double fallback) const {
    if (!has(flag)) return fallback;
    std::string text = get(flag);
    size_t dot = text.find('.');
    bool ok = !text.empty() && text.size() <= 20 && text != "." &&
              text.find_first_not_of("0123456789.") == std::string::npos &&
              (dot == std::string::npos || text.find('.', dot + 1) == std::string::npos);
    double v = ok ? std::strtod(text.c_str(), nullptr) : 0;
    if (!ok || v < min || v > max)
        fail(command_, ": ", flag, ": expected a number from ", min, " to ", max, ", got ", in_quotes(text));
    return v;
}

std::string Args::usage() const {
    std::string u = "usage: shufflec " + command_;
    for (const auto &p : positional_names_) u += " " + p;
    u += " [options]\n\noptions:\n";
    for (const auto &f : flags_) {
        std::string left = "  " + f.name + (f.value.empty() ? "" : " " + f.value);
        if (left.size() < 30) left.append(30 - left.size(), ' ');
        else left += "\n" + std::string(30, ' ');
        u += left + f.help + (f.repeatable ? " (repeatable)" : "") + "\n";
    }
    return u;
}

}  // namespace shufflec
