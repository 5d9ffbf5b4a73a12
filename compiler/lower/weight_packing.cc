#include "lower/weight_packing.h"

#include <cstring>

#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

namespace {

constexpr int64_t kAlignFloats = 16;  // 64 bytes

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

}  // namespace

const Tensor &WeightPacker::tensor(int node, const char *role) const {
    const Param *p = graph_.nodes[node].param(role);
    if (!p) internal_error(op_name(graph_.nodes[node].op), " '", graph_.nodes[node].name, "' has no ", role);
    auto it = weights_.find(p->tensor);
    if (it == weights_.end()) internal_error("missing tensor '", p->tensor, "'");
    return it->second;
}

PackedArray WeightPacker::append(const std::vector<float> &values) {
    PackedArray a{out_.size(), static_cast<int64_t>(values.size())};
    out_.arrays.push_back({a.offset, a.floats});
    out_.data.insert(out_.data.end(), values.begin(), values.end());
    out_.data.resize(static_cast<size_t>(round_up(out_.size(), kAlignFloats)), 0.0f);
    return a;
}

namespace {

// values(grp, k, i) laid out [grp][i][k padded to `padded`], zeros in the padding.
template <typename T, typename F>
std::vector<T> lay_out_grouped(int64_t groups, int64_t per_group, int64_t inner, int64_t padded, const F &values) {
    std::vector<T> laid(static_cast<size_t>(groups * inner * padded), T(0));
    for (int64_t g = 0; g < groups; g++)
        for (int64_t i = 0; i < inner; i++)
            for (int64_t k = 0; k < per_group; k++)
                laid[static_cast<size_t>((g * inner + i) * padded + k)] = static_cast<T>(values(g, k, i));
    return laid;
}

}  // namespace

PackedArray WeightPacker::append_grouped(int64_t groups, int64_t per_group, int64_t inner,
                                         const std::function<float(int64_t, int64_t, int64_t)> &values) {
    return append(lay_out_grouped<float>(groups, per_group, inner, round_up(per_group, out_.group_padding), values));
}

PackedArray WeightPacker::append_grouped_i8(int64_t groups, int64_t per_group, int64_t inner,
                                            const std::function<int(int64_t, int64_t, int64_t)> &values) {
    int64_t padded = round_up(per_group, out_.group_padding);
    return append_narrow(lay_out_grouped<int8_t>(groups, per_group, inner, padded, values));
}

PackedArray WeightPacker::append_grouped_f16(int64_t groups, int64_t per_group, int64_t inner,
                                             const std::function<float(int64_t, int64_t, int64_t)> &values) {
    int64_t padded = round_up(per_group, out_.group_padding);
    auto half = [&](int64_t g, int64_t k, int64_t i) { return float_to_half(values(g, k, i)); };
    return append_narrow(lay_out_grouped<uint16_t>(groups, per_group, inner, padded, half));
}

PackedArray WeightPacker::append_dot(int64_t groups, int64_t per_group, int64_t steps,
                                     const std::function<float(int64_t, int64_t, int64_t, int64_t)> &values, bool int16) {
    int64_t padded = round_up(per_group, out_.group_padding), slots = dot_slots(out_.dot);
    if (by_lane(out_.dot)) {
        auto value = [&](int64_t g, int64_t k, int64_t i) { return values(g, i / slots, k, i % slots); };
        return out_.dot == DotProduct::F16Lanes ? append_grouped_f16(groups, per_group, steps * slots, value)
                                                : append_grouped(groups, per_group, steps * slots, value);
    }
    auto lay_out = [&](auto convert) {
        std::vector<decltype(convert(0.0f))> laid(static_cast<size_t>(groups * steps * padded * slots), 0);
        for (int64_t g = 0; g < groups; g++)
            for (int64_t q = 0; q < steps; q++)
                for (int64_t k = 0; k < per_group; k++)
                    for (int64_t j = 0; j < slots; j++)
                        laid[static_cast<size_t>(((g * steps + q) * padded + k) * slots + j)] = convert(values(g, q, k, j));
        return laid;
    };
    if (out_.dot == DotProduct::BF16) return append_narrow(lay_out([](float v) { return float_to_bfloat16(v); }));
    if (int16) {
        out_.pair_weights = true;
        return append_narrow(lay_out([](float v) { return static_cast<int16_t>(v); }));
    }
    return append_narrow(lay_out([](float v) { return static_cast<int8_t>(v); }));
}

template <typename T>
PackedArray WeightPacker::append_narrow(const std::vector<T> &values) {
    size_t bytes = values.size() * sizeof(T);
    std::vector<float> slots((bytes + 3) / 4, 0.0f);
    if (bytes > 0) std::memcpy(slots.data(), values.data(), bytes);  // (an empty vector's data may be null)
    return append(slots);
}

PackedWeights pack_weights(const Graph &graph, const Weights &weights, const SegmentPlan &plan,
                           const PackingOptions &options) {
    PackedWeights out;
    out.group_padding = options.group_padding;
    out.dot = options.dot;
    out.narrow = plan.int8() ? Element::I8 : plan.float_element();
    out.max_keeps_nan = options.max_keeps_nan;
    out.float_by_element = options.float_by_element || by_lane(options.dot);
    out.fixed_point = options.fixed_point;
    out.promise_table_ranges = options.promise_table_ranges;
    out.nodes.resize(graph.nodes.size());
    WeightPacker packer(graph, weights, plan, out, options.use_dot, options.dense_panel_vectors, options.pairs_int16);
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        const OpDef &def = op_def(graph.nodes[i].op);
        if (def.pack) def.pack(packer, static_cast<int>(i));
    }
    out.data.resize(out.data.size() + kWeightsTailFloats, 0.0f);
    return out;
}

}  // namespace shufflec
