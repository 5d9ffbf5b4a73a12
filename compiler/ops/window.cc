#include "ops/window.h"

#include "util/error.h"

namespace shufflec {

namespace {

constexpr int kMaxKernel = 1 << 12;

int64_t window_size(const Node &node, int64_t size, int kernel, int stride, int pad_a, int pad_b, const char *axis) {
    int64_t padded = size + pad_a + pad_b;
    if (padded < kernel)
        fail(node.origin, ": ", op_name(node.op), " '", node.name, "': input ", axis, " ", size, " plus padding ",
             pad_a + pad_b, " is smaller than the kernel (", kernel, ")");
    return (padded - kernel) / stride + 1;
}

}  // namespace

void parse_window(const JsonView &e, Node &node, bool stride_defaults_to_kernel) {
    std::vector<int64_t> k = e.at("kernel").as_int_list(2, 2, 1, kMaxKernel);
    node.kernel_h = static_cast<int>(k[0]), node.kernel_w = static_cast<int>(k.size() == 2 ? k[1] : k[0]);
    node.stride_h = node.stride_w = 1;
    if (e.has("stride")) {
        std::vector<int64_t> s = e.at("stride").as_int_list(2, 2, 1, kMaxKernel);
        node.stride_h = static_cast<int>(s[0]), node.stride_w = static_cast<int>(s.size() == 2 ? s[1] : s[0]);
    } else if (stride_defaults_to_kernel) {
        node.stride_h = node.kernel_h, node.stride_w = node.kernel_w;
    }
    if (e.has("pad")) {
        JsonView pv = e.at("pad");
        if (pv.raw().is_array() && pv.raw().size() != 2 && pv.raw().size() != 4)
            pv.error(cat("expected 2 or 4 integers, got ", pv.raw().size(),
                         " (one integer, [h, w] or [top, left, bottom, right])"));
        std::vector<int64_t> p = pv.as_int_list(pv.raw().is_array() ? pv.raw().size() : 1, 4, 0, kMaxKernel);
        if (p.size() == 1) p = {p[0], p[0], p[0], p[0]};
        else if (p.size() == 2) p = {p[0], p[1], p[0], p[1]};
        node.pad_top = static_cast<int>(p[0]), node.pad_left = static_cast<int>(p[1]);
        node.pad_bottom = static_cast<int>(p[2]), node.pad_right = static_cast<int>(p[3]);
    }
}

Shape window_output(const Node &node, const Shape &x, int64_t channels) {
    if (x.rank == 2) fail(node.origin, ": ", op_name(node.op), " '", node.name, "': needs a 4-D input, got ", to_string(x));
    return {x.n, channels, window_size(node, x.h, node.kernel_h, node.stride_h, node.pad_top, node.pad_bottom, "height"),
            window_size(node, x.w, node.kernel_w, node.stride_w, node.pad_left, node.pad_right, "width")};
}

void write_window(const Node &node, nlohmann::ordered_json &e) {
    e["kernel"] = {node.kernel_h, node.kernel_w};
    e["stride"] = {node.stride_h, node.stride_w};
    e["pad"] = {node.pad_top, node.pad_left, node.pad_bottom, node.pad_right};
}

}  // namespace shufflec
