// Warm start from history (issue 8): when a series is first seen, fetch its past from a
// Prometheus-compatible API (history_client.h), replay it through the series' fresh detector,
// then score its live samples, so a series with enough history is out of warm-up with its first
// live sample.
//
// Flow per new series (fingerprint neither known to the engine nor pending here):
//  1. Intercept() takes its live samples out of the request and holds them (after appending them
//     to the write-ahead log: Engine::LogHeld), and queues a fetch.
//  2. One of `concurrency` fetch threads asks the source for [first live ts - lookback, first
//     live ts) at the series' step (the smallest gap between its first live samples, else
//     `default_step_ms`), retrying retryable errors with exponential back-off and jitter.
//  3. On success the history is queued (Engine::SubmitHistory: no episodes, no alerts), then the
//     held live samples (Engine::SubmitLogged) in timestamp order, by one release thread.
// A failing source never blocks ingest: the fetch finally fails after `max_attempts` and the
// held samples are scored cold; a series whose held samples pass `max_held_per_series`, or that
// arrives while `max_held_samples` are held in total, is scored cold at once. All counted.
#ifndef BACKSIGHT_SERVER_WARM_START_H_
#define BACKSIGHT_SERVER_WARM_START_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backsight/core/flat_index.h"
#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/server/engine.h"
#include "backsight/server/history_client.h"

namespace backsight::server {

struct WarmStartOptions {
  int64_t lookback_ms = 7 * 86'400'000LL;  ///< how far back to fetch
  int concurrency = 4;                     ///< fetches in flight at once (threads)
  int64_t default_step_ms = 15'000;        ///< step when the first request has one sample
  int max_attempts = 4;                    ///< tries per fetch before giving up (cold)
  int64_t backoff_base_ms = 500;           ///< wait before the 2nd try, doubled each try
  int64_t backoff_max_ms = 10'000;         ///< cap of one wait (before jitter)
  /// Live samples held per series while its history is fetched (1 h at a 15 s step); past it
  /// the series is scored cold.
  uint64_t max_held_per_series = 240;
  /// Live samples held over all series; a new series arriving past it is scored cold.
  uint64_t max_held_samples = 1'000'000;
  /// The cache of known fingerprints is cleared this often, so a series evicted as stale gets a
  /// warm start again when it comes back (use series.stale_after).
  int64_t known_reset_ms = 3'600'000;
};

/// The step (ms) at which a new series' history is fetched: `wanted_ms`, raised to at least 1 s
/// and to the step at which `lookback_ms` takes at most 8 query_range requests of
/// kMaxPointsPerQuery points each (e.g. 7 s for a 7-day lookback).
int64_t HistoryStepMs(int64_t wanted_ms, int64_t lookback_ms);

/// The smallest gap (ms) between `samples`' timestamps (in any order), or 0 with fewer than two
/// distinct ones.
int64_t SmallestGapMs(std::vector<Sample> samples);

/// Fetches the past of one new series from `source`: [first_ts - opt.lookback_ms, first_ts -
/// 1 ms] at `step_ms`, retrying an Unavailable answer up to opt.max_attempts tries in all with
/// exponential back-off (opt.backoff_base_ms doubled per try, capped at opt.backoff_max_ms, times
/// a jitter in [0.5, 1.5) drawn from `*rng`). `sleep(ms)` waits between tries and returns false
/// when the caller is stopping (no more tries). `*past` gets the strictly increasing samples
/// before first_ts, the only ones a model can learn from; `*retries` (may be null) counts the
/// retries. Returns the last try's status.
Status FetchPast(HistorySource* source, const WarmStartOptions& opt, const Labels& labels,
                 TimestampNs first_ts, int64_t step_ms, const std::function<bool(int64_t)>& sleep,
                 std::mt19937_64* rng, std::vector<Sample>* past, std::atomic<uint64_t>* retries);

/// The wait of a fetch thread: waits on `cv` (`*lock` holds the mutex that guards `queue` and
/// `stopping`) until `stopping` is set or a fingerprint is queued, then pops the oldest into
/// `*fp`. Returns false, with nothing popped, once stopping. Shared by WarmStart and
/// ExhaustionWarmStart.
bool WaitPopFetch(std::unique_lock<std::mutex>* lock, std::condition_variable* cv,
                  const bool& stopping, std::deque<uint64_t>* queue, uint64_t* fp);

/// Waits up to `ms` on `cv` under `*mu` (which guards `stopping`); returns false when `stopping`
/// is (or becomes) set, true when the time passed. The back-off sleep of FetchPast's callers.
bool SleepUnlessStopping(std::mutex* mu, std::condition_variable* cv, const bool& stopping,
                         int64_t ms);

/// Counters and gauges of warm start (mirrored into /metrics by the server).
struct WarmStartStats {
  uint64_t fetches_started = 0, fetches_succeeded = 0, fetches_failed = 0, fetch_retries = 0;
  uint64_t history_samples = 0;     ///< points fetched and queued
  uint64_t series_warm = 0;         ///< series started with a non-empty history
  uint64_t cold_no_history = 0;     ///< fetch succeeded, nothing found
  uint64_t cold_fetch_failed = 0;   ///< fetch failed after its retries
  uint64_t cold_held_overflow = 0;  ///< too many live samples held for the series
  uint64_t cold_pending_full = 0;   ///< arrived while max_held_samples were held
  uint64_t held_samples = 0;        ///< gauge: live samples waiting for their history
  uint64_t pending_series = 0;      ///< gauge: series waiting for their history
};

class WarmStart {
 public:
  /// `engine` and `source` must outlive this object.
  WarmStart(const WarmStartOptions& options, Engine* engine, HistorySource* source);
  ~WarmStart();
  WarmStart(const WarmStart&) = delete;
  WarmStart& operator=(const WarmStart&) = delete;

  /// Starts the fetch and release threads.
  void Start();
  /// Stops fetching and queues every held sample cold (call before Engine::Stop, after ingest
  /// has stopped). Idempotent.
  void Stop();

  /// Call on every decoded ingest request before Engine::SubmitView: holds the samples of the
  /// entries of `series` waiting for their history and empties those entries' samples (the
  /// engine skips such entries; labels are sorted in place). `*fingerprints` gets the
  /// Fingerprint of each entry (0 for one without samples): pass it to Engine::SubmitView so the
  /// labels are not hashed twice. Returns the write-ahead log's error (then nothing was held).
  /// No allocation once every series of the request is known.
  Status Intercept(std::vector<TimeSeries>* series, std::vector<uint64_t>* fingerprints);

  WarmStartStats stats() const;

 private:
  enum class State : uint8_t { kQueued, kFetching, kSubmitting, kReleasing };
  struct Pending {
    Labels labels;
    MetricKind kind = MetricKind::kUnknown;
    TimestampNs first_ts = 0;
    int64_t step_ms = 0;
    State state = State::kQueued;
    std::vector<Sample> held;
    HeldSegments held_segments;  // where `held` is in the write-ahead log (Engine::LogHeld)
  };

  void FetchLoop();
  void ReleaseLoop();
  bool IsKnown(uint64_t fp) const;
  void AddKnown(uint64_t fp);
  // Marks `fp` for release (its held samples queued) and wakes the release thread. mu_ held.
  void ReleaseLocked(uint64_t fp, Pending* p);
  // Submits with retries while the queues are full; false if stopping first.
  // `held`: where held live samples are logged (null for history).
  bool SubmitRetrying(std::vector<TimeSeries>& series, bool history, HeldSegments* held);
  // Waits `ms` or until Stop; false if stopping.
  bool Sleep(int64_t ms);

  const WarmStartOptions opt_;
  Engine* engine_;
  HistorySource* source_;

  // Fingerprints that pass straight through (the engine has them); read by every request.
  mutable std::shared_mutex known_mu_;  // taken after mu_ when both are held
  FlatIndex known_;  // fingerprint -> 0 (a set; flat, so a lookup is one cache miss)
  std::atomic<int64_t> known_reset_at_ns_{0};

  mutable std::mutex mu_;  // everything below
  std::condition_variable fetch_cv_, release_cv_, stop_cv_;
  bool stopping_ = false;
  bool started_ = false;
  bool release_done_ = false;  // Stop: the release thread ends when its queue is empty
  std::unordered_map<uint64_t, Pending> pending_;
  std::deque<uint64_t> fetch_queue_, release_queue_;
  uint64_t held_total_ = 0;
  std::vector<std::thread> threads_;

  std::atomic<uint64_t> started_fetches_{0}, succeeded_{0}, failed_{0}, retries_{0},
      history_samples_{0}, warm_{0}, cold_no_history_{0}, cold_failed_{0}, cold_overflow_{0},
      cold_full_{0};
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_WARM_START_H_
