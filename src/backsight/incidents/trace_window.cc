#include "backsight/incidents/trace_window.h"

#include <map>
#include <unordered_map>
#include <utility>

#include "backsight/traces/attribution.h"

namespace backsight::incidents {

std::vector<EntryPeriods> ChooseTracePeriods(const traces::SpanRingCopy& spans,
                                             TimestampNs incident_start_ns) {
  const TimestampNs lead_split = incident_start_ns - kTraceLeadNs;
  const TimestampNs lead_from = lead_split - kTraceBaselineNs;
  const TimestampNs start_from = incident_start_ns - kTraceBaselineNs;
  // Root spans of each entry operation in each candidate baseline, counted in one pass.
  struct Counts {
    size_t with_lead = 0, at_start = 0;
  };
  std::map<std::pair<uint32_t, uint32_t>, Counts> entries;
  for (const traces::RingSpan& s : spans.spans) {
    if (s.parent != 0) continue;
    Counts& c = entries[{s.service, s.name}];
    if (s.start_ns >= lead_from && s.start_ns < lead_split) ++c.with_lead;
    if (s.start_ns >= start_from && s.start_ns < incident_start_ns) ++c.at_start;
  }
  std::vector<EntryPeriods> out;
  out.reserve(entries.size());
  for (const auto& [entry, c] : entries) {
    EntryPeriods& e = out.emplace_back();
    e.service = entry.first;
    e.name = entry.second;
    e.periods = c.with_lead >= traces::kMinBaselineTraces
                    ? TracePeriods{lead_from, lead_split, false, c.with_lead}
                    : TracePeriods{start_from, incident_start_ns, true, c.at_start};
  }
  return out;
}

void SplitTraceSpans(const traces::SpanRingCopy& spans, const std::vector<EntryPeriods>& periods,
                     std::vector<ingest::Span>* baseline, std::vector<ingest::Span>* window) {
  std::map<std::pair<uint32_t, uint32_t>, const TracePeriods*> by_entry;
  for (const EntryPeriods& e : periods) by_entry[{e.service, e.name}] = &e.periods;
  // Each trace's period from its root: the baseline's list, the window's, or none (absent).
  std::unordered_map<uint64_t, std::vector<ingest::Span>*> where;
  for (const traces::RingSpan& s : spans.spans) {
    if (s.parent != 0 || where.count(s.trace)) continue;
    auto it = by_entry.find({s.service, s.name});
    std::vector<ingest::Span>* to = nullptr;
    if (it != by_entry.end()) {
      const TracePeriods& p = *it->second;
      if (s.start_ns >= p.split_ns) {
        to = window;
      } else if (s.start_ns >= p.baseline_from_ns) {
        to = baseline;
      }
    }
    where.emplace(s.trace, to);
  }
  for (const traces::RingSpan& s : spans.spans) {
    auto it = where.find(s.trace);
    if (it != where.end() && it->second != nullptr) spans.AppendSpan(s, it->second);
  }
}

}  // namespace backsight::incidents
