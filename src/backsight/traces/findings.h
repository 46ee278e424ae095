// Named trace findings (issue 9): `n_plus_one` (one parent issuing many sequential calls of the
// same normalised database statement or the same downstream (service, operation)),
// `retry_storm` (the same child operation called again under one parent after failures) and
// `error_cascade` (an error that starts at one span, the origin: it erred and none of its
// descendants did, and shows up shortly after in erring ancestor spans of other services, i.e.
// upstream along the service graph's edges; a client or producer span does not count, as its
// error is the failed call itself, not its service failing: a retried call is no cascade). Spans
// are grouped by trace id; a trace is finalised (analysed and forgotten) once `window_ns` of span
// time has passed since its latest span, or early when more than `max_traces` are open.
// Thresholds follow the usual N+1 detectors, e.g. Sentry's performance issues
// (docs.sentry.io/product/issues/issue-details/performance-issues/n-one-queries/): at least 5
// repeated spans with the same description under one parent.
#ifndef BACKSIGHT_TRACES_FINDINGS_H_
#define BACKSIGHT_TRACES_FINDINGS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/ingest/span_batch.h"
#include "backsight/traces/findings_stats.h"
#include "backsight/traces/retry_ratio.h"

namespace backsight::traces {

/// Replaces the literals of SQL text `sql` with `?`: numbers, single-quoted strings ('' escapes)
/// and IN lists (`IN (1, 2, 3)` -> `IN (?)`); runs of whitespace become one space. After the
/// OpenTelemetry database semantic conventions' query sanitisation (db.query.text).
std::string NormalizeSqlStatement(std::string_view sql);
/// As above into `*out` (replaced; its memory reused: no allocation once warm).
void NormalizeSqlStatement(std::string_view sql, std::string* out);

/// Groups spans per trace and finds N+1, retry-storm and error-cascade patterns in each trace
/// once it is finalised; the findings and their statistics are added up in a FindingsStats, its
/// own or one shared by several detectors (each then holding the traces of some trace ids).
/// Not thread-safe itself (the shared FindingsStats is).
class FindingsDetector {
 public:
  /// A trace with no new span for 30 s of span time is complete (the OpenTelemetry Collector's
  /// tail sampling processor waits `decision_wait` = 30 s by default).
  static constexpr int64_t kDefaultWindowNs = 30'000'000'000;
  /// Open traces kept at most (the tail sampling processor's `num_traces` default is 50,000).
  static constexpr size_t kDefaultMaxTraces = 50000;
  /// Spans kept per trace; further spans are dropped and counted (bounds one runaway trace).
  static constexpr size_t kMaxSpansPerTrace = 10000;
  /// Span slots reserved for a new trace (typical traces hold a few to a few dozen spans).
  static constexpr size_t kInitialSpansPerTrace = 16;
  /// N+1: at least this many calls of one operation under one parent (Sentry: >= 5 repeats).
  static constexpr size_t kMinRepeats = 5;
  /// N+1: at least this share of consecutive calls must not overlap ("mostly sequential"; an
  /// N+1 loop awaits each call, a fan-out overlaps them).
  static constexpr double kMinSequentialShare = 0.8;
  /// N+1: a call still counts as following the previous one when it starts less than this before
  /// the previous one ended: clocks of span timestamps are coarser than spans are short (the
  /// OpenTelemetry JS SDK 2.x writes start times in whole milliseconds, end times finer, so an
  /// awaited call "starts" up to 1 ms before its predecessor ends).
  static constexpr int64_t kClockSlackNs = 1'000'000;
  /// Retry storm: at least this many calls following a failed call of the same operation under
  /// one parent (one or two retries are normal client policy, e.g. Envoy's default num_retries
  /// 1; three or more is a storm).
  static constexpr size_t kMinRetries = 3;
  /// Error cascade: an ancestor's error counts as caused by the origin's when the ancestor ends
  /// at most this long after the origin (10 s: a caller that waits longer than the usual client
  /// timeouts, e.g. gRPC deadlines and HTTP client defaults of a few seconds, failed on its own).
  static constexpr int64_t kMaxCascadeDelayNs = 10'000'000'000;
  /// Upstream services listed per error_cascade finding.
  static constexpr size_t kMaxUpstreamServices = FindingsStats::kMaxUpstreamServices;
  /// (kind, service, operation) findings kept; past it the least recently seen is forgotten.
  static constexpr size_t kDefaultMaxFindings = FindingsStats::kDefaultMaxFindings;
  /// Operations with call statistics (the "normal" of the scores); further ones are not scored.
  static constexpr size_t kMaxOperations = FindingsStats::kMaxOperations;

  /// With findings and statistics of its own.
  explicit FindingsDetector(int64_t window_ns = kDefaultWindowNs,
                            size_t max_traces = kDefaultMaxTraces,
                            size_t max_findings = kDefaultMaxFindings);
  /// Adding up into `shared` (not owned; must outlive this detector).
  FindingsDetector(int64_t window_ns, size_t max_traces, FindingsStats* shared);

  /// Adds one span that arrived at `arrival_ns` (any clock, used only by ExpireQuiet); may
  /// finalise traces whose window of span time has passed.
  void Add(const ingest::Span& span, int64_t arrival_ns = 0);
  /// As Add, with the span's per-span preparation done by the caller (outside any lock):
  /// `trace_key` = TraceKey(span.trace_id), `statement` = the normalised db statement
  /// (NormalizeSqlStatement of StatementOf(span)), "" when none.
  void Add(const ingest::Span& span, int64_t arrival_ns, uint64_t trace_key,
           std::string_view statement);
  /// Moves this detector's span time on to `now_ns` (the newest span end seen by any detector
  /// sharing its statistics) and finalises the traces whose window has passed.
  void AdvanceSpanTime(int64_t now_ns);
  /// The 64-bit key of a trace id (std::hash; two ids colliding would merge two traces, at a
  /// chance of ~n^2 / 2^65).
  static uint64_t TraceKey(std::string_view trace_id) {
    return std::hash<std::string_view>()(trace_id);
  }
  /// The span's db statement as written (db.query.text, else db.statement), "" when none.
  static std::string_view StatementOf(const ingest::Span& span);
  /// Finalises the traces with no span arrived since `now_ns - window_ns` (the clock of
  /// Add's `arrival_ns`): a server calls it on a timer so traces end when their spans stop
  /// coming, whatever their span times.
  void ExpireQuiet(int64_t now_ns);
  /// Finalises every open trace (end of input).
  void Flush();
  /// Findings of the finalised traces, highest score first (FindingsStats::Findings).
  std::vector<Finding> Findings() const { return stats_->Findings(); }
  /// Moves the retry-ratio buckets closed so far (by finalised traces) into `*out`; with
  /// `flush`, closes the open ones first (end of input).
  void TakeRetryRatios(std::vector<RetryRatioBucket>* out, bool flush = false) {
    stats_->TakeRetryRatios(out, flush);
  }

  /// Appends the findings and the per-operation statistics they are scored against (not the
  /// open traces nor the open retry-ratio buckets) to `*out` (FindingsStats::SaveState).
  void SaveState(std::string* out) const { stats_->SaveState(out); }
  /// Replaces the findings and statistics with a SaveState image (FindingsStats::RestoreState).
  Status RestoreState(std::string_view data) { return stats_->RestoreState(data); }

  size_t open_traces() const { return traces_.size(); }
  /// Traces finalised before their window passed because `max_traces` were open.
  uint64_t traces_finalised_early() const { return finalised_early_; }
  /// Spans dropped because their trace already held kMaxSpansPerTrace spans.
  uint64_t dropped_spans() const { return dropped_spans_; }
  /// (kind, service, operation) findings forgotten to keep at most `max_findings`.
  uint64_t evicted_findings() const { return stats_->evicted_findings(); }
  /// (kind, service, operation) findings kept.
  size_t kept_findings() const { return stats_->kept_findings(); }
  /// Traces finalised so far.
  uint64_t finalised_traces() const { return finalised_; }

 private:
  // Names (service, span name, normalised statement) are interned: a node holds 32-bit ids, so
  // adding a span copies no string and the finalise passes compare integers. Ids are valid until
  // CompactNames, which renumbers the names of the open traces.
  static constexpr uint32_t kNoName = UINT32_MAX;
  // Interned names kept at least before CompactNames drops those of finalised traces (the table
  // then grows to twice the live names).
  static constexpr size_t kMinNameCap = 1 << 16;
  // One kept span. Ids are kept as 64-bit hashes of their text (std::hash; two ids of one trace
  // colliding would only misplace one parent link).
  struct Node {
    uint64_t span_id;
    uint64_t parent_id;
    int64_t start_ns, end_ns;
    uint32_t service;    // interned
    uint32_t name;       // interned span name
    uint32_t statement;  // interned normalised db statement, kNoName when none
    bool has_parent;
    bool error;
    bool client;  // kind CLIENT or PRODUCER: the calling side of an edge
    // What the findings name: the statement, else the span name.
    uint32_t operation() const { return statement == kNoName ? name : statement; }
  };
  struct Trace {
    std::string id;  // the trace id's text (example_trace_id of findings)
    int64_t last_ns = INT64_MIN;
    int64_t last_arrival_ns = INT64_MIN;
    std::vector<Node> spans;
  };
  // Heterogeneous string hash (lookups by string_view without a copy).
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using NameMap = std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>>;
  uint32_t Intern(std::string_view name);
  // Intern for service names, remembering the last one: the spans of a request come grouped by
  // resource, so most spans repeat the previous span's service (no hash then).
  uint32_t ServiceId(std::string_view service);
  void CompactNames();
  const std::string& NameOf(uint32_t id) const { return *names_[id]; }
  void Finalise(Trace& trace);
  // True when `next` starts after `prev` ends (up to kClockSlackNs early).
  static bool Follows(const Node& prev, const Node& next);
  CountsRef* RefOf(uint32_t service, uint32_t operation) {
    return &counts_refs_[(static_cast<uint64_t>(service) << 32) | operation];
  }
  // Append the trace's call groups / origin errors to report_ (FindRepeats reorders `spans`).
  void FindRepeats(std::vector<Node>& spans);
  void FindCascades(const std::vector<Node>& spans);
  void Expire();
  // Finalises the traces at the front of `order` (oldest time first) whose time `last` (the
  // Trace member: last_ns or last_arrival_ns) is before `cutoff`; a trace whose time moved on
  // since it was queued is queued again at that time, an entry of an erased trace is skipped.
  void ExpireOrder(std::deque<std::pair<int64_t, uint64_t>>* order, int64_t Trace::*last,
                   int64_t cutoff);

  int64_t window_ns_;
  size_t max_traces_;
  std::unique_ptr<FindingsStats> own_stats_;  // null when shared
  FindingsStats* stats_;
  TraceReport report_;                               // the trace being finalised (memory reused)
  std::string statement_;                            // scratch of Add (normalised statement)
  std::vector<size_t> parent_;                       // scratch of FindCascades
  std::vector<bool> erring_below_;                   // scratch of FindCascades
  std::vector<uint32_t> reached_;                    // scratch of FindCascades
  std::unordered_map<uint64_t, size_t> span_index_;  // scratch of FindCascades
  // Open traces by the 64-bit hash of their id (std::hash; two ids colliding would merge two
  // traces, at a chance of ~n^2 / 2^65).
  std::unordered_map<uint64_t, Trace> traces_;
  // The trace of the previous span (spans of a trace mostly arrive together); null after any
  // erase. Element pointers of an unordered_map survive rehashing.
  Trace* last_trace_ = nullptr;
  uint64_t last_trace_key_ = 0;
  std::deque<std::pair<int64_t, uint64_t>> order_;  // (last span end at push, trace key)
  // (last arrival at push, trace key), for ExpireQuiet.
  std::deque<std::pair<int64_t, uint64_t>> arrival_order_;
  int64_t now_ns_ = INT64_MIN;
  NameMap name_ids_;                       // name -> id
  std::vector<const std::string*> names_;  // id -> name (keys of name_ids_)
  size_t name_cap_ = kMinNameCap;
  uint32_t last_service_ = kNoName;  // ServiceId's last name
  // (service id << 32 | operation id) -> the shared statistics' entry (cleared with the ids).
  std::unordered_map<uint64_t, CountsRef> counts_refs_;
  uint64_t finalised_early_ = 0;
  uint64_t dropped_spans_ = 0;
  uint64_t finalised_ = 0;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_FINDINGS_H_
