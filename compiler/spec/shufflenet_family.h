// The "shufflenet_v1" family shorthand: expands $.family into the explicit list
// of layer entries (stem, maxpool, shufflenet_unit x 16, global pool, fc) that
// a spec could have spelled out by hand. See docs/spec.md for the options and
// the channel rules (they reproduce the paper's Table 1 and 2 complexities).
#pragma once

#include "spec/json_view.h"

namespace shufflec {

// Returns a JSON array of layer entries, each with an "op" and a "name", for
// $.family.name "shufflenet_v1" or "shufflenet_v2".
json expand_family(const JsonView &family);
json expand_shufflenet_v1(const JsonView &family);
// ShuffleNet V2 (Ma et al., ECCV 2018, Table 5; torchvision's layer names):
// conv1 3x3/s2 24 + BN + ReLU, maxpool, stages of 4/8/4 units (the first with
// stride 2), conv5 1x1 + BN + ReLU, global pool, fc.
json expand_shufflenet_v2(const JsonView &family);

// Stage output channels of ShuffleNet V2 at a width (0.5, 1.0, 1.5, 2.0):
// {stage2, stage3, stage4, conv5}.
std::vector<int64_t> shufflenet_v2_widths(double width);

// Channel widths of the paper's family, exposed for tests and docs.
struct ShuffleNetWidths {
    int64_t stem;
    int64_t stage[3];
};
ShuffleNetWidths shufflenet_v1_widths(int64_t groups, double scale);
// The multiple of `multiple` nearest to x (ties round up), at least `multiple`.
int64_t round_to_multiple(double x, int64_t multiple);

}  // namespace shufflec
