#include "spec/spec_parser.h"

#include <algorithm>
#include <map>

#include "graph/builder.h"
#include "spec/json_view.h"
#include "spec/shufflenet_family.h"
#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

constexpr int64_t kMaxDim = (int64_t{1} << 31) - 1;
constexpr int64_t kMaxChannels = 1 << 20;
constexpr int kMaxKernel = 1 << 12;

void check_name(const JsonView &v, const std::string &name) {
    if (name.empty() || name.size() > 200) v.error("a name must have 1 to 200 characters");
    for (char ch : name) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                  ch == '.' || ch == '-' || ch == '/';
        if (!ok) v.error("name " + in_quotes(name) + " may only contain letters, digits and _ . - /");
    }
}

ShuffleConvention parse_convention(const JsonView &e) {
    return e.get_choice("shuffle_convention", "paper", {"paper", "inverse"}) == "paper" ? ShuffleConvention::Paper
                                                                                         : ShuffleConvention::Inverse;
}

// kernel / stride / pad of a conv or pooling entry.
Window parse_window(const JsonView &e, bool stride_defaults_to_kernel) {
    Window w;
    std::vector<int64_t> k = e.at("kernel").as_int_list(2, 2, 1, kMaxKernel);
    w.kernel_h = static_cast<int>(k[0]), w.kernel_w = static_cast<int>(k.size() == 2 ? k[1] : k[0]);
    if (e.has("stride")) {
        std::vector<int64_t> s = e.at("stride").as_int_list(2, 2, 1, kMaxKernel);
        w.stride_h = static_cast<int>(s[0]), w.stride_w = static_cast<int>(s.size() == 2 ? s[1] : s[0]);
    } else if (stride_defaults_to_kernel) {
        w.stride_h = w.kernel_h, w.stride_w = w.kernel_w;
    }
    if (e.has("pad")) {
        JsonView pv = e.at("pad");
        if (pv.raw().is_array() && pv.raw().size() != 2 && pv.raw().size() != 4)
            pv.error(cat("expected 2 or 4 integers, got ", pv.raw().size(),
                         " (one integer, [h, w] or [top, left, bottom, right])"));
        std::vector<int64_t> p = pv.as_int_list(pv.raw().is_array() ? pv.raw().size() : 1, 4, 0, kMaxKernel);
        if (p.size() == 1) p = {p[0], p[0], p[0], p[0]};
        else if (p.size() == 2) p = {p[0], p[1], p[0], p[1]};
        for (int i = 0; i < 4; i++) w.pad[i] = static_cast<int>(p[i]);
    }
    return w;
}

class SpecParser {
public:
    explicit SpecParser(Graph &graph) : b_(graph) {}

    void parse_input(const JsonView &input, const SpecOptions &options) {
        input.check_fields({"name", "shape", "preprocess"});
        input_name_ = input.get_string("name", "input");
        check_name(input.has("name") ? input.at("name") : input, input_name_);
        Shape s;
        if (options.input_shape) {
            s = *options.input_shape;
        } else {
            JsonView shape = input.at("shape");
            if (shape.size() != 4) shape.error(cat("expected 4 dimensions [N, C, H, W], got ", shape.size()));
            s = {shape[0].as_int(1, kMaxDim), shape[1].as_int(1, kMaxDim), shape[2].as_int(1, kMaxDim),
                 shape[3].as_int(1, kMaxDim)};
        }
        b_.set_origin(input.path(), input_name_);
        outputs_[input_name_] = previous_ = b_.input(input_name_, s);
        if (input.has("preprocess")) parse_preprocess(input.at("preprocess"), s);
    }

    void parse_layers(const JsonView &layers, bool generated) {
        layers.expect_array();
        if (layers.size() == 0) layers.error("a network needs at least one layer");
        for (size_t i = 0; i < layers.size(); i++) {
            const json &e = layers.raw()[i];
            if (e.is_object() && e.contains("name") && e["name"].is_string())
                all_names_.emplace(e["name"].get<std::string>(), cat(layers.path(), "[", i, "]"));
        }
        for (size_t i = 0; i < layers.size(); i++) {
            JsonView e = layers[i];
            if (generated) e = JsonView(e.raw(), cat(layers.path(), "[", e.raw().value("name", ""), "]"));
            parse_entry(e, i);
        }
    }

    void set_output(const JsonView &spec) {
        if (!spec.has("output")) {
            b_.graph().output = previous_;
            return;
        }
        JsonView out = spec.at("output");
        b_.graph().output = lookup(out, out.as_string());
    }

private:
    void parse_preprocess(const JsonView &p, const Shape &s) {
        p.check_fields({"from", "mean", "std"});
        Preprocess &pre = b_.graph().preprocess;
        pre.enabled = true;
        pre.layout = p.get_choice("from", "rgb8_hwc", {"rgb8_hwc"});
        if (s.c != 3) p.error(cat("preprocessing from rgb8_hwc needs 3 input channels, the input has ", s.c));
        for (const char *key : {"mean", "std"}) {
            if (!p.has(key)) continue;
            JsonView list = p.at(key);
            if (list.size() != 3) list.error("expected 3 values (R, G, B)");
            for (int c = 0; c < 3; c++) {
                double v = std::string(key) == "mean" ? list[c].as_number(-1e6, 1e6) : list[c].as_number(1e-12, 1e6);
                (std::string(key) == "mean" ? pre.mean : pre.std)[c] = static_cast<float>(v);
            }
        }
    }

    int lookup(const JsonView &where, const std::string &name) {
        auto it = outputs_.find(name);
        if (it != outputs_.end()) return it->second;
        auto later = all_names_.find(name);
        if (later != all_names_.end())
            where.error("unknown layer " + in_quotes(name) + ": it is defined later, at " + later->second +
                        " (a layer can only read earlier layers or \"" + input_name_ + "\")");
        where.error("unknown layer " + in_quotes(name) + " (no layer has this name; the input is \"" + input_name_ + "\")");
    }

    std::vector<int> parse_inputs(const JsonView &e) {
        if (e.has("inputs") && e.has("input")) e.error("give either \"input\" or \"inputs\", not both");
        if (e.has("input")) return {lookup(e.at("input"), e.at("input").as_string())};
        if (!e.has("inputs")) return {previous_};
        JsonView list = e.at("inputs");
        if (list.size() == 0) list.error("expected at least one input");
        std::vector<int> ids;
        for (size_t i = 0; i < list.size(); i++) ids.push_back(lookup(list[i], list[i].as_string()));
        return ids;
    }

    static void expect_inputs(const JsonView &e, const std::vector<int> &ids, size_t n_min, size_t n_max) {
        if (ids.size() >= n_min && ids.size() <= n_max) return;
        std::string op = e.at("op").as_string();
        if (n_min == n_max) e.error(cat(op, " takes ", n_min, " input(s), got ", ids.size()));
        e.error(cat(op, " takes at least ", n_min, " inputs, got ", ids.size()));
    }

    void parse_entry(const JsonView &e, size_t index) {
        e.expect_object();
        std::string op = e.at("op").as_string();
        static const std::vector<std::string> kOps = {"conv", "batchnorm", "relu", "sigmoid", "maxpool", "avgpool",
                                                      "global_avgpool", "fc", "add", "concat", "channel_shuffle",
                                                      "se", "flatten", "softmax", "mul", "shufflenet_unit"};
        if (std::find(kOps.begin(), kOps.end(), op) == kOps.end()) {
            std::string known;
            for (const auto &k : kOps) known += (known.empty() ? "" : ", ") + k;
            e.at("op").error("unknown op " + in_quotes(op) + " (known: " + known + ")");
        }
        std::string name = e.get_string("name", cat(op, "_", index));
        check_name(e.has("name") ? e.at("name") : e, name);
        if (outputs_.count(name)) e.at("name").error("name " + in_quotes(name) + " is already used by an earlier layer");
        b_.set_origin(e.path(), name);
        std::vector<int> in = parse_inputs(e);
        const std::vector<std::string> common = {"op", "name", "input", "inputs"};
        auto fields = [&](std::vector<std::string> extra) {
            extra.insert(extra.end(), common.begin(), common.end());
            e.check_fields(extra);
        };
        int out;
        if (op == "conv") {
            fields({"out_channels", "kernel", "stride", "pad", "groups", "bias"});
            expect_inputs(e, in, 1, 1);
            out = b_.conv(name, in[0], e.at("out_channels").as_int(1, kMaxChannels), parse_window(e, false),
                          e.get_int("groups", 1, 1, kMaxChannels), e.get_bool("bias", true));
        } else if (op == "batchnorm") {
            fields({"eps"});
            expect_inputs(e, in, 1, 1);
            out = b_.batchnorm(name, in[0], e.get_number("eps", 1e-5, 0.0, 1.0));
        } else if (op == "relu" || op == "sigmoid" || op == "global_avgpool" || op == "flatten" || op == "softmax") {
            fields({});
            expect_inputs(e, in, 1, 1);
            out = op == "relu"      ? b_.relu(name, in[0])
                  : op == "sigmoid" ? b_.sigmoid(name, in[0])
                  : op == "flatten" ? b_.flatten(name, in[0])
                  : op == "softmax" ? b_.softmax(name, in[0])
                                    : b_.global_avgpool(name, in[0]);
        } else if (op == "maxpool") {
            fields({"kernel", "stride", "pad"});
            expect_inputs(e, in, 1, 1);
            out = b_.maxpool(name, in[0], parse_window(e, true));
        } else if (op == "avgpool") {
            fields({"kernel", "stride", "pad", "count_include_pad"});
            expect_inputs(e, in, 1, 1);
            out = b_.avgpool(name, in[0], parse_window(e, true), e.get_bool("count_include_pad", true));
        } else if (op == "fc") {
            fields({"out_features", "bias"});
            expect_inputs(e, in, 1, 1);
            out = b_.dense(name, in[0], e.at("out_features").as_int(1, kMaxChannels), e.get_bool("bias", true));
        } else if (op == "add") {
            fields({});
            expect_inputs(e, in, 2, 2);
            out = b_.add(name, in[0], in[1]);
        } else if (op == "mul") {
            fields({});
            expect_inputs(e, in, 2, 2);
            out = b_.channel_scale(name, in[0], in[1]);
        } else if (op == "concat") {
            fields({});
            expect_inputs(e, in, 2, 1024);
            out = b_.concat(name, in);
        } else if (op == "channel_shuffle") {
            fields({"groups", "shuffle_convention"});
            expect_inputs(e, in, 1, 1);
            out = b_.shuffle(name, in[0], e.at("groups").as_int(1, kMaxChannels), parse_convention(e));
        } else if (op == "se") {
            fields({"reduction", "channels"});
            expect_inputs(e, in, 1, 1);
            out = se_entry(e, name, in[0]);
        } else if (op == "shufflenet_unit") {
            fields({"in_channels", "out_channels", "groups", "stride", "bottleneck", "first_pw_grouped", "shuffle",
                    "shuffle_convention", "shuffle_position", "concat_order", "count_include_pad", "se", "bn_eps"});
            expect_inputs(e, in, 1, 1);
            out = shufflenet_unit(e, name, in[0]);
        } else {
            fail("internal: op ", op, " has no parser");
        }
        outputs_[name] = previous_ = out;
    }

    int se_entry(const JsonView &e, const std::string &name, int x) {
        int64_t hidden;
        if (e.has("channels")) {
            if (e.has("reduction")) e.error("give either \"reduction\" or \"channels\", not both");
            hidden = e.at("channels").as_int(1, kMaxChannels);
        } else {
            hidden = std::max<int64_t>(1, b_.shape(x).c / e.get_int("reduction", 16, 1, kMaxChannels));
        }
        return se_block(name, x, hidden);
    }

    // Squeeze-and-excitation: x * sigmoid(fc2(relu(fc1(global_avgpool(x))))), the FCs as 1x1 convs with bias.
    int se_block(const std::string &name, int x, int64_t hidden) {
        Window one = Window::square(1, 1, 0);
        int p = b_.global_avgpool(name + ".pool", x);
        int h = b_.relu(name + ".relu", b_.conv(name + ".fc1", p, hidden, one, 1, true));
        int s = b_.sigmoid(name + ".sigmoid", b_.conv(name + ".fc2", h, b_.shape(x).c, one, 1, true));
        return b_.channel_scale(name, x, s);
    }

    int shufflenet_unit(const JsonView &e, const std::string &name, int x) {
        int64_t in_channels = b_.shape(x).c;
        if (e.has("in_channels") && e.at("in_channels").as_int(1, kMaxChannels) != in_channels)
            e.at("in_channels").error(cat("in_channels is ", e.at("in_channels").as_int(1, kMaxChannels),
                                          " but the input has ", in_channels, " channels"));
        int64_t out = e.at("out_channels").as_int(1, kMaxChannels);
        int64_t g = e.at("groups").as_int(1, kMaxChannels);
        int64_t stride = e.get_int("stride", 1, 1, 2);
        int64_t branch = out;
        if (stride == 1 && out != in_channels)
            e.at("out_channels").error(cat("a stride-1 unit adds its input to its output, so out_channels must equal "
                                           "the input's ", in_channels, " channels"));
        if (stride == 2) {
            if (out <= in_channels)
                e.at("out_channels").error(cat("a stride-2 unit concatenates its ", in_channels,
                                               " input channels with its branch, so out_channels must exceed ",
                                               in_channels));
            branch = out - in_channels;
        }
        int64_t mid = e.has("bottleneck") ? e.at("bottleneck").as_int(1, kMaxChannels) : out / 4;
        if (mid < 1) e.error("bottleneck would have 0 channels; give \"bottleneck\"");
        bool grouped = e.get_bool("first_pw_grouped", true);
        bool shuffle = e.get_bool("shuffle", true) && g > 1;
        ShuffleConvention convention = parse_convention(e);
        std::string position = e.get_choice("shuffle_position", "after_pw1", {"after_pw1", "after_dw"});
        std::string order = e.get_choice("concat_order", "shortcut_first", {"shortcut_first", "branch_first"});
        bool count_include_pad = e.get_bool("count_include_pad", true);
        double eps = e.get_number("bn_eps", 1e-5, 0.0, 1.0);
        int64_t se_reduction = 0;
        if (e.has("se")) {
            JsonView se = e.at("se");
            if (se.raw().is_boolean()) {
                se_reduction = se.as_bool() ? 16 : 0;
            } else {
                se.check_fields({"reduction"});
                se_reduction = se.get_int("reduction", 16, 1, kMaxChannels);
            }
        }
        if (mid % g != 0)
            (e.has("bottleneck") ? e.at("bottleneck") : e)
                .error(cat("bottleneck channels ", mid, " are not divisible by groups ", g));
        if (branch % g != 0)
            e.at("out_channels").error(cat("branch channels ", branch, " are not divisible by groups ", g));

        Window one = Window::square(1, 1, 0);
        int h = b_.conv(name + ".conv1", x, mid, one, grouped ? g : 1, false);
        h = b_.relu(name + ".relu1", b_.batchnorm(name + ".bn1", h, eps));
        if (shuffle && position == "after_pw1") h = b_.shuffle(name + ".shuffle", h, g, convention);
        h = b_.conv(name + ".dw", h, mid, Window::square(3, static_cast<int>(stride), 1), mid, false);
        h = b_.batchnorm(name + ".bn2", h, eps);
        if (shuffle && position == "after_dw") h = b_.shuffle(name + ".shuffle", h, g, convention);
        h = b_.conv(name + ".conv3", h, branch, one, g, false);
        h = b_.batchnorm(name + ".bn3", h, eps);
        if (se_reduction > 0) h = se_block(name + ".se", h, std::max<int64_t>(1, branch / se_reduction));
        if (stride == 1) return b_.relu(name, b_.add(name + ".add", x, h));
        int shortcut = b_.avgpool(name + ".shortcut", x, Window::square(3, 2, 1), count_include_pad);
        int branch_out = b_.relu(name + ".relu", h);
        return b_.concat(name, order == "shortcut_first" ? std::vector<int>{shortcut, branch_out}
                                                          : std::vector<int>{branch_out, shortcut});
    }

    GraphBuilder b_;
    std::string input_name_;
    std::map<std::string, int> outputs_;  // spec entry name -> node producing its output
    std::map<std::string, std::string> all_names_;  // every entry name -> its JSON path
    int previous_ = -1;
};

}  // namespace

Graph parse_spec_text(const std::string &text, const std::string &source_path, const SpecOptions &options) {
    json root = parse_json_text(text, source_path);
    JsonView spec(root, "$");
    spec.expect_object();
    spec.check_fields({"format", "name", "description", "input", "weights", "family", "layers", "output"});
    std::string format = spec.at("format").as_string();
    if (format != kSpecFormat)
        spec.at("format").error("unsupported format \"" + format + "\" (this compiler reads \"" + kSpecFormat + "\")");

    Graph graph;
    graph.name = spec.at("name").as_string();
    check_name(spec.at("name"), graph.name);
    if (spec.has("description")) spec.at("description").as_string();
    if (spec.has("weights")) {
        std::string w = spec.at("weights").as_string();
        if (w.empty()) spec.at("weights").error("weights file name is empty");
        graph.weights_file = join_path(dirname_of(source_path), w);
    }

    SpecParser parser(graph);
    parser.parse_input(spec.at("input"), options);
    if (spec.has("family") == spec.has("layers")) spec.error("give exactly one of \"family\" and \"layers\"");
    if (spec.has("family")) {
        JsonView family = spec.at("family");
        family.expect_object();
        json layers = expand_shufflenet_v1(family);
        try {
            parser.parse_layers(JsonView(layers, "$.family"), true);
        } catch (const Error &e) {
            // A generated layer is invalid: blame the family field that chose its widths.
            std::string field = family.has("stage_out_channels") ? "stage_out_channels"
                                : family.has("scale")            ? "scale"
                                                                 : "groups";
            std::string message = e.what();
            auto open = message.find('['), close = message.find(']'), colon = message.find(": ");
            std::string layer = open < close && close < colon ? message.substr(open + 1, close - open - 1) : "";
            std::string reason = colon == std::string::npos ? message : message.substr(colon + 2);
            fail("$.family.", field, ": these widths make layer \"", layer, "\" invalid: ", reason);
        }
    } else {
        parser.parse_layers(spec.at("layers"), false);
    }
    parser.set_output(spec);
    return graph;
}

Graph load_spec(const std::string &path, const SpecOptions &options) {
    return parse_spec_text(read_file(path, "spec"), path, options);
}

Shape parse_shape_arg(const std::string &text, const std::string &what) {
    std::vector<int64_t> dims;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(part, &used);
        } catch (const std::exception &) {
            used = 0;
        }
        if (used == 0 || used != part.size() || v < 1 || v > kMaxDim)
            fail(what, ": expected N,C,H,W with positive integers, got \"", text, "\"");
        dims.push_back(v);
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    if (dims.size() != 4) fail(what, ": expected 4 dimensions N,C,H,W, got \"", text, "\"");
    return {dims[0], dims[1], dims[2], dims[3]};
}

}  // namespace shufflec
