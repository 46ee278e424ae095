#include "backsight/incidents/root_cause.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <unordered_map>

#include "backsight/core/hash.h"
#include "backsight/core/number_format.h"
#include "backsight/incidents/trace_evidence.h"
#include "backsight/logs/miner.h"

namespace backsight::incidents {
namespace {

// The window starts this long before the alert: an alert fires after its cause (Nezha's labels
// are themselves +-1 min, nezha_ob/README.md "Ground-truth caveats").
constexpr int64_t kLeadS = 60;
// MAD to standard deviation of a normal distribution (Hampel 1974).
constexpr double kMadToSigma = 1.4826;
// Robust scale floor, as a fraction of |median|: a 10 % move is not extreme for any series
// (the trivial baseline of nezha_ob/README.md uses the same floor).
constexpr double kRelScaleFloor = 0.1;
// The baseline's kTailQuantile absolute deviation is taken as kTailSigmas standard deviations
// (90 % of a normal distribution lies within 1.645 sigma), so a series that often spikes (a
// syscall or network counter with periodic bursts) is judged against its usual spikes; the 90 %
// point stays below the few samples an earlier incident in the same hour leaves.
constexpr double kTailQuantile = 0.9;
constexpr double kTailSigmas = 1.645;
// A deviation must hold this many samples of the window (Prometheus' `for:` in samples).
constexpr size_t kSustainSamples = 2;
// Fewest baseline samples for a metric series to be judged: three, the fewest whose median and
// MAD withstand one outlier (breakdown point floor((n - 1) / 2) of n samples, Hampel 1974); of two
// the "median" is their mean, so a series that started minutes before the alert (the first fault
// of a session) would be judged by whatever its first sample was.
constexpr size_t kMinBaselineSamples = 3;
// Significance of a source's leader (the "no cause" rule): robust z of a metric; deviance
// residual of a log template (~N(0,1) under the Poisson null, so 5 is a 1-in-3.5-million
// event before the multiplicity of a few hundred templates); the fraction of the window's
// traces slower than their baseline p90 (0.1 expected; twice that is a real rise).
constexpr double kMetricZ = 8.0;
constexpr double kLogZ = 5.0;
// Call latency is heavy-tailed (queueing: a busy minute doubles a median without any fault), so
// its robust z must be twice the metric one; injected delays move it by 10-1000 sigmas.
constexpr double kCallZ = 2 * kMetricZ;
// Sources whose leaders must agree to name a cause when none is significant alone.
constexpr int kAgreeingSources = 2;
// A caller gives way to a callee scoring at least this share of its own score.
constexpr double kCalleeShare = 0.5;
// Fewest spans of an operation, in each period, for its call structure to be compared.
constexpr double kMinStructureSpans = 10;
// Rise in the share of an operation's spans whose last call reaches a service for that service
// to be named where the calls stop: a tenth of the spans (below that, the usual mix of
// request types moves it).
constexpr double kStopLift = 0.1;
// Call trees are walked at most this far when their size is compared (a bound on the work, far
// above the largest trees seen: Online Boutique's PlaceOrder has about 80 spans).
constexpr size_t kMaxSubtreeSpans = 4096;
// A log line an operation writes in at least this share of its baseline spans is one its code
// path always reaches (below, a branch); fewest spans per period to judge (as kMinStructureSpans
// but smaller: an operation's lines are sparser than its calls, Train Ticket runs ~1 req/s).
constexpr double kUsualLineShare = 0.9;
constexpr double kMinSpanLogSpans = 5;
// Fewest failed traces for the trace spectrum to speak (fewer is anecdote).
constexpr double kMinFailedTraces = 3;
// Weight of the call depth in the spectrum score, relative to one failed trace.
constexpr double kDepthTieBreak = 0.5;
// A template unseen in the baseline is expected at half a line per baseline period (a
// Jeffreys-like prior, so a new template is surprising in proportion to its count).
constexpr double kNewTemplatePrior = 0.5;

struct Evidence {
  double strength = 0;
  std::string indicator;
  std::string explanation;
};

using ServiceEvidence = std::map<std::string, Evidence>;

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), v.begin() + mid)) / 2;
  return m;
}

std::string Clock(TimestampNs ts) {
  const std::string s = FormatTimestamp(ts - ts % kNanosPerSecond);
  const size_t sp = s.find(' ');
  return sp == std::string::npos ? s : s.substr(sp + 1);
}

std::string Num(double v) { return FormatDouble(v, 3); }

void Keep(ServiceEvidence* out, const std::string& service, Evidence e) {
  auto& cur = (*out)[service];
  if (e.strength > cur.strength) cur = std::move(e);
}

// ---- metrics ----------------------------------------------------------------------------------

// A latency or duration metric (by its name or unit suffix, Prometheus naming conventions:
// `_seconds`; or a "(s)"/"(ms)" unit): a callee's delay shows in every caller's latency, so
// these say little about where a fault is; latency is judged from traces, where self time
// separates a service's own delay from its callees'.
bool IsDurationMetric(std::string_view name) {
  std::string lower(name);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto ends = [&](std::string_view suffix) {
    return lower.size() >= suffix.size() &&
           lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return lower.find("latency") != std::string::npos ||
         lower.find("duration") != std::string::npos || ends("_seconds") || ends("(s)") ||
         ends("_ms") || ends("(ms)") || ends("_milliseconds");
}

// A traffic metric (Google SRE's golden signals: latency, traffic, errors, saturation): bytes,
// packets, system calls, requests or operations per unit of time. Traffic follows the load,
// which has bursts of its own (batch jobs, retries); it ranks services but alone it names no
// cause: a fault shows as saturation (CPU, memory) or errors.
bool IsTrafficMetric(std::string_view name) {
  std::string lower(name);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (std::string_view word :
       {"bytes", "packets", "syscall", "request", "ops", "workload", "throughput", "network"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// How far a window moved from its baseline: the kSustainSamples-th largest robust z of the
// window (a fault lasts minutes, a burst one sample) against the baseline median, the scale
// the largest of 1.4826 MAD, kRelScaleFloor of |median| and the baseline's kTailQuantile
// excursion / kTailSigmas. `judged` is false for an unused counter (median and MAD 0) or when
// either side is too short.
struct Shift {
  bool judged = false;
  double z = 0;        ///< Robust sigmas (>= 0).
  double value = 0;    ///< The window value of that z.
  double median = 0;   ///< Baseline median.
  TimestampNs at = 0;  ///< Earliest of the kSustainSamples largest deviations.
};

Shift JudgeShift(const std::vector<double>& base,
                 const std::vector<std::pair<TimestampNs, double>>& window) {
  Shift out;
  if (window.empty() || base.size() < kMinBaselineSamples) return out;
  const double med = Median(base);
  std::vector<double> dev;
  dev.reserve(base.size());
  for (double v : base) dev.push_back(std::fabs(v - med));
  const double mad = Median(dev);
  if (med == 0 && mad == 0) return out;  // an unused counter: nothing to judge a move by
  // The baseline's own kTailQuantile excursion counts as kTailSigmas (see there).
  const size_t q = static_cast<size_t>(kTailQuantile * (dev.size() - 1));
  std::nth_element(dev.begin(), dev.begin() + q, dev.end());
  const double scale = std::max({kMadToSigma * mad, kRelScaleFloor * std::fabs(med),
                                 dev[q] / kTailSigmas, std::numeric_limits<double>::min()});
  struct Point {
    double z;
    TimestampNs ts;
    double v;
  };
  std::vector<Point> pts;
  for (const auto& [ts, v] : window) pts.push_back({std::fabs(v - med) / scale, ts, v});
  std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.z > b.z; });
  const size_t top_k = std::min<size_t>(kSustainSamples, pts.size());
  out.judged = true;
  out.z = pts[top_k - 1].z;
  out.value = pts[top_k - 1].v;
  out.median = med;
  out.at = pts[0].ts;
  for (size_t i = 0; i < top_k; ++i) out.at = std::min(out.at, pts[i].ts);
  return out;
}

ServiceEvidence MetricEvidence(const CaseData& c, TimestampNs window_start,
                               double* top_cause_strength) {
  *top_cause_strength = 0;
  struct Series {
    const MetricRow* any = nullptr;
    std::vector<double> base;
    std::vector<std::pair<TimestampNs, double>> window;
  };
  std::unordered_map<std::string, Series> series;
  auto key = [](const MetricRow& r) { return r.service + '\x1f' + r.instance + '\x1f' + r.metric; };
  const bool own_baseline = !c.baseline.metrics.empty();
  for (const auto& r : c.baseline.metrics) {
    if (std::isfinite(r.value) && !IsDurationMetric(r.metric))
      series[key(r)].base.push_back(r.value);
  }
  for (const auto& r : c.recorded.metrics) {
    if (!std::isfinite(r.value) || IsDurationMetric(r.metric)) continue;
    Series& s = series[key(r)];
    s.any = &r;
    if (r.ts >= window_start) {
      s.window.emplace_back(r.ts, r.value);
    } else if (!own_baseline) {
      s.base.push_back(r.value);
    }
  }
  // A host's metric repeated on each of its pods (the same value at the same time under several
  // services) says nothing about which of them is at fault: a series most of whose window
  // samples are repeated so is skipped.
  auto sample_key = [](const std::string& metric, TimestampNs ts, double v) {
    return (std::hash<std::string>{}(metric)*1099511628211ull ^ static_cast<uint64_t>(ts)) *
               1099511628211ull ^
           std::hash<double>{}(v);
  };
  std::unordered_map<uint64_t, std::set<std::string>> services_by_sample;
  for (const auto& [k, s] : series) {
    if (s.any == nullptr) continue;
    for (const auto& [ts, v] : s.window) {
      if (v != 0) services_by_sample[sample_key(s.any->metric, ts, v)].insert(s.any->service);
    }
  }
  auto shared = [&](const Series& s) {
    size_t repeated = 0;
    for (const auto& [ts, v] : s.window) {
      auto it = services_by_sample.find(sample_key(s.any->metric, ts, v));
      repeated += it != services_by_sample.end() && it->second.size() > 1;
    }
    return 2 * repeated > s.window.size();
  };
  ServiceEvidence out;
  for (auto& [k, s] : series) {
    if (s.any == nullptr || s.window.empty() || shared(s)) continue;
    const Shift sh = JudgeShift(s.base, s.window);
    if (!sh.judged) continue;
    const double best = sh.z, at_value = sh.value, med = sh.median;
    const TimestampNs at = sh.at;
    Evidence e;
    e.strength = best;
    e.indicator = s.any->metric;
    if (!IsTrafficMetric(s.any->metric)) *top_cause_strength = std::max(*top_cause_strength, best);
    const double factor = med != 0 ? at_value / med : 0;
    e.explanation =
        s.any->metric + " of " + (s.any->instance.empty() ? s.any->service : s.any->instance) +
        (at_value > med ? " rose to " : " fell to ") + Num(at_value) + " at " + Clock(at) +
        " from a usual " + Num(med) + (med != 0 ? " (x" + Num(factor) + ")" : std::string()) +
        ", " + Num(best) + " robust sigmas";
    Keep(&out, s.any->service, std::move(e));
  }
  // The source's significance comes from cause metrics, so its vote goes to their leader: a
  // traffic metric may tie it but not outrank it (a burst of system calls in another service
  // would otherwise take the vote a CPU or memory shift earned).
  if (*top_cause_strength >= kMetricZ) {
    for (auto& [svc, e] : out) {
      if (IsTrafficMetric(e.indicator)) e.strength = std::min(e.strength, *top_cause_strength);
    }
  }
  return out;
}

// ---- call latency -----------------------------------------------------------------------------

// Per call edge (calls.csv), the caller-side latency against its baseline (JudgeShift, rises
// only): a call's latency as its caller sees it is the callee's time plus the network to it, so
// a delay injected into or at a callee slows every edge into it (MicroRCA, Wu et al. 2020, reads
// the same service-mesh edge latencies). The callee takes the largest z of its inbound edges.
ServiceEvidence CallEvidence(const CaseData& c, TimestampNs window_start, double* top) {
  *top = 0;
  struct Series {
    std::vector<double> base;
    std::vector<std::pair<TimestampNs, double>> window;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Series> series;
  const bool own_baseline = !c.baseline.calls.empty();
  for (const auto& r : c.baseline.calls) {
    if (std::isfinite(r.value)) series[{r.callee, r.caller, r.metric}].base.push_back(r.value);
  }
  for (const auto& r : c.recorded.calls) {
    if (!std::isfinite(r.value)) continue;
    Series& s = series[{r.callee, r.caller, r.metric}];
    if (r.ts >= window_start) {
      s.window.emplace_back(r.ts, r.value);
    } else if (!own_baseline) {
      s.base.push_back(r.value);
    }
  }
  ServiceEvidence out;
  for (const auto& [key, s] : series) {
    const auto& [callee, caller, metric] = key;
    const Shift sh = JudgeShift(s.base, s.window);
    if (!sh.judged || sh.value <= sh.median) continue;
    Evidence e;
    e.strength = sh.z;
    e.indicator = metric;
    e.explanation = metric + " of calls from " + caller + " rose to " + Num(sh.value) + " at " +
                    Clock(sh.at) + " from a usual " + Num(sh.median) +
                    (sh.median != 0 ? " (x" + Num(sh.value / sh.median) + ")" : std::string()) +
                    ", " + Num(sh.z) + " robust sigmas";
    *top = std::max(*top, sh.z);
    Keep(&out, callee, std::move(e));
  }
  return out;
}

// ---- logs -------------------------------------------------------------------------------------

// True when a log template reads as an error or warning: a level word or a failure word
// (case-insensitive), e.g. "ERROR", "Exception", "failed", "refused", "timed out".
bool IsErrorTemplate(std::string_view text) {
  std::string lower(text);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (std::string_view word : {"error", "exception", "fail", "fatal", "panic", "refused",
                                "timeout", "timed out", "unavailable", "denied", "warn"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

ServiceEvidence LogEvidence(const CaseData& c, TimestampNs window_start,
                            std::set<std::string>* error_traces) {
  std::vector<const LogRecord*> base, window;
  const bool own_baseline = !c.baseline.logs.empty();
  for (const auto& r : c.baseline.logs) base.push_back(&r);
  for (const auto& r : c.recorded.logs) {
    if (r.ts >= window_start) {
      window.push_back(&r);
    } else if (!own_baseline) {
      base.push_back(&r);
    }
  }
  ServiceEvidence out;
  if (window.empty() || base.empty()) return out;
  logs::TemplateMiner miner;
  struct Counts {
    double base = 0, window = 0;
    TimestampNs first_window = std::numeric_limits<TimestampNs>::max();
  };
  // (service, template id) -> counts; per-service totals.
  std::map<std::pair<std::string, uint32_t>, Counts> counts;
  std::map<std::string, std::pair<double, double>> totals;
  for (const auto* r : base) {
    const uint32_t id = miner.Add(r->body).template_id;
    counts[{r->service, id}].base += 1;
    totals[r->service].first += 1;
  }
  std::vector<const LogRecord*> sorted = window;
  std::sort(sorted.begin(), sorted.end(),
            [](const LogRecord* a, const LogRecord* b) { return a->ts < b->ts; });
  std::vector<uint32_t> window_ids;
  window_ids.reserve(sorted.size());
  for (const auto* r : sorted) {
    const uint32_t id = miner.Add(r->body).template_id;
    window_ids.push_back(id);
    Counts& k = counts[{r->service, id}];
    k.window += 1;
    k.first_window = std::min(k.first_window, r->ts);
    totals[r->service].second += 1;
  }
  std::set<std::pair<std::string, uint32_t>> significant_templates;
  double all_base = 0, all_window = 0;
  for (const auto& [s, t] : totals) all_base += t.first, all_window += t.second;
  for (const auto& [k, n] : counts) {
    const auto& [service, id] = k;
    const auto& t = totals[service];
    // Expected window lines at the service's own volume ratio (its traffic may rise or fall as a
    // whole); a service silent in the baseline takes the whole system's ratio.
    const double ratio = t.first > 0 ? t.second / t.first : all_window / all_base;
    const double e = (n.base > 0 ? n.base : kNewTemplatePrior) * ratio;
    if (e <= 0) continue;
    const double w = n.window;
    const double dev = 2 * ((w > 0 ? w * std::log(w / e) : 0) - (w - e));
    const double z = std::sqrt(std::max(0.0, dev));
    const logs::LogTemplate* tpl = miner.Find(id);
    if (tpl == nullptr || z <= 0) continue;
    // Only error templates that appear or surge: the mix of ordinary lines follows the
    // workload, which differs between any two periods.
    if (w <= e || !IsErrorTemplate(tpl->text)) continue;
    if (z >= kLogZ) significant_templates.insert(k);
    Evidence ev;
    ev.strength = z;
    ev.indicator = tpl->text;
    if (n.base == 0) {
      ev.explanation = "log template `" + tpl->text + "` appeared at " + Clock(n.first_window) +
                       ": " + Num(w) + " lines, none in the baseline";
    } else if (w > e) {
      ev.explanation = "log template `" + tpl->text + "` surged x" + Num(w / e) + " (" + Num(w) +
                       " lines, " + Num(e) + " expected) from " + Clock(n.first_window);
    } else {
      ev.explanation = "log template `" + tpl->text + "` " +
                       (w == 0 ? std::string("stopped") : "fell to x" + Num(w / e)) + " (" +
                       Num(w) + " lines, " + Num(e) + " expected)";
    }
    Keep(&out, service, std::move(ev));
  }
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!sorted[i]->trace_id.empty() &&
        significant_templates.count({sorted[i]->service, window_ids[i]})) {
      error_traces->insert(sorted[i]->trace_id);
    }
  }
  return out;
}

// ---- trace spectrum of the error traces -------------------------------------------------------

// Spectrum-based localisation (Ochiai coefficient, Abreu et al. 2007; on traces as in
// TraceRCA, Li et al. 2021): a window trace is failed when it holds a line of a significant
// error template; a service scores ef / sqrt((ef + nf) (ef + ep)) (ef/ep: failed/passed traces
// through it, nf: failed traces without it). A fault's callers log the errors; the spectrum
// points at the service those traces have in common, and among equals at the deepest (an
// exception stops the calls below it).
ServiceEvidence SpectrumEvidence(const CaseData& c, TimestampNs window_start,
                                 const std::set<std::string>& error_traces, double* margin) {
  ServiceEvidence out;
  *margin = 0;
  // trace -> spans of the window
  std::unordered_map<std::string, std::vector<const ingest::Span*>> traces;
  for (const auto& sp : c.recorded.spans) {
    if (sp.start_ns >= window_start) traces[sp.trace_id].push_back(&sp);
  }
  struct Tally {
    double ef = 0, ep = 0, depth_sum = 0;
  };
  std::map<std::string, Tally> tally;
  double failed = 0, passed = 0;
  for (const auto& [id, spans] : traces) {
    const bool is_failed = error_traces.count(id) > 0;
    (is_failed ? failed : passed) += 1;
    std::unordered_map<std::string_view, const ingest::Span*> by_id;
    for (const auto* sp : spans) by_id[sp->span_id] = sp;
    std::map<std::string, int> depth;  // service -> smallest depth in this trace
    for (const auto* sp : spans) {
      int d = 0;
      for (const ingest::Span* p = sp; d < 64;) {
        auto it = by_id.find(p->parent_span_id);
        if (p->parent_span_id.empty() || it == by_id.end()) break;
        p = it->second;
        ++d;
      }
      auto [it, fresh] = depth.emplace(sp->service, d);
      if (!fresh) it->second = std::min(it->second, d);
    }
    for (const auto& [svc, d] : depth) {
      Tally& t = tally[svc];
      (is_failed ? t.ef : t.ep) += 1;
      if (is_failed) t.depth_sum += d;
    }
  }
  *margin = failed / kMinFailedTraces;
  if (failed < kMinFailedTraces) return out;
  double max_depth = 1;
  for (const auto& [svc, t] : tally) {
    if (t.ef > 0) max_depth = std::max(max_depth, t.depth_sum / t.ef);
  }
  for (const auto& [svc, t] : tally) {
    if (t.ef == 0) continue;
    const double ochiai = t.ef / std::sqrt(failed * (t.ef + t.ep));
    const double depth = t.depth_sum / t.ef;
    Evidence e;
    // Depth breaks ties only: it adds less than one failed trace would.
    e.strength = ochiai + kDepthTieBreak * depth / max_depth / failed;
    e.indicator = "error traces";
    e.explanation = "in " + Num(t.ef) + " of the " + Num(failed) +
                    " traces with new error logs (and " + Num(t.ep) + " of " + Num(passed) +
                    " others), at call depth " + Num(depth);
    Keep(&out, svc, std::move(e));
  }
  return out;
}

// ---- call structure ---------------------------------------------------------------------------

// The spans of one period indexed by parent: a span is keyed by (trace id, span id), so equal
// span ids in two traces stay apart; a key held by several spans (invalid input) is read once,
// through the first span that holds it, so duplicates cannot multiply the work.
class SpanIndex {
 public:
  explicit SpanIndex(const std::vector<ingest::Span>& spans) {
    for (const auto& sp : spans) {
      first_.try_emplace(Key(sp), &sp);
      if (!sp.parent_span_id.empty()) {
        children_[SpanKey{sp.trace_id, sp.parent_span_id}].push_back(&sp);
      }
    }
  }
  SpanIndex(const SpanIndex&) = delete;
  SpanIndex& operator=(const SpanIndex&) = delete;

  /// The child spans of `sp` (spans whose parent is its key); null when none.
  const std::vector<const ingest::Span*>* Children(const ingest::Span& sp) const {
    auto it = children_.find(Key(sp));
    return it == children_.end() ? nullptr : &it->second;
  }
  /// False for a span whose key an earlier span of the period already holds.
  bool IsFirst(const ingest::Span& sp) const {
    auto it = first_.find(Key(sp));
    return it != first_.end() && it->second == &sp;
  }
  /// Size of the call tree under `sp`, itself included, at most kMaxSubtreeSpans. Each key is
  /// computed once (an iterative post-order walk; a parent cycle's back edge counts nothing), so
  /// all sizes together cost O(spans) whatever the shape.
  size_t TreeSize(const ingest::Span& sp) const {
    constexpr size_t kOpen = static_cast<size_t>(-1);
    if (auto it = tree_size_.find(Key(sp)); it != tree_size_.end()) {
      return it->second == kOpen ? 0 : it->second;
    }
    std::vector<std::pair<SpanKey, size_t>> stack;  // key, index of the next child to visit
    tree_size_[Key(sp)] = kOpen;
    stack.emplace_back(Key(sp), 0);
    while (!stack.empty()) {
      const SpanKey key = stack.back().first;
      auto it = children_.find(key);
      if (it != children_.end() && stack.back().second < it->second.size()) {
        const SpanKey child = Key(*it->second[stack.back().second++]);
        if (tree_size_.try_emplace(child, kOpen).second) stack.emplace_back(child, 0);
        continue;
      }
      size_t n = 1;
      if (it != children_.end()) {
        for (const ingest::Span* k : it->second) {
          const size_t m = tree_size_[Key(*k)];
          if (m != kOpen) n = std::min(kMaxSubtreeSpans, n + m);
        }
      }
      tree_size_[key] = n;
      stack.pop_back();
    }
    return tree_size_[Key(sp)];
  }

 private:
  using SpanKey = std::pair<std::string_view, std::string_view>;
  struct KeyHash {
    size_t operator()(const SpanKey& k) const {
      return HashCombine(std::hash<std::string_view>()(k.first),
                         std::hash<std::string_view>()(k.second));
    }
  };
  static SpanKey Key(const ingest::Span& sp) { return {sp.trace_id, sp.span_id}; }

  std::unordered_map<SpanKey, std::vector<const ingest::Span*>, KeyHash> children_;
  std::unordered_map<SpanKey, const ingest::Span*, KeyHash> first_;
  mutable std::unordered_map<SpanKey, size_t, KeyHash> tree_size_;
};

// Whether a callee returned as complete a call tree as usual: its tree sizes vary in `usual` (so a
// size can tell) and the median of `now` is at least that of `usual`. Sets the two medians.
bool CalleeTreeComplete(const std::vector<double>& usual, const std::vector<double>& now,
                        double* usual_median, double* now_median) {
  if (usual.empty() || now.empty()) return false;
  const auto [lo, hi] = std::minmax_element(usual.begin(), usual.end());
  *usual_median = Median(usual);
  *now_median = Median(now);
  return *lo < *hi && *now_median >= *usual_median;
}

// Where a code path now stops (Nezha's event-transition patterns, Yu et al. 2023, read from the
// order of a span's child calls): per (service, operation, child operation), how often the child
// is the span's last call. Where the baseline nearly always continues after the call (at most
// 1 - kUsualLineShare of its calls are last), a rise over the baseline (Poisson deviance, the
// baseline share smoothed by half a stop) means the span now ends after that call. Who stopped it:
// the callee, when its call now returns a smaller call tree than usual (it failed part way) or when
// the size of its call tree never varies (nothing tells; an error returned by a callee is the usual
// reason a caller skips its remaining calls); the caller, when the callee's call tree is as
// complete as usual (the callee did its whole job, so the caller failed after it returned). A call
// within the caller's own service is the caller's.
template <typename Reached>
void StopAfterCallEvidence(const CaseData& c, TimestampNs window_start, const SpanIndex& base_ix,
                           const SpanIndex& rec_ix, const Reached& reached, ServiceEvidence* out) {
  struct Transition {
    double calls = 0, last = 0;
    std::vector<double> tree;  // baseline: every call's tree size; window: those it stopped after
    std::string callee;
  };
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::array<Transition, 2>> trans;
  auto add = [&](const ingest::Span& sp, const SpanIndex& ix, int period) {
    const auto* kids = ix.IsFirst(sp) ? ix.Children(sp) : nullptr;
    if (kids == nullptr) return;
    const ingest::Span* last = kids->front();
    for (const ingest::Span* k : *kids) {
      if (k->start_ns > last->start_ns) last = k;
    }
    for (const ingest::Span* k : *kids) {
      Transition& t = trans[Key{sp.service, sp.name, k->name}][period];
      t.calls += 1;
      const bool is_last = k == last;
      if (is_last) t.last += 1;
      if (period == 0 || is_last) t.tree.push_back(static_cast<double>(ix.TreeSize(*k)));
      if (t.callee.empty()) t.callee = reached(ix, sp, *k);
    }
  };
  const bool own_baseline = !c.baseline.spans.empty();
  for (const auto& sp : own_baseline ? c.baseline.spans : c.recorded.spans) {
    if (own_baseline || sp.start_ns < window_start) add(sp, own_baseline ? base_ix : rec_ix, 0);
  }
  for (const auto& sp : c.recorded.spans) {
    if (sp.start_ns >= window_start) add(sp, rec_ix, 1);
  }
  for (auto& [key, t] : trans) {
    Transition& b = t[0];
    Transition& w = t[1];
    if (b.calls < kMinStructureSpans || w.calls < kMinStructureSpans) continue;
    // Only a call the code path usually continues after (as kUsualLineShare for log lines): where
    // the baseline often ends there, its share moves with the mix of requests.
    if (b.last > (1 - kUsualLineShare) * b.calls) continue;
    const double e = w.calls * (b.last + 0.5) / (b.calls + 1);
    const double x = w.last;
    if (x <= e) continue;
    const double dev = 2 * (x * std::log(x / e) - (x - e));
    const auto& [service, op, child] = key;
    const std::string callee = w.callee.empty() ? b.callee : w.callee;
    double usual_tree = 0, now_tree = 0;
    const bool complete = CalleeTreeComplete(b.tree, w.tree, &usual_tree, &now_tree);
    const std::string& origin = callee == service || complete ? service : callee;
    Evidence ev;
    ev.strength = std::sqrt(std::max(0.0, dev));
    ev.indicator = op;
    auto count = [](double n) { return std::to_string(static_cast<int64_t>(n)); };
    ev.explanation = service + " " + op + " now ends after its call " + child + " in " + count(x) +
                     " of " + count(w.calls) + " calls (usually " + Num(100 * b.last / b.calls) +
                     " %)";
    if (callee != service) {
      ev.explanation += complete ? "; " + callee + " returned as complete a call tree as usual (" +
                                       Num(now_tree) + " spans, usually " + Num(usual_tree) +
                                       "), so " + service + " stopped after it returned"
                                 : "; the call reaches " + callee;
    }
    Keep(out, origin, std::move(ev));
  }
}

// Child calls per span of each (service, operation), window against baseline: an early return or
// an exception skips the calls after it, so the span that stopped calling is where the code
// path changed (its callers still call it; its callees just see fewer calls). Per operation the
// window's child count is compared with the baseline's mean times the window's span count, as a
// Poisson deviance residual (as the log templates).
// Where the calls stopped says who failed (the error origin: an error a callee returns makes its
// caller skip the rest of its calls). Per operation, the service each span's last child call
// reaches (the first service other than the caller's below it) is tallied over the window's
// short spans (fewer children than the baseline mean) and over the baseline's spans; the
// service whose share rises most takes the evidence when it is another service (kStopLift:
// the call after which spans now stop), else the operation's own service does. It stays with the
// operation's own service when the callee returned as complete a call tree as usual for the call
// the short spans most often stop after (CalleeTreeComplete, as in StopAfterCallEvidence).
ServiceEvidence StructureEvidence(const CaseData& c, TimestampNs window_start) {
  ServiceEvidence out;
  const bool own_baseline = !c.baseline.spans.empty();
  struct Tally {
    double spans = 0, children = 0;
    std::map<std::string, double> last;  // service the last child call reaches -> spans
    // (service a child call reaches, the call's operation) -> the call's tree sizes (spans):
    // baseline, every call; window, the last call of the short spans (as `last`)
    std::map<std::pair<std::string, std::string>, std::vector<double>> tree;
  };
  // (service, operation) -> [baseline, window]; the window's `last` counts short spans only,
  // filled in a second pass once the baseline mean is known.
  std::map<std::pair<std::string, std::string>, std::array<Tally, 2>> tally;
  // The service the call `child` of a `caller` span reaches: the child's own service when it
  // differs, else that of the first child below it in another service (a client span's server
  // span), else the caller's.
  auto reached = [](const SpanIndex& ix, const ingest::Span& caller, const ingest::Span& child) {
    if (child.service != caller.service) return child.service;
    if (const auto* kids = ix.Children(child)) {
      for (const ingest::Span* g : *kids) {
        if (g->service != caller.service) return g->service;
      }
    }
    return caller.service;
  };
  // Also sets *last_call to the last call (nullptr without calls).
  auto last_reached = [&](const SpanIndex& ix, const ingest::Span& sp, size_t* n,
                          const ingest::Span** last_call) {
    const auto* kids = ix.Children(sp);
    *n = kids == nullptr ? 0 : kids->size();
    *last_call = nullptr;
    if (*n == 0) return sp.service;
    const ingest::Span* last = kids->front();
    for (const ingest::Span* k : *kids) {
      if (k->start_ns > last->start_ns) last = k;
    }
    *last_call = last;
    return reached(ix, sp, *last);
  };
  const SpanIndex base_ix(c.baseline.spans), rec_ix(c.recorded.spans);
  auto add_base = [&](const std::vector<ingest::Span>& spans, const SpanIndex& ix, bool split) {
    for (const auto& sp : spans) {
      if ((split && sp.start_ns >= window_start) || !ix.IsFirst(sp)) continue;
      Tally& t = tally[{sp.service, sp.name}][0];
      size_t n = 0;
      const ingest::Span* last_call = nullptr;
      t.last[last_reached(ix, sp, &n, &last_call)] += 1;
      if (const auto* kids = ix.Children(sp)) {
        for (const ingest::Span* k : *kids) {
          t.tree[{reached(ix, sp, *k), k->name}].push_back(static_cast<double>(ix.TreeSize(*k)));
        }
      }
      t.spans += 1;
      t.children += static_cast<double>(n);
    }
  };
  if (own_baseline) {
    add_base(c.baseline.spans, base_ix, false);
  } else {
    add_base(c.recorded.spans, rec_ix, true);
  }
  for (const auto& sp : c.recorded.spans) {
    if (sp.start_ns < window_start || !rec_ix.IsFirst(sp)) continue;
    auto& t = tally[{sp.service, sp.name}];
    size_t n = 0;
    const ingest::Span* last_call = nullptr;
    const std::string stop = last_reached(rec_ix, sp, &n, &last_call);
    t[1].spans += 1;
    t[1].children += static_cast<double>(n);
    if (t[0].spans > 0 && static_cast<double>(n) < t[0].children / t[0].spans) {
      t[1].last[stop] += 1;
      if (last_call != nullptr) {
        t[1].tree[{stop, last_call->name}].push_back(
            static_cast<double>(rec_ix.TreeSize(*last_call)));
      }
    }
  }
  for (const auto& [key, t] : tally) {
    const Tally& b = t[0];
    const Tally& w = t[1];
    if (b.spans < kMinStructureSpans || w.spans < kMinStructureSpans || b.children == 0) continue;
    const double e = b.children / b.spans * w.spans;
    const double x = w.children;
    if (x >= e) continue;  // more calls: retries or load, not a skipped code path
    const double dev = 2 * ((x > 0 ? x * std::log(x / e) : 0) - (x - e));
    std::string origin = key.first;
    double best_lift = kStopLift, origin_share = 0, origin_usual = 0;
    for (const auto& [svc, n] : w.last) {
      auto it = b.last.find(svc);
      const double share = n / w.spans, usual = it == b.last.end() ? 0 : it->second / b.spans;
      if (share - usual > best_lift) {
        best_lift = share - usual, origin = svc, origin_share = share, origin_usual = usual;
      }
    }
    Evidence ev;
    ev.strength = std::sqrt(std::max(0.0, dev));
    ev.indicator = key.second;
    ev.explanation = key.first + " " + key.second + " made " + Num(x / w.spans) +
                     " calls per span instead of " + Num(b.children / b.spans) + " (" +
                     std::to_string(static_cast<int64_t>(w.spans)) + " spans): calls skipped";
    if (origin != key.first) {
      ev.explanation += "; " + Num(100 * origin_share) + " % of its spans now stop after calling " +
                        origin + " (usually " + Num(100 * origin_usual) + " %)";
      // As in StopAfterCallEvidence: a callee that returned its whole call tree did its job.
      double usual_tree = 0, now_tree = 0;
      // The call the short spans most often stop after, among those reaching `origin`.
      auto wt = w.tree.end();
      for (auto it = w.tree.lower_bound({origin, ""});
           it != w.tree.end() && it->first.first == origin; ++it) {
        if (wt == w.tree.end() || it->second.size() > wt->second.size()) wt = it;
      }
      const auto bt = wt == w.tree.end() ? b.tree.end() : b.tree.find(wt->first);
      if (bt != b.tree.end() && wt != w.tree.end() &&
          CalleeTreeComplete(bt->second, wt->second, &usual_tree, &now_tree)) {
        ev.explanation += "; " + origin + " returned as complete a call tree as usual (" +
                          Num(now_tree) + " spans, usually " + Num(usual_tree) + "), so " +
                          key.first + " stopped after it returned";
        origin = key.first;
      }
    }
    Keep(&out, origin, std::move(ev));
  }
  StopAfterCallEvidence(c, window_start, base_ix, rec_ix, reached, &out);
  return out;
}

// ---- missing span logs -------------------------------------------------------------------------

// The code location a log line names, if any: the first token ending in `#<digits>` or
// `:<digits>` right after a letter (logback's `%logger#%line`, Go's `file.go:23`, Python's
// `%(filename)s:%(lineno)d`), e.g. "t.s.TravelServiceImpl#457"; empty when none. The template
// miner masks the line number as a variable; here it tells two lines of one template apart.
std::string_view CodeLocation(std::string_view body) {
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
    size_t j = i;
    while (j < body.size() && !std::isspace(static_cast<unsigned char>(body[j]))) ++j;
    const std::string_view tok = body.substr(i, j - i);
    size_t d = tok.size();
    while (d > 0 && std::isdigit(static_cast<unsigned char>(tok[d - 1]))) --d;
    if (d >= 2 && d < tok.size() && (tok[d - 1] == '#' || tok[d - 1] == ':') &&
        std::isalpha(static_cast<unsigned char>(tok[d - 2]))) {
      return tok;
    }
    i = j;
  }
  return {};
}

// ---- log templates of span-joined lines (shared by the two sources below)
// -----------------------------------------------------------------------

// The template of every log line with a span id, mined once per case for the missing-log and
// stop-point sources: all lines (baseline, then recorded) are mined first so templates are
// settled, then the span-joined lines are mined again in the order the sources read them
// (baseline then recorded with a baseline of spans, else the recorded ones alone) and their
// template ids kept by line index.
struct SpanLogTemplates {
  logs::TemplateMiner miner;
  std::array<std::vector<uint32_t>, 2> ids;  // [0] baseline.logs, [1] recorded.logs, by index
};

std::unique_ptr<SpanLogTemplates> MineSpanLogTemplates(const CaseData& c) {
  auto out = std::make_unique<SpanLogTemplates>();
  for (const Telemetry* t : {&c.baseline, &c.recorded}) {
    for (const auto& r : t->logs) out->miner.Add(r.body);
  }
  const bool own_baseline = !c.baseline.spans.empty();
  for (int k : {0, 1}) {
    if (k == 0 && !own_baseline) continue;
    const std::vector<LogRecord>& logs = k == 0 ? c.baseline.logs : c.recorded.logs;
    out->ids[k].assign(logs.size(), 0);
    for (size_t i = 0; i < logs.size(); ++i) {
      if (!logs[i].span_id.empty()) out->ids[k][i] = out->miner.Add(logs[i].body).template_id;
    }
  }
  return out;
}

// A log event of the two sources below: its template and code location (CodeLocation).
using Event = std::pair<uint32_t, std::string_view>;

// Whether the two sources below have lines to read: recorded lines, and baseline lines when the
// case has a baseline of spans (else the recorded lines make both periods).
bool HasSpanLogLines(const CaseData& c) {
  return !c.recorded.logs.empty() && (c.baseline.spans.empty() || !c.baseline.logs.empty());
}

// Calls fn(record, template_id, period) for every log line with a span id, period 0 for the
// baseline and 1 for the window, in the order the two sources below read them: with a baseline
// of spans, the baseline's lines (0) then the recorded ones (1); else the recorded lines alone,
// 1 from `window_start` on and 0 before.
template <typename Fn>
void ForEachSpanLogLine(const CaseData& c, const SpanLogTemplates& span_logs,
                        TimestampNs window_start, Fn&& fn) {
  // fixed_period < 0: split at window_start.
  auto add_logs = [&](int k, int fixed_period) {
    const std::vector<LogRecord>& logs = k == 0 ? c.baseline.logs : c.recorded.logs;
    for (size_t i = 0; i < logs.size(); ++i) {
      const LogRecord& r = logs[i];
      if (r.span_id.empty()) continue;
      const int period = fixed_period >= 0 ? fixed_period : (r.ts >= window_start ? 1 : 0);
      fn(r, span_logs.ids[k][i], period);
    }
  };
  if (!c.baseline.spans.empty()) {
    add_logs(0, 0);
    add_logs(1, 1);
  } else {
    add_logs(1, -1);
  }
}

// Calls fn(span, period) for the spans the lines of ForEachSpanLogLine are joined to, split the
// same way: with a baseline of spans, the baseline's spans (0) then the recorded spans from
// `window_start` on (1; recorded spans that started before the window are neither, as in
// StructureEvidence); else the recorded spans alone by their start.
template <typename Fn>
void ForEachPeriodSpan(const CaseData& c, TimestampNs window_start, Fn&& fn) {
  auto add_spans = [&](const std::vector<ingest::Span>& spans, int fixed_period) {
    for (const auto& sp : spans) {
      if (fixed_period == 1 && sp.start_ns < window_start) continue;
      const int period = fixed_period >= 0 ? fixed_period : (sp.start_ns >= window_start ? 1 : 0);
      fn(sp, period);
    }
  };
  if (!c.baseline.spans.empty()) {
    add_spans(c.baseline.spans, 0);
    add_spans(c.recorded.spans, 1);
  } else {
    add_spans(c.recorded.spans, -1);
  }
}

// ---- missing span logs (events)
// -----------------------------------------------------------------------

// The log lines an operation's spans usually write (joined by span id), and how often its
// window spans still write them: code that now returns early or throws stops before the lines
// after the fault, so an ordinary line its spans nearly always wrote (share >= kUsualLineShare
// in the baseline) goes missing from many of them (Nezha, Yu et al. 2023: an event pair of the
// normal traces absent from the faulty ones). Per (service, operation, template), the window's
// spans with the line against the baseline share times the window's spans, as a Poisson
// deviance residual (significant: kLogZ). Error lines are left out: one that stops is good news.
ServiceEvidence MissingLogEvidence(const CaseData& c, const SpanLogTemplates& span_logs,
                                   TimestampNs window_start) {
  ServiceEvidence out;
  if (!HasSpanLogLines(c)) return out;
  const logs::TemplateMiner& miner = span_logs.miner;
  // span id -> events of its lines, per period (0 baseline, 1 window).
  std::array<std::unordered_map<std::string_view, std::set<Event>>, 2> lines;
  ForEachSpanLogLine(c, span_logs, window_start, [&](const LogRecord& r, uint32_t id, int period) {
    lines[period][r.span_id].insert({id, CodeLocation(r.body)});
  });
  struct Tally {
    double spans = 0;
    std::map<Event, double> with;  // event -> spans writing it
  };
  std::map<std::pair<std::string, std::string>, std::array<Tally, 2>> tally;
  ForEachPeriodSpan(c, window_start, [&](const ingest::Span& sp, int period) {
    Tally& t = tally[{sp.service, sp.name}][period];
    t.spans += 1;
    auto it = lines[period].find(sp.span_id);
    if (it == lines[period].end()) return;
    for (const Event& ev : it->second) t.with[ev] += 1;
  });
  for (const auto& [key, t] : tally) {
    const Tally& b = t[0];
    const Tally& w = t[1];
    if (b.spans < kMinSpanLogSpans || w.spans < kMinSpanLogSpans) continue;
    for (const auto& [event, n] : b.with) {
      const double share = n / b.spans;
      if (share < kUsualLineShare) continue;
      const logs::LogTemplate* tpl = miner.Find(event.first);
      if (tpl == nullptr || IsErrorTemplate(tpl->text)) continue;
      auto it = w.with.find(event);
      const double x = it == w.with.end() ? 0 : it->second, e = share * w.spans;
      if (x >= e) continue;
      const double dev = 2 * ((x > 0 ? x * std::log(x / e) : 0) - (x - e));
      Evidence ev;
      ev.strength = std::sqrt(std::max(0.0, dev));
      ev.indicator = event.second.empty() ? tpl->text : std::string(event.second);
      ev.explanation = key.second + " spans wrote `" + tpl->text + "`" +
                       (event.second.empty() ? "" : " (" + std::string(event.second) + ")") +
                       " in " + Num(x) + " of " + Num(w.spans) + " (usually " + Num(100 * share) +
                       " %): the code stops before it";
      Keep(&out, key.first, std::move(ev));
    }
  }
  return out;
}

// ---- log stop points ---------------------------------------------------------------------------

// Where each span's log lines now end: code that returns early or throws stops after the last
// line it still reaches, so for that line (or for the span's start, when it writes none) the share
// of spans that end there rises. Per (service, operation) and log event E (template + code
// location; or the span's start), the baseline's stop share at E among the spans that reached E,
// s / n, with a Jeffreys-like prior (s + kNewTemplatePrior) / (n + 1), predicts how many of the
// window's spans that reached E stop there; the Poisson deviance residual of the count that did
// is the strength (significant: kLogZ). This is a discrete hazard of the span's log sequence: it
// conditions on reaching E, so a request type that rises with the workload, and with it the
// spans that usually end at E, moves nothing (unlike the share of all the operation's spans,
// MissingLogEvidence). Error lines are left out of the sequences (an error that stops is good
// news, and an error line is where a failure is reported, not where code stops). Nezha (Yu et
// al. 2023) reads the same thing as an event pair of the normal traces missing from the faulty
// ones.
ServiceEvidence StopPointEvidence(const CaseData& c, const SpanLogTemplates& span_logs,
                                  TimestampNs window_start) {
  ServiceEvidence out;
  if (!HasSpanLogLines(c)) return out;
  const logs::TemplateMiner& miner = span_logs.miner;
  struct Line {
    TimestampNs ts;
    Event event;
  };
  // span id -> its lines, per period (0 baseline, 1 window); error lines dropped.
  std::array<std::unordered_map<std::string_view, std::vector<Line>>, 2> lines;
  std::unordered_map<uint32_t, bool> is_error;  // template id -> IsErrorTemplate
  ForEachSpanLogLine(c, span_logs, window_start, [&](const LogRecord& r, uint32_t id, int period) {
    auto [it, fresh] = is_error.emplace(id, false);
    if (fresh) {
      const logs::LogTemplate* tpl = miner.Find(id);
      it->second = tpl == nullptr || IsErrorTemplate(tpl->text);
    }
    if (it->second) return;
    lines[period][r.span_id].push_back({r.ts, {id, CodeLocation(r.body)}});
  });
  // The span's start, before any line.
  const Event kStart{std::numeric_limits<uint32_t>::max(), std::string_view()};
  struct Tally {
    std::map<Event, double> reached, stopped;
  };
  std::map<std::pair<std::string, std::string>, std::array<Tally, 2>> tally;
  ForEachPeriodSpan(c, window_start, [&](const ingest::Span& sp, int period) {
    Tally& t = tally[{sp.service, sp.name}][period];
    t.reached[kStart] += 1;
    auto it = lines[period].find(sp.span_id);
    if (it == lines[period].end() || it->second.empty()) {
      t.stopped[kStart] += 1;
      return;
    }
    std::vector<Line>& seq = it->second;
    std::stable_sort(seq.begin(), seq.end(),
                     [](const Line& a, const Line& b) { return a.ts < b.ts; });
    std::set<Event> seen;
    for (const Line& l : seq) seen.insert(l.event);
    for (const Event& e : seen) t.reached[e] += 1;
    t.stopped[seq.back().event] += 1;
  });
  for (const auto& [key, t] : tally) {
    const Tally& b = t[0];
    const Tally& w = t[1];
    for (const auto& [event, x] : w.stopped) {
      auto rb = b.reached.find(event);
      auto rw = w.reached.find(event);
      if (rb == b.reached.end() || rb->second < kMinSpanLogSpans || rw->second < kMinSpanLogSpans)
        continue;
      auto sb = b.stopped.find(event);
      const double usual =
          ((sb == b.stopped.end() ? 0 : sb->second) + kNewTemplatePrior) / (rb->second + 1);
      const double e = usual * rw->second;
      if (x <= e) continue;
      const double dev = 2 * (x * std::log(x / e) - (x - e));
      Evidence ev;
      ev.strength = std::sqrt(std::max(0.0, dev));
      if (event == kStart) {
        ev.indicator = key.second;
        ev.explanation = Num(x) + " of " + Num(rw->second) + " " + key.second +
                         " spans wrote none of their lines (usually " + Num(100 * usual) +
                         " %): the code stops before its first";
      } else {
        const logs::LogTemplate* tpl = miner.Find(event.first);
        const std::string text = tpl == nullptr ? std::string() : tpl->text;
        ev.indicator = event.second.empty() ? text : std::string(event.second);
        ev.explanation =
            Num(x) + " of " + Num(rw->second) + " " + key.second + " spans that wrote `" + text +
            "`" + (event.second.empty() ? "" : " (" + std::string(event.second) + ")") +
            " wrote nothing after it (usually " + Num(100 * usual) + " %): the code stops there";
      }
      Keep(&out, key.first, std::move(ev));
    }
  }
  return out;
}

// ---- traces -----------------------------------------------------------------------------------

// The window's spans against the baseline's (the case's baseline/ spans, else those before the
// window), by ComputeTraceEvidence (trace_evidence.h).
ServiceEvidence TraceEvidence(const CaseData& c, TimestampNs window_start, double* margin) {
  std::vector<ingest::Span> base, window;
  const bool own_baseline = !c.baseline.spans.empty();
  if (own_baseline) base = c.baseline.spans;
  for (const auto& s : c.recorded.spans) {
    if (s.start_ns >= window_start) {
      window.push_back(s);
    } else if (!own_baseline) {
      base.push_back(s);
    }
  }
  TraceLatencyEvidence te = ComputeTraceEvidence(base, window);
  *margin = te.margin;
  ServiceEvidence out;
  for (auto& [service, e] : te.services) {
    Keep(&out, service, {e.strength, std::move(e.indicator), std::move(e.explanation)});
  }
  return out;
}

// Caller -> callee service edges: graph.csv (case and baseline) and cross-service parent/child
// spans.
std::set<std::pair<std::string, std::string>> CallEdges(const CaseData& c) {
  std::set<std::pair<std::string, std::string>> edges;
  for (const Telemetry* t : {&c.recorded, &c.baseline}) {
    for (const auto& e : t->graph) edges.insert(e);
    std::unordered_map<std::string_view, const ingest::Span*> by_id;
    for (const auto& sp : t->spans) by_id[sp.span_id] = &sp;
    for (const auto& sp : t->spans) {
      auto it = by_id.find(sp.parent_span_id);
      if (it != by_id.end() && it->second->service != sp.service) {
        edges.emplace(it->second->service, sp.service);
      }
    }
  }
  return edges;
}

// ---- quiet callees ------------------------------------------------------------------------------

// A service gone quiet: one of its traffic series (IsTrafficMetric) is 0 in at least
// kSustainSamples window samples while at most a (1 - kTailQuantile) share of its baseline
// samples (at least kMinBaselineSamples) are 0, i.e. zero lies beyond the baseline's usual
// range. `quiet_at` receives the earliest such window sample of each quiet service.
std::set<std::string> QuietServices(const CaseData& c, TimestampNs window_start,
                                    std::map<std::string, TimestampNs>* quiet_at) {
  struct Series {
    size_t base = 0, base_zero = 0;
    std::vector<TimestampNs> window_zero;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Series> series;
  const bool own_baseline = !c.baseline.metrics.empty();
  auto count_base = [&](const MetricRow& r) {
    Series& s = series[{r.service, r.instance, r.metric}];
    ++s.base;
    s.base_zero += r.value == 0;
  };
  for (const auto& r : c.baseline.metrics) {
    if (std::isfinite(r.value) && IsTrafficMetric(r.metric)) count_base(r);
  }
  for (const auto& r : c.recorded.metrics) {
    if (!std::isfinite(r.value) || !IsTrafficMetric(r.metric)) continue;
    if (r.ts >= window_start) {
      if (r.value == 0) series[{r.service, r.instance, r.metric}].window_zero.push_back(r.ts);
    } else if (!own_baseline) {
      count_base(r);
    }
  }
  std::set<std::string> quiet;
  for (const auto& [key, s] : series) {
    if (s.base < kMinBaselineSamples || s.window_zero.size() < kSustainSamples ||
        static_cast<double>(s.base_zero) > (1 - kTailQuantile) * static_cast<double>(s.base)) {
      continue;
    }
    const std::string& svc = std::get<0>(key);
    quiet.insert(svc);
    const TimestampNs first = *std::min_element(s.window_zero.begin(), s.window_zero.end());
    auto [it, fresh] = quiet_at->emplace(svc, first);
    if (!fresh) it->second = std::min(it->second, first);
  }
  return quiet;
}

// Callees gone quiet behind a caller that is not: when the services whose traffic stopped
// (QuietServices) share exactly one caller (CallEdges) and that caller still has traffic, it is
// the one that stopped calling them -- its code now returns or throws before those calls (the
// call-structure evidence, read from metrics when a case has no spans of the window). Names that
// caller with strength 1; several or no common callers name nobody (the load itself may have
// paused). `margin` is 1 when it names a service, else 0.
ServiceEvidence QuietCalleeEvidence(const CaseData& c, TimestampNs window_start, double* margin) {
  *margin = 0;
  std::map<std::string, TimestampNs> quiet_at;
  const std::set<std::string> quiet = QuietServices(c, window_start, &quiet_at);
  ServiceEvidence out;
  if (quiet.empty()) return out;
  std::map<std::string, std::set<std::string>> callers;
  for (const auto& [caller, callee] : CallEdges(c)) callers[callee].insert(caller);
  std::set<std::string> common;
  bool first = true;
  for (const std::string& svc : quiet) {
    const std::set<std::string>& mine = callers[svc];
    if (first) {
      common = mine;
      first = false;
    } else {
      std::set<std::string> both;
      std::set_intersection(common.begin(), common.end(), mine.begin(), mine.end(),
                            std::inserter(both, both.begin()));
      common = std::move(both);
    }
  }
  for (const std::string& svc : quiet) common.erase(svc);
  if (common.size() != 1) return out;
  std::string names;
  TimestampNs at = quiet_at.begin()->second;
  for (const std::string& svc : quiet) {
    names += (names.empty() ? "" : ", ") + svc;
    at = std::min(at, quiet_at[svc]);
  }
  Evidence e;
  e.strength = 1;
  e.indicator = "calls to " + names;
  e.explanation = "stopped calling " + names + ": their traffic fell to 0 at " + Clock(at) +
                  " (usually busy), it is their only common caller and still serves";
  out[*common.begin()] = std::move(e);
  *margin = 1;
  return out;
}

// The weight of a significant source's vote: 1 + ln(margin) when its margin is a z-type
// statistic over its significance bar (metrics and call latency: robust z; logs, missing span
// logs, stop points and call structure: Poisson deviance residuals; all ~N(0,1) under the
// null), so a source far over its bar outweighs one just over it (at the bar 1, e times over 2;
// the logarithm keeps one extreme source from silencing all others). The error-trace spectrum
// (its margin counts failed traces), the latency attribution (a share of slow traces, at most
// 1 / kSlowFraction) and the quiet callees (a yes/no rule) have margins on other scales and vote 1.
double VoteWeight(EvidenceKind kind, double margin) {
  if (kind == EvidenceKind::kSpectrum || kind == EvidenceKind::kTrace ||
      kind == EvidenceKind::kQuietCallee) {
    return 1;
  }
  return 1 + std::log(std::max(1.0, margin));
}

SourceRanking ToRanking(EvidenceKind kind, const ServiceEvidence& ev, double margin) {
  SourceRanking r;
  r.kind = kind;
  r.margin = margin;
  r.significant = margin >= 1 && !ev.empty();
  for (const auto& [s, e] : ev) r.strengths.emplace_back(s, e.strength);
  std::stable_sort(r.strengths.begin(), r.strengths.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return r;
}

}  // namespace

RcaResult RankRootCauses(const CaseData& c, const RcaOptions& options) {
  const TimestampNs window_start = c.alert_time - kLeadS * kNanosPerSecond;
  // Spans and logs without a baseline/ period are split at the alert itself (issue 10: "else
  // data before alert_time"): they cover minutes, not the hour the metrics do, and what little
  // comes before the alert is all the baseline there is.
  const TimestampNs span_start = c.baseline.spans.empty() ? c.alert_time : window_start;
  const TimestampNs log_start = c.baseline.logs.empty() ? c.alert_time : window_start;
  RcaResult result;
  std::vector<std::pair<EvidenceKind, ServiceEvidence>> sources;
  // Keeps one source's evidence and its ranking, `margin` its statistic over its threshold.
  auto add_source = [&](EvidenceKind kind, ServiceEvidence&& ev, double margin) {
    result.sources.push_back(ToRanking(kind, ev, margin));
    sources.emplace_back(kind, std::move(ev));
  };
  // The strongest service's strength in `ev` (0 when empty), for the z-like sources.
  auto top_strength = [](const ServiceEvidence& ev) {
    double top = 0;
    for (const auto& [s, e] : ev) top = std::max(top, e.strength);
    return top;
  };
  if (options.use_metrics) {
    double top = 0;
    ServiceEvidence ev = MetricEvidence(c, window_start, &top);
    add_source(EvidenceKind::kMetric, std::move(ev), top / kMetricZ);
  }
  if (options.use_calls) {
    double top = 0;
    ServiceEvidence ev = CallEvidence(c, window_start, &top);
    add_source(EvidenceKind::kCall, std::move(ev), top / kCallZ);
  }
  std::set<std::string> error_traces;
  if (options.use_logs) {
    ServiceEvidence ev = LogEvidence(c, log_start, &error_traces);
    const double margin = top_strength(ev) / kLogZ;
    add_source(EvidenceKind::kLog, std::move(ev), margin);
  }
  if (options.use_logs && options.use_traces) {
    double margin = 0;
    ServiceEvidence ev = SpectrumEvidence(c, span_start, error_traces, &margin);
    add_source(EvidenceKind::kSpectrum, std::move(ev), margin);
  }
  std::unique_ptr<SpanLogTemplates> span_logs;  // mined once for the two sources below
  if (options.use_logs && options.use_traces &&
      (options.use_missing_logs || options.use_stop_points)) {
    span_logs = MineSpanLogTemplates(c);
  }
  if (options.use_logs && options.use_traces && options.use_missing_logs) {
    ServiceEvidence ev = MissingLogEvidence(c, *span_logs, span_start);
    const double margin = top_strength(ev) / kLogZ;
    add_source(EvidenceKind::kMissingLog, std::move(ev), margin);
  }
  if (options.use_logs && options.use_traces && options.use_stop_points) {
    ServiceEvidence ev = StopPointEvidence(c, *span_logs, span_start);
    const double margin = top_strength(ev) / kLogZ;
    add_source(EvidenceKind::kStopPoint, std::move(ev), margin);
  }
  if (options.use_traces) {
    ServiceEvidence ev = StructureEvidence(c, span_start);
    const double margin = top_strength(ev) / kLogZ;
    add_source(EvidenceKind::kStructure, std::move(ev), margin);
  }
  if (options.use_traces) {
    double margin = 0;
    ServiceEvidence ev = TraceEvidence(c, span_start, &margin);
    add_source(EvidenceKind::kTrace, std::move(ev), margin);
  }
  if (options.use_metrics && options.use_quiet_callees) {
    double margin = 0;
    ServiceEvidence ev = QuietCalleeEvidence(c, window_start, &margin);
    add_source(EvidenceKind::kQuietCallee, std::move(ev), margin);
  }
  // No source significant alone: two sources whose leaders agree are (independent weak
  // evidence pointing at the same service), and count together.
  bool any_significant = false;
  for (const auto& r : result.sources) any_significant |= r.significant;
  if (!any_significant) {
    std::map<std::string, int> leaders;
    for (const auto& r : result.sources) {
      if (!r.strengths.empty()) ++leaders[r.strengths.front().first];
    }
    for (auto& r : result.sources) {
      if (!r.strengths.empty() && leaders[r.strengths.front().first] >= kAgreeingSources) {
        r.significant = true;
        r.margin = 1;
      }
    }
  }
  // Sum of each significant source's strengths relative to its leader, times its vote weight.
  struct Acc {
    double score = 0;
    double best_part = -1;
    EvidenceKind kind = EvidenceKind::kMetric;
    const Evidence* best = nullptr;
  };
  std::map<std::string, Acc> acc;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (!result.sources[i].significant) continue;
    const double top = result.sources[i].strengths.front().second;
    const double weight = VoteWeight(sources[i].first, result.sources[i].margin);
    for (const auto& [s, e] : sources[i].second) {
      const double part = weight * e.strength / top;
      Acc& a = acc[s];
      a.score += part;
      if (part > a.best_part) a.best_part = part, a.kind = sources[i].first, a.best = &e;
    }
  }
  for (const auto& [s, a] : acc) {
    Cause cause;
    cause.service = s;
    cause.score = a.score;
    cause.kind = a.kind;
    cause.indicator = a.best->indicator;
    cause.explanation = s + ": " + a.best->explanation;
    result.causes.push_back(std::move(cause));
  }
  std::stable_sort(result.causes.begin(), result.causes.end(),
                   [](const Cause& a, const Cause& b) { return a.score > b.score; });
  if (options.use_graph && result.causes.size() > 1) {
    // A callee's fault shows upstream: a caller ranked above one of its callees whose score is
    // at least kCalleeShare of its own yields its place (one pass, best first).
    const auto edges = CallEdges(c);
    for (size_t i = 0; i + 1 < result.causes.size(); ++i) {
      for (size_t j = i + 1; j < result.causes.size(); ++j) {
        if (edges.count({result.causes[i].service, result.causes[j].service}) &&
            result.causes[j].score >= kCalleeShare * result.causes[i].score) {
          std::rotate(result.causes.begin() + i, result.causes.begin() + j,
                      result.causes.begin() + j + 1);
          break;
        }
      }
    }
  }
  if (result.causes.size() > options.top_k) result.causes.resize(options.top_k);
  return result;
}

}  // namespace backsight::incidents
