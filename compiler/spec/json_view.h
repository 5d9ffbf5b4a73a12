// A read-only view of one JSON value that knows its JSON path, so that every
// error it raises names the exact place in the spec: `$.layers[3].kernel: ...`.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shufflec {

using json = nlohmann::json;

// Parses JSON text; syntax errors and duplicate keys are reported with file, line and column.
json parse_json_text(const std::string &text, const std::string &source_name);

// The JSON path of the first key an object of `text` repeats ("" if none; `text`
// must be valid JSON), and the key itself in *key.
std::string duplicate_key_path(const std::string &text, std::string *key = nullptr);

// Insertions, deletions and substitutions between a and b (for "did you mean").
size_t edit_distance(const std::string &a, const std::string &b);

class JsonView {
public:
    JsonView(const json &value, std::string path) : value_(&value), path_(std::move(path)) {}

    const std::string &path() const { return path_; }
    const json &raw() const { return *value_; }

    bool has(const std::string &key) const;
    JsonView at(const std::string &key) const;  // required field
    JsonView operator[](size_t index) const;    // array element
    size_t size() const;                        // array length

    void expect_object() const;
    void expect_array() const;
    // Rejects fields outside `allowed`, suggesting the closest allowed name.
    void check_fields(const std::vector<std::string> &allowed) const;

    int64_t as_int(int64_t min, int64_t max) const;
    double as_number(double min, double max) const;
    bool as_bool() const;
    std::string as_string() const;
    // An integer or a list of `n` integers (e.g. kernel 3 or [3, 3]).
    std::vector<int64_t> as_int_list(size_t n_min, size_t n_max, int64_t min, int64_t max) const;

    // Optional fields with defaults.
    int64_t get_int(const std::string &key, int64_t fallback, int64_t min, int64_t max) const;
    double get_number(const std::string &key, double fallback, double min, double max) const;
    bool get_bool(const std::string &key, bool fallback) const;
    std::string get_string(const std::string &key, const std::string &fallback) const;
    // A string that must be one of `choices`.
    std::string get_choice(const std::string &key, const std::string &fallback,
                           std::initializer_list<const char *> choices) const;

    [[noreturn]] void error(const std::string &message) const;

private:
    std::string describe() const;  // "string \"abc\"", "array", ...
    const json *value_;
    std::string path_;
};

}  // namespace shufflec
