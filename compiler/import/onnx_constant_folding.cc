#include "import/onnx_constant_folding.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace shufflec {

namespace {

const std::vector<std::string> kFoldable = {"Add", "Sub", "Mul", "Div", "Gather", "Unsqueeze", "Squeeze", "Concat",
                                            "Slice", "Cast", "Reshape", "DequantizeLinear", "QuantizeLinear"};

// Elements of a shape larger than anything a shape computation holds are refused.
constexpr int64_t kMaxElements = 1 << 20;

int64_t axis_of(OnnxNodeImport &node, int64_t axis, int64_t rank) {
    if (axis < -rank || axis >= rank) node.error(cat("axis ", axis, " is out of range for rank ", rank));
    return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> ints_of(const OnnxConstant &c) {
    std::vector<int64_t> v;
    for (double d : c.values) v.push_back(static_cast<int64_t>(d));
    return v;
}

OnnxConstant elementwise(OnnxNodeImport &node, const OnnxConstant &a, const OnnxConstant &b) {
    // Same shapes, or one side a single value (what shape arithmetic uses).
    bool scalar_a = a.values.size() == 1, scalar_b = b.values.size() == 1;
    if (a.dims != b.dims && !scalar_a && !scalar_b) node.error("constant operands of different shapes are not supported");
    OnnxConstant out = scalar_a && !scalar_b ? b : a;
    out.integer = a.integer && b.integer;
    const std::string &op = node.op_type();
    for (size_t i = 0; i < out.values.size(); i++) {
        double x = a.values[scalar_a ? 0 : i], y = b.values[scalar_b ? 0 : i];
        double r = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : 0;
        if (op == "Div") {
            if (y == 0) node.error("division by zero in a constant expression");
            r = out.integer ? std::trunc(x / y) : x / y;
        }
        if (!std::isfinite(r) || std::fabs(r) > 1e15) node.error("constant arithmetic out of range");
        out.values[i] = r;
    }
    return out;
}

// DequantizeLinear / QuantizeLinear of a constant (a QDQ model's weights and
// biases): per tensor (scalar scale) or per slice along `axis` (1-D scale).
OnnxConstant quantize_linear(OnnxNodeImport &node, const std::vector<const OnnxConstant *> &in) {
    if (in.size() < 2 || !in[0] || !in[1]) node.error("missing input");
    const OnnxConstant &x = *in[0], &scale = *in[1];
    const OnnxConstant *zero = in.size() > 2 ? in[2] : nullptr;
    int64_t rank = static_cast<int64_t>(x.dims.size()), count = scale.elements();
    int64_t axis = axis_of(node, node.attr_int("axis", 1), std::max<int64_t>(rank, 1));
    bool per_axis = scale.dims.size() == 1 && count > 1;
    if (per_axis && (rank == 0 || x.dims[static_cast<size_t>(axis)] != count))
        node.error(cat(count, " scales do not match dimension ", axis, " of the tensor"));
    if (!per_axis && count != 1) node.error("the scale must be a scalar or a 1-D tensor along the axis");
    if (zero && zero->elements() != count) node.error("the zero point's shape differs from the scale's");
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < rank; d++) inner *= x.dims[static_cast<size_t>(d)];
    bool dequantize = node.op_type() == "DequantizeLinear";
    int type = zero ? zero->data_type : 2;  // no zero point: uint8
    double lo = type == 3 ? -128 : type == 6 ? -2147483648.0 : 0, hi = type == 3 ? 127 : type == 6 ? 2147483647.0 : 255;
    OnnxConstant out = x;
    out.integer = !dequantize;
    out.data_type = dequantize ? 1 : type;
    for (size_t i = 0; i < x.values.size(); i++) {
        size_t k = per_axis ? static_cast<size_t>((static_cast<int64_t>(i) / inner) % count) : 0;
        double s = scale.values[k], z = zero ? zero->values[k] : 0;
        if (!(s > 0) || !std::isfinite(s)) node.error(cat("scale ", s, " is not a positive number"));
        out.values[i] = dequantize ? (x.values[i] - z) * s : std::clamp(std::nearbyint(x.values[i] / s) + z, lo, hi);
    }
    return out;
}

}  // namespace

bool can_fold(const std::string &op_type) {
    for (const auto &k : kFoldable)
        if (k == op_type) return true;
    return false;
}

OnnxConstant fold_constant(OnnxNodeImport &node, const std::vector<const OnnxConstant *> &in) {
    const std::string &op = node.op_type();
    auto input = [&](size_t i) -> const OnnxConstant & {
        if (i >= in.size() || !in[i]) node.error(cat("missing input ", i));
        return *in[i];
    };
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return elementwise(node, input(0), input(1));
    if (op == "DequantizeLinear" || op == "QuantizeLinear") return quantize_linear(node, in);
    if (op == "Cast") {
        OnnxConstant out = input(0);
        int64_t to = node.attr_int("to", 1);
        out.integer = to == 6 || to == 7;  // INT32, INT64
        if (out.integer)
            for (auto &v : out.values) v = std::trunc(v);
        return out;
    }
    if (op == "Gather") {
        const OnnxConstant &data = input(0), &idx = input(1);
        if (data.dims.size() != 1) node.error("only gathers from 1-D constants (shapes) are folded");
        int64_t n = data.dims[0];
        OnnxConstant out;
        out.dims = idx.dims;
        out.integer = data.integer;
        for (double d : idx.values) {
            int64_t k = static_cast<int64_t>(d);
            if (k < -n || k >= n) node.error(cat("index ", k, " is out of range"));
            out.values.push_back(data.values[static_cast<size_t>(k < 0 ? k + n : k)]);
        }
        return out;
    }
    if (op == "Unsqueeze" || op == "Squeeze") {
        OnnxConstant out = input(0);
        std::vector<int64_t> axes = node.attr_ints("axes", {});
        if (in.size() > 1 && in[1]) axes = ints_of(*in[1]);
        if (op == "Unsqueeze") {
            int64_t rank = static_cast<int64_t>(out.dims.size() + axes.size());
            std::vector<int64_t> normalized;
            for (int64_t a : axes) normalized.push_back(axis_of(node, a, rank));
            std::sort(normalized.begin(), normalized.end());
            for (int64_t a : normalized) out.dims.insert(out.dims.begin() + a, 1);
        } else {
            int64_t rank = static_cast<int64_t>(out.dims.size());
            std::vector<int64_t> dims;
            for (int64_t d = 0; d < rank; d++) {
                bool drop = axes.empty() ? out.dims[d] == 1 : false;
                for (int64_t a : axes) drop = drop || axis_of(node, a, rank) == d;
                if (drop && out.dims[d] != 1) node.error("cannot squeeze a dimension that is not 1");
                if (!drop) dims.push_back(out.dims[d]);
            }
            out.dims = dims;
        }
        return out;
    }
    if (op == "Concat") {
        OnnxConstant out;
        out.integer = true;
        for (size_t i = 0; i < in.size(); i++) {
            const OnnxConstant &c = input(i);
            if (c.dims.size() != 1) node.error("only concats of 1-D constants (shapes) are folded");
            out.values.insert(out.values.end(), c.values.begin(), c.values.end());
            out.integer = out.integer && c.integer;
        }
        if (static_cast<int64_t>(out.values.size()) > kMaxElements) node.error("constant too large");
        out.dims = {static_cast<int64_t>(out.values.size())};
        return out;
    }
    if (op == "Slice") {
        const OnnxConstant &data = input(0);
        if (data.dims.size() != 1) node.error("only slices of 1-D constants (shapes) are folded");
        std::vector<int64_t> starts = node.attr_ints("starts", {}), ends = node.attr_ints("ends", {});
        if (in.size() > 2 && in[1] && in[2]) starts = ints_of(*in[1]), ends = ints_of(*in[2]);
        if (starts.size() != 1 || ends.size() != 1) node.error("only one-axis slices of constants are folded");
        int64_t step = in.size() > 4 && in[4] ? static_cast<int64_t>(in[4]->values.at(0)) : 1;
        if (step != 1) node.error("only slices with step 1 are folded");
        int64_t n = data.dims[0];
        auto clamp_index = [&](int64_t v) { return v < 0 ? std::max<int64_t>(v + n, 0) : std::min(v, n); };
        int64_t b = clamp_index(starts[0]), e = clamp_index(ends[0]);
        OnnxConstant out;
        out.integer = data.integer;
        for (int64_t k = b; k < e; k++) out.values.push_back(data.values[static_cast<size_t>(k)]);
        out.dims = {static_cast<int64_t>(out.values.size())};
        return out;
    }
    if (op == "Reshape") {
        OnnxConstant out = input(0);
        std::vector<int64_t> shape = ints_of(input(1));
        int64_t known = 1, infer = -1;
        for (size_t i = 0; i < shape.size(); i++) {
            if (shape[i] == 0 && i < out.dims.size()) shape[i] = out.dims[i];
            if (shape[i] == -1) {
                if (infer >= 0) node.error("more than one -1 in a reshape");
                infer = static_cast<int64_t>(i);
            } else if (shape[i] < 0 || shape[i] > kMaxElements) {
                node.error(cat("reshape dimension ", shape[i], " is not supported"));
            } else {
                known *= shape[i];
            }
        }
        int64_t total = static_cast<int64_t>(out.values.size());
        if (infer >= 0) shape[infer] = known ? total / known : 0;
        int64_t product = 1;
        for (int64_t d : shape) product *= d;
        if (product != total) node.error("the reshape does not keep the number of elements");
        out.dims = shape;
        return out;
    }
    internal_error(op, " cannot be folded");
}

}  // namespace shufflec
