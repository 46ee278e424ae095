// The two periods of a live incident's trace evidence (trace_evidence.h), chosen per entry
// operation (the service and name of a trace's root span): the window, the traces whose root
// started from a split time on, and the baseline, those whose root started in the 10 minutes
// before it. `backsight serve` chooses them over its recent-span ring (server/incident_service.h).
#ifndef BACKSIGHT_INCIDENTS_TRACE_WINDOW_H_
#define BACKSIGHT_INCIDENTS_TRACE_WINDOW_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "backsight/core/time.h"
#include "backsight/ingest/span_batch.h"
#include "backsight/traces/span_ring.h"

namespace backsight::incidents {

/// The window starts this long before the incident: an anomaly is detected after its cause
/// starts (as root_cause.cc's kLeadS).
inline constexpr int64_t kTraceLeadNs = 60'000'000'000;
/// The baseline is this long, just before the window (Nezha's cases, which root_cause.cc is
/// measured on, use about as much).
inline constexpr int64_t kTraceBaselineNs = 600'000'000'000;

/// Baseline = traces whose root started in [baseline_from_ns, split_ns), window = those whose
/// root started from split_ns on (ns since the epoch).
struct TracePeriods {
  TimestampNs baseline_from_ns = 0;
  TimestampNs split_ns = 0;
  /// True when the lead left too few baseline traces and the split is the incident's start.
  bool lead_dropped = false;
  /// Complete traces (a root span, parent 0) started in the chosen baseline.
  size_t baseline_traces = 0;
};

/// The periods of one entry operation: the service and name (indexes into the copy's name table)
/// of its traces' root spans.
struct EntryPeriods {
  uint32_t service = 0;
  uint32_t name = 0;
  TracePeriods periods;
};

/// The periods of each entry operation of `spans` for an incident that started at
/// `incident_start_ns` (its first member's onset): split at start - kTraceLeadNs when at least
/// traces::kMinBaselineTraces of its traces (root spans) started in the kTraceBaselineNs before
/// it; else (an entry operation younger than the lead, e.g. a deployment a few seconds old, even
/// next to a busy one) split at the incident's start, so that its traces before the first anomaly
/// are its baseline. The fallback's price: its fault traces that started before the anomaly was
/// detected count as baseline (a few, against the baseline's 90th percentile; attribution.h).
/// When neither leaves kMinBaselineTraces, the start split is kept (its evidence is then thin or
/// empty: attribution.h needs kMinBaselineTraces baseline traces per entry). One pass over the
/// spans (arrival order, any start order); sorted by (service, name).
std::vector<EntryPeriods> ChooseTracePeriods(const traces::SpanRingCopy& spans,
                                             TimestampNs incident_start_ns);

/// Appends the spans of each trace of `spans` whose root span is in `spans`, whole, to
/// `baseline` when the root started in its entry operation's baseline (`periods`, from
/// ChooseTracePeriods over the same copy), to `window` when it started from its split on; other
/// traces are left out (traces::AttributeLatency skips a trace without its root anyway). A trace
/// with several root spans goes by the first in arrival order.
void SplitTraceSpans(const traces::SpanRingCopy& spans, const std::vector<EntryPeriods>& periods,
                     std::vector<ingest::Span>* baseline, std::vector<ingest::Span>* window);

}  // namespace backsight::incidents

#endif  // BACKSIGHT_INCIDENTS_TRACE_WINDOW_H_
