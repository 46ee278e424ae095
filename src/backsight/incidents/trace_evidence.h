// Trace latency evidence of an incident: which services the latency attribution of the window's
// traces against a baseline's (traces/attribution.h) names, how strongly, and in operator words.
// Shared by the batch ranking of a recorded case (root_cause.h) and the live ranking of
// `backsight serve` (incident_tracker.h, fed by server/incident_service.h).
#ifndef BACKSIGHT_INCIDENTS_TRACE_EVIDENCE_H_
#define BACKSIGHT_INCIDENTS_TRACE_EVIDENCE_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "backsight/ingest/span_batch.h"
#include "backsight/traces/attribution.h"

namespace backsight::incidents {

/// The share of a window's traces expected above the baseline's kSlowQuantile (0.1), doubled: a
/// window with at least this share of slow traces has a real latency rise (margin >= 1).
constexpr double kSlowFraction = 2 * (1 - traces::kSlowQuantile);

/// What the trace evidence says of one service.
struct TraceServiceEvidence {
  /// The service's suspect score (traces::SuspectService::score: summed robust z of its nodes'
  /// self times), > 0.
  double strength = 0;
  std::string indicator;    ///< The operation of the attribution row that explains it ("" none).
  std::string explanation;  ///< "frontend waiting on cart in GET /cart 120 ms per slow trace..."
};

/// The trace evidence of one window.
struct TraceLatencyEvidence {
  std::map<std::string, TraceServiceEvidence> services;  ///< Services with a positive score.
  /// Share of the window's traces that are slow (above their entry operation's baseline p90)
  /// over kSlowFraction: the evidence is significant when >= 1. 0 without traces in a period.
  double margin = 0;
  /// Complete traces (with a root span) of the baseline and of the window it was computed from.
  size_t baseline_traces = 0, window_traces = 0;
  bool significant() const { return margin >= 1 && !services.empty(); }
  /// True when both periods have at least traces::kMinBaselineTraces complete traces (the
  /// attribution's own floor for an entry operation's baseline): a result worth replacing an
  /// earlier one with, significant or not (IncidentTracker::SetTraceEvidence).
  bool enough_traces() const {
    return baseline_traces >= traces::kMinBaselineTraces &&
           window_traces >= traces::kMinBaselineTraces;
  }
};

/// Runs traces::AttributeLatency on `baseline` and `window` spans (any order; grouped into
/// traces by trace id) and names each suspect service with a positive score, explained by the
/// first (largest extra time) attribution row where it is the span's service or the callee a
/// client stub waits on. Empty evidence (margin 0) when either period has no complete trace; the
/// trace counts are set whenever the attribution ran.
TraceLatencyEvidence ComputeTraceEvidence(const std::vector<ingest::Span>& baseline,
                                          const std::vector<ingest::Span>& window);

}  // namespace backsight::incidents

#endif  // BACKSIGHT_INCIDENTS_TRACE_EVIDENCE_H_
