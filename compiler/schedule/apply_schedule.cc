// Knobs -> Halide directives. Every root Func (a segment output, or a
// reduction whose result several readers need) gets the same loop nest:
//
//   for n, for row tasks (parallel), for y, for x tiles, for groups g,
//     for channel blocks (of channel_vectors vectors) within the group:
//       acc[block x tile_x] in registers:
//         for r (the reduction) { for x in tile (unrolled) { for vectors (unrolled) { fma } } }
//       epilogue (bias, ReLU, residual add) and store
//
// or, with channels_outer, the groups and channel blocks outside y and the x
// tiles (inside the row task): a block's weights are reused by every pixel
// of the task before the next block's are loaded.
//
// Channels are the group's k (grouped values) or c. A reduction read only
// through elementwise ops (ReLU, add) by a root Func of the same spatial size
// and grouping is computed inside that Func's tiles: this is how the residual
// add and ReLU fuse into the last 1x1 conv of a unit, with no extra pass.
//
// An internal 1x1 or depthwise root may instead vectorize over pixels
// (pixel_vectors): x innermost in storage, a register tile of a few channels
// (one broadcast weight each) x vectors of pixels, no padding lanes.
//
// Unset knobs come from a small cost model: the register tile (channel vectors
// x pixels) that wastes the fewest padded lanes while keeping enough
// independent FMAs per loaded value.
#include <numeric>
#include <set>

#include "schedule/schedule.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

// Data cache per core the defaults assume (32 KB on every AVX2 and NEON core
// shufflec targets).
constexpr int64_t kL1Bytes = 32 * 1024;
// Unless a schedule says, an internal root is computed in the rows of the
// root that reads it when its own output exceeds this: written as a whole
// tensor and read back, it streams through L3 (L2 is 512 KB on Zen 3), while a
// sliding band of its rows stays in L2. Measured on Zen 3 (bench/profile_ab.sh,
// fused / not): 1x g3 at 480x640 (stem output 7.4 MB, stage-2 conv1 and
// depthwise outputs 1.4-4.6 MB) stem x0.86, stage-2 units x0.73-0.99, model
// x0.93 at 1 thread and x0.98 at 2; 2x g3 at 224x224 (stem 1.2 MB, stage2.0's
// conv1 1.5 MB) x1.01, model x1.01. Fusing by the reader's size instead (2.3 MB
// stage-3 outputs at 480x640) made stage 3 up to 10% slower at 2 threads.
constexpr int64_t kFuseAboveBytes = 1024 * 1024;

bool has_reduction(Stage::Kind k) { return k != Stage::Elementwise; }

int floor_pow2(int64_t v) {
    int p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
}

struct Tiling {
    int vector = 1;    // lanes
    int lanes_per_float = 1;  // the lanes of `vector` per float32 lane of the knob
    int vectors = 1;   // vectors of channels per register tile
    int tile_x = 1;
    int tile_y = 1;    // output rows per register tile (vectors over channels)
    int rows = 0;      // rows per parallel task (0: serial; -1: split among the threads at run time)
    int tasks_per_thread = 1;
    bool channels_outer = false;
    int unroll = 1;
    int reduction_block = 0;  // asked for (applied per reduction where it divides)
    bool planar_input = false;
    // Vectors over pixels: `vectors` is then the channels per register tile
    // (a broadcast weight each) and tile_x the vectors of pixels.
    bool pixels = false;
    // Accumulator vectors per stored vector (StepForm::narrow_pairs: 2).
    int store_vectors = 1;
    int block() const { return vector * vectors; }
};

// The outputs a register tile of `vectors` x `tile_x` computes for
// `channels` x `width` outputs, per output: padding lanes and shifted pixel
// tiles are wasted work.
double tile_waste(int vectors, int tile_x, int vector, int64_t channels, int64_t width) {
    int64_t block = int64_t{vectors} * vector;
    double lanes = static_cast<double>((channels + block - 1) / block * block) / static_cast<double>(channels);
    double pixels = static_cast<double>((width + tile_x - 1) / tile_x * tile_x) / static_cast<double>(width);
    return lanes * pixels;
}

// Relative time of a register tile of `vectors` x `tile_x` for `channels` x
// `width` outputs. Per reduction step the tile does vectors * tile_x FMAs and
// loads vectors weight vectors + tile_x broadcast inputs (two of each per
// cycle; by lane, one input vector per pixel for `slots` steps), plus a fixed
// cost for the loop and the input index (which holds the folded shuffle).
// Padding lanes and shifted pixel tiles are wasted work.
// Weight vectors that come from L2 (l2_cycles > 0: the register tile's block
// of weights outgrows L1) cost that many cycles each whatever the load ports
// do.
double tile_cost(int vectors, int tile_x, int vector, int64_t channels, int64_t width, int slots = 1,
                 double l2_cycles = 0) {
    double fma = vectors * tile_x, loads = vectors + static_cast<double>(tile_x) / slots;
    const double overhead_cycles = 1.5;
    double cycles = std::max({fma / 2, loads / 2, vectors * l2_cycles}) + overhead_cycles;
    return tile_waste(vectors, tile_x, vector, channels, width) * cycles / (fma / 2);
}

// A float 1x1 conv by lane (NEON fmla by element: F32Lanes, F16Lanes) in
// instructions, what the in-order cores pay for (issue-bound; the big cores
// are bound by their two FMA pipes whatever the tile): per step of `slots`
// channels, vectors x tile_x x slots fmla, tile_x input loads, the slots'
// weight vectors loaded in pairs (ldp), and the step's loop and address: with
// a folded shuffle's tables 8 instructions (two table loads, the address),
// else 3. Padding lanes and shifted pixel tiles are wasted.
// Against the throughput model above on V1 1x g3 (stage-3 conv3s 3x7 instead
// of 8x2; exact counts under qemu, llvm-mca-19 cycles): 2% fewer
// instructions, 9% fewer Cortex-A55 cycles, 2% more Neoverse-N1 cycles.
double lane_tile_cost(int vectors, int tile_x, int vector, int64_t channels, int64_t width, int slots, bool tables) {
    double fma = static_cast<double>(vectors) * tile_x * slots;
    double instructions = fma + tile_x + (vectors + 1) / 2 * slots + (tables ? 8 : 3);
    return tile_waste(vectors, tile_x, vector, channels, width) * instructions / fma;
}

// A depthwise conv on a target whose FMAs take no memory operand (ARM): with
// the taps unrolled, each tap's weight vector stays in a register across the
// register tile, beside the accumulators and the input vectors of one tap
// row, and what does not fit spills (stack stores and reloads per tile); two
// registers stay spare for the padding masks. Per tile in instructions:
// vectors x tile_x x taps fmla, the taps' weight vectors, each tap row's
// input vectors ((tile_x - 1) x stride + kw per channel vector), the stores
// and about 8 for the loop and the masks; padding lanes and shifted pixel
// tiles are wasted.
// Measured on V2 1.0x (exact counts under qemu, llvm-mca-19 Cortex-A55): a
// stage-3 depthwise conv in 3 x 7 tiles (the 1x1 convs' model) 0.149 M
// instructions, 0.130 M cycles; in 2 x 4, 0.151 / 0.133; in 1 x 7 (this
// model: 1.81 instructions per FMA against 1.97 for 2 x 4), 0.108 / 0.068.
struct DepthwiseWindow {
    int kh = 0, kw = 0, stride = 1;  // kh 0: not a depthwise conv in registers
    int acc_registers = 1;           // per accumulator vector (int8: 8 lanes of int32 in two)
    bool one_vector = false;         // x86: one channel vector by a few pixels (below)
};

// On x86 a depthwise conv's register tile is one channel vector by 4 to 8
// pixels, the one that wastes the fewest (ties: the narrower). The
// throughput model's tiles (several channel vectors, each tap's weight vector
// reused across them) spill: 9 taps' weights per vector, the accumulators and
// a tap row's inputs outgrow the register file, and LLVM moves and reloads
// them (features.3 of MobileNet V2 in 3 x 8 tiles on AVX-512: 533
// instructions per 207 FMAs, stack stores among them). Measured same-run
// (bench/profile_ab.sh, 1 thread, 2-core Zen 5 class VM), whole models
// against the throughput model's tiles: AVX-512 MobileNet V2 x0.92, V1 1x g3
// x0.97, V2 1.0x x0.96; AVX2 x0.94, x0.97, x0.97. On MobileNet V2 (AVX-512)
// against 1 x 8: 1 x 4 x0.99, 1 x 10 x1.06, 1 x 12 x1.06, 2 x 3 x1.09, 2 x 4
// x1.03; on V1 1 x 4 x0.98.
constexpr int kDepthwiseMinX = 4, kDepthwiseMaxX = 8;

bool depthwise_tile_fits(int vectors, int tile_x, int registers, const DepthwiseWindow &w) {
    return vectors * tile_x * w.acc_registers + vectors * w.kh * w.kw + w.kw <= registers - 2;
}

double depthwise_tile_cost(int vectors, int tile_x, int vector, int64_t channels, int64_t width,
                           const DepthwiseWindow &w) {
    int taps = w.kh * w.kw;
    double fma = static_cast<double>(vectors) * tile_x * taps;
    double instructions = fma + vectors * taps + vectors * w.kh * ((tile_x - 1) * w.stride + w.kw) +
                          vectors * tile_x + 8;
    return tile_waste(vectors, tile_x, vector, channels, width) * instructions / fma;
}

// A general conv in dot-product form (StepForm::pixel_quads) in
// instructions per step: vectors x tile_x dot products, a weight vector per
// vector and a broadcast quad per pixel loaded, the step's loop and address.
// On ARM V1's stem (exact counts under qemu, llvm-mca-19): 3 x 6 against the
// throughput model's 2 x 8, 2.43 -> 2.05 M instructions, 0.70 -> 0.64 M N1
// cycles; x86's 2 x 8 stays.
double quad_tile_cost(int vectors, int tile_x, int vector, int64_t channels, int64_t width) {
    double dots = static_cast<double>(vectors) * tile_x;
    return tile_waste(vectors, tile_x, vector, channels, width) * (dots + vectors + tile_x + 3) / dots;
}

int64_t constant_extent(const RDom &r) {
    const int64_t *e = as_const_int(r.x.extent());
    return e ? *e : 1;
}

// How a 1x1 conv's reduction reads its input per step (Stage::lane_inputs).
struct StepForm {
    int slots = 0;         // input channels per loaded vector (0: one broadcast channel per step)
    bool by_lane = false;  // float by lane (lane_tile_cost)
    bool tables = false;   // the steps' channels looked up
    // A root storing bytes from 32-bit accumulators (int8 on ARM): its
    // epilogue narrows pairs of accumulator vectors into one 8-byte store
    // (sqxtn, sqxtn2, sqxtun), where one vector alone takes the same
    // narrowing instructions for 4 bytes and merges before storing. On V1
    // 1x g3 (sdot, exact counts under qemu): the fused conv3 + add roots'
    // stores 8 bytes wide, 28.11 -> 27.56 M instructions, and stage 2's in
    // 4 x 4 tiles instead of 5 x 4 (an even count within 10% of the best
    // by the throughput model) 1.19 -> 1.04 M instructions each.
    bool narrow_pairs = false;
    // A general conv in dot-product form (PackedNode::tap_rows): each pixel
    // of the tile its own broadcast input quad, all live in the step (ARM
    // V1's stem: 4 x 6 tiles spilled two accumulators; 3 x 6, 0.93 -> 0.64
    // M N1 cycles).
    bool pixel_quads = false;
    // x86 1x1 convs: the bytes of one output channel's weights (0: not
    // modeled). A block of channels whose weights outgrow L1 reads them from
    // L2 at every register tile, about kL2VectorCycles per weight vector (the
    // L2 -> L1 path moves 32 bytes a cycle, less the misses that the stride
    // between steps costs): tiles with more pixels per weight vector pay.
    // V1 2x g3 on Zen 3 (1 thread, same run, against 5 x 2 tiles): stage 3's
    // conv1s (307 KB of weights each) in 2 x 5 and stage 4's (1.2 MB) in 3 x
    // 4, 0.85-0.89 of their units' time; stage 2's, in L1, keep 5 x 2 (3 x 4
    // there: 1.1). docs/schedules.md has the whole models.
    int64_t weight_row_bytes = 0;
};

constexpr double kL2VectorCycles = 1.2;

StepForm step_form(const Stage &st) {
    StepForm f;
    for (size_t u = 0; u < st.lane_inputs.size(); u++) {
        const Stage::LaneInput &l = st.lane_inputs[u];
        if (!l.f.defined()) continue;
        if (f.slots == 0) f.slots = static_cast<int>(constant_extent(st.r[u]));
        if (l.steps == 1) f.by_lane = true;
        f.tables = f.tables || l.tables;
    }
    f.pixel_quads = st.kind == Stage::Conv && st.dot;
    return f;
}

// A reduction by lane (StepForm::slots > 0) has that many input channels
// per loaded vector, whose tile_x input vectors also take registers.
Tiling choose_tiling(const ScheduleKnobs &k, int64_t channels, int64_t width, const StepForm &form,
                     const DepthwiseWindow &window = {}) {
    int slots = form.slots;
    bool has_knob_vectors = k.channel_vectors.has_value(), has_knob_tile = k.tile_x.has_value();
    Tiling tl;
    tl.vector = std::min(*k.vector, floor_pow2(channels));
    // Unless a schedule fixes the rows per task, a row loop gets one block of
    // rows per thread (per tasks_per_thread), sized at run time: a split fixed
    // at compile time left the threads uneven (28 rows in tasks of 4 give 7
    // tasks, 4 for one thread and 3 for the other).
    tl.rows = k.rows_per_task ? *k.rows_per_task : -1;
    tl.tasks_per_thread = k.tasks_per_thread.value_or(1);
    tl.unroll = k.unroll.value_or(1);
    tl.tile_y = k.tile_y.value_or(1);
    // Accumulators, the weight vectors and one broadcast input live in registers.
    int regs = k.registers.value_or(16);
    double best = 1e30, best_even = 1e30;
    std::pair<int, int> even;
    for (int v = 1; v <= kMaxTileVectors; v++) {
        if (has_knob_vectors && v != *k.channel_vectors) continue;
        if (window.one_vector && !has_knob_vectors && v > 1) break;
        auto fits = [&](int tx) {
            if (window.one_vector) return has_knob_tile || tx <= kDepthwiseMaxX;
            return window.kh > 0 ? depthwise_tile_fits(v, tx * tl.tile_y, regs, window)
                                 : register_tile_fits(v, tx * tl.tile_y, regs, slots > 0 || form.pixel_quads);
        };
        for (int tx = 1; tx <= kMaxTileX && fits(tx); tx++) {
            if (has_knob_tile && tx != *k.tile_x) continue;
            if (tx > width) continue;
            // (x86 depthwise: below 4 pixels only where the row is narrower.)
            if (window.one_vector && !has_knob_tile && tx < std::min<int64_t>(kDepthwiseMinX, width)) continue;
            double cost = window.one_vector ? tile_waste(v, tx, tl.vector, channels, width)
                          : window.kh > 0   ? depthwise_tile_cost(v, tx, tl.vector, channels, width, window)
                          : form.by_lane    ? lane_tile_cost(v, tx, tl.vector, channels, width, slots, form.tables)
                          : form.pixel_quads ? quad_tile_cost(v, tx, tl.vector, channels, width)
                                            : tile_cost(v, tx, tl.vector, channels, width, std::max(slots, 1),
                                                        int64_t{v} * tl.vector * form.weight_row_bytes > kL1Bytes
                                                            ? kL2VectorCycles
                                                            : 0.0);
            if (cost < best - 1e-9) best = cost, tl.vectors = v, tl.tile_x = tx;
            if (form.narrow_pairs && v % 2 == 0 && cost < best_even - 1e-9) best_even = cost, even = {v, tx};
        }
    }
    if (best == 1e30) {  // knobs that do not fit: take them as given
        tl.vectors = has_knob_vectors ? *k.channel_vectors : 1;
        tl.tile_x = static_cast<int>(std::min<int64_t>(has_knob_tile ? *k.tile_x : 1, width));
    } else if (tl.vectors % 2 != 0 && best_even <= 1.1 * best) {
        tl.vectors = even.first, tl.tile_x = even.second;
    }
    if (form.narrow_pairs && tl.vectors % 2 == 0) tl.store_vectors = 2;
    return tl;
}

// The register tile of a root vectorized over pixels: `vectors` channels x
// tile_x vectors of pixels, the same arithmetic as tile_cost with the roles of
// channels and pixels swapped (per reduction step: tile_x input vectors and
// one broadcast weight per channel; ragged pixel tiles shift inwards and
// recompute a few pixels, ragged channel tiles a few channels).
Tiling choose_pixel_tiling(const ScheduleKnobs &k, Tiling tl, int64_t channels, int64_t width) {
    tl.pixels = true;
    tl.vector = std::min(*k.vector, floor_pow2(width));
    int regs = k.registers.value_or(16);
    double best = 1e30;
    for (int a = 1; a <= kMaxTileVectors && a <= channels; a++) {
        if (k.channel_vectors && a != *k.channel_vectors) continue;
        for (int b = 1; b <= kMaxTileX && int64_t{b} * tl.vector <= width && register_tile_fits(b, a, regs); b++) {
            if (k.tile_x && b != *k.tile_x) continue;
            double cost = tile_cost(b, a, tl.vector, width, channels);
            if (cost < best - 1e-9) best = cost, tl.vectors = a, tl.tile_x = b;
        }
    }
    if (best == 1e30) {  // knobs that do not fit: take them as given, within the shape
        tl.vectors = static_cast<int>(std::min<int64_t>(k.channel_vectors.value_or(1), channels));
        tl.tile_x = static_cast<int>(std::clamp<int64_t>(k.tile_x.value_or(1), 1, width / tl.vector));
    }
    return tl;
}

class Scheduler {
public:
    Scheduler(LoweredSegment &l, const Graph &g, const SegmentPlan &p, const ScheduleFile &f, const Target &t)
        : low_(l), g_(g), plan_(p), file_(f), target_(t), seg_(p.segments[l.segment]) {
        outputs_.insert(seg_.outputs.begin(), seg_.outputs.end());
        auto all = g.consumers();
        readers_.resize(g.nodes.size());
        for (size_t i = 0; i < g.nodes.size(); i++)
            for (int r : all[i])
                if (plan_.segment_of[r] == l.segment) readers_[i].push_back(r);
    }

    std::vector<ScheduleChoice> run() {
        for (auto &st : low_.stages) {
            if (!has_reduction(st.kind)) continue;
            int anchor = find_anchor(st.node);
            anchor_of_[st.node] = anchor;
            roots_.insert(anchor);
        }
        for (int out : seg_.outputs) roots_.insert(out);
        // Roots fused into the rows of the root that reads them are scheduled
        // after it (they need its row loops).
        for (int node : roots_) host_[node] = fusion_host(node);
        for (int node : roots_)
            if (host_[node] < 0) schedule_root(node, -1);
        for (int node : roots_)
            if (host_[node] >= 0) schedule_root(node, host_[node]);
        for (auto &st : low_.stages)
            for (auto &h : st.helpers) h.compute_root();
        for (auto &st : low_.stages)
            if (has_reduction(st.kind)) schedule_reduction(st);
        std::vector<ScheduleChoice> choices;
        for (int node : roots_) {
            const Tiling &t = tiling_[node];
            ScheduleChoice c;
            c.root = g_.nodes[node].name;
            // Vector widths in float32 lanes, as the `vector` knob counts them.
            c.vector = std::max(1, t.vector / t.lanes_per_float), c.lanes = t.vector, c.channel_vectors = t.vectors, c.tile_x = t.tile_x,
            c.tile_y = t.tile_y;
            c.rows_per_task = t.rows, c.tasks_per_thread = t.tasks_per_thread;
            c.height = static_cast<int>(g_.nodes[node].shape.h);
            const RootInfo &info = info_[node];
            c.fused = host_[node] >= 0;
            c.output = outputs_.count(node) > 0;
            c.kind = info.kind;
            c.channels = info.channels;
            c.width = g_.nodes[node].shape.w;
            c.registers = info.registers;
            c.channels_outer = t.channels_outer;
            c.unroll = t.unroll;
            c.reduction_block = 0;
            c.staged_input = info.staged_input;
            c.planar_input = t.planar_input;
            c.pixel_vectors = t.pixels;
            c.pixel_layout_allowed = info.pixel_layout_allowed;
            c.lane_inputs = info.lane_inputs;
            c.target_lanes = target_lanes() / lanes_per_float();
            for (auto &[reduction, anchor] : anchor_of_) {
                if (anchor != node) continue;
                c.reductions.push_back(g_.nodes[reduction].name);
                if (stage(reduction).kind == Stage::Pointwise)
                    for (const RDom &r : stage(reduction).r) c.reduction = std::gcd(c.reduction, constant_extent(r));
                if (blocked_.count(reduction)) c.reduction_block = t.reduction_block;
            }
            choices.push_back(c);
        }
        return choices;
    }

private:
    Stage &stage(int node) { return low_.stages[low_.stage_of[node]]; }

    // Vector widths are knobs in float32 lanes; an fp16 model fits two halves
    // in each, an int8 model's max pool (8-bit integers throughout, pool.cc)
    // four bytes (V2's on ARM: 0.68 -> 0.12 M instructions). An int8
    // depthwise conv on ARM takes 8 lanes (its int32 accumulators in two
    // registers): its inputs and weights are 8 bytes, widened to 16 bits for
    // one `mul .8h` per 8 products (V2 sdot: 32.39 -> 30.90 M instructions,
    // A55 30.95 -> 29.95, N1 9.54 -> 9.51 M cycles).
    int lanes_per_float() const { return plan_.fp16() ? 2 : 1; }
    // Bytes per stored weight of the model's convs.
    int64_t element_bytes() const { return plan_.int8() ? 1 : plan_.fp16() || plan_.bf16() ? 2 : 4; }
    int lanes_per_float(int node) {
        const Stage &st = stage(node);
        if (!plan_.int8()) return lanes_per_float();
        if (st.acc.defined() && st.acc.output_types()[0].bits() == 8) return 4;
        bool arm = target_.arch == Halide::Target::ARM;
        return arm && st.kind == Stage::Depthwise && plan_.int8_conv[static_cast<size_t>(node)] ? 2 : 1;
    }
    // Registers per accumulator vector of `vector` knob lanes: 2 for an int8
    // depthwise conv's 8 int32 lanes on ARM, 1 for floats (an fp16 model's
    // 8 halves fill one).
    int accumulator_registers(int node) {
        const Stage &st = stage(node);
        int bits = st.acc.defined() ? st.acc.output_types()[0].bits() : 32;
        return std::max(1, lanes_per_float(node) * bits / 32);
    }
    int target_lanes() const { return *target_defaults(target_).vector * lanes_per_float(); }
    ScheduleKnobs knobs_of(int node) {
        ScheduleKnobs k = resolve_knobs(file_, target_, seg_.block, g_.nodes[node], stage(node).kind);
        *k.vector *= lanes_per_float(node);
        return k;
    }

    // The root Func that computes `node`'s reduction: itself, or the output it
    // reaches through a chain of single-reader elementwise ops of the same
    // spatial size and channel grouping.
    int find_anchor(int node) {
        const Shape &s = g_.nodes[node].shape;
        int cur = node;
        while (!outputs_.count(cur) && readers_[cur].size() == 1) {
            int next = readers_[cur][0];
            const Shape &ns = g_.nodes[next].shape;
            bool same = ns.h == s.h && ns.w == s.w && ns.n == s.n && plan_.grouping[next] == plan_.grouping[node];
            if (stage(next).kind != Stage::Elementwise || !same) break;
            cur = next;
        }
        return outputs_.count(cur) ? cur : node;
    }

    // The root Funcs that read `node` (directly, or through inlined elementwise ops).
    void reading_roots(int node, std::set<int> &out) {
        for (int r : readers_[node]) {
            if (roots_.count(r)) out.insert(r);
            else if (anchor_of_.count(r)) out.insert(anchor_of_[r]);
            else reading_roots(r, out);
        }
    }

    // The root whose row loops `node` (an internal root) is computed in, or -1:
    // when its knobs ask for fusion (unset: when its own output exceeds
    // kFuseAboveBytes) and exactly one root reads it, that root (or
    // the root it is itself fused into) must have row tasks of the same batch.
    int fusion_host(int node) {
        if (outputs_.count(node)) return -1;
        const Node &n = g_.nodes[node];
        ScheduleKnobs k = knobs_of(node);
        if (!k.fuse.value_or(true) || n.shape.h * n.shape.w == 1) return -1;
        if (!k.fuse && n.shape.elements() * int64_t{sizeof(float)} <= kFuseAboveBytes) return -1;
        std::set<int> hosts;
        reading_roots(node, hosts);
        if (hosts.size() != 1) return -1;
        int host = *hosts.begin();
        int further = fusion_host(host);
        if (further >= 0) host = further;
        const Shape &hs = g_.nodes[host].shape;
        return hs.h > 1 && hs.n == n.shape.n ? host : -1;
    }

    void schedule_root(int node, int host) {
        Stage &st = stage(node);
        Func f = st.value.f;
        const Shape &s = g_.nodes[node].shape;
        bool grouped = st.grouped();
        int64_t channels = grouped ? st.value.group : s.c;
        // The knobs of the reduction fused here (its tile is this Func's tile).
        int tuned = node;
        for (auto &[reduction, anchor] : anchor_of_)
            if (anchor == node) tuned = reduction;
        const Node &tn = g_.nodes[tuned];
        ScheduleKnobs knobs = knobs_of(tuned);
        const Stage &ts = stage(tuned);
        StepForm form = step_form(ts);
        form.narrow_pairs = target_.arch == Halide::Target::ARM && f.output_types()[0].bits() == 8 && ts.acc.defined() &&
                            ts.acc.output_types()[0].bits() == 32;
        // (Measured on AVX2 only: AVX-512 targets keep the load-port model.)
        if (target_.arch == Halide::Target::X86 && !target_.has_feature(Halide::Target::AVX512) &&
            ts.kind == Stage::Pointwise)
            form.weight_row_bytes = input_channels(g_, tn) / tn.groups * element_bytes();
        int slots = form.slots;
        // On ARM (no memory operands) a depthwise conv's taps keep their
        // weights in registers (DepthwiseWindow); int8 too (V2 with sdot:
        // 38.48 -> 37.46 M instructions, A55 37.8 -> 36.2 M cycles; without
        // sdot 74.89 -> 73.87, 74.7 -> 73.1).
        DepthwiseWindow window;
        if (ts.kind == Stage::Depthwise && tn.groups > 1) {
            if (target_.arch == Halide::Target::ARM)
                window = {tn.kernel_h, tn.kernel_w, tn.stride_w, accumulator_registers(tuned)};
            else
                window.one_vector = true;
        }
        Tiling t = choose_tiling(knobs, channels, s.w, form, window);
        t.lanes_per_float = lanes_per_float(tuned);
        // Unless a schedule says, a 1x1 conv whose weights outgrow L1 loops
        // over channel blocks outside its pixels (measured on 1x g3, Zen 3:
        // stage 4, 307 KB of weights per conv, 10-14% faster; stage 3, 77 KB,
        // 2-7%; stage 2, 19 KB, unchanged).
        bool pointwise = stage(tuned).kind == Stage::Pointwise;
        int64_t weight_bytes = tn.out_channels * input_channels(g_, tn) / tn.groups * int64_t{sizeof(float)};
        t.channels_outer = knobs.channels_outer.value_or(pointwise && weight_bytes > kL1Bytes);
        // Blocks of the reduction sweep a row of pixels per block of channels:
        // the channel loops must be outside the pixels.
        // (Not in dot-product form: its reduction runs over steps of slots.)
        bool blockable = pointwise && s.h * s.w > 1 && !stage(tuned).dot;
        t.reduction_block = blockable ? knobs.reduction_block.value_or(0) : 0;
        for (const RDom &r : stage(tuned).r)
            if (t.reduction_block > 0 && !reduction_block_applies(constant_extent(r), t.reduction_block))
                t.reduction_block = 0;
        if (t.reduction_block > 0) t.channels_outer = true;
        // The stem's input copy: planes when its channels fill less than a vector.
        bool staged = stage(tuned).staged_input.defined();
        if (staged)
            t.planar_input = knobs.planar_input.value_or(g_.nodes[tn.inputs[0]].shape.c < t.vector);
        // Vectors over pixels: for an internal root that computes its own 1x1
        // or depthwise reduction (its storage is free to choose) over rows of
        // at least 4 pixels, where its channels (per group) are not whole
        // vectors of the target (there is padding to remove); a reduction
        // block is dropped (its row buffer holds vectors of channels).
        Stage::Kind kind = stage(tuned).kind;
        bool pixel_allowed = !outputs_.count(node) && tuned == node && s.h * s.w > 1 && s.w >= 4 &&
                             (kind == Stage::Pointwise || kind == Stage::Depthwise) &&
                             channels % target_lanes() != 0 && !stage(tuned).dot && !plan_.int8() && !plan_.bf16();
        if (pixel_allowed && knobs.pixel_vectors.value_or(false)) {
            t = choose_pixel_tiling(knobs, t, channels, s.w);
            t.reduction_block = 0;
        }
        // Rows per register tile: a depthwise or general conv or a pool (whose
        // taps read neighbouring input rows, so rows of a tile share loads)
        // computed at root (a fused root is computed a row at a time).
        bool rows_tile_allowed = !t.pixels && host < 0 && s.h > 1 &&
                                 (kind == Stage::Depthwise || kind == Stage::Conv || kind == Stage::MaxPool ||
                                  kind == Stage::AvgPool);
        t.tile_y = rows_tile_allowed ? static_cast<int>(std::min<int64_t>(t.tile_y, s.h)) : 1;
        info_[node] = {stage_kind_name(kind), channels, knobs.registers.value_or(16), staged, pixel_allowed, slots > 0};
        // A conv whose input is staged per row task (the stem) keeps a row
        // split fixed at compile time, 8 tasks: staging inside a task whose
        // size is only known at run time sends Halide 14's simplifier into
        // endless recursion (a crash at compile time).
        if (t.rows < 0 && staged) t.rows = static_cast<int>((s.h + 7) / 8);

        Var ch = grouped ? Vars::k : Vars::c;
        Var cb("cb"), ci("ci"), cv("cv"), xo("xo"), xi("xi"), yo("yo"), yi("yi");
        // The last block of channels: an internal Func may round up (computing
        // padding lanes, zero weights) if nothing in its tile reads another
        // segment's tensor per channel (that read would run past the tensor's
        // end); otherwise it shifts inwards and recomputes a few channels.
        TailStrategy block_tail = !outputs_.count(node) && may_round_up(st) ? TailStrategy::RoundUp
                                                                            : TailStrategy::ShiftInwards;
        // Shifting inwards needs a block no wider than the channels.
        if (block_tail == TailStrategy::ShiftInwards && !t.pixels)
            while (t.vectors > 1 && int64_t{t.vector} * t.vectors > channels) t.vectors--;
        tiling_[node] = t;
        if (host >= 0 && row_outer_.count(host)) {
            // A sliding window over the host's rows: stored per row task,
            // computed row by row as the host needs them.
            f.store_at(stage(host).value.f, row_outer_.at(host)).compute_at(stage(host).value.f, row_inner_.at(host));
        } else {
            f.compute_root();
        }
        if (s.h * s.w == 1) {
            // Pooled / FC outputs: blocks of channels, in parallel when there are many.
            // An FC's last block starts at its weights' panel (dense.cc), guarded
            // past the outputs' end: shifted inwards (1000 outputs: 872..999 in
            // blocks of 128) its lanes straddled two panels, and Halide 14 read
            // those weights one at a time (V1 int8 on AVX-512: the last block
            // took more time than the other seven; test
            // Schedule.FullyConnectedTailReadsWholePanels).
            if (kind == Stage::Dense && block_tail == TailStrategy::ShiftInwards) block_tail = TailStrategy::GuardWithIf;
            f.split(ch, cb, ci, t.block(), block_tail).vectorize(ci, t.vector);
            if (grouped) f.reorder(ci, cb, Vars::g);
            if (channels >= 4 * t.block() && t.rows != 0) f.parallel(cb);
            tile_var_[node] = cb;
            return;
        }
        Var rows = Vars::y;            // the row loop (over tiles of rows with tile_y)
    Var yr("yr");
    std::vector<VarOrRVar> order;  // innermost first; the row-task split below replaces the row loop in place
        if (t.pixels) {
            // Stored x innermost; a tile is `vectors` channels x tile_x
            // vectors of pixels, ragged tiles shifted inwards (internal, so
            // recomputing a few pixels or channels is harmless).
            store_x_innermost(f, grouped);
            f.split(ch, cb, ci, t.vectors, TailStrategy::ShiftInwards)
                .split(Vars::x, xo, xi, t.vector * t.tile_x, TailStrategy::ShiftInwards)
                .split(xi, xi, cv, t.vector, TailStrategy::RoundUp);
            order = {cv, xi, ci};
        } else {
            f.split(ch, cb, ci, t.block(), block_tail)
                .split(ci, ci, cv, t.vector * t.store_vectors, TailStrategy::GuardWithIf)
                .split(Vars::x, xo, xi, t.tile_x, TailStrategy::ShiftInwards);
            order = {cv, ci, xi};
            if (t.tile_y > 1) {
                // Rows of a tile inside its pixels; a ragged last tile shifts up.
                f.split(Vars::y, rows, yr, t.tile_y, TailStrategy::ShiftInwards);
                order.push_back(yr);
            }
        }
        std::vector<VarOrRVar> channel_loops = {cb};
        if (grouped) channel_loops.push_back(Vars::g);
        const size_t tile_loops = order.size();
        if (t.channels_outer) {
            order.insert(order.end(), {xo, rows});
            order.insert(order.end(), channel_loops.begin(), channel_loops.end());
        } else {
            order.insert(order.end(), channel_loops.begin(), channel_loops.end());
            order.insert(order.end(), {xo, rows});
        }
        order.push_back(Vars::n);
        f.reorder(order);
        f.vectorize(cv).unroll(ci).unroll(xi);
        if (t.tile_y > 1) f.unroll(yr);
        if (t.rows != 0 && s.h > 1 && !(host >= 0 && row_outer_.count(host))) {
            f.split(rows, yo, yi, rows_per_task(t, s.h), TailStrategy::GuardWithIf);
            if (t.channels_outer) {
                // The channel loops go inside the task, outside its rows.
                std::vector<VarOrRVar> task(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(tile_loops));
                task.insert(task.end(), {xo, yi});
                task.insert(task.end(), channel_loops.begin(), channel_loops.end());
                task.insert(task.end(), {yo, Vars::n});
                f.reorder(task);
            }
            f.fuse(yo, Vars::n, yo).parallel(yo);
            row_outer_.emplace(node, yo);
            // A Func fused into these rows is computed per task: its rows are
            // needed by every channel block.
            row_inner_.emplace(node, t.channels_outer ? yo : yi);
        }
        // The accumulators live per register tile: inside the innermost of
        // the tile loops; blocked reductions' per row (of one channel block).
        tile_var_[node] = t.channels_outer ? xo : cb;
        row_var_[node] = t.rows != 0 && s.h > 1 && !(host >= 0 && row_outer_.count(host)) ? yi : rows;
    }

    // Rows per parallel task (in tiles of tile_y rows): fixed by a schedule,
    // or the height split evenly among the run's threads (x tasks_per_thread).
    Expr rows_per_task(const Tiling &t, int64_t height) {
        int h = static_cast<int>((height + t.tile_y - 1) / t.tile_y);
        if (t.rows > 0) return std::min((t.rows + t.tile_y - 1) / t.tile_y, h);
        Expr tasks = low_.threads * t.tasks_per_thread;
        return max(1, (h + tasks - 1) / tasks);
    }

    // Whether computing `st` at channels past its extent (rounding up to whole
    // vectors) stays inside every buffer it reads: true when its per-channel
    // reads reach only internal Funcs of this segment (which then just compute
    // more) or padded weights. A 1x1 conv reads its input per reduction step,
    // not per channel; another segment's tensor, or this segment's output, is a
    // real buffer with a real end.
    bool may_round_up(const Stage &st) {
        switch (st.kind) {
        case Stage::Pointwise:
        case Stage::Conv:
        case Stage::Dense: return true;
        default: break;
        }
        for (int in : g_.nodes[st.node].inputs) {
            if (low_.stage_of[in] < 0 || outputs_.count(in) || !may_round_up(stage(in))) return false;
        }
        return true;
    }

    void schedule_reduction(Stage &st) {
        int anchor = anchor_of_[st.node];
        const Tiling &t = tiling_[anchor];
        Func root = stage(anchor).value.f;
        bool spatial = g_.nodes[st.node].shape.h * g_.nodes[st.node].shape.w > 1;
        // A blocked reduction: every update's reduction splits into whole blocks.
        int block = t.reduction_block;
        bool blocked = st.kind == Stage::Pointwise && spatial && block > 0 && row_var_.count(anchor);
        for (const RDom &r : st.r)
            blocked = blocked && constant_extent(r) % block == 0;
        if (blocked) blocked_.insert(st.node);
        st.acc.compute_at(root, blocked ? row_var_.at(anchor) : tile_var_[anchor]);
        if (st.staged_input.defined()) stage_input(st, anchor, t);
        bool grouped = st.grouped();
        Var ch = grouped ? Vars::k : Vars::c;
        if (t.pixels) {
            schedule_pixel_reduction(st, t, ch);
            return;
        }
        Var cv("cv"), co("co");
        // Accumulators are internal: round their channels up to whole vectors
        // (the weights are padded with zeros for this).
        TailStrategy tail = grouped ? TailStrategy::RoundUp : TailStrategy::GuardWithIf;
        st.acc.split(ch, co, cv, t.vector, tail).vectorize(cv);
        if (spatial && !blocked) st.acc.unroll(co).unroll(Vars::x);
        if (t.tile_y > 1) st.acc.unroll(Vars::y);
        if (blocked) {
            // Per block of input channels, the row's pixel tiles; the
            // accumulators go to the row buffer between blocks (the register
            // tile's loads and stores are hoisted out of the block's loop).
            for (size_t u = 0; u < st.r.size(); u++) {
                const RDom &r = st.r[u];
                Var xt("xt"), xb("xb");
                RVar rb(r.x.name() + "b"), rk(r.x.name() + "k");
                auto update = st.acc.update(static_cast<int>(u));
                update.split(ch, co, cv, t.vector, tail)
                    .split(Vars::x, xb, xt, t.tile_x, TailStrategy::GuardWithIf)
                    .split(r.x, rb, rk, block);
                std::vector<VarOrRVar> order = {cv, co, xt, rk, xb, rb};
                if (grouped) order.push_back(Vars::g);
                order.insert(order.end(), {Vars::y, Vars::n});
                update.reorder(order).vectorize(cv).unroll(co).unroll(xt);
                if (t.unroll > 1 && block % t.unroll == 0) {
                    RVar ro(rk.name() + "o"), ri(rk.name() + "i");
                    update.split(rk, ro, ri, t.unroll).unroll(ri);
                }
            }
            return;
        }
        if (st.dot) {
            schedule_dot(st, t, ch, tail, spatial);
            return;
        }
        // Every update (one per input part of a conv that reads several
        // tensors) gets the same register tile.
        for (size_t u = 0; u < st.r.size(); u++) {
            const RDom &r = st.r[u];
            // With rows per tile, a tap's rows next to each other (the
            // unrolled tile reads each input row once per tap column).
            std::vector<VarOrRVar> order = {cv, co, Vars::x};
            if (t.tile_y > 1) order.push_back(Vars::y);
            for (int i = 0; i < r.dimensions(); i++) order.push_back(r[i]);
            if (grouped) order.push_back(Vars::g);
            if (t.tile_y == 1) order.push_back(Vars::y);
            order.push_back(Vars::n);
            auto update = st.acc.update(static_cast<int>(u));
            update.split(ch, co, cv, t.vector, tail).reorder(order).vectorize(cv);
            const Node &n = g_.nodes[st.node];
            bool few_channels = input_channels(g_, n) / n.groups <= 4;
            if ((st.kind == Stage::Conv || st.kind == Stage::Dense) && st.by_lane()) {
                // By lane (conv.cc): a row's taps are the lanes of one vector,
                // loaded per pixel, channel and tap row (its spare lanes read
                // one more input column); few channels unrolled, as below.
                Func lanes = st.lane_inputs[0].f;
                update.unroll(r.x);
                if (few_channels) update.unroll(r.y);
                lanes.compute_at(st.acc, r.y).vectorize(lanes.args()[0], t.vector, TailStrategy::RoundUp);
                if (st.kind == Stage::Dense) update.unroll(co);  // (dense.cc: r.y the steps of 4 features)
                if (spatial) update.unroll(co).unroll(Vars::x), lanes.unroll(lanes.args()[3]);
                if (spatial && t.tile_y > 1) update.unroll(Vars::y);
                continue;
            }
            if (!spatial) continue;
            update.unroll(co).unroll(Vars::x);
            if (t.tile_y > 1) update.unroll(Vars::y);
            if (st.kind == Stage::Depthwise || st.kind == Stage::MaxPool || st.kind == Stage::AvgPool)
                for (int i = 0; i < r.dimensions(); i++) update.unroll(r[i]);
            // A general conv over few input channels (the RGB stem) unrolls
            // them: less loop overhead per tap. Not the taps: with the whole
            // reduction unrolled, LLVM hoists every weight vector out of the
            // pixel loop, spills them, and chains each pixel's FMAs.
            if (st.kind == Stage::Conv && few_channels) update.unroll(r.x);
            if (st.kind == Stage::Pointwise) unroll_steps(update, r.x, t.unroll);
        }
    }

    // A 1x1 conv in dot-product form (Stage::dot): the products of a lane's
    // sum innermost, vectorized atomically with the channel vector (Halide
    // sums them per 32-bit lane: int8 vpdpbusd on AVX512-VNNI, sdot on ARM;
    // bf16 vdpbf16ps), then the register tile as for floats.
    //
    // By lane (Stage::lane_inputs): the slots unrolled inside the register
    // tile, each a weight vector times one lane of the step's input vector,
    // loaded per pixel and step (NEON fmla by element); int8 sdot by element:
    // the steps in blocks of 4, unrolled, their 16 input bytes loaded per
    // pixel and block.
    // (Each update's RDom has a name of its own, so the loaded vectors are
    // computed at its loop by name: Halide 14 rejects a LoopLevel that names
    // the update's index.)
    void schedule_dot(Stage &st, const Tiling &t, const Var &ch, TailStrategy tail, bool spatial) {
        // The loops outside the register tile: groups, rows, images.
        auto with_outer = [&](std::vector<VarOrRVar> order) {
            if (st.grouped()) order.push_back(Vars::g);
            order.insert(order.end(), {Vars::y, Vars::n});
            return order;
        };
        for (size_t u = 0; u < st.r.size(); u++) {  // one update per input tensor
            const RDom &r = st.r[u];
            Var cv("cv"), co("co");
            Stage::LaneInput lane = u < st.lane_inputs.size() ? st.lane_inputs[u] : Stage::LaneInput{};
            auto update = st.acc.update(static_cast<int>(u));
            update.split(ch, co, cv, t.vector, tail);
            if (lane.f.defined() && lane.steps > 1) {
                RVar ro(r.y.name() + "o"), ri(r.y.name() + "i");
                update.split(r.y, ro, ri, lane.steps).reorder(with_outer({r.x, cv, co, Vars::x, ri, ro}));
                update.atomic().vectorize(r.x).vectorize(cv).unroll(ri);
                if (spatial) update.unroll(co).unroll(Vars::x);
                lane.f.compute_at(st.acc, ro).vectorize(lane.f.args()[0]);
                if (spatial) lane.f.unroll(lane.f.args()[3]);
            } else if (lane.f.defined()) {
                update.reorder(with_outer({cv, co, Vars::x, r.x, r.y})).vectorize(cv).unroll(r.x);
                if (spatial) update.unroll(co).unroll(Vars::x);
                lane.f.compute_at(st.acc, r.y).vectorize(lane.f.args()[0]);
                if (spatial) lane.f.unroll(lane.f.args()[3]);
            } else if (lane.single) {  // by lane's leftover channels: one broadcast each
                update.reorder(with_outer({cv, co, Vars::x, r.x})).vectorize(cv);
                if (spatial) update.unroll(co).unroll(Vars::x);
            } else {
                update.reorder(with_outer({r.x, cv, co, Vars::x, r.y})).atomic().vectorize(r.x).vectorize(cv);
                if (!spatial) continue;
                update.unroll(co).unroll(Vars::x);
                // A general conv's steps (PackedNode::tap_rows) a tap row's
                // worth per iteration: no index arithmetic per step (ARM V1
                // stem 2.46 -> 2.25 M instructions; x86 x0.997; all 9 steps
                // unrolled: x1.28, LLVM hoists and spills the 18 weight vectors).
                if (st.kind == Stage::Conv) unroll_steps(update, r.y, g_.nodes[st.node].kernel_h);
                else unroll_steps(update, r.y, t.unroll);  // steps per iteration
            }
        }
    }

    // A reduction vectorized over pixels (Tiling::pixels), computed per
    // register tile of its root: for each reduction step, each channel's
    // weight is broadcast against tile_x vectors of pixels (the input vectors
    // are shared by the tile's channels); stored x innermost like its root.
    void schedule_pixel_reduction(Stage &st, const Tiling &t, const Var &ch) {
        bool grouped = st.grouped();
        store_x_innermost(st.acc, grouped);
        Var xv("xv"), xl("xl");
        st.acc.split(Vars::x, xv, xl, t.vector, TailStrategy::RoundUp).reorder(xl, xv, ch);
        st.acc.vectorize(xl).unroll(xv).unroll(ch);
        for (size_t u = 0; u < st.r.size(); u++) {
            const RDom &r = st.r[u];
            std::vector<VarOrRVar> order = {xl, xv, ch};
            for (int i = 0; i < r.dimensions(); i++) order.push_back(r[i]);
            if (grouped) order.push_back(Vars::g);
            order.insert(order.end(), {Vars::y, Vars::n});
            auto update = st.acc.update(static_cast<int>(u));
            update.split(Vars::x, xv, xl, t.vector, TailStrategy::RoundUp).reorder(order);
            update.vectorize(xl).unroll(xv).unroll(ch);
            if (st.kind == Stage::Depthwise)
                for (int i = 0; i < r.dimensions(); i++) update.unroll(r[i]);
            if (st.kind == Stage::Pointwise) unroll_steps(update, r.x, t.unroll);
        }
    }

    // A 1x1 conv's reduction steps (input channels, or quads in dot-product
    // form), `steps` per iteration where they divide it: fewer loop and
    // folded-shuffle index updates per FMA.
    static void unroll_steps(Halide::Stage update, const RVar &r, int steps) {
        const int64_t *extent = as_const_int(r.extent());
        if (steps <= 1 || !extent || *extent % steps != 0) return;
        RVar ro(r.name() + "o"), ri(r.name() + "i");
        update.split(r, ro, ri, steps).unroll(ri);
    }

    static void store_x_innermost(Func f, bool grouped) {
        if (grouped) f.reorder_storage(Vars::x, Vars::k, Vars::g, Vars::y, Vars::n);
        else f.reorder_storage(Vars::x, Vars::c, Vars::y, Vars::n);
    }

    // A general conv's padded input is copied once per row task (or per image
    // without row tasks): the rows a task reads, with their border, stay in
    // L2 and the taps read them without tests. As planes (the RGB stem's 3
    // channels by default) it is stored and copied along x, otherwise along
    // the channels.
    void stage_input(Stage &st, int anchor, const Tiling &t) {
        Func root = stage(anchor).value.f;
        Func in = st.staged_input;
        if (row_outer_.count(anchor)) in.compute_at(root, row_outer_.at(anchor));
        else in.compute_at(root, Vars::n);
        // An int8 model's stem rounds the app's floats here: a vector of
        // bytes' worth per iteration (ARM: 16 where the conv's vector is 4
        // lanes), its steps interleaved for the in-order cores.
        int lanes = plan_.int8() ? std::max(t.vector, target_.natural_vector_size(Halide::UInt(8))) : t.vector;
        if (t.planar_input) {
            in.reorder_storage(Vars::x, Vars::c, Vars::y, Vars::n).reorder(Vars::x, Vars::c, Vars::y, Vars::n);
            in.vectorize(Vars::x, lanes, TailStrategy::GuardWithIf);
        } else {
            in.vectorize(Vars::c, t.vector, TailStrategy::GuardWithIf);
        }
        // Its updates (conv.cc): each an RDom over x, rows and channels pure;
        // vectors along x where a row is at least a vector wide (not a border's
        // column or two).
        for (int u = 0; u < in.num_update_definitions(); u++) {
            Halide::Stage update = in.update(u);
            const auto &r = update.get_schedule().rvars().at(0);
            const int64_t *columns = Halide::Internal::as_const_int(r.extent);
            if (!t.planar_input) {
                update.vectorize(Vars::c, t.vector, TailStrategy::GuardWithIf);
            } else if (columns && *columns >= lanes) {
                update.reorder(RVar(r.var), Vars::c, Vars::y, Vars::n).vectorize(RVar(r.var), lanes, TailStrategy::GuardWithIf);
            } else {
                update.unscheduled();
            }
        }
    }

    LoweredSegment &low_;
    const Graph &g_;
    const SegmentPlan &plan_;
    const ScheduleFile &file_;
    const Target &target_;
    const Segment &seg_;
    std::set<int> outputs_, roots_;
    std::vector<std::vector<int>> readers_;
    std::map<int, int> anchor_of_;
    std::map<int, Tiling> tiling_;
    std::map<int, Var> tile_var_, row_var_;
    std::set<int> blocked_;  // reductions computed in blocks (reduction_block)
    std::map<int, int> host_;                 // root -> root it is fused into (-1: none)
    std::map<int, Var> row_outer_, row_inner_;  // a root's row-task and row loops
    struct RootInfo {
        std::string kind;
        int64_t channels = 0;
        int registers = 16;
        bool staged_input = false;
        bool pixel_layout_allowed = false;
        bool lane_inputs = false;
    };
    std::map<int, RootInfo> info_;
};

}  // namespace

std::string describe_choice(const ScheduleChoice &c) {
    std::string fused;
    for (const auto &r : c.reductions)
        if (r != c.root) fused += (fused.empty() ? " [" : ", ") + r;
    if (!fused.empty()) fused += "]";
    std::string rows = c.rows_per_task >= 0 ? std::to_string(c.rows_per_task)
                       : c.tasks_per_thread == 1 ? cat(c.height, "/threads")
                                                 : cat(c.height, "/(", c.tasks_per_thread, " x threads)");
    std::string tile = c.pixel_vectors ? cat(": ", c.channel_vectors, " channels x ", c.tile_x, " vectors of ", c.vector,
                                             " pixels, stored x innermost")
                                       : cat(": vector ", c.vector, " x ", c.channel_vectors, ", tile_x ", c.tile_x,
                                             c.tile_y > 1 ? cat(", tile_y ", c.tile_y) : std::string());
    return cat(c.root, fused, tile, ", rows ", rows, c.channels_outer ? ", channels outer" : "",
               c.unroll > 1 ? cat(", unroll ", c.unroll) : std::string(),
               c.reduction_block > 0 ? cat(", reduction blocks of ", c.reduction_block) : std::string(),
               c.fused ? ", fused" : "", c.staged_input ? (c.planar_input ? ", input planes" : ", input interleaved") : "");
}

bool register_tile_fits(int vectors, int tile_x, int registers, bool input_vectors) {
    return vectors * tile_x + vectors + (input_vectors ? tile_x : 1) <= registers;
}

bool reduction_block_applies(int64_t reduction, int64_t block) {
    return block > 0 && reduction > block && reduction % block == 0;
}

std::vector<ScheduleChoice> apply_schedule(LoweredSegment &lowered, const Graph &graph, const SegmentPlan &plan,
                                           const ScheduleFile &file, const Target &target) {
    return Scheduler(lowered, graph, plan, file, target).run();
}

bool pairs_weights_int16(const ScheduleFile &file, const Halide::Target &target, const std::string &unit,
                         const Node &node, int64_t channels) {
    if (target.arch != Halide::Target::X86) return false;
    ScheduleKnobs k = resolve_knobs(file, target, unit, node, Stage::Pointwise);
    Tiling t = choose_tiling(k, channels, node.shape.w, StepForm{});  // (pairs load no step vectors: step_form)
    return t.vectors > 2 * t.tile_x;
}

}  // namespace shufflec
