#include "emit/model_fingerprint.h"

#include <sstream>

#include "util/hash.h"

namespace shufflec {

std::string model_fingerprint_text(const Graph &graph, const SegmentPlan &plan, const PackedWeights &blob,
                                   const std::string &target) {
    std::ostringstream o;
    o << "shufflec-weights/4 target=" << target << " group_padding=" << blob.group_padding
      << " precision=" << precision_name(plan) << "\n";
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        const Node &n = graph.nodes[i];
        o << i << " " << op_name(n.op) << " in=";
        for (int in : n.inputs) o << in << ",";
        o << " " << node_signature(n, plan.grouping[i], true) << " segment=" << plan.segment_of[i] << "\n";
    }
    o << "output=" << graph.output << " blob=" << blob.data.size() << "\n";
    for (const auto &[offset, floats] : blob.arrays) o << offset << ":" << floats << " ";
    o << "\n";
    return o.str();
}

uint64_t model_fingerprint(const Graph &graph, const SegmentPlan &plan, const PackedWeights &blob,
                           const std::string &target) {
    return fnv1a(model_fingerprint_text(graph, plan, blob, target));
}

}  // namespace shufflec
