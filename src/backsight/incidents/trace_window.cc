#include "backsight/incidents/trace_window.h"

#include "backsight/traces/attribution.h"

namespace backsight::incidents {

TracePeriods ChooseTracePeriods(const traces::SpanRingCopy& spans, TimestampNs incident_start_ns) {
  const TimestampNs lead_split = incident_start_ns - kTraceLeadNs;
  const TimestampNs lead_from = lead_split - kTraceBaselineNs;
  const TimestampNs start_from = incident_start_ns - kTraceBaselineNs;
  // Root spans in each candidate baseline, counted in one pass.
  size_t with_lead = 0, at_start = 0;
  for (const traces::RingSpan& s : spans.spans) {
    if (s.parent != 0) continue;
    if (s.start_ns >= lead_from && s.start_ns < lead_split) ++with_lead;
    if (s.start_ns >= start_from && s.start_ns < incident_start_ns) ++at_start;
  }
  if (with_lead >= traces::kMinBaselineTraces) return {lead_from, lead_split, false, with_lead};
  return {start_from, incident_start_ns, true, at_start};
}

}  // namespace backsight::incidents
