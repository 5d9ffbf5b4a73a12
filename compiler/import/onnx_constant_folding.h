// Evaluating ONNX ops whose inputs are all constants: the shape arithmetic
// torch.onnx writes around reshapes and chunk/split when constant folding is
// off (Shape -> Gather -> Add/Div/Mul -> Slice, Unsqueeze + Concat). Shapes are
// static in shufflec, so all of it folds to constants at import.
#pragma once

#include <string>
#include <vector>

#include "ops/onnx_node_import.h"

namespace shufflec {

// Whether fold_constant evaluates this op type.
bool can_fold(const std::string &op_type);

// The node's output from constant inputs (null entries: absent optional
// inputs); errors name the node.
OnnxConstant fold_constant(OnnxNodeImport &node, const std::vector<const OnnxConstant *> &inputs);

}  // namespace shufflec
