// Live trace findings in `backsight serve` (issue 9): the spans of every POST /v1/traces are
// grouped per trace by traces::FindingsDetectors, kShards of them, each holding the traces whose
// id hashes to it behind its own mutex (so the HTTP worker threads rarely wait for each other),
// all adding up into one traces::FindingsStats (the per-operation statistics the scores use, the
// findings, the retry-ratio buckets: the same as with one detector). A trace is analysed once no
// span of it has arrived for `traces.trace_wait` of wall time (or of span time, the newest span
// end of all shards), or early when its shard holds its share of `traces.max_open_traces`; at
// most FindingsDetector::kMaxSpansPerTrace spans are kept per trace (drops counted). Findings are
// kept per (kind, service, operation), at most `traces.max_findings` (the least recently seen
// forgotten), and served on GET /api/v1/trace/findings?limit=N (JSON, highest score first). Each
// (kind, service, operation) is one Alertmanager alert, alertname="BacksightTraceFinding", sent
// when first found and again every alerting.resend_interval while it is seen again (endsAt = 4
// resend intervals on, as Prometheus does); with incidents on and incidents.series_alerts false
// these alerts are not sent: the findings are incident members instead (SetForward: each finding
// when new and whenever it is seen again). Per-minute retry ratios of every child operation go
// into the stream engine as backsight_trace_retry_ratio{service_name,span_name}. With a state_dir
// the findings and their statistics are saved to <state_dir>/traces.state at every checkpoint and
// restored at start (docs/formats.md §5d); open traces are not saved.
#ifndef BACKSIGHT_SERVER_TRACE_FINDINGS_H_
#define BACKSIGHT_SERVER_TRACE_FINDINGS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "backsight/ingest/span_batch.h"
#include "backsight/server/config.h"
#include "backsight/server/engine.h"
#include "backsight/server/http_server.h"
#include "backsight/server/self_metrics.h"
#include "backsight/traces/findings.h"

namespace backsight::server {

/// The live findings of serve. Thread-safe; a ticker thread finalises quiet traces, submits
/// retry ratios and sends alerts.
class TraceFindings {
 public:
  /// `config` must outlive this object; `engine` may still be empty (nothing is submitted then).
  TraceFindings(const ServeConfig& config, const std::unique_ptr<Engine>& engine);
  ~TraceFindings();

  /// Groups the spans of one decoded request (no-op when traces.findings is false).
  void Add(const ingest::SpanBatch& batch);
  /// Registers GET /api/v1/trace/findings (call before the server starts).
  void Register(HttpServer* http);
  /// Restores <state_dir>/traces.state when present (no-op without a state_dir or with
  /// traces.findings false). Restored findings count as alerted now (re-sent only when seen
  /// again a resend interval later). Corruption naming the file on a damaged one.
  Status Open();
  /// Writes <state_dir>/traces.state atomically (no-op without a state_dir).
  Status Checkpoint();
  /// Starts / stops the ticker thread. Stop analyses the open traces (no alerts, no retry
  /// ratios for them) so that the last checkpoint holds their findings; idempotent.
  void Start();
  void Stop();
  /// The findings, highest score first, at most `limit`.
  std::vector<traces::Finding> Findings(size_t limit) const;
  /// Also passes every finding to `fn` when it is new and whenever its count grew since the last
  /// call (on the ticker thread; thread-safe, quick: e.g. the incident service). Restored
  /// findings count as passed. Call before Open.
  void SetForward(std::function<void(const traces::Finding&)> fn) { forward_ = std::move(fn); }
  /// Mirrors the backsight_trace_findings_* self-metrics into `m` (docs/self-metrics.md).
  void MirrorMetrics(SelfMetrics* m) const;

 private:
  struct Sent {
    uint64_t count = 0;
    int64_t wall_ns = 0;
  };
  // Open traces by trace id hash (8 shards: two HTTP workers meet on one with chance 1/8 per
  // batch; more only cost memory and ticker passes).
  static constexpr size_t kShards = 8;
  struct Shard {
    std::mutex mu;
    traces::FindingsDetector detector;
    Shard(int64_t window_ns, size_t max_traces, traces::FindingsStats* stats)
        : detector(window_ns, max_traces, stats) {}
  };
  // The shard of a trace key: its high bits (the detectors' hash maps use the low ones).
  static size_t ShardOf(uint64_t trace_key) { return (trace_key >> 32) % kShards; }
  void Loop();
  void Tick(int64_t now_wall_ns);
  void SubmitRetryRatios(const std::vector<traces::RetryRatioBucket>& closed);
  void SendAlerts(const std::vector<traces::Finding>& findings, int64_t now_wall_ns);
  void Forward(const std::vector<traces::Finding>& findings);

  const ServeConfig& cfg_;
  const std::unique_ptr<Engine>& engine_;
  traces::FindingsStats stats_;  // thread-safe itself
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<int64_t> span_time_ns_{INT64_MIN};  // newest span end added to any shard
  std::map<std::tuple<std::string, std::string, std::string>, Sent> sent_;  // ticker thread only
  std::function<void(const traces::Finding&)> forward_;
  // Count last forwarded per (kind, service, operation); ticker thread (and Open) only.
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> forwarded_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = true;
  std::thread thread_;
  std::atomic<uint64_t> ratio_samples_submitted_{0}, ratio_samples_dropped_{0}, alert_posts_{0},
      alert_errors_{0};
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_TRACE_FINDINGS_H_
