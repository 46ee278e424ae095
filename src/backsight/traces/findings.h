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
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/ingest/span_batch.h"
#include "backsight/traces/retry_ratio.h"

namespace backsight::traces {

/// One finding, aggregated over every parent span where the pattern was seen.
struct Finding {
  std::string kind;  ///< "n_plus_one", "retry_storm" or "error_cascade".
  /// Service of the repeated child spans (error_cascade: of the origin span).
  std::string service;
  std::string operation;  ///< Normalised db statement, else the span name.
  /// Worst repeats (n_plus_one: calls; retry_storm: calls after a failure) per parent divided by
  /// the median of the same count over all parents calling this operation (>= 1 when the median
  /// is 0). error_cascade: most upstream services reached by one origin error divided by the
  /// median over all errors of the operation (contained errors count 0; >= 1 when it is 0).
  double score = 0;
  std::string example_trace_id;  ///< The trace with the worst repeats (services reached).
  std::string explanation;       ///< One sentence with the figures behind the score.
  uint64_t count = 0;  ///< Parents (error_cascade: origin errors) where the pattern was seen.
  /// Span time (ns since the epoch) of the first and last trace where it was seen (start of the
  /// repeated calls / of the origin span).
  int64_t first_seen_ns = 0, last_seen_ns = 0;
  /// error_cascade: the upstream services the errors reached (sorted; at most
  /// FindingsDetector::kMaxUpstreamServices). Empty for the other kinds.
  std::vector<std::string> upstream_services;
};

/// Replaces the literals of SQL text `sql` with `?`: numbers, single-quoted strings ('' escapes)
/// and IN lists (`IN (1, 2, 3)` -> `IN (?)`); runs of whitespace become one space. After the
/// OpenTelemetry database semantic conventions' query sanitisation (db.query.text).
std::string NormalizeSqlStatement(std::string_view sql);

/// Finds N+1 and retry-storm patterns in spans added in any order within a trace's window.
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
  static constexpr size_t kMaxUpstreamServices = 16;
  /// (kind, service, operation) findings kept; past it the least recently seen is forgotten.
  static constexpr size_t kDefaultMaxFindings = 1000;
  /// Operations with call statistics (the "normal" of the scores); further ones are not scored.
  static constexpr size_t kMaxOperations = 10000;

  explicit FindingsDetector(int64_t window_ns = kDefaultWindowNs,
                            size_t max_traces = kDefaultMaxTraces,
                            size_t max_findings = kDefaultMaxFindings)
      : window_ns_(window_ns), max_traces_(max_traces), max_findings_(max_findings) {}

  /// Adds one span that arrived at `arrival_ns` (any clock, used only by ExpireQuiet); may
  /// finalise traces whose window of span time has passed.
  void Add(const ingest::Span& span, int64_t arrival_ns = 0);
  /// Finalises the traces with no span arrived since `now_ns - window_ns` (the clock of
  /// Add's `arrival_ns`): a server calls it on a timer so traces end when their spans stop
  /// coming, whatever their span times.
  void ExpireQuiet(int64_t now_ns);
  /// Finalises every open trace (end of input).
  void Flush();
  /// Findings of the finalised traces, highest score first.
  std::vector<Finding> Findings() const;
  /// Moves the retry-ratio buckets closed so far (by finalised traces) into `*out`; with
  /// `flush`, closes the open ones first (end of input).
  void TakeRetryRatios(std::vector<RetryRatioBucket>* out, bool flush = false);

  /// Appends the findings and the per-operation statistics they are scored against (not the
  /// open traces nor the open retry-ratio buckets) to `*out`; layout in docs/formats.md §5d
  /// (magic `BSTF`, version 1).
  void SaveState(std::string* out) const;
  /// Replaces the findings and statistics with a SaveState image. Corruption (naming the field)
  /// on a damaged or foreign image, leaving this detector unchanged. Entries past the caps
  /// (kMaxOperations, max_findings) are skipped.
  Status RestoreState(std::string_view data);

  size_t open_traces() const { return traces_.size(); }
  /// Traces finalised before their window passed because `max_traces` were open.
  uint64_t traces_finalised_early() const { return finalised_early_; }
  /// Spans dropped because their trace already held kMaxSpansPerTrace spans.
  uint64_t dropped_spans() const { return dropped_spans_; }
  /// (kind, service, operation) findings forgotten to keep at most `max_findings`.
  uint64_t evicted_findings() const { return evicted_findings_; }
  /// (kind, service, operation) findings kept.
  size_t kept_findings() const { return found_.size(); }
  /// Traces finalised so far.
  uint64_t finalised_traces() const { return finalised_; }

 private:
  // One kept span. Ids are kept as 64-bit hashes of their text (std::hash; two ids of one trace
  // colliding would only misplace one parent link).
  struct Node {
    uint64_t span_id;
    uint64_t parent_id;
    bool has_parent;
    bool error;
    bool client;  // kind CLIENT or PRODUCER: the calling side of an edge
    std::string service;
    std::string name;       // the span name
    std::string statement;  // normalised db statement, "" when none
    int64_t start_ns, end_ns;
    // What the findings name: the statement, else the span name.
    const std::string& operation() const { return statement.empty() ? name : statement; }
  };
  struct Trace {
    int64_t last_ns = INT64_MIN;
    int64_t last_arrival_ns = INT64_MIN;
    std::vector<Node> spans;
  };
  // One (kind, service, operation) aggregate.
  struct Aggregate {
    size_t worst = 0;
    uint64_t count = 0;  // parents (origin errors) where the pattern was found
    std::string example_trace_id;
    int64_t first_ns = 0, last_ns = 0;
    std::set<std::string> upstream;
  };
  // Per (service, operation): how many parents had how many calls / retries, and how many of
  // its origin errors reached how many upstream services.
  struct Counts {
    std::map<size_t, uint64_t> calls, retries, cascades;
  };
  using Key = std::tuple<std::string, std::string, std::string>;
  void Finalise(const std::string& trace_id, Trace& trace);
  // True when `next` starts after `prev` ends (up to kClockSlackNs early).
  static bool Follows(const Node& prev, const Node& next);
  void FindRepeats(const std::string& trace_id, std::vector<Node>& spans);
  void FindCascades(const std::string& trace_id, const std::vector<Node>& spans);
  Counts* CountsOf(const std::string& service, const std::string& operation);
  Aggregate& Found(const char* kind, const std::string& service, const std::string& operation,
                   int64_t seen_ns);
  void Expire();

  int64_t window_ns_;
  size_t max_traces_;
  size_t max_findings_;
  std::unordered_map<std::string, Trace> traces_;
  // The trace of the previous span (spans of a trace mostly arrive together); null after any
  // erase. Element pointers of an unordered_map survive rehashing.
  Trace* last_trace_ = nullptr;
  const std::string* last_trace_id_ = nullptr;
  std::deque<std::pair<int64_t, std::string>> order_;  // (last span end at push, trace id)
  int64_t now_ns_ = INT64_MIN;
  std::map<std::pair<std::string, std::string>, Counts> counts_;
  std::map<Key, Aggregate> found_;
  RetryRatioWindows retry_windows_;
  std::vector<RetryRatioBucket> retry_closed_;
  uint64_t finalised_early_ = 0;
  uint64_t dropped_spans_ = 0;
  uint64_t evicted_findings_ = 0;
  uint64_t finalised_ = 0;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_FINDINGS_H_
