// Capacity advice in `backsight serve` (issue 11): the `capacity:` rules (server/config.h) pick
// demand series (e.g. a request rate) out of every metric series the engine accepts
// (remote_write, OTLP, scrapes, serve's own series), as a sample sink (sample_sink.h) fed live and
// by the write-ahead log replay; each is averaged into buckets of the rule's step, forecast with
// an AutoForecaster (95 % band), and turned into a replica count by forecast::AdviseReplicas.
//
// Output series (one per demand series with a model; the series' labels with `__name__` moved to
// `metric`, as the anomaly outputs):
//   backsight_recommended_replicas   replicas needed over the rule's horizon + startup
// GET /api/v1/capacity returns, per demand series: labels, current demand (last bucket's mean),
// forecast peak within the horizon and its time, capacity per replica, recommended replicas and
// the reason. With a state store, each series' buckets are saved at checkpoints (the `capacity`
// table, server/capacity_history.h) and restored at start-up, where the model is refitted from
// them (the model itself is not stored), so the advice is there again before the first sample,
// and the write-ahead log replay adds the samples accepted after the last checkpoint.
// With history.url, a new series' past history.lookback (at most a week of buckets) is fetched
// (EnableWarmStart) and put before its live buckets, so its first advice comes after one bucket
// instead of kMinFit.
#ifndef BACKSIGHT_SERVER_CAPACITY_SERVICE_H_
#define BACKSIGHT_SERVER_CAPACITY_SERVICE_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/forecast/auto_forecaster.h"
#include "backsight/forecast/capacity.h"
#include "backsight/server/capacity_history.h"
#include "backsight/server/config.h"
#include "backsight/server/history_client.h"
#include "backsight/server/sample_sink.h"
#include "backsight/server/self_metrics.h"
#include "backsight/store/state_store.h"

namespace backsight::server {

class CapacityService : public SampleSink {
 public:
  explicit CapacityService(const ServeConfig& cfg);
  ~CapacityService();
  CapacityService(const CapacityService&) = delete;
  CapacityService& operator=(const CapacityService&) = delete;

  /// Warm start (history.url with history.capacity): from now on a demand series new to the
  /// service (not restored) has the `lookback_ms` (history.lookback) before its first bucket, at
  /// most kMaxCapacityHistory buckets (a week at 5 m), fetched from `source` at a fifth of its
  /// step by one thread, averaged into buckets and put before its live ones, and its model
  /// refitted, so that it gets advice (with its daily seasonality) from its first bucket. A
  /// lookback shorter than one step fetches one bucket. A failed fetch (after kFetchAttempts)
  /// leaves the series cold. `source` must outlive this object. Call once, before Observe.
  void EnableWarmStart(HistorySource* source, int64_t lookback_ms);
  /// Stops the warm-start thread (series still queued stay cold). Idempotent.
  void Stop();
  /// Warm-start figures: series given a history, history buckets added, fetches failed.
  struct WarmStats {
    uint64_t series_warm = 0;
    uint64_t buckets = 0;
    uint64_t fetch_errors = 0;
  };
  WarmStats warm_stats() const;
  /// Copies the warm-start figures into backsight_capacity_warm_* self-metrics (nothing before
  /// EnableWarmStart).
  void MirrorMetrics(SelfMetrics* m) const;

  /// Feeds decoded series (only the rules' demand and capacity metrics are looked at). A demand
  /// sample not newer than its series' newest one taken (restored ones included) is ignored, so
  /// a sender's retry or the write-ahead log replay counts nothing twice (sample_sink.h).
  /// Thread-safe.
  void Observe(const std::vector<TimeSeries>& series) override;
  /// Appends backsight_recommended_replicas in the text exposition format (nothing without rules).
  void AppendMetrics(std::string* out) const;
  /// The body of GET /api/v1/capacity: {"status":"success","data":[...]} (see the file comment).
  std::string ApiJson() const;

  /// Called for a stored row that is not restored: the series (labels, or the row's fingerprint
  /// when they are unreadable) and why.
  using SkipFn = std::function<void(const std::string& series, const std::string& why)>;
  /// Reads the stored demand series back (before any Observe): a row that does not decode, whose
  /// labels no rule selects now, whose rule's step changed, or past the series cap is skipped,
  /// counted in `*skipped` and passed to `on_skip` (may be null). A row no rule selects is
  /// deleted by the next Checkpoint; the others are left in the table. Each
  /// restored series' model is refitted from its buckets as it was built live (fit on the buckets
  /// of the last fit, then updated with the later ones). Returns the store's error when reading
  /// fails.
  Status Restore(store::StateStore* store, const SkipFn& on_skip, uint64_t* restored,
                 uint64_t* skipped);
  /// Saves the series whose buckets changed since the last save (`all`: also those with only
  /// new samples in the open bucket, as at shutdown), one transaction per 512 series, and deletes
  /// the rows Restore found no rule selects. On failure the rest is done at the next call.
  Status Checkpoint(store::StateStore* store, bool all);

 private:
  struct Demand {
    size_t rule = 0;
    Labels labels;
    int64_t bucket = INT64_MIN;  // index (ts / step) of the open bucket
    double sum = 0;
    int count = 0;
    std::vector<double> history;  // closed bucket means, oldest first
    size_t fitted_at = 0;         // history size at the last Fit
    size_t since_fit = 0;         // buckets closed since the last Fit
    std::unique_ptr<forecast::AutoForecaster> model;
    std::vector<forecast::ForecastPoint> forecast;  // from the last closed bucket
    TimestampNs last_bucket_end = 0;
    bool closed_unsaved = false;       // a bucket closed since the last save
    bool open_unsaved = false;         // samples added since the last save
    int64_t first_bucket = INT64_MIN;  // first live bucket (warm start fetches before it)
    TimestampNs last_ts = INT64_MIN;   // newest sample taken; older or equal ones are ignored
  };
  struct Row {
    const Demand* d;
    forecast::CapacityAdvice advice;
    double per_replica;
  };
  void CloseBucket(Demand* d);
  /// Fits (and updates) `d`'s model as CloseBucket did live, from its restored history.
  void Refit(Demand* d) const;
  /// The rule that owns a demand series with these labels (the first that selects it), or -1.
  int RuleFor(const Labels& labels) const;
  /// Advice rows for every demand with a model and a known capacity (mu_ held).
  std::vector<Row> Rows() const;

  const std::vector<CapacityRule> rules_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Demand> demands_;      // by fingerprint of the demand labels
  std::unordered_map<std::string, double> capacity_;  // capacity metric + labels fingerprint
  std::vector<uint64_t> orphan_rows_;  // mu_: stored rows no rule selects, deleted at Checkpoint

  // Warm start (EnableWarmStart): queue of new demand fingerprints and the fetch thread.
  void WarmLoop();
  HistorySource* history_ = nullptr;
  int64_t lookback_ms_ = 0;          // how far back a warm start fetches (history.lookback)
  std::deque<uint64_t> warm_queue_;  // mu_; bounded by kMaxDemands (one entry per new series)
  std::condition_variable warm_cv_;
  bool warm_stop_ = false;  // mu_
  std::thread warm_thread_;
  WarmStats warm_stats_;  // mu_
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_CAPACITY_SERVICE_H_
