#include "spec/json_view.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "util/error.h"

namespace shufflec {

namespace {

void line_and_column(const std::string &text, size_t byte, size_t &line, size_t &column) {
    line = 1, column = 1;
    for (size_t i = 0; i < byte && i < text.size(); i++) {
        if (text[i] == '\n') line++, column = 1;
        else column++;
    }
}

}  // namespace

namespace {

// Finds the first repeated key, with its JSON path. A SAX pass of its own:
// nlohmann's parser with a callback (which could see keys too) rescans the
// enclosing array at every object end, quadratic in the number of layers.
class DuplicateKeyFinder : public nlohmann::json_sax<json> {
public:
    std::string duplicate_path, duplicate_key;

    bool null() override { return value(); }
    bool boolean(bool) override { return value(); }
    bool number_integer(number_integer_t) override { return value(); }
    bool number_unsigned(number_unsigned_t) override { return value(); }
    bool number_float(number_float_t, const string_t &) override { return value(); }
    bool string(string_t &) override { return value(); }
    bool binary(binary_t &) override { return value(); }
    bool start_object(std::size_t) override {
        value();
        frames_.push_back({false, -1, "", {}});
        return true;
    }
    bool key(string_t &k) override {
        Frame &f = frames_.back();
        f.key = k;
        if (!f.keys.insert(k).second && duplicate_key.empty()) duplicate_key = k, duplicate_path = path();
        return true;
    }
    bool end_object() override {
        frames_.pop_back();
        return true;
    }
    bool start_array(std::size_t) override {
        value();
        frames_.push_back({true, -1, "", {}});
        return true;
    }
    bool end_array() override {
        frames_.pop_back();
        return true;
    }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) override { return false; }

private:
    struct Frame {
        bool array;
        long index;       // current element (arrays)
        std::string key;  // current key (objects)
        std::set<std::string> keys;
    };
    bool value() {
        if (!frames_.empty() && frames_.back().array) frames_.back().index++;
        return true;
    }
    std::string path() const {
        std::string p = "$";
        for (const auto &f : frames_) p += f.array ? "[" + std::to_string(f.index) + "]" : "." + f.key;
        return p;
    }
    std::vector<Frame> frames_;
};

}  // namespace

json parse_json_text(const std::string &text, const std::string &source_name) {
    json result;
    try {
        result = json::parse(text);
    } catch (const json::parse_error &e) {
        size_t line, column;
        line_and_column(text, e.byte == 0 ? 0 : e.byte - 1, line, column);
        std::string what = e.what();
        // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line..., column ...: "
        auto colon = what.find(": ", what.find("parse error"));
        std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
        fail(source_name, ":", line, ":", column, ": JSON syntax error: ", reason);
    } catch (const json::exception &e) {
        // A number too large for a double: nlohmann names the text but not its position.
        std::string what = e.what();
        auto bracket = what.find("] ");
        std::string reason = bracket == std::string::npos ? what : what.substr(bracket + 2);
        auto q1 = reason.find('\''), q2 = reason.rfind('\'');
        size_t at = q1 != std::string::npos && q2 > q1 ? text.find(reason.substr(q1 + 1, q2 - q1 - 1)) : std::string::npos;
        if (at == std::string::npos) fail(source_name, ": JSON error: ", reason);
        size_t line, column;
        line_and_column(text, at, line, column);
        fail(source_name, ":", line, ":", column, ": JSON error: ", reason);
    }
    // nlohmann silently keeps the last of duplicate keys: find them separately.
    std::string key, duplicate = duplicate_key_path(text, &key);
    if (!duplicate.empty()) fail(duplicate, ": duplicate key ", in_quotes(key), " (a JSON object may not repeat a key)");
    return result;
}

std::string duplicate_key_path(const std::string &text, std::string *key) {
    DuplicateKeyFinder finder;
    json::sax_parse(text, &finder);
    if (key) *key = finder.duplicate_key;
    return finder.duplicate_key.empty() ? "" : finder.duplicate_path;
}

size_t edit_distance(const std::string &a, const std::string &b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); j++) row[j] = j;
    for (size_t i = 1; i <= a.size(); i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); j++) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}



void JsonView::error(const std::string &message) const { fail(path_, ": ", message); }

std::string JsonView::describe() const {
    const json &v = *value_;
    if (v.is_null()) return "null";
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_number()) return v.dump();
    if (v.is_string()) return "string " + in_quotes(v.get<std::string>(), 40);
    if (v.is_array()) return "an array";
    return "an object";
}

bool JsonView::has(const std::string &key) const { return value_->is_object() && value_->contains(key); }

JsonView JsonView::at(const std::string &key) const {
    expect_object();
    auto it = value_->find(key);
    if (it == value_->end()) error("missing required field \"" + key + "\"");
    return JsonView(*it, path_ + "." + key);
}

JsonView JsonView::operator[](size_t index) const {
    expect_array();
    if (index >= value_->size()) error(cat("index ", index, " out of range"));
    return JsonView((*value_)[index], cat(path_, "[", index, "]"));
}

size_t JsonView::size() const {
    expect_array();
    return value_->size();
}

void JsonView::expect_object() const {
    if (!value_->is_object()) error("expected an object, got " + describe());
}

void JsonView::expect_array() const {
    if (!value_->is_array()) error("expected an array, got " + describe());
}

void JsonView::check_fields(const std::vector<std::string> &allowed) const {
    expect_object();
    for (auto it = value_->begin(); it != value_->end(); ++it) {
        if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
        std::string best;
        size_t best_distance = 3;
        for (const auto &name : allowed) {
            size_t d = edit_distance(it.key(), name);
            if (d < best_distance) best_distance = d, best = name;
        }
        std::string message = "unknown field " + in_quotes(it.key());
        if (!best.empty()) message += " (did you mean \"" + best + "\"?)";
        fail(path_, ".", it.key(), ": ", message);
    }
}

int64_t JsonView::as_int(int64_t min, int64_t max) const {
    const json &v = *value_;
    bool integral = v.is_number_integer() ||
                    (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>() &&
                     std::fabs(v.get<double>()) < 9e18);
    if (!integral) error("expected an integer, got " + describe());
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        error(cat("value ", v.dump(), " is out of range [", min, ", ", max, "]"));
    int64_t x = v.is_number_float() ? static_cast<int64_t>(v.get<double>()) : v.get<int64_t>();
    if (x < min || x > max) error(cat("value ", x, " is out of range [", min, ", ", max, "]"));
    return x;
}

double JsonView::as_number(double min, double max) const {
    if (!value_->is_number()) error("expected a number, got " + describe());
    double x = value_->get<double>();
    if (!(x >= min && x <= max)) error(cat("value ", x, " is out of range [", min, ", ", max, "]"));
    return x;
}

bool JsonView::as_bool() const {
    if (!value_->is_boolean()) error("expected true or false, got " + describe());
    return value_->get<bool>();
}

std::string JsonView::as_string() const {
    if (!value_->is_string()) error("expected a string, got " + describe());
    return value_->get<std::string>();
}

std::vector<int64_t> JsonView::as_int_list(size_t n_min, size_t n_max, int64_t min, int64_t max) const {
    if (value_->is_number()) return {as_int(min, max)};
    if (!value_->is_array()) error("expected an integer or an array of integers, got " + describe());
    if (value_->size() < n_min || value_->size() > n_max) {
        if (n_min == n_max) error(cat("expected ", n_min, " integers, got ", value_->size()));
        error(cat("expected ", n_min, " to ", n_max, " integers, got ", value_->size()));
    }
    std::vector<int64_t> out;
    for (size_t i = 0; i < value_->size(); i++) out.push_back((*this)[i].as_int(min, max));
    return out;
}

int64_t JsonView::get_int(const std::string &key, int64_t fallback, int64_t min, int64_t max) const {
    return has(key) ? at(key).as_int(min, max) : fallback;
}

double JsonView::get_number(const std::string &key, double fallback, double min, double max) const {
    return has(key) ? at(key).as_number(min, max) : fallback;
}

bool JsonView::get_bool(const std::string &key, bool fallback) const { return has(key) ? at(key).as_bool() : fallback; }

std::string JsonView::get_string(const std::string &key, const std::string &fallback) const {
    return has(key) ? at(key).as_string() : fallback;
}

std::string JsonView::get_choice(const std::string &key, const std::string &fallback,
                                 std::initializer_list<const char *> choices) const {
    if (!has(key)) return fallback;
    JsonView v = at(key);
    std::string s = v.as_string();
    std::string list;
    for (const char *c : choices) {
        if (s == c) return s;
        list += std::string(list.empty() ? "" : ", ") + "\"" + c + "\"";
    }
    v.error(in_quotes(s) + " is not one of " + list);
}

}  // namespace shufflec
