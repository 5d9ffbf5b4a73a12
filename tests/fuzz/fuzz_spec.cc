// The spec parser, then (for small networks) the passes against the reference
// interpreter: an optimized graph must compute what the spec computes.
#include <cmath>

#include "fuzz_support.h"
#include "passes/passes.h"
#include "reference/interpreter.h"
#include "spec/spec_parser.h"
#include "weights/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return shufflec_fuzz::guarded([&] {
        shufflec::Graph graph = shufflec::parse_spec_text(shufflec_fuzz::bytes(data, size), "fuzz.json");
        shufflec::LayerStats stats = shufflec::graph_stats(graph);
        int64_t elements = 0;
        for (const auto &node : graph.nodes) elements += node.shape.elements();
        if (stats.macs > 2000000 || stats.params > 200000 || elements > 200000) return;
        shufflec::Weights weights = shufflec::random_weights(graph, 7);
        std::vector<float> x(static_cast<size_t>(graph.input().shape.elements()));
        for (size_t i = 0; i < x.size(); i++) x[i] = static_cast<float>((i * 37) % 17) / 8.0f - 1.0f;
        std::vector<float> before = shufflec::run_reference(graph, weights, x);
        shufflec::optimize(graph, weights);
        std::vector<float> after = shufflec::run_reference(graph, weights, x);
        if (before.size() != after.size()) std::abort();
        double scale = 0, error = 0;
        for (size_t i = 0; i < before.size(); i++) {
            if (!std::isfinite(before[i])) return;  // sigmoid/softmax of huge values: nothing to compare
            scale = std::max(scale, std::fabs(static_cast<double>(before[i])));
            error = std::max(error, std::fabs(static_cast<double>(before[i]) - after[i]));
        }
        if (error > 1e-4 * std::max(scale, 1e-3)) {
            std::fprintf(stderr, "finding: the passes changed the result by %g (scale %g)\n", error, scale);
            std::abort();
        }
    });
}
