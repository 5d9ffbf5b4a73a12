// Knobs -> Halide directives. The shape of every schedule here:
//
//   root Func F (a segment output, or a reduction that cannot fuse further):
//     for n, for row tasks (parallel), for y, for x tiles, for channel blocks:
//       compute acc (tile_x pixels x channel_vectors vectors) in registers:
//         for r (reduction) { for x in tile (unrolled) { for vectors (unrolled) { fma } } }
//       epilogue (bias, ReLU, residual add) and store
//
// A reduction read only through elementwise ops (ReLU, add) by a root Func of
// the same spatial size is computed inside that Func's tiles: this is how the
// residual add and ReLU fuse into the last 1x1 conv of a unit, with no extra
// pass over memory.
#include <set>

#include "schedule/schedule.h"
#include "util/error.h"

namespace shufflec {

using namespace Halide;

namespace {

bool has_reduction(Stage::Kind k) { return k != Stage::Elementwise && k != Stage::Input; }

int floor_pow2(int64_t v) {
    int p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
}

struct Tiling {
    int vector = 1;  // lanes actually used
    int block = 1;   // channels per register tile (multiple of vector)
    int tile_x = 1;
    int rows = 0;    // rows per parallel task
};

Tiling choose_tiling(const ScheduleKnobs &k, const Shape &s) {
    Tiling t;
    t.vector = std::min(*k.vector, floor_pow2(s.c));
    t.block = t.vector * *k.channel_vectors;
    while (t.block > t.vector && t.block > s.c) t.block -= t.vector;
    t.tile_x = static_cast<int>(std::min<int64_t>(*k.tile_x, s.w));
    t.rows = *k.rows_per_task;
    return t;
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

    void run() {
        // Roots: outputs, and reductions that do not fuse into one.
        for (auto &st : low_.stages) {
            if (!has_reduction(st.kind)) continue;
            int anchor = find_anchor(st.node);
            anchor_of_[st.node] = anchor;
            roots_.insert(anchor);
        }
        for (int out : seg_.outputs) roots_.insert(out);
        for (int node : roots_) schedule_root(node);
        for (auto &st : low_.stages)
            if (has_reduction(st.kind)) schedule_reduction(st);
    }

private:
    Stage &stage(int node) { return low_.stages[low_.stage_of[node]]; }

    // The root Func that computes `node`'s reduction: itself, or the output it
    // reaches through a chain of single-reader elementwise ops.
    int find_anchor(int node) {
        const Shape &s = g_.nodes[node].shape;
        int cur = node;
        while (!outputs_.count(cur) && readers_[cur].size() == 1) {
            int next = readers_[cur][0];
            const Shape &ns = g_.nodes[next].shape;
            if (stage(next).kind != Stage::Elementwise || ns.h != s.h || ns.w != s.w || ns.n != s.n) break;
            cur = next;
        }
        return outputs_.count(cur) ? cur : node;
    }

    ScheduleKnobs knobs(int node) { return resolve_knobs(file_, target_, g_.nodes[node], stage(node).kind); }

    void schedule_root(int node) {
        Func f = stage(node).value;
        const Shape &s = g_.nodes[node].shape;
        // The knobs of the reduction fused here (its tile is this Func's tile).
        int tuned = node;
        for (auto &[reduction, anchor] : anchor_of_)
            if (anchor == node) tuned = reduction;
        Tiling t = choose_tiling(knobs(tuned), s);
        tiling_[node] = t;
        Var co("co"), ci("ci"), cv("cv"), xo("xo"), xi("xi"), yo("yo"), yi("yi");
        f.compute_root();
        if (s.h * s.w == 1) {
            // Pooled / FC outputs: blocks of channels, in parallel when there are many.
            f.split(Vars::c, co, ci, t.block, TailStrategy::GuardWithIf).vectorize(ci, t.vector, TailStrategy::GuardWithIf);
            if (s.c >= 4 * t.block && t.rows > 0) f.parallel(co);
            tile_var_[node] = co;
            return;
        }
        TailStrategy tail_c = s.c >= t.block ? TailStrategy::ShiftInwards : TailStrategy::GuardWithIf;
        f.split(Vars::c, co, ci, t.block, tail_c)
            .split(ci, ci, cv, t.vector, TailStrategy::GuardWithIf)
            .split(Vars::x, xo, xi, t.tile_x, TailStrategy::ShiftInwards)
            .reorder(cv, ci, xi, co, xo, Vars::y, Vars::n)
            .vectorize(cv)
            .unroll(ci)
            .unroll(xi);
        if (t.rows > 0 && s.h > 1) {
            f.split(Vars::y, yo, yi, std::min<int>(t.rows, static_cast<int>(s.h)), TailStrategy::GuardWithIf);
            f.fuse(yo, Vars::n, yo).parallel(yo);
        }
        tile_var_[node] = co;
    }

    void schedule_reduction(Stage &st) {
        int anchor = anchor_of_[st.node];
        if (anchor != st.node) {
            // The value is computed inline in the anchor's epilogue.
        }
        const Tiling &t = tiling_[anchor];
        Func root = stage(anchor).value;
        st.acc.compute_at(root, tile_var_[anchor]);
        Var cv("cv"), co("co");
        st.acc.split(Vars::c, co, cv, t.vector, TailStrategy::GuardWithIf).vectorize(cv);
        std::vector<VarOrRVar> order = {cv, co, Vars::x};
        for (int i = 0; i < st.r.dimensions(); i++) order.push_back(st.r[i]);
        order.push_back(Vars::y);
        order.push_back(Vars::n);
        Stage::Kind k = st.kind;
        bool spatial = g_.nodes[st.node].shape.h * g_.nodes[st.node].shape.w > 1;
        auto update = st.acc.update();
        update.split(Vars::c, co, cv, t.vector, TailStrategy::GuardWithIf).reorder(order).vectorize(cv);
        if (spatial) {
            update.unroll(co).unroll(Vars::x);
            st.acc.unroll(co).unroll(Vars::x);
            if (k == Stage::Depthwise || k == Stage::MaxPool || k == Stage::AvgPool)
                for (int i = 0; i < st.r.dimensions(); i++) update.unroll(st.r[i]);
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
    std::map<int, Var> tile_var_;
};

}  // namespace

void apply_schedule(LoweredSegment &lowered, const Graph &graph, const SegmentPlan &plan, const ScheduleFile &file,
                    const Target &target) {
    Scheduler(lowered, graph, plan, file, target).run();
}

}  // namespace shufflec
