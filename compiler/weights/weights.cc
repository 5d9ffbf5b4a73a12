#include "weights/weights.h"

#include <cmath>
#include <set>

#include "util/error.h"
#include "util/hash.h"

namespace shufflec {

namespace {

// splitmix64: a tiny, well-mixed generator; seeded per tensor from its name.
struct Rng {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    float uniform(float lo, float hi) {
        return lo + (hi - lo) * static_cast<float>(static_cast<double>(next() >> 11) * 0x1.0p-53);
    }
};

std::string shape_text(const std::vector<int64_t> &shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace

Weights random_weights(const Graph &graph, uint64_t seed) {
    Weights weights;
    for (const auto &node : graph.nodes) {
        for (const auto &p : node.params) {
            Rng rng{seed ^ fnv1a(p.tensor)};
            Tensor t{p.shape, std::vector<float>(static_cast<size_t>(p.elements()))};
            float lo, hi;
            if (p.role == "weight" && node.op != Op::BatchNorm) {
                // Variance 2 / fan_in keeps activations of order 1 through ReLU layers.
                int64_t fan_in = p.elements() / p.shape[0];
                float a = std::sqrt(6.0f / static_cast<float>(fan_in));
                lo = -a, hi = a;
            } else if (p.role == "weight") {
                lo = 0.2f, hi = 0.6f;  // gamma: small enough that 16 residual units stay of order 1
            } else if (p.role == "running_var") {
                lo = 0.5f, hi = 2.0f;
            } else {
                lo = -0.3f, hi = 0.3f;  // bias, beta, running_mean
            }
            for (auto &v : t.data) v = rng.uniform(lo, hi);
            weights.emplace(p.tensor, std::move(t));
        }
    }
    return weights;
}

void check_weights(const Graph &graph, const Weights &weights, const std::string &source) {
    std::set<std::string> expected;
    for (const auto &node : graph.nodes) {
        for (const auto &p : node.params) {
            expected.insert(p.tensor);
            auto it = weights.find(p.tensor);
            if (it == weights.end())
                fail(source, ": missing tensor '", p.tensor, "' (", op_name(node.op), " '", node.name, "' needs shape ",
                     shape_text(p.shape), ")");
            if (it->second.shape != p.shape)
                fail(source, ": tensor '", p.tensor, "' has shape ", shape_text(it->second.shape), ", ", op_name(node.op),
                     " '", node.name, "' needs ", shape_text(p.shape));
            if (p.role == "running_var")
                for (float v : it->second.data)
                    if (!(v >= 0.0f)) fail(source, ": tensor '", p.tensor, "' holds a negative or NaN variance");
        }
    }
    for (const auto &[name, t] : weights)
        if (!expected.count(name)) fail(source, ": unexpected tensor '", name, "' (no layer of the spec uses it)");
}

Weights resolve_weights(const Graph &graph, const std::string &weights_path, const std::string &random_seed) {
    if (!random_seed.empty() && !weights_path.empty()) fail("--weights and --random-weights exclude each other");
    if (!random_seed.empty()) {
        size_t used = 0;
        unsigned long long seed = 0;
        try {
            seed = std::stoull(random_seed, &used);
        } catch (const std::exception &) {
            used = 0;
        }
        if (used == 0 || used != random_seed.size() || random_seed[0] == '-')
            fail("--random-weights: expected a non-negative integer seed, got \"", random_seed, "\"");
        return random_weights(graph, seed);
    }
    std::string path = weights_path.empty() ? graph.weights_file : weights_path;
    if (path.empty())
        fail("no weights: give --weights FILE or --random-weights SEED (the spec names no \"weights\" file)");
    Weights w = read_safetensors(path);
    check_weights(graph, w, path);
    return w;
}

}  // namespace shufflec
