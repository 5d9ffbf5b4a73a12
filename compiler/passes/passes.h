// Graph-to-graph optimizations run before lowering. Each pass keeps the graph
// computing the same function (the reference interpreter runs the result, so
// tests compare before and after), and the weights in step with it.
#pragma once

#include "graph/graph.h"
#include "weights/weights.h"

namespace shufflec {

// BatchNorm right after a Conv or Dense (its only reader) is folded into the
// weights and bias: w' = w * s, b' = (b - mean) * s + beta, s = gamma / sqrt(var + eps).
void fold_batchnorm(Graph &graph, Weights &weights);

// A ChannelShuffle read only by a depthwise conv moves below it (the conv's
// weights permuted), so that it lands in front of the next pointwise conv.
void sink_shuffle_through_depthwise(Graph &graph, Weights &weights);

// A ChannelShuffle read only by convolutions disappears: each conv gets the
// shuffle appended to `input_shuffles` and reads the shuffle's input directly.
void fold_channel_shuffle(Graph &graph);

// ReLU or clip (ReLU6) after a Conv, Dense or Add that nothing else reads
// becomes that node's fused `activation`. Flatten before a Dense is dropped (a
// no-op on NCHW data).
void fuse_activations(Graph &graph);

// Records each node's unit (its `block`) from the graph's structure: the
// regions between points where a single tensor is alive (passes/mark_units.cc).
void mark_units(Graph &graph);

// Channel views (slice, concat, channel shuffle, channel permutation) read by
// ungrouped 1x1 convs disappear: the conv reads the views' source tensors as
// input parts, its weights permuted to match. A depthwise conv that reads a
// view is split into one depthwise conv per source part. What ShuffleNet V2's
// channel split and shuffle become: no copy of either is ever made.
void fold_channel_views(Graph &graph, Weights &weights);

// Removes the nodes the output does not need, then all of the above in order
// (each pass that bypasses nodes removes them itself).
void optimize(Graph &graph, Weights &weights);

// Rewires every reader of `from` to read `to` instead (`to` now computes
// from's value: from's name and aliases join to's aliases).
void replace_uses(Graph &graph, int from, int to);
// Drops nodes the output does not depend on (the input always stays) and renumbers.
void remove_dead_nodes(Graph &graph);

}  // namespace shufflec
