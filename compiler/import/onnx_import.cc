#include "import/onnx_import.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <sys/stat.h>

#include <onnx/onnx_pb.h>

#include "import/onnx_constant_folding.h"
#include "ops/onnx_node_import.h"
#include "ops/op.h"
#include "passes/passes.h"
#include "quantize/quantization.h"
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

// Integers read from constant tensors (reshape targets, pads) must be within this.
constexpr double kMaxInt = 1e15;
// Padding beyond this is refused (and keeps shape arithmetic far from overflow).
constexpr int64_t kMaxPad = 1 << 16;

// What an ONNX value is, as the import walks the graph (constants are kept apart).
struct Value {
    enum Kind { Layer, Padded, Reshaped5D, Transposed5D } kind = Layer;
    std::string layer;            // the spec layer producing it (for Padded/...: the layer before)
    std::vector<int64_t> shape;   // N, C, H, W (rank 2: N, C)
    std::vector<int64_t> pads;    // Padded: top, left, bottom, right
    int64_t a = 0, b = 0;         // Reshaped5D / Transposed5D: channels split as (a, b)
};

class Importer;

// One node, as the ops' import_onnx see it (import/onnx_node_import.h).
class NodeView : public OnnxNodeImport {
public:
    NodeView(Importer &imp, const onnx::NodeProto &node) : imp_(imp), node_(node) {}
    const std::string &op_type() const override { return node_.op_type(); }
    int64_t opset() const override;
    [[noreturn]] void error(const std::string &why) const override;
    const onnx::AttributeProto *attribute(const std::string &name) const {
        for (const auto &a : node_.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }
    bool has_attr(const std::string &name) const override { return attribute(name) != nullptr; }
    int64_t attr_int(const std::string &name, int64_t fallback) const override {
        const auto *a = attribute(name);
        return a ? a->i() : fallback;
    }
    float attr_float(const std::string &name, float fallback) const override {
        const auto *a = attribute(name);
        return a ? a->f() : fallback;
    }
    std::vector<int64_t> attr_ints(const std::string &name, std::vector<int64_t> fallback) const override {
        const auto *a = attribute(name);
        return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : fallback;
    }
    std::string attr_string(const std::string &name, const std::string &fallback) const override {
        const auto *a = attribute(name);
        return a ? a->s() : fallback;
    }
    void allow_attrs(const std::set<std::string> &known) const override {
        for (const auto &a : node_.attribute())
            if (!known.count(a.name())) error("attribute '" + a.name() + "' is not supported");
    }
    int inputs() const override { return node_.input_size(); }
    bool has_input(int i) const override { return i < node_.input_size() && !node_.input(i).empty(); }
    bool is_constant(int i) const override;
    const OnnxConstant &constant(int i) const override;
    OnnxTensor tensor(int i) override;
    OnnxTensor tensor_through_pad(int i, std::vector<int64_t> &pads, bool zero_ok) override;
    std::string layer_name(const std::string &weight_input) override;
    std::string input_name(int i) const override { return has_input(i) ? node_.input(i) : ""; }
    void add_weight(const std::string &name, std::vector<int64_t> shape, const std::vector<double> &values) override;
    int outputs() const override { return node_.output_size(); }
    void emit(json entry, const std::vector<std::string> &inputs, std::vector<int64_t> shape, int output) override;
    void alias(const OnnxTensor &tensor, int output) override;

private:
    const Value &value_input(int i) const;
    Importer &imp_;
    const onnx::NodeProto &node_;
};

class Importer {
public:
    Importer(const std::string &path, const std::string &name, int64_t batch) : path_(path), name_(name), batch_(batch) {}

    // `bytes`: the model file's contents; `path_` names it in messages.
    ImportedModel run(const std::string &bytes, const std::string &preprocess) {
        parse(bytes);
        const onnx::GraphProto &graph = model_.graph();
        for (const auto &t : graph.initializer()) constants_[t.name()] = tensor(t, "initializer " + t.name());
        input();
        for (const auto &node : graph.node()) convert(node);
        if (graph.output_size() != 1) fail(path_, ": the graph has ", graph.output_size(), " outputs (shufflec compiles one)");
        if (constants_.count(graph.output(0).name()))
            fail(path_, ": the graph output '", graph.output(0).name(),
                 "' is a constant (a shape computation), not a tensor the network computes");
        const Value &out = value(graph.output(0).name(), "the graph output");
        if (out.kind == Value::Padded) fail(path_, ": the graph output '", graph.output(0).name(), "' is a zero-padded tensor (a Pad node's output)");
        if (out.kind != Value::Layer)
            fail(path_, ": the graph output '", graph.output(0).name(),
                 "' is a 5-D tensor in the middle of a channel shuffle (Reshape -> Transpose -> Reshape)");
        ImportedModel m;
        m.name = name_;
        json input = {{"name", "input"}, {"shape", input_shape_}};
        json pre = preprocess_block(preprocess, input_shape_);
        if (!pre.is_null()) input["preprocess"] = pre;
        m.spec = {{"format", kSpecFormat},
                  {"name", name_},
                  {"description", valid_utf8("Imported from " + path_ + " by shufflec import-onnx (producer " +
                                             model_.producer_name() + " " + model_.producer_version() + ", opset ") +
                                      std::to_string(opset_) + ")."},
                  {"input", input},
                  {"weights", name_ + ".safetensors"},
                  {"layers", layers_},
                  {"output", out.layer}};
        m.weights = std::move(weights_);
        // The result must be a valid spec for these weights: parse it as a user would.
        Graph g;
        try {
            g = parse_spec_text(m.spec.dump(), name_ + ".json");
            check_weights(g, m.weights, name_ + ".safetensors");
        } catch (const Error &e) {
            fail(path_, ": internal error, the imported spec is invalid: ", e.what());
        }
        if (!layer_quant_.empty()) {
            // The scales belong to spec layers; the quantization file to the optimized graph.
            Weights w = m.weights;
            optimize(g, w);
            Quantization q = quantization_from_layers(g, layer_quant_, path_);
            m.quantization = quantization_to_json(q, g);
            m.quantized_tensors = q.tensors.size();
        }
        return m;
    }

    [[noreturn]] void node_error(const onnx::NodeProto &node, const std::string &why) {
        fail(path_, ": node '", node.name().empty() ? "(unnamed)" : node.name(), "' (", node.op_type(), "): ", why);
    }

    int64_t opset() const { return opset_; }

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

    const OnnxConstant &constant_input(const onnx::NodeProto &node, int i) {
        if (i >= node.input_size() || node.input(i).empty()) node_error(node, cat("missing input ", i));
        auto it = constants_.find(node.input(i));
        if (it == constants_.end())
            node_error(node, "input '" + node.input(i) + "' must be a constant (an initializer, a Constant node, or a " +
                                 "shape computation that can be folded)");
        return it->second;
    }

    bool is_constant(const std::string &name) const { return constants_.count(name) > 0; }

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

    void emit(const onnx::NodeProto &node, json entry, const std::vector<std::string> &inputs, std::vector<int64_t> shape,
              int output) {
        if (output >= node.output_size() || node.output(output).empty()) node_error(node, cat("has no output ", output));
        if (inputs.size() == 1) entry["input"] = inputs[0];
        else entry["inputs"] = inputs;
        layers_.push_back(entry);
        values_[node.output(output)] = Value{Value::Layer, entry["name"], std::move(shape), {}, 0, 0};
    }

    void alias(const onnx::NodeProto &node, const Value &v, int output = 0) {
        if (output >= node.output_size()) node_error(node, cat("has no output ", output));
        values_[node.output(output)] = v;
    }

    // A layer input that may come through a zero Pad node: its padding is added to `pads`.
    const Value &through_pad(const onnx::NodeProto &node, int i, std::vector<int64_t> &pads, bool zero_ok) {
        const Value &in = layer_input(node, i);
        if (in.kind == Value::Padded) {
            if (!zero_ok) node_error(node, "reads a zero-padded tensor; zero padding before this op is not supported");
            for (int k = 0; k < 4; k++) pads[k] += in.pads[k];
            return values_.at(in.layer + "#unpadded");
        }
        if (in.kind != Value::Layer) node_error(node, "reads a tensor in the middle of a reshape/transpose pattern");
        return in;
    }

private:
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

    OnnxConstant tensor(const onnx::TensorProto &t, const std::string &what) {
        OnnxConstant c;
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
        case onnx::TensorProto::DOUBLE: read(double{}, t.double_data()); break;
        case onnx::TensorProto::INT64: read(int64_t{}, t.int64_data()), c.integer = true; break;
        case onnx::TensorProto::INT32: read(int32_t{}, t.int32_data()), c.integer = true; break;
        case onnx::TensorProto::INT8: read(int8_t{}, t.int32_data()), c.integer = true; break;
        case onnx::TensorProto::UINT8: read(uint8_t{}, t.int32_data()), c.integer = true; break;
        default:
            fail(path_, ": ", what, " has data type ", t.data_type(),
                 " (shufflec reads float32/64, int64, int32, int8 and uint8)");
        }
        c.data_type = t.data_type();
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
            if (d.has_dim_value() && d.dim_value() > 0 && d.dim_value() < (1 << 20)) {
                if (i == 0 && batch_ > 0 && batch_ != d.dim_value())
                    fail(path_, ": --batch ", batch_, ": the model's batch is fixed at ", d.dim_value());
                input_shape_.push_back(d.dim_value());
            } else if (i == 0) {
                if (batch_ <= 0)
                    fail(path_, ": input '", inputs[0]->name(), "' has a dynamic batch dimension",
                         d.has_dim_param() ? " (" + in_quotes(d.dim_param()) + ")" : "",
                         ": give --batch N, the batch the compiled model runs (the Python wrapper runs any multiple of "
                         "it in chunks)");
                input_shape_.push_back(batch_);
            } else {
                fail(path_, ": input '", inputs[0]->name(), "' dimension ", i,
                     " has no fixed size (shufflec compiles static shapes; export with a fixed input size)");
            }
        }
        values_[inputs[0]->name()] = Value{Value::Layer, "input", input_shape_, {}, 0, 0};
    }

    // The preprocess block of a preset (--preprocess).
    static json preprocess_block(const std::string &preset, const std::vector<int64_t> &shape) {
        if (preset.empty() || preset == "none") return json();
        // torchvision's evaluation transforms scale the crop by 256/224 for the resize.
        int64_t short_side = std::min(shape[2], shape[3]);
        int64_t resize = (short_side * 256 + 112) / 224;
        if (preset == "torchvision")
            return {{"order", "rgb"}, {"scale", 1.0 / 255.0}, {"mean", {0.485, 0.456, 0.406}}, {"std", {0.229, 0.224, 0.225}},
                    {"resize", {{"shorter_side", resize}, {"antialias", true}}}, {"center_crop", {shape[2], shape[3]}}};
        // megvii's eval code: OpenCV's INTER_LINEAR resize (no antialias; long side rounded), BGR 0..255.
        if (preset == "megvii")
            return {{"order", "bgr"}, {"scale", 1.0},
                    {"resize", {{"shorter_side", resize}, {"antialias", false}, {"long_side", "round"}}},
                    {"center_crop", {shape[2], shape[3]}}};
        fail("--preprocess: expected torchvision, megvii or none, got ", in_quotes(preset));
    }

    int64_t to_int(const onnx::NodeProto &node, double v) {
        if (!(v >= -kMaxInt && v <= kMaxInt) || v != std::floor(v)) node_error(node, cat("value ", v, " is not a supported integer"));
        return static_cast<int64_t>(v);
    }

    void convert(const onnx::NodeProto &node) {
        const std::string &op = node.op_type();
        if (node.output_size() < 1 || node.output(0).empty()) node_error(node, "has no output");
        if (!node.domain().empty() && node.domain() != "ai.onnx") node_error(node, "operator domain '" + node.domain() + "' is not supported");
        if (op == "Constant") {
            const onnx::AttributeProto *a = nullptr;
            for (const auto &attr : node.attribute())
                if (attr.name() == "value") a = &attr;
            if (!a || !a->has_t()) node_error(node, "only tensor-valued Constant nodes are supported");
            constants_[node.output(0)] = tensor(a->t(), "Constant " + node.output(0));
            return;
        }
        if (op == "Identity" || op == "Dropout") {
            if (node.input_size() < 1) node_error(node, "missing input 0");
            if (constants_.count(node.input(0))) constants_[node.output(0)] = constants_.at(node.input(0));
            else alias(node, layer_input(node, 0));
            return;
        }
        if (op == "Shape") {
            // Shapes are static here: the shape of a tensor is a constant.
            const Value &in = layer_input(node, 0);
            OnnxConstant c;
            c.dims = {static_cast<int64_t>(in.shape.size())};
            for (int64_t d : in.shape) c.values.push_back(static_cast<double>(d));
            c.integer = true;
            constants_[node.output(0)] = c;
            return;
        }
        // Arithmetic on constants (the shape computations exporters write around
        // reshapes and channel splits) is evaluated here.
        bool all_constant = node.input_size() > 0;
        for (const auto &in : node.input()) all_constant = all_constant && (in.empty() || constants_.count(in));
        if (all_constant && can_fold(op)) {
            NodeView view(*this, node);
            std::vector<const OnnxConstant *> ins;
            for (const auto &in : node.input()) ins.push_back(in.empty() ? nullptr : &constants_.at(in));
            constants_[node.output(0)] = fold_constant(view, ins);
            return;
        }
        if (op == "QuantizeLinear") return quantize(node);
        if (op == "DequantizeLinear") return dequantize(node);
        if (op == "Pad") return pad(node);
        if (op == "Reshape") return reshape(node);
        if (op == "Transpose") {
            const Value &in = layer_input(node, 0);
            NodeView view(*this, node);
            if (in.kind != Value::Reshaped5D || view.attr_ints("perm", {}) != std::vector<int64_t>{0, 2, 1, 3, 4})
                node_error(node, "only the channel shuffle's Transpose (perm 0,2,1,3,4 after a 4-D -> 5-D Reshape) is supported");
            Value v = in;
            v.kind = Value::Transposed5D;
            return alias(node, v);
        }
        if (op == "Add" && node.input_size() == 2) {
            // MatMul + Add(constant) is an FC with bias.
            for (int i = 0; i < 2; i++) {
                if (!constants_.count(node.input(1 - i))) continue;
                if (node.input(i) != last_matmul_) node_error(node, "adding a constant is only supported right after a MatMul (its bias)");
                const OnnxConstant &b = constants_.at(node.input(1 - i));
                json &fc = layers_.back();
                if (b.elements() != fc["out_features"].get<int64_t>()) node_error(node, "bias size does not match the MatMul's outputs");
                fc["bias"] = true;
                add_weight(fc["name"].get<std::string>() + ".bias", {b.elements()}, b.values);
                alias(node, values_.at(node.input(i)));
                last_matmul_.clear();
                return;
            }
        }
        for (const OpDef *def : all_ops()) {
            if (!def->import_onnx) continue;
            for (const auto &type : def->onnx_ops) {
                if (type != op) continue;
                NodeView view(*this, node);
                def->import_onnx(view);
                if (op == "MatMul") last_matmul_ = node.output(0);
                return;
            }
        }
        std::string known;
        for (const OpDef *def : all_ops())
            for (const auto &type : def->onnx_ops) known += type + ", ";
        node_error(node, "operator " + op + " is not supported (shufflec imports " + known +
                             "Pad, Reshape and Transpose as the channel shuffle, and folds Constant, Identity, Dropout, "
                             "Shape and arithmetic on constants)");
    }

    // QDQ models: QuantizeLinear -> DequantizeLinear on a computed tensor
    // rounds it to a scale. Both alias the tensor; the scale is recorded for the
    // layer that computes it, or for the network input (the stem then
    // multiplies integers).
    void quantize(const onnx::NodeProto &node) {
        const Value &in = layer_input(node, 0);
        TensorQuant t = activation_quant(node);
        auto [it, fresh] = layer_quant_.emplace(in.layer, t);
        if (!fresh && (it->second.scale != t.scale || it->second.is_unsigned != t.is_unsigned))
            node_error(node, "quantizes '" + in.layer + "' with another scale or type than an earlier QuantizeLinear");
        quantized_values_[node.output(0)] = t;
        alias(node, in);
    }

    void dequantize(const onnx::NodeProto &node) {
        auto it = quantized_values_.find(node.input_size() > 0 ? node.input(0) : "");
        if (it == quantized_values_.end())
            node_error(node, "dequantizes a tensor no QuantizeLinear produced (a QDQ model's integer tensors come "
                             "from QuantizeLinear or are constants)");
        TensorQuant t = activation_quant(node);
        if (t.scale != it->second.scale || t.is_unsigned != it->second.is_unsigned)
            node_error(node, "its scale or type differs from the QuantizeLinear's");
        alias(node, layer_input(node, 0));
    }

    // The scale and type of a QuantizeLinear/DequantizeLinear on a tensor:
    // per tensor, zero point 0 (shufflec's int8 tensors are symmetric).
    TensorQuant activation_quant(const onnx::NodeProto &node) {
        const OnnxConstant &scale = constant_input(node, 1);
        if (scale.elements() != 1) node_error(node, "only per-tensor scales of computed tensors are supported");
        TensorQuant t;
        t.scale = scale.values[0];
        if (!(t.scale > 0) || !std::isfinite(t.scale)) node_error(node, cat("scale ", t.scale, " is not a positive number"));
        t.is_unsigned = true;  // the default zero point is uint8
        if (node.input_size() > 2 && !node.input(2).empty()) {
            const OnnxConstant &zero = constant_input(node, 2);
            if (zero.data_type != onnx::TensorProto::UINT8 && zero.data_type != onnx::TensorProto::INT8)
                node_error(node, "the zero point must be uint8 or int8");
            if (zero.elements() != 1 || zero.values[0] != 0)
                node_error(node, cat("zero point ", zero.values.empty() ? 0 : zero.values[0],
                                     ": shufflec's int8 tensors are symmetric (zero point 0; quantize with symmetric "
                                     "activations, e.g. ONNX Runtime's ActivationSymmetric)"));
            t.is_unsigned = zero.data_type == onnx::TensorProto::UINT8;
        }
        return t;
    }

    void pad(const onnx::NodeProto &node) {
        const Value &in = layer_input(node, 0);
        NodeView view(*this, node);
        std::vector<int64_t> pads;
        if (view.attr_string("mode", "constant") != "constant") node_error(node, "only constant padding is supported");
        if (opset_ >= 11) {
            const OnnxConstant &p = constant_input(node, 1);
            for (double v : p.values) pads.push_back(to_int(node, v));
            if (node.input_size() > 2 && !node.input(2).empty() && constant_input(node, 2).values.at(0) != 0)
                node_error(node, "only zero padding is supported");
        } else {
            pads = view.attr_ints("pads", {});
            if (view.attr_float("value", 0) != 0) node_error(node, "only zero padding is supported");
        }
        // [n_b, c_b, h_b, w_b, n_e, c_e, h_e, w_e]
        if (pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5] || in.shape.size() != 4)
            node_error(node, "only padding of H and W of a 4-D tensor is supported");
        for (int64_t v : pads) {
            if (v < 0) node_error(node, "negative padding (cropping) is not supported");
            if (v > kMaxPad) node_error(node, cat("padding ", v, " is larger than ", kMaxPad));
        }
        values_[in.layer + "#unpadded"] = in;
        Value v{Value::Padded, in.layer, {in.shape[0], in.shape[1], in.shape[2] + pads[2] + pads[6], in.shape[3] + pads[3] + pads[7]},
                {pads[2], pads[3], pads[6], pads[7]}, 0, 0};
        alias(node, v);
    }

    void reshape(const onnx::NodeProto &node) {
        const Value &in = layer_input(node, 0);
        const OnnxConstant &target = constant_input(node, 1);
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
            emit(node, e, {in.layer}, in.shape, 0);
            return;
        }
        if (in.kind == Value::Layer && in.shape.size() == 4 && t.size() == 2) {
            int64_t f = in.shape[1] * in.shape[2] * in.shape[3];
            if ((t[0] == in.shape[0] || t[0] == -1 || t[0] == 0) && (t[1] == f || t[1] == -1)) {
                emit(node, {{"op", "flatten"}, {"name", layer_name(node, "")}}, {in.layer}, {in.shape[0], f}, 0);
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
    int64_t batch_;  // for a symbolic batch dimension (0: refuse)
    onnx::ModelProto model_;
    int64_t opset_ = 0;
    std::map<std::string, OnnxConstant> constants_;
    std::map<std::string, Value> values_;
    std::vector<int64_t> input_shape_;
    json layers_ = json::array();
    Weights weights_;
    std::set<std::string> used_names_ = {"input"};
    std::string last_matmul_;
    std::map<std::string, TensorQuant> layer_quant_;        // QDQ: the scale of each quantized layer's output
    std::map<std::string, TensorQuant> quantized_values_;   // QDQ: QuantizeLinear outputs

    friend class NodeView;
};

int64_t NodeView::opset() const { return imp_.opset(); }
void NodeView::error(const std::string &why) const { imp_.node_error(node_, why); }
bool NodeView::is_constant(int i) const { return has_input(i) && imp_.is_constant(node_.input(i)); }
const OnnxConstant &NodeView::constant(int i) const { return imp_.constant_input(node_, i); }
const Value &NodeView::value_input(int i) const { return imp_.layer_input(node_, i); }

OnnxTensor NodeView::tensor(int i) {
    const Value &v = value_input(i);
    if (v.kind == Value::Padded) error("reads a zero-padded tensor; zero padding before this op is not supported");
    if (v.kind != Value::Layer) error("reads a tensor in the middle of a reshape/transpose pattern");
    return {v.layer, v.shape};
}

OnnxTensor NodeView::tensor_through_pad(int i, std::vector<int64_t> &pads, bool zero_ok) {
    const Value &v = imp_.through_pad(node_, i, pads, zero_ok);
    return {v.layer, v.shape};
}

std::string NodeView::layer_name(const std::string &weight_input) { return imp_.layer_name(node_, weight_input); }

void NodeView::add_weight(const std::string &name, std::vector<int64_t> shape, const std::vector<double> &values) {
    imp_.add_weight(name, std::move(shape), values);
}

void NodeView::emit(json entry, const std::vector<std::string> &inputs, std::vector<int64_t> shape, int output) {
    imp_.emit(node_, std::move(entry), inputs, std::move(shape), output);
}

void NodeView::alias(const OnnxTensor &t, int output) {
    imp_.alias(node_, Value{Value::Layer, t.layer, t.shape, {}, 0, 0}, output);
}

}  // namespace

ImportedModel import_onnx(const std::string &path, const ImportOptions &options) {
    return import_onnx_bytes(read_file(path, "ONNX model", kMaxDataFileBytes), path, options);
}

ImportedModel import_onnx_bytes(const std::string &bytes, const std::string &path, const ImportOptions &options) {
    std::string stem = options.name;
    if (stem.empty()) {
        stem = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
        if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".onnx") == 0) stem.resize(stem.size() - 5);
        std::string clean;
        for (char ch : stem) clean += std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-' ? ch : '_';
        clean = clean.substr(0, 128);
        stem = is_file_name(clean) ? clean : "model";
    }
    checked_file_name(stem, "--name");
    return Importer(path, stem, options.batch).run(bytes, options.preprocess);
}

void write_imported_model(const ImportedModel &model, const std::string &dir) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) {
        if (mkdir(dir.c_str(), 0755) != 0) fail("-o: cannot create folder '", dir, "': ", std::strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        fail("-o: '", dir, "' exists and is not a folder");
    }
    std::string spec = join_path(dir, model.name + ".json"), weights = join_path(dir, model.name + ".safetensors");
    std::string quantization = join_path(dir, model.name + ".quantization.json");
    write_safetensors(weights, model.weights, {{"source", "shufflec import-onnx"}});
    try {
        if (!model.quantization.empty()) write_file_atomic(quantization, model.quantization);
        std::string text;
        dump_readable(model.spec, 0, text);
        write_file_atomic(spec, text + "\n");
    } catch (const Error &) {
        std::remove(weights.c_str());
        if (!model.quantization.empty()) std::remove(quantization.c_str());
        throw;
    }
}

}  // namespace shufflec
