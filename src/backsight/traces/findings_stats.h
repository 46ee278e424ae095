// The aggregate half of the trace findings (issue 9): what the analysis of every finalised trace
// adds up to. Per (service, operation) the "normal" the findings are scored against (how many
// parents made how many calls / retries, how many origin errors reached how many upstream
// services), the findings per (kind, service, operation) and the per-minute retry ratio of every
// child operation. A traces::FindingsDetector analyses one trace at a time and hands its
// TraceReport here; several detectors (the shards of serve's trace findings, one per group of
// trace ids) may share one FindingsStats, which is why it is thread-safe: one short critical
// section per finalised trace, so that the scores, the findings cap and the retry-ratio buckets
// are the same as with one detector.
#ifndef BACKSIGHT_TRACES_FINDINGS_STATS_H_
#define BACKSIGHT_TRACES_FINDINGS_STATS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backsight/core/status.h"
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
  /// FindingsStats::kMaxUpstreamServices). Empty for the other kinds.
  std::vector<std::string> upstream_services;
};

/// A detector's cached reference to the statistics of one (service, operation), so that most
/// call groups skip the lookup by name: FindingsStats::Add fills and reads it under its lock;
/// RestoreState invalidates every reference (a new generation).
struct CountsRef {
  void* counts = nullptr;
  uint64_t generation = 0;
};

/// What the analysis of one finalised trace found. Names are views that must stay valid until
/// FindingsStats::Add returns (a detector's interned names). Reused from trace to trace (Clear
/// keeps the memory).
struct TraceReport {
  /// The calls of one (service, operation) under one parent span.
  struct CallGroup {
    std::string_view service;
    std::string_view name;       ///< Span name of the calls (the retry ratio's operation).
    std::string_view operation;  ///< Normalised db statement, else the span name.
    int64_t start_ns = 0;        ///< Start of the first call.
    size_t calls = 0;
    size_t retries = 0;          ///< Calls that followed a failed call of the group.
    const char* kind = nullptr;  ///< FindingsStats::kNPlusOne / kRetryStorm, or null.
    size_t value = 0;            ///< What the kind counts (calls or retries).
    CountsRef* ref = nullptr;    ///< The detector's cache for (service, operation), or null.
  };
  /// One origin error: an erring span none of whose descendants erred.
  struct Origin {
    std::string_view service, operation;
    int64_t start_ns = 0;
    /// Upstream services the error reached: reached[reached_begin, reached_end) of the report.
    size_t reached_begin = 0, reached_end = 0;
    CountsRef* ref = nullptr;  ///< The detector's cache for (service, operation), or null.
  };
  std::string_view trace_id;
  std::vector<CallGroup> groups;  // parents' call groups (root spans are nobody's calls)
  std::vector<Origin> origins;
  std::vector<std::string_view> reached;  // sorted, unique per origin

  void Clear() {
    trace_id = {};
    groups.clear();
    origins.clear();
    reached.clear();
  }
};

/// The findings and the statistics they are scored against. Thread-safe (one mutex; every
/// member function locks it).
class FindingsStats {
 public:
  static constexpr const char* kNPlusOne = "n_plus_one";
  static constexpr const char* kRetryStorm = "retry_storm";
  static constexpr const char* kErrorCascade = "error_cascade";
  /// (kind, service, operation) findings kept; past it the least recently seen is forgotten.
  static constexpr size_t kDefaultMaxFindings = 1000;
  /// Operations with call statistics (the "normal" of the scores); further ones are not scored.
  static constexpr size_t kMaxOperations = 10000;
  /// Upstream services listed per error_cascade finding.
  static constexpr size_t kMaxUpstreamServices = 16;

  explicit FindingsStats(size_t max_findings = kDefaultMaxFindings) : max_findings_(max_findings) {}
  FindingsStats(const FindingsStats&) = delete;
  FindingsStats& operator=(const FindingsStats&) = delete;

  /// Counts the call groups and origin errors of one finalised trace and records its findings.
  void Add(const TraceReport& report);
  /// Findings so far, highest score first.
  std::vector<Finding> Findings() const;
  /// Moves the retry-ratio buckets closed so far into `*out`; with `flush`, closes the open ones
  /// first (end of input).
  void TakeRetryRatios(std::vector<RetryRatioBucket>* out, bool flush = false);
  /// Appends the findings and the per-operation statistics (not the open retry-ratio buckets)
  /// to `*out`; layout in docs/formats.md §5d (magic `BSTF`, version 1).
  void SaveState(std::string* out) const;
  /// Replaces the findings and statistics with a SaveState image. Corruption (naming the field)
  /// on a damaged or foreign image, leaving the statistics unchanged. Entries past the caps
  /// (kMaxOperations, max_findings) are skipped.
  Status RestoreState(std::string_view data);

  /// (kind, service, operation) findings forgotten to keep at most `max_findings`.
  uint64_t evicted_findings() const;
  /// (kind, service, operation) findings kept.
  size_t kept_findings() const;

 private:
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
  // Heterogeneous string hash (lookups by string_view without a copy).
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using Key = std::tuple<std::string, std::string, std::string>;
  Counts* CountsOf(std::string_view service, std::string_view operation);
  // CountsOf through `ref` when it is current, else looked up and remembered in it.
  Counts* CountsOf(std::string_view service, std::string_view operation, CountsRef* ref);
  Aggregate& Found(const char* kind, std::string_view service, std::string_view operation,
                   int64_t seen_ns);

  mutable std::mutex mu_;
  size_t max_findings_;
  std::map<std::pair<std::string, std::string>, Counts> counts_;
  // service + '\0' + operation -> its entry of counts_ (found by a scratch key: no allocation).
  std::unordered_map<std::string, Counts*, NameHash, std::equal_to<>> counts_index_;
  std::string key_;          // scratch key of counts_index_
  uint64_t generation_ = 1;  // of CountsRefs; RestoreState moves it on
  std::map<Key, Aggregate> found_;
  RetryRatioWindows retry_windows_;
  std::vector<RetryRatioBucket> retry_closed_;
  uint64_t evicted_findings_ = 0;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_FINDINGS_STATS_H_
