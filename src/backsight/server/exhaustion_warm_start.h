// Warm start of time-to-exhaustion estimators from history (issue 11): a usage series new to
// the ExhaustionService has its past fetched from a Prometheus-compatible API
// (history_client.h) and replayed into its TteEstimator before its live samples, so it predicts
// from its first live sample instead of after the ~12 h an estimator needs. This matters when
// the live samples come over remote_write, which only forwards fresh samples.
//
// Flow per usage series (rule usage metric, fingerprint neither tracked nor pending):
//  1. Observe() holds its live samples and queues a fetch of [first live ts - lookback, first
//     live ts) at the series' step (smallest gap of its first samples, at least
//     default_step_ms: an estimator learns over hours, not at the scrape resolution).
//  2. One of `concurrency` fetch threads fetches it (retrying Unavailable with doubling
//     back-off), replays the history into the tracker, then the samples held meanwhile in time
//     order, until none is left; later samples go straight to the tracker.
// Capacity series are never held: the tracker keeps only a capacity's latest value, which the
// live sample gives (a usage history replayed before any capacity arrived counts as
// samples_no_capacity). Ingest never waits on a fetch: failed fetches, more than
// max_held_per_series samples held for a series, or more than max_pending series waiting all
// release the held samples cold. All counted (Stats). With a write-ahead log (SetHeldLog), the
// log segments of a series' held samples are kept at checkpoints until they are in the tracker
// (whose state the checkpoint saves), as the engine keeps its own warm start's: a kill -9 during
// a fetch loses none of them.
#ifndef BACKSIGHT_SERVER_EXHAUSTION_WARM_START_H_
#define BACKSIGHT_SERVER_EXHAUSTION_WARM_START_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backsight/core/bounded_fifo_map.h"
#include "backsight/forecast/exhaustion.h"
#include "backsight/server/history_client.h"
#include "backsight/server/warm_start.h"

namespace backsight::server {

/// Counters and gauges of exhaustion warm start (backsight_exhaustion_warm_* self-metrics).
struct ExhaustionWarmStartStats {
  uint64_t fetches = 0;          ///< fetches finished (success or failure)
  uint64_t fetch_errors = 0;     ///< fetches failed after their retries
  uint64_t history_samples = 0;  ///< history points replayed into estimators
  uint64_t series_warm = 0;      ///< series started with a non-empty history
  uint64_t series_cold = 0;      ///< series started without (no history, error, overflow)
  uint64_t pending_series = 0;   ///< gauge: series waiting for their history
  uint64_t done_series = 0;      ///< gauge: series remembered as warm-started (not on /metrics)
};

class ExhaustionWarmStart {
 public:
  /// Uses options.lookback_ms, concurrency, default_step_ms, max_attempts, backoff_base_ms,
  /// backoff_max_ms and max_held_per_series of WarmStartOptions; `max_pending` caps the series
  /// waiting at once and the series remembered as warm-started (exhaustion.max_series: as many
  /// as the tracker holds). `tracker` and `source` must outlive this object.
  ExhaustionWarmStart(const WarmStartOptions& options, uint64_t max_pending,
                      forecast::ExhaustionTracker* tracker, HistorySource* source);
  ~ExhaustionWarmStart();
  ExhaustionWarmStart(const ExhaustionWarmStart&) = delete;
  ExhaustionWarmStart& operator=(const ExhaustionWarmStart&) = delete;

  /// Keeps the write-ahead log segments of held samples (Engine::KeepObservedSegment and
  /// ReleaseObservedSegment; `keep` is called from Observe, within the engine's sample
  /// observer). Call before Start; without it nothing is kept (no log).
  using KeepFn = std::function<bool(uint64_t* segment)>;
  using ReleaseFn = std::function<void(uint64_t segment)>;
  void SetHeldLog(KeepFn keep, ReleaseFn release);

  /// Starts the fetch threads.
  void Start();
  /// Stops fetching and feeds every held sample cold. Idempotent.
  void Stop();

  /// Feeds decoded series (labels sorted, samples in time order) to the tracker, holding those
  /// of usage series waiting for their history. Never waits on a fetch.
  void Observe(const std::vector<TimeSeries>& series);

  ExhaustionWarmStartStats stats() const;

 private:
  struct Pending {
    TimeSeries series;  // labels, and the live samples held
    TimestampNs first_ts = 0;
    int64_t step_ms = 0;
    bool replaying = false;  // a fetch thread owns it: only it releases the held samples
    bool kept = false;       // log_segment is kept (SetHeldLog) until the samples are fed
    uint64_t log_segment = 0;
  };
  // Ends the keeping of `p`'s log segment, once its held samples are in the tracker.
  void ReleaseLog(const Pending& p);

  void FetchLoop();
  // Feeds `history` then the held samples of `fp` to the tracker until none is left, then
  // forgets the series (later samples go straight through). mu_ not held.
  void Release(uint64_t fp, std::vector<Sample> history);
  bool Sleep(int64_t ms);

  const WarmStartOptions opt_;
  const uint64_t max_pending_;
  forecast::ExhaustionTracker* tracker_;
  HistorySource* source_;
  KeepFn keep_log_;
  ReleaseFn release_log_;

  mutable std::mutex mu_;  // everything below
  std::condition_variable fetch_cv_, stop_cv_;
  bool stopping_ = false, started_ = false;
  std::unordered_map<uint64_t, Pending> pending_;
  // Fingerprints warm-started or given up on, at most max_pending_ (the oldest forgotten first:
  // one then tracked is skipped by Tracks(), one not tracked gets one more fetch if it returns).
  BoundedFifoMap<uint64_t, bool> done_{max_pending_};
  std::deque<uint64_t> fetch_queue_;
  std::vector<std::thread> threads_;

  std::atomic<uint64_t> fetches_{0}, fetch_errors_{0}, history_samples_{0}, warm_{0}, cold_{0};
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_EXHAUSTION_WARM_START_H_
