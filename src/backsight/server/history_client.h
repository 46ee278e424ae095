// Fetching a series' past from a Prometheus-compatible HTTP API (`/api/v1/query_range`), for
// warm start (warm_start.h). The same request works unchanged against Prometheus,
// VictoriaMetrics, Thanos and Mimir (their query APIs follow Prometheus'
// https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries).
#ifndef BACKSIGHT_SERVER_HISTORY_CLIENT_H_
#define BACKSIGHT_SERVER_HISTORY_CLIENT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/core/time.h"

namespace backsight::server {

/// Prometheus refuses a range query of more than 11,000 points per series ("exceeded maximum
/// resolution of 11,000 points per timeseries", web/api/v1/api.go); longer ranges are split.
inline constexpr int64_t kMaxPointsPerQuery = 11'000;

/// The PromQL selector matching exactly these label values, e.g. `{__name__="x",a="b"}`. Values
/// are PromQL double-quoted strings: backslash, double quote and newline escaped (`\\`, `\"`,
/// `\n`). It also matches series with *more* labels; ParseQueryRange keeps the exact one.
std::string SelectorFor(const Labels& labels);

/// Splits [start, end] (ns) into consecutive ranges of at most kMaxPointsPerQuery points at
/// `step_ns` (> 0) each; the next range starts one step after the previous one ends. Empty when
/// end < start.
std::vector<std::pair<TimestampNs, TimestampNs>> SplitRange(TimestampNs start, TimestampNs end,
                                                            int64_t step_ns);

/// Parses a query_range response body (`{"status":"success","data":{"resultType":"matrix",
/// "result":[{"metric":{...},"values":[[<unix s>,"<value>"],...]}]}}`) and appends the points of
/// the result series whose label set equals `labels` (sorted) to `out` (timestamps rounded to
/// ms; "NaN", "+Inf" kept as values). Errors: InvalidArgument(kJson) naming what is wrong, or
/// the API's own `"status":"error"` message.
Status ParseQueryRange(std::string_view body, const Labels& labels, std::vector<Sample>* out);

/// Where history comes from; an interface so warm start can be tested without a server.
class HistorySource {
 public:
  virtual ~HistorySource() = default;
  /// Appends the points of series `labels` (sorted) in [start, end] at `step_ms` to `out`, in
  /// timestamp order. Unavailable when a retry may succeed (connection refused or timed out,
  /// HTTP 429 or 5xx); InvalidArgument when it cannot (HTTP 4xx, bad body). Thread-safe.
  virtual Status Fetch(const Labels& labels, TimestampNs start, TimestampNs end, int64_t step_ms,
                       std::vector<Sample>* out) = 0;
};

/// HistorySource over a Prometheus-compatible HTTP API: one POST (form-encoded, so long
/// selectors fit) of `<url>/api/v1/query_range` per SplitRange piece, with cpp-httplib.
class PrometheusHistoryClient : public HistorySource {
 public:
  /// `url`: base URL, e.g. `http://prometheus:9090` or `http://mimir/prometheus` (the API path
  /// is appended). `timeout_ms`: connect and read timeout of each request.
  PrometheusHistoryClient(const std::string& url, int64_t timeout_ms);
  Status Fetch(const Labels& labels, TimestampNs start, TimestampNs end, int64_t step_ms,
               std::vector<Sample>* out) override;

 private:
  std::string base_;  // scheme://host:port
  std::string path_;  // prefix + /api/v1/query_range
  int64_t timeout_ms_;
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_HISTORY_CLIENT_H_
