#include "backsight/incidents/trace_evidence.h"

#include <utility>

#include "backsight/core/number_format.h"

namespace backsight::incidents {

namespace {

std::string Num(double v) { return FormatDouble(v, 3); }

// "a, b, c, +2": the first kListed names and how many more.
std::string List(const std::vector<std::string>& names) {
  constexpr size_t kListed = 3;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kListed; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > kListed) out += ", +" + std::to_string(names.size() - kListed);
  return out;
}

// When most of a service's call edges (at least two) wait longer, the sentence that says the
// delay is on its side (the reason SuspectService's Stouffer sum named it); "" otherwise.
std::string EdgeSentence(const traces::SuspectService& s) {
  auto most = [](size_t slow, size_t all) { return slow >= 2 && 2 * slow > all; };
  if (most(s.slow_callees.size(), s.callees)) {
    return s.service + " waits longer on " + std::to_string(s.slow_callees.size()) + " of its " +
           std::to_string(s.callees) + " callees (" + List(s.slow_callees) +
           "), so the delay is on " + s.service + "'s side (CPU, network or a pool); largest: ";
  }
  if (most(s.slow_callers.size(), s.callers)) {
    return std::to_string(s.slow_callers.size()) + " of its " + std::to_string(s.callers) +
           " callers wait longer on " + s.service + " (" + List(s.slow_callers) +
           "), so the delay is on " + s.service + "'s side; largest: ";
  }
  return "";
}

}  // namespace

TraceLatencyEvidence ComputeTraceEvidence(const std::vector<ingest::Span>& baseline,
                                          const std::vector<ingest::Span>& window) {
  TraceLatencyEvidence out;
  if (baseline.empty() || window.empty()) return out;
  const traces::Attribution a = traces::AttributeLatency(baseline, window);
  out.baseline_traces = a.baseline_traces;
  out.window_traces = a.window_traces;
  if (a.window_traces == 0) return out;
  out.margin = static_cast<double>(a.slow_traces) / a.window_traces / kSlowFraction;
  for (const auto& s : a.suspects) {
    if (s.score <= 0) continue;
    TraceServiceEvidence e;
    e.strength = s.score;
    for (const auto& row : a.rows) {
      if (row.service != s.service && row.peer_service != s.service) continue;
      e.indicator = row.operation;
      e.explanation =
          EdgeSentence(s) +
          (row.peer_service.empty()
               ? row.service + " " + row.operation + " self time"
               : row.service + " waiting on " + row.peer_service + " in " + row.operation) +
          " " + Num(row.slow_self_ms) + " ms per slow trace vs " + Num(row.normal_self_ms) +
          " ms usual (x" + Num((row.slow_self_ms + 1) / (row.normal_self_ms + 1)) + "), " +
          Num(100 * row.share) + " % of the extra time in " + std::to_string(a.slow_traces) +
          " of " + std::to_string(a.window_traces) + " traces";
      break;
    }
    // Keep the strongest per service (suspects are unique per service; kept for safety).
    auto& cur = out.services[s.service];
    if (e.strength > cur.strength) cur = std::move(e);
  }
  return out;
}

}  // namespace backsight::incidents
