// input: the network's input tensor (its shape comes from the spec or the command line).
#include "ops/op.h"

namespace shufflec {

namespace {

Shape infer(const Graph &, Node &node) { return node.shape; }

}  // namespace

const OpDef &input_op() {
    static const OpDef def = [] {
        OpDef d;
        d.op = Op::Input;
        d.name = "input";
        d.min_inputs = d.max_inputs = 0;
        d.infer = infer;
        d.grouping = no_grouping;
        return d;
    }();
    return def;
}

}  // namespace shufflec
