#include "spec/spec_parser.h"

#include <algorithm>
#include <map>

#include "graph/builder.h"
#include "ops/op.h"
#include "spec/json_view.h"
#include "spec/shufflenet_family.h"
#include "util/error.h"
#include "util/file_io.h"

namespace shufflec {

namespace {

constexpr int64_t kMaxDim = (int64_t{1} << 31) - 1;

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

class SpecParser {
public:
    explicit SpecParser(Graph &graph) : b_(graph) {}

    void parse_input(const JsonView &input, const SpecOptions &options) {
        input.check_fields({"name", "shape", "preprocess"});
        input_name_ = input.get_string("name", "input");
        check_name(input.has("name") ? input.at("name") : input, input_name_);
        Shape declared, s;
        if (!options.input_shape || input.has("shape")) {
            JsonView shape = input.at("shape");
            if (shape.size() != 4) shape.error(cat("expected 4 dimensions [N, C, H, W], got ", shape.size()));
            declared = {shape[0].as_int(1, kMaxDim), shape[1].as_int(1, kMaxDim), shape[2].as_int(1, kMaxDim),
                        shape[3].as_int(1, kMaxDim)};
        }
        s = options.input_shape ? *options.input_shape : declared;
        b_.set_origin(input.path(), input_name_);
        outputs_[input_name_] = previous_ = b_.input(input_name_, s);
        if (input.has("preprocess")) {
            // Checked against the spec's own shape; an input shape given on the
            // command line that it does not fit (another crop size, a batch)
            // compiles without NAME_run_rgb8, and says so.
            parse_preprocess(input.at("preprocess"), declared);
            Preprocess &pre = b_.graph().preprocess;
            if (s.n != 1 || s.c != 3 || s.h != pre_rows(pre, declared) || s.w != pre_cols(pre, declared)) {
                pre.enabled = false;
                b_.graph().preprocess_dropped =
                    cat("input.preprocess makes one ", declared.h, "x", declared.w, " image; the input is ", to_string(s),
                        ", so NAME_run_rgb8 is not generated");
            }
        }
    }

    static int64_t pre_rows(const Preprocess &pre, const Shape &declared) { return pre.crop_h ? pre.crop_h : declared.h; }
    static int64_t pre_cols(const Preprocess &pre, const Shape &declared) { return pre.crop_w ? pre.crop_w : declared.w; }

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
    // input.preprocess: how NAME_run_rgb8 turns an RGB8 image into the input
    // (docs/spec.md). The crop (or, without one, the image) must have the
    // input's size; a resize needs a crop, since its long side varies.
    void parse_preprocess(const JsonView &p, const Shape &s) {
        p.check_fields({"from", "order", "scale", "mean", "std", "resize", "center_crop"});
        Preprocess &pre = b_.graph().preprocess;
        pre.enabled = true;
        p.get_choice("from", "rgb8", {"rgb8", "rgb8_hwc"});
        if (s.c != 3) p.error(cat("preprocessing an RGB image needs 3 input channels, the input has ", s.c));
        if (s.n != 1) p.error(cat("preprocessing makes one image: the input's batch must be 1, not ", s.n));
        pre.bgr = p.get_choice("order", "rgb", {"rgb", "bgr"}) == "bgr";
        pre.scale = static_cast<float>(p.get_number("scale", 1.0 / 255.0, 1e-12, 1e6));
        for (const char *key : {"mean", "std"}) {
            if (!p.has(key)) continue;
            JsonView list = p.at(key);
            list.expect_array();
            if (list.size() != 3) list.error(cat("expected 3 values (one per channel of the input, in its order), got ", list.size()));
            for (int c = 0; c < 3; c++) {
                double v = std::string(key) == "mean" ? list[c].as_number(-1e6, 1e6) : list[c].as_number(1e-12, 1e6);
                (std::string(key) == "mean" ? pre.mean : pre.std)[c] = static_cast<float>(v);
            }
        }
        if (p.has("resize")) {
            JsonView r = p.at("resize");
            if (r.raw().is_object()) {
                r.check_fields({"shorter_side", "antialias", "long_side"});
                pre.resize = r.at("shorter_side").as_int(1, 1 << 16);
                pre.antialias = r.get_bool("antialias", true);
                pre.round_long_side = r.get_choice("long_side", "truncate", {"truncate", "round"}) == "round";
            } else {
                pre.resize = r.as_int(1, 1 << 16);
            }
        }
        if (p.has("center_crop")) {
            std::vector<int64_t> crop = p.at("center_crop").as_int_list(1, 2, 1, 1 << 16);
            pre.crop_h = crop[0], pre.crop_w = crop.size() == 2 ? crop[1] : crop[0];
            if (pre.crop_h != s.h || pre.crop_w != s.w)
                p.at("center_crop").error(cat("the crop ", pre.crop_h, "x", pre.crop_w, " must be the input's size ", s.h,
                                              "x", s.w));
            if (pre.resize && (pre.crop_h > pre.resize || pre.crop_w > pre.resize))
                p.at("center_crop").error(cat("the crop ", pre.crop_h, "x", pre.crop_w, " is larger than the resized shorter side ",
                                              pre.resize));
        } else if (pre.resize) {
            p.at("resize").error("a resize needs a center_crop (the input has a fixed size; the long side varies)");
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
        // Primitive ops come from compiler/ops/; composites expand here.
        static const std::vector<std::string> kComposites = {"se", "shufflenet_unit", "shufflenet_v2_unit"};
        const OpDef *def = find_op(op);
        bool composite = std::find(kComposites.begin(), kComposites.end(), op) != kComposites.end();
        if (!def && !composite) {
            std::string known;
            for (const OpDef *d : all_ops())
                if (d->op != Op::Input) known += (known.empty() ? "" : ", ") + std::string(d->name);
            for (const auto &k : kComposites) known += ", " + k;
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
        if (def) {
            fields(def->fields);
            expect_inputs(e, in, def->min_inputs, def->max_inputs);
            Node node;
            node.op = def->op;
            node.name = name;
            node.inputs = in;
            if (def->parse) def->parse(e, node);
            out = b_.append(std::move(node));
        } else if (op == "se") {
            fields({"reduction", "channels"});
            expect_inputs(e, in, 1, 1);
            out = se_entry(e, name, in[0]);
        } else if (op == "shufflenet_v2_unit") {
            fields({"in_channels", "out_channels", "stride", "bn_eps"});
            expect_inputs(e, in, 1, 1);
            out = shufflenet_v2_unit(e, name, in[0]);
        } else {
            fields({"in_channels", "out_channels", "groups", "stride", "bottleneck", "first_pw_grouped", "shuffle",
                    "shuffle_convention", "shuffle_position", "concat_order", "count_include_pad", "se", "bn_eps"});
            expect_inputs(e, in, 1, 1);
            out = shufflenet_unit(e, name, in[0]);
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
        return b_.mul(name, x, s);
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

    // ShuffleNet V2 (Ma et al. 2018; layer names as torchvision's state_dict):
    //   stride 1: x1, x2 = split(x); y = shuffle(concat(x1, branch2(x2)), 2)
    //   stride 2: y = shuffle(concat(branch1(x), branch2(x)), 2)
    //   branch1 = dw3x3/s2 -> bn -> 1x1 -> bn -> relu; branch2 = 1x1 -> bn -> relu -> dw3x3 -> bn -> 1x1 -> bn -> relu
    // Each branch has out/2 channels. The split, concat and shuffle are views:
    // the passes fold them into the next convs' reads (fold_channel_views).
    int shufflenet_v2_unit(const JsonView &e, const std::string &name, int x) {
        int64_t in_channels = b_.shape(x).c;
        if (e.has("in_channels") && e.at("in_channels").as_int(1, kMaxChannels) != in_channels)
            e.at("in_channels").error(cat("in_channels is ", e.at("in_channels").as_int(1, kMaxChannels),
                                          " but the input has ", in_channels, " channels"));
        int64_t out = e.at("out_channels").as_int(2, kMaxChannels);
        int64_t stride = e.get_int("stride", 1, 1, 2);
        double eps = e.get_number("bn_eps", 1e-5, 0.0, 1.0);
        if (out % 2 != 0) e.at("out_channels").error(cat("out_channels ", out, " must be even (two branches of out/2)"));
        int64_t half = out / 2;
        if (stride == 1 && out != in_channels)
            e.at("out_channels").error(cat("a stride-1 unit keeps its channels: out_channels must equal the input's ",
                                           in_channels));
        Window one = Window::square(1, 1, 0), dw = Window::square(3, static_cast<int>(stride), 1);
        auto bn = [&](const std::string &n, int h) { return b_.batchnorm(name + n, h, eps); };
        int left, source;
        if (stride == 1) {
            left = b_.slice(name + ".split1", x, 0, half);
            source = b_.slice(name + ".split2", x, half, out);
        } else {
            int h = bn(".branch1.1", b_.conv(name + ".branch1.0", x, in_channels, dw, in_channels, false));
            left = b_.relu(name + ".branch1.4", bn(".branch1.3", b_.conv(name + ".branch1.2", h, half, one, 1, false)));
            source = x;
        }
        int h = b_.relu(name + ".branch2.2", bn(".branch2.1", b_.conv(name + ".branch2.0", source, half, one, 1, false)));
        h = bn(".branch2.4", b_.conv(name + ".branch2.3", h, half, dw, half, false));
        int right = b_.relu(name + ".branch2.7", bn(".branch2.6", b_.conv(name + ".branch2.5", h, half, one, 1, false)));
        int joined = b_.concat(name + ".concat", {left, right});
        return b_.shuffle(name, joined, 2, ShuffleConvention::Paper);
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
    // The model's name picks its schedule and tuning files: a file name, never a path.
    if (!is_file_name(graph.name))
        spec.at("name").error(cat("the model name ", in_quotes(graph.name), " must be a file name (", kFileNameRule, ")"));
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
        json layers = expand_family(family);
        try {
            parser.parse_layers(JsonView(layers, "$.family"), true);
        } catch (const Error &e) {
            // A generated layer is invalid: blame the family field that chose its widths.
            std::string field = family.has("stage_out_channels") ? "stage_out_channels"
                                : family.has("scale")            ? "scale"
                                : family.has("width")            ? "width"
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
