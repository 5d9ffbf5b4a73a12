// Sliding windows, shared by conv and the pools: the spec's kernel / stride /
// pad fields and the output size they give.
#pragma once

#include <cstdint>

#include "graph/graph.h"
#include "spec/json_view.h"

namespace shufflec {

// kernel (an integer or [h, w]), stride (default 1, or the kernel for pools),
// pad (an integer, [h, w] or [top, left, bottom, right]) into the node.
void parse_window(const JsonView &entry, Node &node, bool stride_defaults_to_kernel);

// The output height and width of the node's window over a 4-D input; errors
// name the node when the padded input is smaller than the kernel.
Shape window_output(const Node &node, const Shape &input, int64_t channels);

// The JSON fields of a window (for importers writing specs).
void write_window(const Node &node, nlohmann::ordered_json &entry);

}  // namespace shufflec
