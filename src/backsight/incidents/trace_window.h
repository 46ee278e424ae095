// The two periods of a live incident's trace evidence (trace_evidence.h): the window, the spans
// that started from a split time on, and the baseline, the spans of the 10 minutes before it.
// `backsight serve` chooses them over its recent-span ring (server/incident_service.h).
#ifndef BACKSIGHT_INCIDENTS_TRACE_WINDOW_H_
#define BACKSIGHT_INCIDENTS_TRACE_WINDOW_H_

#include <cstdint>

#include "backsight/core/time.h"
#include "backsight/traces/span_ring.h"

namespace backsight::incidents {

/// The window starts this long before the incident: an anomaly is detected after its cause
/// starts (as root_cause.cc's kLeadS).
inline constexpr int64_t kTraceLeadNs = 60'000'000'000;
/// The baseline is this long, just before the window (Nezha's cases, which root_cause.cc is
/// measured on, use about as much).
inline constexpr int64_t kTraceBaselineNs = 600'000'000'000;

/// Baseline = spans started in [baseline_from_ns, split_ns), window = spans started from
/// split_ns on (ns since the epoch).
struct TracePeriods {
  TimestampNs baseline_from_ns = 0;
  TimestampNs split_ns = 0;
  /// True when the lead left too few baseline traces and the split is the incident's start.
  bool lead_dropped = false;
  /// Complete traces (a root span, parent 0) started in the chosen baseline.
  size_t baseline_traces = 0;
};

/// The periods of an incident that started at `incident_start_ns` (its first member's onset):
/// split at start - kTraceLeadNs when at least traces::kMinBaselineTraces complete traces (root
/// spans) of `spans` started in the kTraceBaselineNs before it; else (a service younger than the
/// lead, e.g. a deployment a few seconds old) split at the incident's start, so that the
/// traces before the first anomaly are the baseline. The fallback's price: traces of the fault
/// that started before it was detected count as baseline (a few, against the baseline's 90th
/// percentile; attribution.h). When neither leaves kMinBaselineTraces, the start split is kept
/// and the evidence is empty (ComputeTraceEvidence: no complete baseline trace per entry). One
/// pass over the spans (arrival order, any start order).
TracePeriods ChooseTracePeriods(const traces::SpanRingCopy& spans, TimestampNs incident_start_ns);

}  // namespace backsight::incidents

#endif  // BACKSIGHT_INCIDENTS_TRACE_WINDOW_H_
