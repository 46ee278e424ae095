#include "backsight/incidents/trace_window.h"

#include <algorithm>

#include "backsight/core/flat_index.h"
#include "backsight/traces/attribution.h"

namespace backsight::incidents {
namespace {

// An entry operation (service and name indexes of a root span) as one FlatIndex key.
uint64_t EntryKey(uint32_t service, uint32_t name) {
  return static_cast<uint64_t>(service) << 32 | name;
}

}  // namespace

std::vector<EntryPeriods> ChooseTracePeriods(const traces::SpanRingCopy& spans,
                                             TimestampNs incident_start_ns) {
  const TimestampNs lead_split = incident_start_ns - kTraceLeadNs;
  const TimestampNs lead_from = lead_split - kTraceBaselineNs;
  const TimestampNs start_from = incident_start_ns - kTraceBaselineNs;
  // Root spans of each entry operation in each candidate baseline, counted in one pass.
  struct Counts {
    uint32_t service, name;
    size_t with_lead = 0, at_start = 0;
  };
  std::vector<Counts> entries;
  FlatIndex index;  // entry key -> entries
  for (const traces::RingSpan& s : spans.spans) {
    if (s.parent != 0) continue;
    const uint64_t key = EntryKey(s.service, s.name);
    uint32_t at = index.Find(key);
    if (at == FlatIndex::kNone) {
      at = static_cast<uint32_t>(entries.size());
      index.Put(key, at);
      entries.push_back({s.service, s.name});
    }
    Counts& c = entries[at];
    if (s.start_ns >= lead_from && s.start_ns < lead_split) ++c.with_lead;
    if (s.start_ns >= start_from && s.start_ns < incident_start_ns) ++c.at_start;
  }
  std::vector<EntryPeriods> out;
  out.reserve(entries.size());
  for (const Counts& c : entries) {
    EntryPeriods& e = out.emplace_back();
    e.service = c.service;
    e.name = c.name;
    e.periods = c.with_lead >= traces::kMinBaselineTraces
                    ? TracePeriods{lead_from, lead_split, false, c.with_lead}
                    : TracePeriods{start_from, incident_start_ns, true, c.at_start};
  }
  std::sort(out.begin(), out.end(), [](const EntryPeriods& a, const EntryPeriods& b) {
    return EntryKey(a.service, a.name) < EntryKey(b.service, b.name);
  });
  return out;
}

void SplitTraceSpans(const traces::SpanRingCopy& spans, const std::vector<EntryPeriods>& periods,
                     std::vector<ingest::Span>* baseline, std::vector<ingest::Span>* window) {
  FlatIndex by_entry;  // entry key -> periods
  for (size_t i = 0; i < periods.size(); ++i) {
    by_entry.Put(EntryKey(periods[i].service, periods[i].name), static_cast<uint32_t>(i));
  }
  // Each trace's period from its root (absent: no root in the copy).
  enum : uint32_t { kBaseline, kWindow, kNeither };
  FlatIndex where;
  for (const traces::RingSpan& s : spans.spans) {
    if (s.parent != 0 || where.Find(s.trace) != FlatIndex::kNone) continue;
    const uint32_t e = by_entry.Find(EntryKey(s.service, s.name));
    uint32_t to = kNeither;
    if (e != FlatIndex::kNone) {
      const TracePeriods& p = periods[e].periods;
      if (s.start_ns >= p.split_ns) {
        to = kWindow;
      } else if (s.start_ns >= p.baseline_from_ns) {
        to = kBaseline;
      }
    }
    where.Put(s.trace, to);
  }
  for (const traces::RingSpan& s : spans.spans) {
    const uint32_t to = where.Find(s.trace);
    if (to == kBaseline) spans.AppendSpan(s, baseline);
    if (to == kWindow) spans.AppendSpan(s, window);
  }
}

}  // namespace backsight::incidents
