// Latency attribution: "p99 is high, where is the time going?". Compares the traces of a window
// with the traces of a baseline period: for every entry operation (the root span's service and
// name) whose tail rose, the window's slow traces (duration above the baseline's kSlowQuantile of
// the same entry operation) are compared with the baseline's traces, per (service, operation), by
// self time (span duration minus the union of its children's intervals); each node's extra self
// time per slow trace, summed, ranks the nodes, and its share of all positive extra time is
// reported. The approach is the "span self-time delta between slow and normal traces" of trace
// comparison tools (e.g. Jaeger's trace comparison, Lightstep's correlations), in its simplest
// form. Suspect services are ranked separately, by a robust z of every node's self time over all
// traces (SuspectService).
#ifndef BACKSIGHT_TRACES_ATTRIBUTION_H_
#define BACKSIGHT_TRACES_ATTRIBUTION_H_

#include <cstddef>
#include <string>
#include <vector>

#include "backsight/ingest/span_batch.h"

namespace backsight::traces {

/// A trace is slow when its duration exceeds this quantile of its entry operation's baseline.
constexpr double kSlowQuantile = 0.9;
/// Fewest baseline traces of an entry operation for its quantile to be used.
constexpr size_t kMinBaselineTraces = 5;
/// Robust z from which a call edge's wait counts as risen in SuspectService's lists (the usual
/// three-sigma rule).
constexpr double kSlowEdgeZ = 3.0;

/// One (service, operation) node's part of the rise.
struct AttributionRow {
  std::string service;
  std::string operation;
  /// Set when the span is a client stub (all its children in this one other service): its self
  /// time is network and queueing on the way to `peer_service`.
  std::string peer_service;
  double normal_self_ms = 0;     ///< Mean self time per baseline trace that has the node.
  double slow_self_ms = 0;       ///< Mean self time per slow trace.
  double extra_ms = 0;           ///< Summed extra self time over the slow traces.
  double share = 0;              ///< extra_ms / sum of the positive extra_ms, in [0, 1].
  std::string example_trace_id;  ///< The slow trace where the node's extra time was largest.
};

/// A service ranked by how far the self times of its nodes moved: for every node (service,
/// operation, peer) seen in at least kMinBaselineTraces traces of each period, whatever their
/// entry operation, z = (window median - baseline median) / (1.4826 x baseline MAD + 1 ms) of
/// its self time per trace (a robust z; the 1 ms floor keeps near-constant nodes from
/// dominating). Positive z counts to the node's service, or, for a client stub's wait, to both
/// ends of the call edge, each end's part divided by the square root of its number of call edges
/// (Stouffer's combination of the z of a service's edges, Stouffer et al. 1949: a delayed service
/// has all its edges slow, its caller one slow edge among others; a CPU-starved caller has every
/// outgoing edge slow, and one cause that explains n slow edges outweighs each callee's one,
/// by sqrt(n) when the rises are alike). Unlike the
/// rows, this does not need an entry operation's tail to rise: a delayed call in a rare request
/// moves its node's median while the slow traces of busy entries are slow by ordinary spread.
struct SuspectService {
  std::string service;
  double score = 0;  ///< Sum of the robust z of its nodes' self times (see above).
  /// Services it calls through client stubs in the window, and those of them whose wait rose by
  /// at least kSlowEdgeZ (largest z first): a caller slow on every edge is starved itself.
  size_t callees = 0;
  std::vector<std::string> slow_callees;
  /// Services that call it through client stubs in the window, and those whose wait on it rose
  /// by at least kSlowEdgeZ (largest z first): a callee slow on every edge is delayed itself.
  size_t callers = 0;
  std::vector<std::string> slow_callers;
};

/// An entry operation's tail in the baseline and in the window.
struct EntryTail {
  std::string service;
  std::string operation;
  size_t baseline_traces = 0, window_traces = 0;
  double baseline_p99_ms = 0, window_p99_ms = 0;  ///< Nearest-rank p99 of trace durations.
};

/// The attribution of one window.
struct Attribution {
  size_t window_traces = 0;
  size_t slow_traces = 0;
  size_t baseline_traces = 0;
  std::vector<AttributionRow> rows;      ///< Largest extra_ms first; only nodes with extra_ms > 0.
  std::vector<SuspectService> suspects;  ///< Highest score first.
  /// Entry operations seen in both periods, largest p99 rise (window - baseline) first.
  std::vector<EntryTail> entries;
};

/// Attributes the rise of the window's latency over the baseline. Spans are grouped into traces by
/// trace id; a trace without a root span (no span without a parent in the trace) is skipped.
Attribution AttributeLatency(const std::vector<ingest::Span>& baseline,
                             const std::vector<ingest::Span>& window);

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_ATTRIBUTION_H_
