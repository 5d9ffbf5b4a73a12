// Appends primitive nodes to a Graph, inferring each node's shape as it is
// added (composite layers need their input's channel count to expand).
// Every node records the spec entry it came from, so errors can name it.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace shufflec {

struct Window {
    int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
    std::array<int, 4> pad = {0, 0, 0, 0};  // top, left, bottom, right
    static Window square(int kernel, int stride, int pad) {
        return {kernel, kernel, stride, stride, {pad, pad, pad, pad}};
    }
};

class GraphBuilder {
public:
    explicit GraphBuilder(Graph &graph) : graph_(graph) {}

    // Where the following nodes come from: the spec entry's JSON path and name.
    void set_origin(const std::string &origin, const std::string &block) { origin_ = origin, block_ = block; }

    // Appends a node (its op's parameters named <name>.<role>); errors name the spec origin.
    int append(Node node);

    // Shorthands for the ops composite entries are built from.
    int input(const std::string &name, const Shape &shape);
    int conv(const std::string &name, int x, int64_t out_channels, const Window &window, int64_t groups, bool bias);
    int batchnorm(const std::string &name, int x, double eps);
    int relu(const std::string &name, int x);
    int sigmoid(const std::string &name, int x);
    int maxpool(const std::string &name, int x, const Window &window);
    int avgpool(const std::string &name, int x, const Window &window, bool count_include_pad);
    int global_avgpool(const std::string &name, int x);
    int dense(const std::string &name, int x, int64_t out_features, bool bias);
    int add(const std::string &name, int a, int b);
    int mul(const std::string &name, int x, int scale);
    int concat(const std::string &name, const std::vector<int> &inputs);
    int shuffle(const std::string &name, int x, int64_t groups, ShuffleConvention convention);
    int flatten(const std::string &name, int x);
    int softmax(const std::string &name, int x);
    int clip(const std::string &name, int x, float lo, float hi);
    int slice(const std::string &name, int x, int64_t begin, int64_t end);

    const Shape &shape(int node) const { return graph_.nodes[node].shape; }
    Graph &graph() { return graph_; }

private:
    Graph &graph_;
    std::string origin_, block_;
    std::map<std::string, std::string> name_origins_;
};

}  // namespace shufflec
