// slice: channels [begin, end) of its input (ShuffleNet V2's channel split).
// Never materialized: the passes fold it into the convs that read it (as an
// input part), and anything else reads it as an offset index.
#include "ops/onnx_node_import.h"
#include "lower/lower_segment.h"
#include "ops/op.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

void parse(const JsonView &e, Node &node) {
    node.begin = e.at("begin").as_int(0, kMaxChannels);
    node.end = e.at("end").as_int(1, kMaxChannels);
    if (node.end <= node.begin) e.at("end").error(cat("end ", node.end, " must be larger than begin ", node.begin));
}

Shape infer(const Graph &g, Node &node) {
    Shape s = g.nodes[node.inputs[0]].shape;
    if (s.rank == 2 || node.end > s.c)
        fail(node.origin, ": slice '", node.name, "': channels [", node.begin, ", ", node.end, ") of ", to_string(s),
             " do not exist");
    s.c = node.end - node.begin;
    return s;
}

std::vector<float> reference(const Graph &, const Node &node, const std::vector<RefTensor> &in, const Weights &) {
    const Shape &o = node.shape, &xs = *in[0].shape;
    std::vector<float> out(static_cast<size_t>(o.elements()));
    int64_t plane = o.h * o.w;
    for (int64_t n = 0; n < o.n; n++)
        for (int64_t c = 0; c < o.c; c++)
            for (int64_t p = 0; p < plane; p++)
                out[(n * o.c + c) * plane + p] = (*in[0].data)[(n * xs.c + node.begin + c) * plane + p];
    return out;
}

void lower(Lowering &L, int index) {
    const Node &node = L.node(index);
    Value in = L.value(node.inputs[0]);
    Stage &st = L.add_stage(index, Stage::Elementwise);
    // A slice of a quantized tensor keeps its integers and scale.
    st.value.q = in.q;
    Lowering::define(st.value.f, 0, [&](Expr ch, Expr, Expr) {
        return in.raw_at(ch + static_cast<int>(node.begin), Vars::x, Vars::y, Vars::n);
    });
}

// Channel ranges: Slice (starts, ends, axes [, steps] as constants, or
// attributes before opset 10) and Split into pieces (sizes from `split`, the
// second input, or equal), each output a slice.
void import_onnx(OnnxNodeImport &o) {
    OnnxTensor in = o.tensor(0);
    if (in.shape.size() != 4) o.error("only slices of 4-D tensors are supported");
    int64_t channels = in.shape[1];
    auto emit = [&](int output, int64_t begin, int64_t end) {
        if (begin < 0 || end > channels || begin >= end)
            o.error(cat("channels [", begin, ", ", end, ") of ", channels, " are not a slice"));
        std::vector<int64_t> shape = in.shape;
        shape[1] = end - begin;
        if (begin == 0 && end == channels) return o.alias(in, output);
        o.emit({{"op", "slice"}, {"name", o.layer_name()}, {"begin", begin}, {"end", end}}, {in.layer}, shape, output);
    };
    auto axis_of = [&](int64_t axis) { return axis < 0 ? axis + 4 : axis; };
    if (o.op_type() == "Split") {
        if (axis_of(o.attr_int("axis", 0)) != 1) o.error("only a split of the channels (axis 1) is supported");
        std::vector<int64_t> sizes = o.attr_ints("split", {});
        if (o.has_input(1)) {
            for (double v : o.constant(1).values) sizes.push_back(static_cast<int64_t>(v));
        }
        int64_t parts = o.outputs();
        if (sizes.empty()) {
            if (parts < 1 || channels % parts != 0) o.error(cat(channels, " channels do not split into ", parts, " equal parts"));
            sizes.assign(static_cast<size_t>(parts), channels / parts);
        }
        if (static_cast<int64_t>(sizes.size()) != parts) o.error("the split sizes do not match the outputs");
        int64_t begin = 0;
        for (int64_t i = 0; i < parts; i++) {
            if (sizes[i] < 1 || sizes[i] > channels) o.error(cat("split size ", sizes[i], " is not supported"));
            emit(static_cast<int>(i), begin, begin + sizes[i]);
            begin += sizes[i];
        }
        if (begin != channels) o.error(cat("the split sizes add up to ", begin, ", not ", channels));
        return;
    }
    std::vector<int64_t> starts, ends, axes, steps;
    auto ints = [&](int input, const char *attr, std::vector<int64_t> &out) {
        if (o.opset() < 10) {
            out = o.attr_ints(attr, {});
            return;
        }
        if (!o.has_input(input)) return;
        if (!o.is_constant(input)) o.error(cat("the slice's ", attr, " must be constants (a shape that can be folded)"));
        for (double v : o.constant(input).values) out.push_back(v > 9e18 ? INT64_MAX : v < -9e18 ? INT64_MIN : static_cast<int64_t>(v));
    };
    ints(1, "starts", starts);
    ints(2, "ends", ends);
    ints(3, "axes", axes);
    ints(4, "steps", steps);
    if (axes.empty())
        for (size_t i = 0; i < starts.size(); i++) axes.push_back(static_cast<int64_t>(i));
    if (starts.size() != 1 || ends.size() != 1 || axes.size() != 1 || axis_of(axes[0]) != 1)
        o.error("only a slice of the channels (one axis, axis 1) is supported");
    if (!steps.empty() && steps[0] != 1) o.error("only slices with step 1 are supported");
    auto clamp_index = [&](int64_t v) { return v < 0 ? std::max<int64_t>(v + channels, 0) : std::min(v, channels); };
    emit(0, clamp_index(starts[0]), clamp_index(ends[0]));
}

}  // namespace

const OpDef &slice_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Slice;
        d.name = "slice";
        d.fields = {"begin", "end"};
        d.parse = parse;
        d.infer = infer;
        d.reference = reference;
        d.grouping = no_grouping;
        d.lower = lower;
        d.onnx_ops = {"Slice", "Split"};
        d.import_onnx = import_onnx;
        return d;
    }();
    return def;
}

}  // namespace shufflec
