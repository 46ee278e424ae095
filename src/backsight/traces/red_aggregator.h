// Streaming RED (rate, errors, duration) per (service, span name, span kind, status code), exported
// with the OpenTelemetry Collector spanmetrics connector's names and labels
// (github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector):
// traces_span_metrics_calls_total and the traces_span_metrics_duration_seconds histogram, labels
// service_name, span_name, span_kind, status_code.
#ifndef BACKSIGHT_TRACES_RED_AGGREGATOR_H_
#define BACKSIGHT_TRACES_RED_AGGREGATOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backsight/core/hash.h"
#include "backsight/ingest/span_batch.h"
#include "backsight/traces/latency_histogram.h"

namespace backsight::traces {

/// One operation's RED summary over everything added (all kinds and statuses merged).
struct RedRow {
  std::string service;
  std::string operation;
  uint64_t calls = 0;
  uint64_t errors = 0;    ///< Spans with status ERROR.
  double rate_per_s = 0;  ///< calls / seconds between the first and last span start seen.
  double p50_ms = 0, p90_ms = 0, p99_ms = 0;
};

/// Aggregates spans; memory O(series), at most `max_series` series (further new series are
/// dropped and counted, as the connector's cardinality limit does).
class RedAggregator {
 public:
  /// Default series cap: the spanmetrics connector's default aggregation_cardinality_limit is
  /// unbounded; 10,000 series x ~2.9 KiB keeps a worst case under 30 MiB.
  static constexpr size_t kDefaultMaxSeries = 10000;

  explicit RedAggregator(size_t max_series = kDefaultMaxSeries) : max_series_(max_series) {}

  /// Counts one span.
  void Add(const ingest::Span& span);
  /// Per (service, operation) rows, sorted by service then operation.
  std::vector<RedRow> Rows() const;
  /// Appends the Prometheus text exposition of the spanmetrics series.
  void WritePrometheus(std::string* out) const;
  size_t series() const { return series_.size(); }
  uint64_t dropped_spans() const { return dropped_spans_; }
  /// Bytes held per series (key strings' heap parts excluded): the histogram, the key and the
  /// hash map node (next pointer, cached hash) and bucket pointer.
  static constexpr size_t kBytesPerSeries =
      sizeof(LatencyHistogram) + 2 * sizeof(std::string) + 8 + 3 * sizeof(void*);

 private:
  // Series key: service, span name, kind, status. Found by views (no string copies per span).
  template <typename S>
  struct KeyOf {
    S service, name;
    ingest::SpanKind kind;
    ingest::SpanStatus status;
  };
  using Key = KeyOf<std::string>;
  using KeyView = KeyOf<std::string_view>;
  struct KeyHash {
    using is_transparent = void;
    template <typename S>
    size_t operator()(const KeyOf<S>& k) const {
      const size_t h = std::hash<std::string_view>()(k.service);
      return HashCombine(h, std::hash<std::string_view>()(k.name) +
                                static_cast<size_t>(k.kind) * 3 + static_cast<size_t>(k.status));
    }
  };
  struct KeyEq {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const KeyOf<A>& a, const KeyOf<B>& b) const {
      return a.kind == b.kind && a.status == b.status && std::string_view(a.name) == b.name &&
             std::string_view(a.service) == b.service;
    }
  };
  // Series sorted by service, span name, kind, status (for stable output).
  std::vector<const std::pair<const Key, LatencyHistogram>*> Sorted() const;

  std::unordered_map<Key, LatencyHistogram, KeyHash, KeyEq> series_;
  size_t max_series_;
  uint64_t dropped_spans_ = 0;
  int64_t first_start_ns_ = INT64_MAX, last_start_ns_ = INT64_MIN;
};

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_RED_AGGREGATOR_H_
