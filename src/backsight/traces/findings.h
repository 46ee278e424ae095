// Named trace findings (issue 9): `n_plus_one` (one parent issuing many sequential calls of the
// same normalised database statement or the same downstream (service, operation)) and
// `retry_storm` (the same child operation called again under one parent after failures). Spans
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
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backsight/ingest/span_batch.h"

namespace backsight::traces {

/// One finding, aggregated over every parent span where the pattern was seen.
struct Finding {
  std::string kind;       ///< "n_plus_one" or "retry_storm".
  std::string service;    ///< Service of the repeated child spans.
  std::string operation;  ///< Normalised db statement, else the child span name.
  /// Worst repeats (n_plus_one: calls; retry_storm: calls after a failure) per parent divided by
  /// the median of the same count over all parents calling this operation (>= 1 when the median
  /// is 0).
  double score = 0;
  std::string example_trace_id;  ///< The trace with the worst repeats.
  std::string explanation;       ///< One sentence with the figures behind the score.
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
  /// N+1: at least this many calls of one operation under one parent (Sentry: >= 5 repeats).
  static constexpr size_t kMinRepeats = 5;
  /// N+1: at least this share of consecutive calls must not overlap ("mostly sequential"; an
  /// N+1 loop awaits each call, a fan-out overlaps them).
  static constexpr double kMinSequentialShare = 0.8;
  /// Retry storm: at least this many calls following a failed call of the same operation under
  /// one parent (one or two retries are normal client policy, e.g. Envoy's default num_retries
  /// 1; three or more is a storm).
  static constexpr size_t kMinRetries = 3;

  explicit FindingsDetector(int64_t window_ns = kDefaultWindowNs,
                            size_t max_traces = kDefaultMaxTraces)
      : window_ns_(window_ns), max_traces_(max_traces) {}

  /// Adds one span; may finalise traces whose window has passed.
  void Add(const ingest::Span& span);
  /// Finalises every open trace (end of input).
  void Flush();
  /// Findings of the finalised traces, highest score first.
  std::vector<Finding> Findings() const;

  size_t open_traces() const { return traces_.size(); }
  /// Traces finalised before their window passed because `max_traces` were open.
  uint64_t traces_finalised_early() const { return finalised_early_; }
  /// Spans dropped because their trace already held kMaxSpansPerTrace spans.
  uint64_t dropped_spans() const { return dropped_spans_; }

 private:
  struct Child {
    std::string parent_span_id;
    std::string service;
    std::string operation;
    int64_t start_ns, end_ns;
    bool error;
  };
  struct Trace {
    int64_t last_ns = INT64_MIN;
    std::vector<Child> children;
  };
  // One (kind, service, operation) aggregate.
  struct Aggregate {
    size_t worst = 0;
    size_t parents = 0;  // parents where the pattern was found
    std::string example_trace_id;
  };
  // Per (service, operation): how many parents had how many calls / retries (clipped).
  struct Counts {
    std::map<size_t, uint64_t> calls, retries;
  };
  void Finalise(const std::string& trace_id, Trace& trace);
  void Expire();

  int64_t window_ns_;
  size_t max_traces_;
  std::unordered_map<std::string, Trace> traces_;
  std::deque<std::pair<int64_t, std::string>> order_;  // (last span end at push, trace id)
  int64_t now_ns_ = INT64_MIN;
  std::map<std::pair<std::string, std::string>, Counts> counts_;
  std::map<std::tuple<std::string, std::string, std::string>, Aggregate> found_;
  uint64_t finalised_early_ = 0;
  uint64_t dropped_spans_ = 0;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_FINDINGS_H_
