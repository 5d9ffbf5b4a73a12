// Spec (JSON, "shufflec-spec/1") -> graph IR.
//
// The format is documented in docs/spec.md. Parsing validates every field and
// reports errors with the JSON path of the offending value; the result is a
// Graph of primitive ops with shapes inferred.
#pragma once

#include <optional>
#include <string>

#include "graph/graph.h"

namespace shufflec {

constexpr const char *kSpecFormat = "shufflec-spec/1";

struct SpecOptions {
    std::optional<Shape> input_shape;  // overrides $.input.shape (command line --input-shape)
};

// `source_path` is used in messages and to resolve a relative "weights" file.
Graph parse_spec_text(const std::string &text, const std::string &source_path, const SpecOptions &options = {});
Graph load_spec(const std::string &path, const SpecOptions &options = {});

// Parses "N,C,H,W" (as given to --input-shape); `what` names the flag in errors.
Shape parse_shape_arg(const std::string &text, const std::string &what);

}  // namespace shufflec
