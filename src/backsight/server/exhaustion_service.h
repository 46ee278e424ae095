// Time-to-exhaustion in `backsight serve`: the `exhaustion:` rules (forecast/exhaustion.h) run
// over every metric series the engine accepts (remote_write, OTLP, scrapes, serve's own series),
// as a sample sink (sample_sink.h) fed live and by the write-ahead log replay; the predictions
// are exported on GET /metrics and become predictive alerts.
//
// Output series (one per usage series with exhaustion foreseen within 14 days; the series'
// labels with `__name__` moved to `metric`, as the anomaly outputs):
//   backsight_time_to_exhaustion_seconds         predicted seconds from the series' last sample
//   backsight_time_to_exhaustion_lower_seconds   interval (forecast/tte.h), earliest crossing
//   backsight_time_to_exhaustion_upper_seconds   latest crossing (absent beyond 14 days)
// Alerts: once per second the predictions are checked; a series whose TTE is below
// `exhaustion.horizon` fires alertname="BacksightExhaustionPredicted" (labels: the series'
// output labels) with annotations summary, predicted_time, predicted_time_earliest,
// predicted_time_latest (RFC 3339, sample clock), tte_seconds, limit and used. Firing alerts are
// re-sent every alerting.resend with endsAt = now + 4 resends (as Prometheus does); when the
// prediction goes away the alert is sent once with endsAt = now (resolved), retried until sent.
// Estimator states are saved to <state_dir>/exhaustion.state at every checkpoint and restored at
// start, so a restart does not cost the 12 h an estimator needs before its first prediction.
// With `history.url` set, a usage series new to the service is warm-started from its history
// instead (exhaustion_warm_start.h).
#ifndef BACKSIGHT_SERVER_EXHAUSTION_SERVICE_H_
#define BACKSIGHT_SERVER_EXHAUSTION_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backsight/forecast/exhaustion.h"
#include "backsight/server/config.h"
#include "backsight/server/exhaustion_warm_start.h"
#include "backsight/server/sample_sink.h"
#include "backsight/server/self_metrics.h"

namespace backsight::server {

class ExhaustionService : public SampleSink {
 public:
  /// Rules: the defaults (exhaustion.default_rules) followed by exhaustion.rules.
  explicit ExhaustionService(const ServeConfig& cfg);
  ~ExhaustionService();
  ExhaustionService(const ExhaustionService&) = delete;
  ExhaustionService& operator=(const ExhaustionService&) = delete;

  /// Restores <state_dir>/exhaustion.state when present (a damaged file is reported on stderr
  /// and the estimators start afresh: they are derived state). No-op without a state_dir.
  void Restore();
  /// Writes every estimator to <state_dir>/exhaustion.state (atomically). No-op without one.
  Status Checkpoint() const;

  /// Warm-starts new usage series from `source` (must outlive this object); call before Start
  /// and before any Observe. Uses lookback, concurrency, step and retry fields of `options`.
  void EnableWarmStart(const WarmStartOptions& options, HistorySource* source);
  /// With a write-ahead log: keeps the log segments of samples the warm start holds
  /// (ExhaustionWarmStart::SetHeldLog). Call after EnableWarmStart, before Start; no-op without.
  void SetHeldLog(ExhaustionWarmStart::KeepFn keep, ExhaustionWarmStart::ReleaseFn release);

  /// Starts the alert thread (when alerting.alertmanager_url is set). `generator_base` is the
  /// external URL for generatorURL.
  void Start(const std::string& generator_base);
  void Stop();

  /// Feeds decoded series (only rule metrics are looked at). A usage sample not after its
  /// series' last accepted one is ignored (the estimator's rule, forecast/tte.h; its time is in
  /// the saved state), so the write-ahead log replay counts nothing twice (sample_sink.h).
  void Observe(const std::vector<TimeSeries>& series) override;
  /// Appends the output series in the text exposition format.
  void AppendMetrics(std::string* out) const;
  /// Copies the counters into backsight_exhaustion_* self-metrics.
  void MirrorMetrics(SelfMetrics* m) const;

  /// One alert check at wall time `now_ns` (what the thread does every second; for tests).
  void Tick(int64_t now_ns);

 private:
  struct Firing {
    Labels labels;
    int64_t starts_ns = 0;
    int64_t last_sent_ns = 0;  // 0 = not sent yet
    bool resolved = false;
    forecast::ExhaustionStatus status;
  };
  bool Post(const std::string& body);
  std::string AlertJson(const Firing& f, int64_t now_ns) const;

  forecast::ExhaustionTracker tracker_;
  const uint64_t max_series_;
  std::unique_ptr<ExhaustionWarmStart> warm_;  // null without history
  const std::string state_dir_;
  const double horizon_s_;
  const std::string alertmanager_url_;
  const int64_t resend_ns_;
  std::string generator_base_;
  std::unordered_map<uint64_t, Firing> firing_;  // by series fingerprint; tick thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  std::atomic<uint64_t> alerts_firing_{0}, posts_{0}, post_errors_{0};
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_EXHAUSTION_SERVICE_H_
