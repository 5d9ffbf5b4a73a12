#include "cli/args.h"

#include "util/error.h"

namespace shufflec {

Args::Args(std::string command, std::vector<FlagSpec> flags, std::vector<std::string> positional_names)
    : command_(std::move(command)), flags_(std::move(flags)), positional_names_(std::move(positional_names)) {}

bool Args::parse(const std::vector<std::string> &argv) {
    for (size_t i = 0; i < argv.size(); i++) {
        const std::string &a = argv[i];
        if (a == "-h" || a == "--help") return false;
        if (a.size() > 1 && a[0] == '-') {
            std::string name = a, inline_value;
            bool has_inline = false;
            auto eq = a.find('=');
            if (eq != std::string::npos) name = a.substr(0, eq), inline_value = a.substr(eq + 1), has_inline = true;
            const FlagSpec *spec = nullptr;
            for (const auto &f : flags_)
                if (f.name == name) spec = &f;
            if (!spec) fail("shufflec ", command_, ": unknown option '", name, "' (see 'shufflec ", command_, " --help')");
            if (values_.count(name)) fail("shufflec ", command_, ": option '", name, "' is given twice");
            if (spec->value.empty()) {
                if (has_inline) fail("shufflec ", command_, ": option '", name, "' takes no value");
                values_[name] = "1";
            } else if (has_inline) {
                values_[name] = inline_value;
            } else {
                if (i + 1 >= argv.size()) fail("shufflec ", command_, ": option '", name, "' needs a value (", spec->value, ")");
                values_[name] = argv[++i];
            }
        } else {
            positional_.push_back(a);
        }
    }
    if (positional_.size() != positional_names_.size()) {
        if (positional_.size() < positional_names_.size())
            fail("shufflec ", command_, ": missing ", positional_names_[positional_.size()], " (see 'shufflec ", command_,
                 " --help')");
        fail("shufflec ", command_, ": unexpected argument '", positional_[positional_names_.size()], "'");
    }
    return true;
}

std::string Args::get(const std::string &flag, const std::string &fallback) const {
    auto it = values_.find(flag);
    return it == values_.end() ? fallback : it->second;
}

std::string Args::usage() const {
    std::string u = "usage: shufflec " + command_;
    for (const auto &p : positional_names_) u += " " + p;
    u += " [options]\n\noptions:\n";
    for (const auto &f : flags_) {
        std::string left = "  " + f.name + (f.value.empty() ? "" : " " + f.value);
        if (left.size() < 30) left.append(30 - left.size(), ' ');
        else left += "\n" + std::string(30, ' ');
        u += left + f.help + "\n";
    }
    return u;
}

}  // namespace shufflec
