// Anomaly episodes -> stored events and Alertmanager alerts.
//
// The EpisodeTracker receives episode changes from the engine's workers (bounded queue; changes
// past 100k waiting are dropped and counted), and on its own thread, every 50 ms:
//  * writes new and ended episodes to the store's `events` table (one transaction per tick);
//  * turns an episode into a firing alert once it has lasted `alert_for_ms` of wall clock
//    (like a Prometheus rule's `for:`), and POSTs it to Alertmanager (`/api/v2/alerts`, API v2
//    JSON: labels, annotations, startsAt, endsAt, generatorURL);
//  * re-sends firing alerts every `alert_resend_ms` with endsAt = now + 4 x resend interval, so
//    Alertmanager keeps them active while Backsight lives (what Prometheus does);
//  * when the episode ends, sends the alert once more with endsAt = the end time (past), which
//    Alertmanager treats as resolved; it is re-sent on the next tick until one send succeeds and
//    then twice more at the resend interval.
// Alert labels: alertname="BacksightAnomaly", the series' labels with `__name__` moved to
// `metric`. Annotations: summary (one line), anomaly_score, value, yhat, yhat_lower, yhat_upper.
#ifndef BACKSIGHT_SERVER_ALERTS_H_
#define BACKSIGHT_SERVER_ALERTS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backsight/server/engine.h"
#include "backsight/store/state_store.h"

namespace backsight::server {

struct AlertOptions {
  std::string alertmanager_url;  ///< "" = no alerts (events are still stored)
  int64_t for_ms = 60'000;
  int64_t resend_ms = 60'000;
  std::string generator_base_url;  ///< e.g. http://127.0.0.1:9465
};

/// Counters of the tracker.
struct AlertStats {
  uint64_t episodes_started = 0;
  uint64_t episodes_ended = 0;
  uint64_t changes_dropped = 0;
  uint64_t alerts_firing = 0;   ///< gauge
  uint64_t alerts_pending = 0;  ///< gauge: anomalous, not yet for `for`
  uint64_t alert_posts = 0;
  uint64_t alert_post_errors = 0;
  uint64_t event_write_errors = 0;
};

/// Converts a series' labels into alert/output labels: `__name__` becomes `metric`, a label
/// already called `metric` becomes `exported_metric`.
Labels OutputLabels(const Labels& series_labels);

/// Builds the Alertmanager v2 JSON body (an array) for the given alerts; exposed for tests.
struct AlertToSend {
  Labels labels;  ///< series labels (as stored)
  double score = 0, value = 0, yhat = 0, yhat_lower = 0, yhat_upper = 0;
  int64_t starts_wall_ns = 0;
  int64_t ends_wall_ns = 0;
  uint64_t fp = 0;
};
std::string AlertsToJson(const std::vector<AlertToSend>& alerts, const std::string& generator_base);

/// POSTs `json_array` (Alertmanager API v2 alerts) to `alertmanager_url` + "/api/v2/alerts"
/// (a path in the URL, e.g. a reverse proxy prefix, is kept; timeouts: connect 2 s, read and
/// write 5 s). True on a 2xx answer.
bool PostAlertmanagerAlerts(const std::string& alertmanager_url, const std::string& json_array);

/// A recent episode as kept in memory (for the JSON API when no store is configured).
using RecentEvent = store::AnomalyEvent;

class EpisodeTracker final : public EpisodeSink {
 public:
  /// `store` may be null (no persistence).
  EpisodeTracker(const AlertOptions& options, store::StateStore* store);
  ~EpisodeTracker() override;
  void Start();
  /// Flushes pending event writes and stops the thread.
  void Stop();

  void OnEpisodeChange(EpisodeChange&& change) override;
  /// Also passes every change to `fn` (from the engine's workers; must be thread-safe and
  /// quick). Call before the engine starts.
  void SetForward(std::function<void(const EpisodeChange&)> fn) { forward_ = std::move(fn); }

  AlertStats stats() const;
  /// The `limit` most recent episodes seen by this process (newest first).
  std::vector<RecentEvent> Recent(size_t limit, uint64_t fp) const;

 private:
  struct Episode {
    Labels labels;
    int64_t event_id = 0;
    bool event_dirty = true;
    TimestampNs start_ts = 0, end_ts = 0;
    int64_t start_wall_ns = 0, end_wall_ns = 0;
    double peak = 0, score = 0, value = 0, yhat = 0, lower = 0, upper = 0;
    bool ended = false;
    bool firing = false;
    int64_t last_sent_wall_ns = 0;
    int resolved_sends_left = 0;  ///< after the end: successful sends still to make
  };

  void Loop();
  void Tick(int64_t now);
  bool Post(const std::vector<AlertToSend>& alerts);

  AlertOptions opt_;
  store::StateStore* store_;
  std::function<void(const EpisodeChange&)> forward_;
  std::mutex qmu_;
  std::condition_variable qcv_;
  std::deque<EpisodeChange> queue_;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  // Owned by the tracker thread.
  std::unordered_map<uint64_t, Episode> episodes_;

  mutable std::mutex recent_mu_;
  std::deque<RecentEvent> recent_;

  std::atomic<uint64_t> started_{0}, ended_{0}, dropped_{0}, firing_{0}, pending_{0}, posts_{0},
      post_errors_{0}, write_errors_{0};
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_ALERTS_H_
