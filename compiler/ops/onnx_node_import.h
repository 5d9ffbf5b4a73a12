// One ONNX node being imported, as an op's `import_onnx` (compiler/ops/) sees
// it: attributes, inputs (computed tensors or constants), and how to emit the
// spec layer it becomes. No protobuf types: the importer
// (import/onnx_import.cc) implements it over Debian's libonnx classes, so the
// ops stay in the core library.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shufflec {

// A constant tensor (an initializer or a Constant node), as doubles.
struct OnnxConstant {
    std::vector<int64_t> dims;
    std::vector<double> values;
    bool integer = false;  // an integer tensor (integer division truncates)
    int data_type = 0;     // ONNX TensorProto data type (1 float, 2 uint8, 3 int8, 6 int32, 7 int64; 0 computed)
    int64_t elements() const {  // dims are checked when the constant is read: no overflow
        int64_t e = 1;
        for (int64_t d : dims) e *= d;
        return e;
    }
};

// A tensor the network computes: the spec layer that produces it and its shape.
struct OnnxTensor {
    std::string layer;
    std::vector<int64_t> shape;  // N, C, H, W (rank 2: N, C)
};

class OnnxNodeImport {
public:
    virtual ~OnnxNodeImport() = default;
    virtual const std::string &op_type() const = 0;
    virtual int64_t opset() const = 0;
    // A one-line error naming the node and its op type.
    [[noreturn]] virtual void error(const std::string &why) const = 0;

    virtual bool has_attr(const std::string &name) const = 0;
    virtual int64_t attr_int(const std::string &name, int64_t fallback) const = 0;
    virtual float attr_float(const std::string &name, float fallback) const = 0;
    virtual std::vector<int64_t> attr_ints(const std::string &name, std::vector<int64_t> fallback) const = 0;
    virtual std::string attr_string(const std::string &name, const std::string &fallback) const = 0;
    // Fails on any attribute outside `known`.
    virtual void allow_attrs(const std::set<std::string> &known) const = 0;

    // Inputs: how many the node lists, whether input i is given (optional
    // inputs may be empty) and a constant.
    virtual int inputs() const = 0;
    virtual bool has_input(int i) const = 0;
    virtual bool is_constant(int i) const = 0;
    virtual const OnnxConstant &constant(int i) const = 0;
    virtual OnnxTensor tensor(int i) = 0;
    // A tensor that may come through a zero Pad node: its padding is added to
    // `pads` ([top, left, bottom, right]); `zero_ok` says whether zeros are
    // what the reader would pad with anyway (convs, average pools).
    virtual OnnxTensor tensor_through_pad(int i, std::vector<int64_t> &pads, bool zero_ok) = 0;

    // A unique spec layer name: the PyTorch module name of `weight_input`'s
    // tensor when there is one, else the node's name.
    virtual std::string layer_name(const std::string &weight_input = "") = 0;
    virtual std::string input_name(int i) const = 0;
    virtual void add_weight(const std::string &name, std::vector<int64_t> shape, const std::vector<double> &values) = 0;
    // How many outputs the node has.
    virtual int outputs() const = 0;
    // The node's output (number `output`) is a new spec layer (`entry` with op and name), reading `inputs`.
    virtual void emit(nlohmann::ordered_json entry, const std::vector<std::string> &inputs, std::vector<int64_t> shape,
                      int output = 0) = 0;
    // The node's output is this tensor (no layer of its own).
    virtual void alias(const OnnxTensor &tensor, int output = 0) = 0;

    // Shared attribute readers of window ops: two values (strides, dilations,
    // default 1, 1), ONNX pads [top, left, bottom, right] (auto_pad only NOTSET/VALID).
    std::vector<int64_t> two(const std::string &name);
    std::vector<int64_t> pads();
    // The output shape of a window op (sizes checked, nothing overflows).
    std::vector<int64_t> window_output(const std::vector<int64_t> &input, int64_t channels, int64_t kh, int64_t kw,
                                       const std::vector<int64_t> &stride, const std::vector<int64_t> &pads);
};

}  // namespace shufflec
