#include "import/onnx_import.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <sys/stat.h>

#include <onnx/onnx_pb.h>

#include "spec/spec_parser.h"
#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

using json = nlohmann::ordered_json;

// JSON on one line with a space after ':' and ','.
std::string flat(const json &v) {
    if (!v.is_object() && !v.is_array()) return v.dump();
    std::string out = v.is_object() ? "{" : "[";
    size_t i = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++i) {
        if (i) out += ", ";
        if (v.is_object()) out += json(it.key()).dump() + ": ";
        out += flat(*it);
    }
    return out + (v.is_object() ? "}" : "]");
}

// JSON as a person would write a spec: one layer per line where it fits.
void dump_readable(const json &v, int indent, std::string &out) {
    std::string line = flat(v);
    if (line.size() + static_cast<size_t>(indent) <= 140 || !(v.is_object() || v.is_array())) {
        out += line;
        return;
    }
    bool object = v.is_object();
    out += object ? "{\n" : "[\n";
    size_t i = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++i) {
        out.append(static_cast<size_t>(indent + 2), ' ');
        if (object) out += json(it.key()).dump() + ": ";
        dump_readable(*it, indent + 2, out);
        out += i + 1 < v.size() ? ",\n" : "\n";
    }
    out.append(static_cast<size_t>(indent), ' ');
    out += object ? "}" : "]";
}

// Kernel sizes, strides and padding beyond this are refused (and keep shape arithmetic far from overflow).
constexpr int64_t kMaxWindow = 1 << 16;
// Integers read from constant tensors (reshape targets, pads) must be within this.
constexpr double kMaxInt = 1e15;

// A constant tensor (initializer or Constant node), as doubles for simplicity.
struct Constant {
    std::vector<int64_t> dims;
    std::vector<double> values;
    int64_t elements() const {  // dims are checked when the constant is read: no overflow
        int64_t e = 1;
        for (int64_t d : dims) e *= d;
        return e;
    }
};

// What an ONNX value is, as the import walks the graph.
struct Value {
    enum Kind { Layer, Padded, Reshaped5D, Transposed5D } kind = Layer;
    std::string layer;            // the spec layer producing it (for Padded/...: the layer before)
    std::vector<int64_t> shape;   // N, C, H, W (rank 2: N, C)
    std::vector<int64_t> pads;    // Padded: top, left, bottom, right
    int64_t a = 0, b = 0;         // Reshaped5D / Transposed5D: channels split as (a, b)
};

class Importer {
public:
    Importer(const std::string &path, const std::string &name) : path_(path), name_(name) {}

    // `bytes`: the model file's contents; `path_` names it in messages.
    ImportedModel run(const std::string &bytes) {
        parse(bytes);
        const onnx::GraphProto &graph = model_.graph();
        for (const auto &t : graph.initializer()) constants_[t.name()] = tensor(t, "initializer " + t.name());
        input();
        for (const auto &node : graph.node()) convert(node);
        if (graph.output_size() != 1) fail(path_, ": the graph has ", graph.output_size(), " outputs (shufflec compiles one)");
        const Value &out = value(graph.output(0).name(), "the graph output");
        if (out.kind == Value::Padded) fail(path_, ": the graph output '", graph.output(0).name(), "' is a zero-padded tensor (a Pad node's output)");
        if (out.kind != Value::Layer)
            fail(path_, ": the graph output '", graph.output(0).name(),
                 "' is a 5-D tensor in the middle of a channel shuffle (Reshape -> Transpose -> Reshape)");
        ImportedModel m;
        m.name = name_;
        m.spec = {{"format", kSpecFormat},
                  {"name", name_},
                  {"description", valid_utf8("Imported from " + path_ + " by shufflec import-onnx (producer " +
                                      model_.producer_name() + " " + model_.producer_version() + ", opset ") +
                                      std::to_string(opset_) + ")."},
                  {"input", {{"name", "input"}, {"shape", input_shape_}}},
                  {"weights", name_ + ".safetensors"},
                  {"layers", layers_},
                  {"output", out.layer}};
        m.weights = std::move(weights_);
        // The result must be a valid spec for these weights: parse it as a user would.
        try {
            Graph g = parse_spec_text(m.spec.dump(), name_ + ".json");
            check_weights(g, m.weights, name_ + ".safetensors");
        } catch (const Error &e) {
            fail(path_, ": internal error, the imported spec is invalid: ", e.what());
        }
        return m;
    }

private:
    [[noreturn]] void node_error(const onnx::NodeProto &node, const std::string &why) {
        fail(path_, ": node '", node.name().empty() ? "(unnamed)" : node.name(), "' (", node.op_type(), "): ", why);
    }

    void parse(const std::string &bytes) {
        if (!model_.ParseFromString(bytes) || !model_.has_graph())
            fail(path_, ": not a valid ONNX model (the protobuf does not parse: truncated, corrupt or not ONNX)");
        for (const auto &o : model_.opset_import())
            if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
        if (opset_ == 0) fail(path_, ": the model imports no default ONNX opset");
        if (opset_ < 7 || opset_ > 18) fail(path_, ": opset ", opset_, " is not supported (7 to 18)");
    }

    static std::string dims_text(const onnx::TensorProto &t) {
        std::string s = "[";
        for (int i = 0; i < t.dims_size(); i++) s += (i ? ", " : "") + std::to_string(t.dims(i));
        return s + "]";
    }

    Constant tensor(const onnx::TensorProto &t, const std::string &what) {
        Constant c;
        int64_t n = 1;
        for (auto d : t.dims()) {
            if (d < 0 || (d > 0 && n > std::numeric_limits<int32_t>::max() / d))
                fail(path_, ": ", what, " has dimensions ", dims_text(t), ": negative, or more than 2^31-1 elements");
            n *= d;
            c.dims.push_back(d);
        }
        auto raw = [&](size_t bytes) {
            if (t.raw_data().size() != static_cast<size_t>(n) * bytes)
                fail(path_, ": ", what, " holds ", t.raw_data().size(), " bytes, its shape needs ", n * static_cast<int64_t>(bytes));
        };
        // Values come either packed little-endian in raw_data or in the typed repeated field.
        auto read = [&](auto element, const auto &typed) {
            using T = decltype(element);
            if (!t.has_raw_data()) {
                for (auto v : typed) c.values.push_back(static_cast<double>(v));
                return;
            }
            raw(sizeof(T));
            for (int64_t i = 0; i < n; i++) {
                T v;
                std::memcpy(&v, t.raw_data().data() + sizeof(T) * i, sizeof(T));
                c.values.push_back(static_cast<double>(v));
            }
        };
        switch (t.data_type()) {
        case onnx::TensorProto::FLOAT: read(float{}, t.float_data()); break;
        case onnx::TensorProto::INT64: read(int64_t{}, t.int64_data()); break;
        case onnx::TensorProto::INT32: read(int32_t{}, t.int32_data()); break;
        default: fail(path_, ": ", what, " has data type ", t.data_type(), " (shufflec reads float32, int64 and int32)");
        }
        if (static_cast<int64_t>(c.values.size()) != n)
            fail(path_, ": ", what, " holds ", c.values.size(), " values, its shape needs ", n);
        return c;
    }

    void input() {
        const onnx::GraphProto &graph = model_.graph();
        std::vector<const onnx::ValueInfoProto *> inputs;
        for (const auto &vi : graph.input())
            if (!constants_.count(vi.name())) inputs.push_back(&vi);
        if (inputs.size() != 1) fail(path_, ": the graph has ", inputs.size(), " non-constant inputs (shufflec compiles one image input)");
        const auto &type = inputs[0]->type();
        if (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT)
            fail(path_, ": input '", inputs[0]->name(), "' is not a float32 tensor");
        const auto &shape = type.tensor_type().shape();
        if (shape.dim_size() != 4) fail(path_, ": input '", inputs[0]->name(), "' has ", shape.dim_size(), " dimensions (need N, C, H, W)");
        for (int i = 0; i < 4; i++) {
            const auto &d = shape.dim(i);
            if (d.has_dim_value() && d.dim_value() > 0) {
                input_shape_.push_back(d.dim_value());
            } else if (i == 0) {
                input_shape_.push_back(1);  // a symbolic batch: compile for 1 (--input-shape changes it)
            } else {
                fail(path_, ": input '", inputs[0]->name(), "' dimension ", i, " has no fixed size");
            }
        }
        values_[inputs[0]->name()] = Value{Value::Layer, "input", input_shape_, {}, 0, 0};
    }

    const Value &value(const std::string &name, const std::string &what) {
        auto it = values_.find(name);
        if (it == values_.end()) fail(path_, ": ", what, " reads '", name, "', which no earlier node produces");
        return it->second;
    }

    const Value &layer_input(const onnx::NodeProto &node, int i) {
        if (i >= node.input_size() || node.input(i).empty()) node_error(node, cat("missing input ", i));
        auto it = values_.find(node.input(i));
        if (it == values_.end()) {
            if (constants_.count(node.input(i)))
                node_error(node, "input '" + node.input(i) + "' is a constant where a tensor computed by the network is expected");
            node_error(node, "input '" + node.input(i) + "' is produced by no earlier node");
        }
        return it->second;
    }

    const Constant &constant_input(const onnx::NodeProto &node, int i) {
        if (i >= node.input_size() || node.input(i).empty()) node_error(node, cat("missing input ", i));
        auto it = constants_.find(node.input(i));
        if (it == constants_.end())
            node_error(node, "input '" + node.input(i) + "' must be a constant (an initializer or a Constant node)");
        return it->second;
    }

    static const onnx::AttributeProto *attribute(const onnx::NodeProto &node, const std::string &name) {
        for (const auto &a : node.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }
    int64_t attr_int(const onnx::NodeProto &node, const std::string &name, int64_t fallback) {
        const auto *a = attribute(node, name);
        return a ? a->i() : fallback;
    }
    float attr_float(const onnx::NodeProto &node, const std::string &name, float fallback) {
        const auto *a = attribute(node, name);
        return a ? a->f() : fallback;
    }
    std::vector<int64_t> attr_ints(const onnx::NodeProto &node, const std::string &name, std::vector<int64_t> fallback) {
        const auto *a = attribute(node, name);
        if (!a) return fallback;
        return std::vector<int64_t>(a->ints().begin(), a->ints().end());
    }
    void require_attr(const onnx::NodeProto &node, const std::string &name, int64_t wanted, int64_t fallback,
                      const std::string &why) {
        if (attr_int(node, name, fallback) != wanted) node_error(node, why);
    }
    void reject_unknown_attributes(const onnx::NodeProto &node, const std::set<std::string> &known) {
        for (const auto &a : node.attribute())
            if (!known.count(a.name())) node_error(node, "attribute '" + a.name() + "' is not supported");
    }

    // A unique spec layer name: the PyTorch module name of its weight when there is one.
    std::string layer_name(const onnx::NodeProto &node, const std::string &weight) {
        std::string base;
        const std::string suffix = ".weight";
        if (weight.size() > suffix.size() && weight.compare(weight.size() - suffix.size(), suffix.size(), suffix) == 0)
            base = weight.substr(0, weight.size() - suffix.size());
        if (base.empty()) base = node.name().empty() ? node.op_type() : node.name();
        std::string clean;
        for (char ch : base) {
            bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
            clean += ok ? ch : (ch == '/' || ch == ':' ? '.' : '_');
        }
        while (!clean.empty() && clean[0] == '.') clean.erase(0, 1);
        if (clean.empty() || clean == "input") clean = "layer_" + clean;
        std::string unique = clean;
        for (int k = 1; used_names_.count(unique); k++) unique = clean + "_" + std::to_string(k);
        used_names_.insert(unique);
        return unique;
    }

    void add_weight(const std::string &name, std::vector<int64_t> shape, const std::vector<double> &values) {
        Tensor t;
        t.shape = std::move(shape);
        for (double v : values) t.data.push_back(static_cast<float>(v));
        weights_[name] = std::move(t);
    }

    void emit(const onnx::NodeProto &node, json entry, const std::vector<std::string> &inputs, std::vector<int64_t> shape) {
        if (inputs.size() == 1) entry["input"] = inputs[0];
        else entry["inputs"] = inputs;
        layers_.push_back(entry);
        if (node.output_size() < 1) node_error(node, "has no output");
        values_[node.output(0)] = Value{Value::Layer, entry["name"], std::move(shape), {}, 0, 0};
    }

    void alias(const onnx::NodeProto &node, const Value &v) { values_[node.output(0)] = v; }

    // An integer from a constant tensor's value (held as a double).
    int64_t to_int(const onnx::NodeProto &node, double v) {
        if (!(v >= -kMaxInt && v <= kMaxInt) || v != std::floor(v)) node_error(node, cat("value ", v, " is not a supported integer"));
        return static_cast<int64_t>(v);
    }

    // Output shape of a window op; sizes are bounded (kMaxWindow, checked tensor dims), so nothing overflows.
    std::vector<int64_t> window_output(const onnx::NodeProto &node, const std::vector<int64_t> &in, int64_t channels,
                                       int64_t kh, int64_t kw, const std::vector<int64_t> &stride,
                                       const std::vector<int64_t> &pads) {
        if (in.size() != 4) node_error(node, "needs a 4-D input");
        if (kh < 1 || kw < 1 || kh > kMaxWindow || kw > kMaxWindow) node_error(node, cat("kernel ", kh, "x", kw, " is not supported"));
        int64_t h = in[2] + pads[0] + pads[2] - kh, w = in[3] + pads[1] + pads[3] - kw;
        if (h < 0 || w < 0) node_error(node, "the kernel is larger than the padded input");
        return {in[0], channels, h / stride[0] + 1, w / stride[1] + 1};
    }

    // ONNX pads are [begin_h, begin_w, end_h, end_w]; the spec's are [top, left, bottom, right]: the same order.
    std::vector<int64_t> pads_of(const onnx::NodeProto &node) {
        std::vector<int64_t> p = attr_ints(node, "pads", {0, 0, 0, 0});
        if (p.size() != 4) node_error(node, "pads must have 4 values (2-D)");
        for (int64_t v : p) {
            if (v < 0) node_error(node, "negative padding is not supported");
            if (v > kMaxWindow) node_error(node, cat("padding ", v, " is larger than ", kMaxWindow));
        }
        if (attribute(node, "auto_pad")) {
            std::string ap = attribute(node, "auto_pad")->s();
            if (ap != "NOTSET" && ap != "VALID") node_error(node, "auto_pad " + ap + " is not supported (export with explicit pads)");
        }
        return p;
    }

    std::vector<int64_t> two(const onnx::NodeProto &node, const std::string &name) {
        std::vector<int64_t> v = attr_ints(node, name, {1, 1});
        if (v.size() != 2) node_error(node, name + " must have 2 values (2-D)");
        for (int64_t x : v)
            if (x < 1 || x > kMaxWindow) node_error(node, cat(name, " must be from 1 to ", kMaxWindow, ", got ", x));
        return v;
    }

    // A layer input that may come through a zero Pad node: its padding is added to `pads`.
    const Value &through_pad(const onnx::NodeProto &node, std::vector<int64_t> &pads, bool zero_ok) {
        const Value &in = layer_input(node, 0);
        if (in.kind == Value::Padded) {
            if (!zero_ok) node_error(node, "reads a zero-padded tensor; zero padding before this op is not supported");
            for (int i = 0; i < 4; i++) pads[i] += in.pads[i];
            return values_.at(in.layer + "#unpadded");
        }
        if (in.kind != Value::Layer) node_error(node, "reads a tensor in the middle of a reshape/transpose pattern");
        return in;
    }

    void convert(const onnx::NodeProto &node) {
        const std::string &op = node.op_type();
        if (node.output_size() < 1 || node.output(0).empty()) node_error(node, "has no output");
        if (!node.domain().empty() && node.domain() != "ai.onnx") node_error(node, "operator domain '" + node.domain() + "' is not supported");
        if (op == "Constant") {
            const auto *a = attribute(node, "value");
            if (!a || !a->has_t()) node_error(node, "only tensor-valued Constant nodes are supported");
            constants_[node.output(0)] = tensor(a->t(), "Constant " + node.output(0));
        } else if (op == "Identity" || op == "Dropout") {
            if (constants_.count(node.input(0))) constants_[node.output(0)] = constants_.at(node.input(0));
            else alias(node, layer_input(node, 0));
        } else if (op == "Conv") {
            reject_unknown_attributes(node, {"group", "strides", "pads", "dilations", "kernel_shape", "auto_pad"});
            const Constant &w = constant_input(node, 1);
            if (w.dims.size() != 4) node_error(node, "weights must be 4-D (2-D convolution)");
            std::vector<int64_t> dil = two(node, "dilations");
            if (dil[0] != 1 || dil[1] != 1) node_error(node, "dilated convolution is not supported");
            std::vector<int64_t> stride = two(node, "strides"), pads = pads_of(node);
            const Value &in = through_pad(node, pads, true);
            int64_t groups = attr_int(node, "group", 1);
            if (in.shape.size() != 4 || in.shape[1] != w.dims[1] * groups)
                node_error(node, cat("weights for ", w.dims[1] * groups, " input channels, the input has ",
                                     in.shape.size() == 4 ? in.shape[1] : 0));
            std::string name = layer_name(node, node.input(1));
            bool bias = node.input_size() > 2 && !node.input(2).empty();
            add_weight(name + ".weight", w.dims, w.values);
            if (bias) {
                const Constant &b = constant_input(node, 2);
                if (b.elements() != w.dims[0]) node_error(node, "bias size does not match the output channels");
                add_weight(name + ".bias", {w.dims[0]}, b.values);
            }
            emit(node, {{"op", "conv"}, {"name", name}, {"out_channels", w.dims[0]}, {"kernel", {w.dims[2], w.dims[3]}},
                        {"stride", stride}, {"pad", pads}, {"groups", groups}, {"bias", bias}},
                 {in.layer}, window_output(node, in.shape, w.dims[0], w.dims[2], w.dims[3], stride, pads));
        } else if (op == "BatchNormalization") {
            reject_unknown_attributes(node, {"epsilon", "momentum", "training_mode", "spatial"});
            require_attr(node, "training_mode", 0, 0, "training mode is not supported");
            const Value &in = layer_input(node, 0);
            std::string name = layer_name(node, node.input(1));
            const char *roles[4] = {"weight", "bias", "running_mean", "running_var"};
            for (int i = 0; i < 4; i++) {
                const Constant &c = constant_input(node, i + 1);
                if (c.elements() != in.shape[1]) node_error(node, "statistics do not match the channels");
                add_weight(name + "." + roles[i], {in.shape[1]}, c.values);
            }
            emit(node, {{"op", "batchnorm"}, {"name", name}, {"eps", attr_float(node, "epsilon", 1e-5f)}}, {in.layer}, in.shape);
        } else if (op == "Relu" || op == "Sigmoid") {
            const Value &in = layer_input(node, 0);
            emit(node, {{"op", op == "Relu" ? "relu" : "sigmoid"}, {"name", layer_name(node, "")}}, {in.layer}, in.shape);
        } else if (op == "Softmax") {
            const Value &in = layer_input(node, 0);
            int64_t axis = attr_int(node, "axis", opset_ >= 13 ? -1 : 1);
            int64_t rank = static_cast<int64_t>(in.shape.size());
            if (axis < 0) axis += rank;
            if (axis != 1 || (opset_ < 13 && rank != 2)) node_error(node, "only a softmax over channels (axis 1) is supported");
            emit(node, {{"op", "softmax"}, {"name", layer_name(node, "")}}, {in.layer}, in.shape);
        } else if (op == "Add") {
            add(node);
        } else if (op == "Mul") {
            const Value &a = layer_input(node, 0), &b = layer_input(node, 1);
            bool scale = a.shape.size() == 4 && b.shape.size() == 4 && b.shape[0] == a.shape[0] && b.shape[1] == a.shape[1] &&
                         b.shape[2] == 1 && b.shape[3] == 1;
            if (!scale) node_error(node, "only x * s with s of shape N x C x 1 x 1 (a channel scale) is supported");
            emit(node, {{"op", "mul"}, {"name", layer_name(node, "")}}, {a.layer, b.layer}, a.shape);
        } else if (op == "Concat") {
            if (attr_int(node, "axis", 1) != 1) node_error(node, "only a concat along channels (axis 1) is supported");
            std::vector<std::string> ins;
            std::vector<int64_t> shape;
            for (int i = 0; i < node.input_size(); i++) {
                const Value &v = layer_input(node, i);
                ins.push_back(v.layer);
                if (shape.empty()) shape = v.shape;
                else shape[1] += v.shape[1];
            }
            emit(node, {{"op", "concat"}, {"name", layer_name(node, "")}}, ins, shape);
        } else if (op == "MaxPool" || op == "AveragePool") {
            reject_unknown_attributes(node, {"kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad", "auto_pad",
                                             "dilations", "storage_order"});
            require_attr(node, "ceil_mode", 0, 0, "ceil_mode 1 is not supported");
            std::vector<int64_t> k = attr_ints(node, "kernel_shape", {});
            if (k.size() != 2) node_error(node, "kernel_shape must have 2 values");
            if (attribute(node, "dilations") && two(node, "dilations") != std::vector<int64_t>{1, 1})
                node_error(node, "dilated pooling is not supported");
            std::vector<int64_t> stride = two(node, "strides"), pads = pads_of(node), own = pads;
            bool avg = op == "AveragePool";
            const Value &in = through_pad(node, pads, avg);
            bool include = attr_int(node, "count_include_pad", 0) != 0;
            if (pads != own) {  // a zero Pad node before: those zeros count, like count_include_pad
                if (own != std::vector<int64_t>{0, 0, 0, 0} && !include)
                    node_error(node, "a Pad node before an average pool that also pads without counting is not supported");
                include = true;
            }
            json e = {{"op", avg ? "avgpool" : "maxpool"}, {"name", layer_name(node, "")}, {"kernel", k}, {"stride", stride}, {"pad", pads}};
            if (avg) e["count_include_pad"] = include;
            emit(node, e, {in.layer}, window_output(node, in.shape, in.shape[1], k[0], k[1], stride, pads));
        } else if (op == "GlobalAveragePool" || op == "ReduceMean") {
            const Value &in = layer_input(node, 0);
            if (op == "ReduceMean") {
                std::vector<int64_t> axes = attr_ints(node, "axes", {});
                if (axes != std::vector<int64_t>{2, 3} && axes != std::vector<int64_t>{-2, -1})
                    node_error(node, "only a mean over H and W (axes 2, 3) is supported");
                if (attr_int(node, "keepdims", 1) != 1) node_error(node, "keepdims 0 is not supported");
            }
            emit(node, {{"op", "global_avgpool"}, {"name", layer_name(node, "")}}, {in.layer}, {in.shape[0], in.shape[1], 1, 1});
        } else if (op == "Flatten") {
            const Value &in = layer_input(node, 0);
            if (attr_int(node, "axis", 1) != 1) node_error(node, "only Flatten with axis 1 is supported");
            int64_t f = 1;
            for (size_t i = 1; i < in.shape.size(); i++) f *= in.shape[i];
            emit(node, {{"op", "flatten"}, {"name", layer_name(node, "")}}, {in.layer}, {in.shape[0], f});
        } else if (op == "Reshape") {
            reshape(node);
        } else if (op == "Transpose") {
            const Value &in = layer_input(node, 0);
            if (in.kind != Value::Reshaped5D || attr_ints(node, "perm", {}) != std::vector<int64_t>{0, 2, 1, 3, 4})
                node_error(node, "only the channel shuffle's Transpose (perm 0,2,1,3,4 after a 4-D -> 5-D Reshape) is supported");
            Value v = in;
            v.kind = Value::Transposed5D;
            alias(node, v);
        } else if (op == "Pad") {
            pad(node);
        } else if (op == "Gemm") {
            gemm(node);
        } else if (op == "MatMul") {
            const Value &in = layer_input(node, 0);
            const Constant &w = constant_input(node, 1);
            if (in.shape.size() != 2 || w.dims.size() != 2 || w.dims[0] != in.shape[1])
                node_error(node, "only a matrix product of an N x K input with a constant K x M matrix is supported");
            std::vector<double> t(w.values.size());  // to [out][in]
            for (int64_t i = 0; i < w.dims[0]; i++)
                for (int64_t o = 0; o < w.dims[1]; o++) t[o * w.dims[0] + i] = w.values[i * w.dims[1] + o];
            std::string name = layer_name(node, node.input(1));
            add_weight(name + ".weight", {w.dims[1], w.dims[0]}, t);
            emit(node, {{"op", "fc"}, {"name", name}, {"out_features", w.dims[1]}, {"bias", false}}, {in.layer},
                 {in.shape[0], w.dims[1]});
            last_matmul_ = node.output(0);
        } else {
            node_error(node, "operator " + op + " is not supported (shufflec imports Conv, BatchNormalization, Relu, "
                             "Sigmoid, Add, Mul, Concat, MaxPool, AveragePool, Pad, GlobalAveragePool, ReduceMean, "
                             "Flatten, Reshape, Transpose, Gemm, MatMul, Softmax, Constant, Identity, Dropout)");
        }
    }

    void add(const onnx::NodeProto &node) {
        // MatMul + Add(constant) is an FC with bias.
        for (int i = 0; i < 2; i++) {
            if (!constants_.count(node.input(1 - i))) continue;
            if (node.input(i) != last_matmul_) node_error(node, "adding a constant is only supported right after a MatMul (its bias)");
            const Constant &b = constants_.at(node.input(1 - i));
            json &fc = layers_.back();
            if (b.elements() != fc["out_features"].get<int64_t>()) node_error(node, "bias size does not match the MatMul's outputs");
            fc["bias"] = true;
            add_weight(fc["name"].get<std::string>() + ".bias", {b.elements()}, b.values);
            alias(node, values_.at(node.input(i)));
            last_matmul_.clear();
            return;
        }
        const Value &a = layer_input(node, 0), &b = layer_input(node, 1);
        if (a.shape != b.shape) node_error(node, "only an add of two tensors of the same shape is supported (no broadcasting)");
        emit(node, {{"op", "add"}, {"name", layer_name(node, "")}}, {a.layer, b.layer}, a.shape);
    }

    void gemm(const onnx::NodeProto &node) {
        reject_unknown_attributes(node, {"alpha", "beta", "transA", "transB"});
        if (attr_float(node, "alpha", 1) != 1 || attr_float(node, "beta", 1) != 1 || attr_int(node, "transA", 0) != 0)
            node_error(node, "only alpha = beta = 1 and transA = 0 are supported");
        const Value &in = layer_input(node, 0);
        const Constant &w = constant_input(node, 1);
        bool trans_b = attr_int(node, "transB", 0) != 0;
        if (in.shape.size() != 2 || w.dims.size() != 2) node_error(node, "needs a 2-D input and 2-D weights");
        int64_t outs = trans_b ? w.dims[0] : w.dims[1], ins = trans_b ? w.dims[1] : w.dims[0];
        if (ins != in.shape[1]) node_error(node, cat("weights for ", ins, " inputs, the input has ", in.shape[1]));
        std::vector<double> t = w.values;
        if (!trans_b)
            for (int64_t i = 0; i < ins; i++)
                for (int64_t o = 0; o < outs; o++) t[o * ins + i] = w.values[i * outs + o];
        std::string name = layer_name(node, node.input(1));
        add_weight(name + ".weight", {outs, ins}, t);
        bool bias = node.input_size() > 2 && !node.input(2).empty();
        if (bias) {
            const Constant &b = constant_input(node, 2);
            if (b.elements() != outs) node_error(node, "only a bias of one value per output is supported");
            add_weight(name + ".bias", {outs}, b.values);
        }
        emit(node, {{"op", "fc"}, {"name", name}, {"out_features", outs}, {"bias", bias}}, {in.layer}, {in.shape[0], outs});
    }

    void pad(const onnx::NodeProto &node) {
        const Value &in = layer_input(node, 0);
        std::vector<int64_t> pads;
        std::string mode = attribute(node, "mode") ? attribute(node, "mode")->s() : "constant";
        if (mode != "constant") node_error(node, "only constant padding is supported");
        if (opset_ >= 11) {
            const Constant &p = constant_input(node, 1);
            for (double v : p.values) pads.push_back(to_int(node, v));
            if (node.input_size() > 2 && !node.input(2).empty() && constant_input(node, 2).values.at(0) != 0)
                node_error(node, "only zero padding is supported");
        } else {
            pads = attr_ints(node, "pads", {});
            if (attr_float(node, "value", 0) != 0) node_error(node, "only zero padding is supported");
        }
        // [n_b, c_b, h_b, w_b, n_e, c_e, h_e, w_e]
        if (pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5])
            node_error(node, "only padding of H and W of a 4-D tensor is supported");
        for (int64_t v : pads) {
            if (v < 0) node_error(node, "negative padding (cropping) is not supported");
            if (v > kMaxWindow) node_error(node, cat("padding ", v, " is larger than ", kMaxWindow));
        }
        values_[in.layer + "#unpadded"] = in;
        Value v{Value::Padded, in.layer, {in.shape[0], in.shape[1], in.shape[2] + pads[2] + pads[6], in.shape[3] + pads[3] + pads[7]},
                {pads[2], pads[3], pads[6], pads[7]}, 0, 0};
        alias(node, v);
    }

    void reshape(const onnx::NodeProto &node) {
        const Value &in = layer_input(node, 0);
        const Constant &target = constant_input(node, 1);
        std::vector<int64_t> t;
        for (double v : target.values) t.push_back(to_int(node, v));
        if (in.kind == Value::Layer && in.shape.size() == 4 && t.size() == 5) {
            // The shuffle's first step: channels split as (a, b).
            int64_t a = t[1], b = t[2];
            bool ok = (t[0] == in.shape[0] || t[0] == -1 || t[0] == 0) && a > 0 && b > 0 && a <= in.shape[1] &&
                      b <= in.shape[1] && a * b == in.shape[1] &&
                      (t[3] == in.shape[2] || t[3] == 0) && (t[4] == in.shape[3] || t[4] == 0);
            if (!ok) node_error(node, "a 4-D -> 5-D Reshape must split only the channels (as the channel shuffle does)");
            alias(node, Value{Value::Reshaped5D, in.layer, in.shape, {}, a, b});
            return;
        }
        if (in.kind == Value::Transposed5D) {
            bool ok = t.size() == 4 && (t[1] == in.shape[1] || t[1] == -1) && (t[2] == in.shape[2] || t[2] == 0 || t[2] == -1) &&
                      (t[3] == in.shape[3] || t[3] == 0 || t[3] == -1);
            if (!ok) node_error(node, "after the shuffle's Transpose, the Reshape must restore N x C x H x W");
            // Reshape (a, b) -> transpose -> flatten: out[j*a + i] = in[i*b + j]. That is the paper's
            // shuffle with a groups, and equally megvii's inverse one with b groups: name it by the
            // smaller factor, which is the group count in every published ShuffleNet.
            json e = {{"op", "channel_shuffle"}, {"name", layer_name(node, "")}};
            if (in.a <= in.b) e["groups"] = in.a, e["shuffle_convention"] = "paper";
            else e["groups"] = in.b, e["shuffle_convention"] = "inverse";
            emit(node, e, {in.layer}, in.shape);
            return;
        }
        if (in.kind == Value::Layer && in.shape.size() == 4 && t.size() == 2) {
            int64_t f = in.shape[1] * in.shape[2] * in.shape[3];
            if ((t[0] == in.shape[0] || t[0] == -1 || t[0] == 0) && (t[1] == f || t[1] == -1)) {
                emit(node, {{"op", "flatten"}, {"name", layer_name(node, "")}}, {in.layer}, {in.shape[0], f});
                return;
            }
        }
        if (in.kind == Value::Layer && t.size() == in.shape.size()) {
            bool same = true;
            for (size_t i = 0; i < t.size(); i++) same = same && (t[i] == in.shape[i] || t[i] == 0 || (t[i] == -1 && i > 0));
            if (same) return alias(node, in);
        }
        node_error(node, "only Reshape to N x (C*H*W) (before an FC) or the channel shuffle pattern is supported");
    }

    std::string path_, name_;
    onnx::ModelProto model_;
    int64_t opset_ = 0;
    std::map<std::string, Constant> constants_;
    std::map<std::string, Value> values_;
    std::vector<int64_t> input_shape_;
    json layers_ = json::array();
    Weights weights_;
    std::set<std::string> used_names_ = {"input"};
    std::string last_matmul_;
};

}  // namespace

ImportedModel import_onnx(const std::string &path, const std::string &name) {
    return import_onnx_bytes(read_file(path, "ONNX model"), path, name);
}

ImportedModel import_onnx_bytes(const std::string &bytes, const std::string &path, const std::string &name) {
    std::string stem = name;
    if (stem.empty()) {
        stem = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
        if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".onnx") == 0) stem.resize(stem.size() - 5);
        std::string clean;
        for (char ch : stem) clean += std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-' ? ch : '_';
        stem = clean.empty() ? "model" : clean;
    } else {
        for (char ch : stem)
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-'))
                fail("--name: \"", stem, "\" may only contain letters, digits and _ . -");
    }
    return Importer(path, stem).run(bytes);
}

void write_imported_model(const ImportedModel &model, const std::string &dir) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) {
        if (mkdir(dir.c_str(), 0755) != 0) fail("-o: cannot create folder '", dir, "': ", std::strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        fail("-o: '", dir, "' exists and is not a folder");
    }
    std::string spec = join_path(dir, model.name + ".json"), weights = join_path(dir, model.name + ".safetensors");
    write_safetensors(weights, model.weights, {{"source", "shufflec import-onnx"}});
    try {
        std::string text;
        dump_readable(model.spec, 0, text);
        write_file_atomic(spec, text + "\n");
    } catch (const Error &) {
        std::remove(weights.c_str());
        throw;
    }
}

}  // namespace shufflec
