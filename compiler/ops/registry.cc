// The table of ops: each op's definition lives in its own file of this folder.
#include "ops/op.h"


#include "util/error.h"

namespace shufflec {

const OpDef &input_op();
const OpDef &conv_op();
const OpDef &batchnorm_op();
const OpDef &relu_op();
const OpDef &clip_op();
const OpDef &sigmoid_op();
const OpDef &hard_sigmoid_op();
const OpDef &hard_swish_op();
const OpDef &maxpool_op();
const OpDef &avgpool_op();
const OpDef &global_avgpool_op();
const OpDef &dense_op();
const OpDef &add_op();
const OpDef &mul_op();
const OpDef &concat_op();
const OpDef &channel_shuffle_op();
const OpDef &slice_op();
const OpDef &channel_permute_op();
const OpDef &flatten_op();
const OpDef &softmax_op();

const std::vector<const OpDef *> &all_ops() {
    static const std::vector<const OpDef *> ops = {
        &input_op(),   &conv_op(),           &batchnorm_op(),   &relu_op(),          &clip_op(),
        &sigmoid_op(), &hard_sigmoid_op(), &hard_swish_op(), &maxpool_op(),        &avgpool_op(),     &global_avgpool_op(), &dense_op(),
        &add_op(),     &mul_op(),  &concat_op(),      &channel_shuffle_op(), &slice_op(),
        &channel_permute_op(), &flatten_op(), &softmax_op(),
    };
    return ops;
}

const OpDef &op_def(Op op) {
    for (const OpDef *d : all_ops())
        if (d->op == op) return *d;
    internal_error("op ", static_cast<int>(op), " has no definition in compiler/ops/");
}

const OpDef *find_op(const std::string &spec_name) {
    for (const OpDef *d : all_ops())
        if (spec_name == d->name && d->op != Op::Input) return d;
    return nullptr;
}

const char *op_name(Op op) { return op_def(op).name; }

Shape same_shape(const Graph &graph, Node &node) { return graph.nodes[node.inputs[0]].shape; }

int64_t no_grouping(const Graph &, const std::vector<int64_t> &, const Node &) { return 0; }

int64_t input_grouping(const Graph &, const std::vector<int64_t> &groupings, const Node &node) {
    return groupings[node.inputs[0]];
}

}  // namespace shufflec
