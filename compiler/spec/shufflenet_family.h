// The "shufflenet_v1" family shorthand: expands $.family into the explicit list
// of layer entries (stem, maxpool, shufflenet_unit x 16, global pool, fc) that
// a spec could have spelled out by hand. See docs/spec.md for the options and
// the channel rules (they reproduce the paper's Table 1 and 2 complexities).
#pragma once

#include "spec/json_view.h"

namespace shufflec {

// Returns a JSON array of layer entries, each with an "op" and a "name".
json expand_shufflenet_v1(const JsonView &family);

// Channel widths of the paper's family, exposed for tests and docs.
struct ShuffleNetWidths {
    int64_t stem;
    int64_t stage[3];
};
ShuffleNetWidths shufflenet_v1_widths(int64_t groups, double scale);
// The multiple of `multiple` nearest to x (ties round up), at least `multiple`.
int64_t round_to_multiple(double x, int64_t multiple);

}  // namespace shufflec
