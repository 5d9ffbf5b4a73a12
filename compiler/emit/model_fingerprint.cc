#include "emit/model_fingerprint.h"

#include <sstream>

#include "util/hash.h"

namespace shufflec {

std::string model_fingerprint_text(const Graph &graph, const SegmentPlan &plan, const PackedWeights &blob,
                                   const std::string &target) {
    std::ostringstream o;
    o << "shufflec-weights/3 target=" << target << " group_padding=" << blob.group_padding << "\n";
    for (size_t i = 0; i < graph.nodes.size(); i++) {
        const Node &n = graph.nodes[i];
        o << i << " " << op_name(n.op) << " in=";
        for (int in : n.inputs) o << in << ",";
        o << " shape=" << to_string(n.shape) << "/" << n.shape.rank << " k=" << n.kernel_h << "x" << n.kernel_w
          << " s=" << n.stride_h << "x" << n.stride_w << " p=" << n.pad_top << "," << n.pad_left << ","
          << n.pad_bottom << "," << n.pad_right << " g=" << n.groups << " out=" << n.out_channels
          << " bias=" << n.bias << " eps=" << n.eps << " cip=" << n.count_include_pad
          << " shuffle=" << static_cast<int>(n.shuffle) << " act=" << n.activation.enabled << ":" << n.activation.lo
          << ":" << n.activation.hi << " clip=" << n.clip_min << ":" << n.clip_max << " hs=" << n.alpha << ":" << n.beta << " slice=" << n.begin << ":"
          << n.end << " reads=";
        for (const auto &step : n.input_shuffles)
            o << static_cast<int>(step.convention) << ":" << step.groups << ":" << step.channels << ";";
        o << " parts=";
        for (const auto &p : n.parts) o << p.input << ":" << p.begin << ":" << p.count << ";";
        o << " grouping=" << plan.grouping[i] << " segment=" << plan.segment_of[i] << "\n";
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
