// Traces in `backsight serve`: POST /v1/traces (OTLP/HTTP, protobuf or JSON, gzip/deflate
// bodies, chunked or not) decoded by ingest/otlp_traces.h into the RED aggregator and the service
// graph (traces/), exposed in the Prometheus text format on GET /api/v1/trace/metrics with the
// spanmetrics and servicegraph connectors' names; per-minute RED of every (service, operation)
// into the stream engine as gauges (backsight_trace_calls, backsight_trace_error_ratio,
// backsight_trace_p99_seconds; labels service_name, span_name) and of every service graph edge
// (backsight_trace_edge_requests, backsight_trace_edge_failed_ratio,
// backsight_trace_edge_p90_seconds; labels client, server), scored like any metric. Not yet:
// trace state across restarts.
#ifndef BACKSIGHT_SERVER_TRACE_ENDPOINTS_H_
#define BACKSIGHT_SERVER_TRACE_ENDPOINTS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "backsight/server/config.h"
#include "backsight/server/engine.h"
#include "backsight/server/http_server.h"
#include "backsight/server/self_metrics.h"
#include "backsight/server/trace_findings.h"
#include "backsight/traces/red_aggregator.h"
#include "backsight/traces/red_windows.h"
#include "backsight/traces/service_graph.h"
#include "backsight/traces/span_ring.h"

namespace backsight::server {

/// The trace routes. Thread-safe: decoding runs outside any lock; the RED aggregator, the
/// per-minute windows, the service graph and the recent-span ring each have their own mutex, so two
/// requests aggregate at once in different ones; scrapes copy the aggregates under their locks and
/// render outside them.
class TraceEndpoints {
 public:
  /// `config` and `metrics` must outlive this object. Requests and refused bodies are counted
  /// in `metrics` (backsight_requests_total, backsight_decode_errors_total with endpoint
  /// otlp_traces).
  /// `engine` may still be empty until the server opens it (no series are submitted before).
  TraceEndpoints(const ServeConfig& config, const std::unique_ptr<Engine>& engine,
                 SelfMetrics* metrics);

  /// Registers POST /v1/traces and GET /api/v1/trace/metrics (call before the server starts).
  void Register(HttpServer* http);

  /// Spans accepted since start.
  uint64_t spans() const;
  /// The service graph's (client, server) edges seen so far (caller, callee).
  std::vector<std::pair<std::string, std::string>> Edges() const;
  /// A copy of the recent spans kept for the incidents' trace evidence (empty when
  /// incidents.trace_window_spans is 0 or incidents are off); taken under the ring's lock, which
  /// ingest holds once per request.
  void CopyRecentSpans(traces::SpanRingCopy* out) const;
  /// A lower bound of the starts of the recent spans (traces::SpanRing::min_start_ns; INT64_MAX
  /// when none are kept), without a copy; under the ring's lock.
  TimestampNs RecentSpansMinStart() const;
  /// Sets backsight_span_ring_spans and backsight_span_ring_resets_total (only when the ring is
  /// kept: incidents.enabled and incidents.trace_window_spans > 0).
  void MirrorMetrics(SelfMetrics* metrics) const;
  /// The live findings (GET /api/v1/trace/findings, alerts, retry ratios; trace_findings.h).
  TraceFindings& findings() { return findings_; }

 private:
  void HandlePush(const HttpRequest& req, HttpResponse* res);
  void Count(int code, const Status& st);

  // Sends closed RED and edge buckets to the engine as gauges (dropped and counted when the
  // engine's queues are full).
  void Submit(const std::vector<traces::RedBucket>& closed,
              const std::vector<traces::EdgeBucket>& closed_edges);
  // GET /api/v1/trace/metrics's body.
  std::string RenderMetrics();

  // When silent buckets are closed: once per bucket width of span time (the newest span start
  // seen), buckets starting kSilentBuckets widths before the newest start.
  struct SilenceClock {
    int64_t newest_start_ns = INT64_MIN;  // newest span start seen
    int64_t last_flush_ns = INT64_MIN;    // newest_start_ns at the last flush
    // Takes a batch's newest span start; returns the flush bound, or INT64_MIN for no flush.
    int64_t Advance(int64_t batch_newest_ns);
  };

  const ServeConfig& cfg_;
  const std::unique_ptr<Engine>& engine_;
  SelfMetrics* metrics_;
  std::mutex red_mu_;  // guards red_
  traces::RedAggregator red_;
  mutable std::mutex graph_mu_;  // guards graph_, graph_clock_
  traces::ServiceGraph graph_;
  SilenceClock graph_clock_;
  std::mutex windows_mu_;  // guards windows_, windows_clock_
  traces::RedWindows windows_;
  SilenceClock windows_clock_;
  mutable std::mutex ring_mu_;  // guards ring_
  traces::SpanRing ring_;
  std::mutex render_mu_;  // guards the scrape snapshots below (memory reused across scrapes)
  traces::RedAggregator red_snapshot_;
  traces::ServiceGraphSnapshot graph_snapshot_;
  std::atomic<uint64_t> spans_{0};
  std::atomic<uint64_t> series_submitted_{0}, series_dropped_{0};
  TraceFindings findings_;
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_TRACE_ENDPOINTS_H_
