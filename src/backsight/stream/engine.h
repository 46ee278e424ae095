// The stream engine: one model per key (a label set), sharded over worker threads with bounded
// queues. Generic over the model: `options.model_factory` makes each new key's model (the
// metric models of `backsight serve` are in server/metric_model.h; any stream::Model works).
//
// Key identity is the full sorted label set; its 64-bit Fingerprint (core/labels.h) picks the
// shard (fp % workers) and keys the registry (collisions of 64-bit FNV-1a are ignored; their
// probability at 1M series is ~3e-8). A model is created on a key's first sample. Below, a key
// and its model are called a series.
//
// Limits, all counted and exported on /metrics:
//  * Queues hold at most `queue_max_samples` samples in total (split evenly over shards). Submit()
//    reserves room in every shard it touches first and accepts all or nothing: when any shard is
//    full it returns ResourceExhausted and accepts nothing (HTTP 429, the sender retries).
//  * At most `max_series` series are active. Past the cap, samples of *new* series are refused
//    (series_refused / samples_refused counters) while known series keep being scored; the cap
//    frees up as stale series are evicted.
//  * A series with no sample for `stale_after_ms` (wall clock) is evicted: its model is
//    dropped from memory and from the store at the next checkpoint.
//
// Durability (with SetWal): every accepted batch is appended to the write-ahead log before
// Submit returns, under the same lock that queues it, so the log holds each series' samples in
// the order its model sees them. Checkpoint rotates the log, waits until the older segments
// are applied, writes the states, then deletes those segments, except any that still holds
// samples logged by LogHeld and not yet queued (warm start holds them while it fetches history). At
// start, Restore then ReplayWal rebuild exactly the state the models had when the process died.
#ifndef BACKSIGHT_STREAM_ENGINE_H_
#define BACKSIGHT_STREAM_ENGINE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backsight/core/flat_index.h"
#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/detect/detector.h"
#include "backsight/store/state_store.h"
#include "backsight/store/wal.h"
#include "backsight/stream/model.h"

namespace backsight::stream {

/// Wall clock, ns since the epoch.
int64_t WallNowNs();

struct EngineOptions {
  int workers = 2;                         ///< shards / worker threads (>= 1)
  uint64_t max_series = 1'000'000;         ///< active series cap
  uint64_t queue_max_samples = 4'000'000;  ///< total queued samples before Submit refuses
  int64_t stale_after_ms = 3'600'000;      ///< evict series idle this long (wall clock)
  /// Makes each new key's model (shared by all shards; thread-safe). Null: every key is refused.
  std::shared_ptr<const ModelFactory> model_factory = nullptr;
};

/// A change of a series' anomaly episode, reported by worker threads to an EpisodeSink.
/// An episode starts at the first anomalous sample (is_anomaly) and ends at the first later
/// sample that is not anomalous (and not warming up), or when the series is evicted.
struct EpisodeChange {
  enum class Kind : uint8_t { kStart, kPeak, kEnd };
  Kind kind = Kind::kStart;
  uint64_t fp = 0;
  Labels labels;              ///< set for kStart only
  TimestampNs sample_ts = 0;  ///< timestamp of the sample that caused the change
  int64_t wall_ns = 0;        ///< wall time the change was seen
  double value = 0;           ///< value the model scored (rate for counters)
  double score = 0;           ///< anomaly_score of that sample
  double yhat = 0, yhat_lower = 0, yhat_upper = 0;
};

/// Receives episode changes. Called from worker threads; must be thread-safe and quick.
class EpisodeSink {
 public:
  virtual ~EpisodeSink() = default;
  virtual void OnEpisodeChange(EpisodeChange&& change) = 0;
};

/// Read-only copy of one series' current state (for /metrics and the JSON API).
struct SeriesSnapshot {
  uint64_t fp = 0;
  const Labels* labels = nullptr;  ///< valid only inside the ForEachSeries callback
  Labels labels_copy;              ///< filled by GetSeries
  bool is_counter = false;         ///< the model scores a per-second rate (Model::input_is_rate)
  bool has_result = false;
  TimestampNs last_ts = 0;
  double last_value = 0;
  detect::DetectionResult result;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  /// Samples the model still needs before it may call a sample anomalous (0 once warm).
  uint64_t warmup_remaining = 0;
  bool in_episode = false;
  TimestampNs episode_start_ts = 0;
  double episode_peak = 0;
  int64_t last_seen_wall_ns = 0;
};

/// Counters of the engine (monotonic unless noted).
struct EngineStats {
  uint64_t samples_ingested = 0;       ///< accepted into queues
  uint64_t samples_processed = 0;      ///< scored by a model
  uint64_t samples_rejected = 0;       ///< refused by a model (NaN, duplicate, out of order)
  uint64_t samples_refused = 0;        ///< dropped because their series was refused (cap)
  uint64_t samples_counter_first = 0;  ///< consumed without a result (a counter's first reading)
  uint64_t series_created = 0;
  uint64_t series_refused = 0;  ///< new-series attempts refused past the cap
  uint64_t series_evicted = 0;
  uint64_t series_active = 0;      ///< gauge
  uint64_t series_warming_up = 0;  ///< gauge: active series still in their model's warm-up
  uint64_t series_restored = 0;
  uint64_t queue_samples = 0;      ///< gauge: samples waiting
  uint64_t queue_capacity = 0;     ///< gauge
  uint64_t overload_refusals = 0;  ///< Submit calls refused with ResourceExhausted
  uint64_t wal_records = 0;        ///< batches appended to the write-ahead log
  uint64_t wal_append_errors = 0;  ///< Submit calls refused because the log append failed
  /// Latency from arrival (Submit) to score, histogram over kLatencyBucketsS (cumulative
  /// counts computed by the writer), plus sum and count.
  std::vector<uint64_t> latency_bucket_counts;
  double latency_sum_s = 0;
  uint64_t latency_count = 0;
};

/// Upper bounds (seconds) of the latency histogram buckets (+Inf implied).
inline constexpr double kLatencyBucketsS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
inline constexpr int kLatencyBuckets = sizeof(kLatencyBucketsS) / sizeof(double);

/// Figures of one Engine::ReplayWal.
struct WalReplayResult {
  store::WalReplayStats log;     ///< segments, intact records, bytes, corrupt records
  uint64_t samples = 0;          ///< samples in the intact records
  uint64_t samples_skipped = 0;  ///< already covered by the restored state (ts <= its last ts)
  uint64_t undecodable = 0;      ///< intact records whose contents could not be decoded
  double seconds = 0;            ///< wall time of the replay, queues drained
};

/// Write-ahead log segments holding live samples that LogHeld logged and SubmitLogged has not
/// queued yet: segment number -> samples. Checkpoint does not delete these segments (the held
/// samples are in no checkpointed state yet), so a crash during a long hold loses nothing.
using HeldSegments = std::map<uint64_t, uint64_t>;

/// Receives what could not be restored or replayed: the series (labels, or fingerprint when
/// the labels are unknown), the kind of entry ("series_state", "wal_record", ...) and why.
using RestoreProblemFn =
    std::function<void(const std::string& kind, const std::string& series, const std::string& why)>;

/// Sees every batch of live samples the engine accepts, once: when queue room is reserved, just
/// before its record is appended to the write-ahead log (LogHeld's batches included,
/// SubmitLogged's not again unless there is no log); and at start every record ReplayWal reads,
/// with all of its samples (the engine's skipping of restored ones is its own). So whatever the
/// observer builds from live samples it can rebuild from the log, in the log's order (concurrent
/// submitters aside). A batch refused for full queues is not observed; one whose log append
/// fails is. Not history. Called from the submitting thread outside the engine's locks; `series`
/// is the submitted vector (labels sorted; entries may have no samples).
using SampleObserverFn = std::function<void(const std::vector<TimeSeries>& series)>;

/// Runs during Engine::Checkpoint after the states are written and before the log segments they
/// cover are deleted; an error keeps the segments (replayed at the next start) and is returned.
using BeforeTruncateFn = std::function<Status()>;

class Engine {
 public:
  /// `sink` (may be null) receives episode changes; it must outlive the engine.
  Engine(const EngineOptions& options, EpisodeSink* sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Starts the worker threads.
  void Start();
  /// Processes everything queued, then stops the workers. Idempotent.
  void Stop();

  /// Queues decoded series for scoring (labels are sorted here; `series` is consumed).
  /// Returns ResourceExhausted (nothing accepted) when the queues are full, or the IoError of
  /// the write-ahead log append (nothing accepted). Once it returns OK, the samples are in the
  /// log (when one is set).
  Status Submit(std::vector<TimeSeries>&& series) { return SubmitView(series); }
  /// As Submit, but leaves `series` with the caller (labels may be sorted in place), so a caller
  /// can reuse the vector's capacity across requests. `fingerprints` (may be null): the
  /// Fingerprint of each entry's labels, already sorted (WarmStart::Intercept computes them), so
  /// they are not sorted and hashed a second time.
  Status SubmitView(std::vector<TimeSeries>& series,
                    const std::vector<uint64_t>* fingerprints = nullptr) {
    return SubmitInternal(series, Origin::kLive, fingerprints, nullptr);
  }

  // Warm start from history (server/warm_start.h) uses the four calls below.
  /// True when a model for fingerprint `fp` is in memory (created, restored, not evicted).
  bool HasSeries(uint64_t fp);
  /// Queues past samples fetched from a history source: scored like live ones (the model
  /// learns from them) but raising no episode or alert, not written to the write-ahead log and
  /// not in the latency histogram. ResourceExhausted when the queues are full (retry later).
  Status SubmitHistory(std::vector<TimeSeries>& series) {
    return SubmitInternal(series, Origin::kHistory, nullptr, nullptr);
  }
  /// Appends live samples that are held back (not queued yet) to the write-ahead log, so they
  /// survive a crash before SubmitLogged queues them, and adds the segment they went into to
  /// `*held` (may be null; pass it to SubmitLogged). Until then Checkpoint keeps that segment.
  /// Errors as Submit; nothing is queued.
  Status LogHeld(std::vector<TimeSeries>& series, HeldSegments* held) {
    return SubmitInternal(series, Origin::kLogOnly, nullptr, held);
  }
  /// Queues live samples already logged by LogHeld (not logged again); `held` lists where
  /// LogHeld put them (their segments may be deleted by a checkpoint from now on; null: none).
  /// Errors as Submit (then the segments stay kept).
  Status SubmitLogged(std::vector<TimeSeries>& series, HeldSegments* held) {
    return SubmitInternal(series, Origin::kLogged, nullptr, held);
  }

  /// For a sample observer that holds live samples back instead of using them at once (the
  /// exhaustion warm start while it fetches history): called from the observer, keeps the log
  /// segment the batch being observed goes into, and every later one, at checkpoints until
  /// ReleaseObservedSegment(*segment) is called once the held samples are in the observer's
  /// state. The same guarantee LogHeld gives, through the same held segments: a kill -9 during
  /// the hold loses nothing. For a batch the log replay observes, every segment is kept (the
  /// record's own segment is older than the current one). Returns false (nothing kept, nothing
  /// to release) without a log.
  bool KeepObservedSegment(uint64_t* segment);
  /// Ends one KeepObservedSegment of `segment`.
  void ReleaseObservedSegment(uint64_t segment);

  /// Logs every accepted batch to `wal` from now on (may be null: no log); Checkpoint truncates
  /// it. `wal` must outlive the engine. Call before Start.
  void SetWal(store::Wal* wal) { wal_ = wal; }
  /// Gives every accepted live batch and every replayed record to `observer` (see
  /// SampleObserverFn; may be null). Call before Start.
  void SetSampleObserver(SampleObserverFn observer) { observer_ = std::move(observer); }
  /// Feeds every record of `wal`'s segments below wal->first_segment() through the engine (call
  /// after Restore and Start, before ingesting). Samples not newer than a restored series' last
  /// timestamp are skipped (counted in samples_skipped); bad records go to `on_problem` (may be
  /// null). The observer (SetSampleObserver) sees each record, in log order. Returns once
  /// everything replayed is scored; IoError if a segment cannot be read.
  Status ReplayWal(store::Wal* wal, WalReplayResult* result, const RestoreProblemFn& on_problem);
  /// Blocks until every sample submitted before the call is processed, or `timeout_ms` passes.
  /// Returns false on timeout.
  bool WaitIdle(int64_t timeout_ms);

  /// Writes every series changed since the last checkpoint (and deletes evicted ones) to
  /// `store`, shard by shard in batches of 4096. Safe while ingesting. With a write-ahead log:
  /// rotates it first, waits until every batch queued before the rotation is scored, and after
  /// the states are written deletes the segments before the rotation, from the oldest one
  /// holding held samples (LogHeld without SubmitLogged yet) on kept: replayed after a crash,
  /// their other records are skipped as covered by the states. `before_truncate` (may be null)
  /// runs between the two: the place to save other state fed the same samples (everything
  /// submitted before the rotation has been submitted to them too), so that the deleted segments
  /// are covered by it as well.
  Status Checkpoint(store::StateStore* store, const BeforeTruncateFn& before_truncate = nullptr);
  /// Loads all series from `store` (call before Start). Records that cannot be restored are
  /// counted in `*skipped` and passed to `on_problem` (may be null) with the reason. Series
  /// beyond max_series are skipped too. A damaged database file gives Corruption.
  Status Restore(store::StateStore* store, uint64_t* restored, uint64_t* skipped,
                 const RestoreProblemFn& on_problem = nullptr);

  /// Calls `fn` for each active series, shard by shard, holding that shard's lock in chunks;
  /// `fn` must not call back into the engine.
  void ForEachSeries(const std::function<void(const SeriesSnapshot&)>& fn);
  /// Snapshot of one series by fingerprint; false if unknown.
  bool GetSeries(uint64_t fp, SeriesSnapshot* out);

  EngineStats stats() const;
  const EngineOptions& options() const { return opt_; }

 private:
  struct Series;
  // A batch is flat (a few allocations per request, not per series): per series its
  // fingerprint, kind, samples range and encoded labels (decoded only to create a series).
  struct Item {
    uint64_t fp;
    uint32_t sample_begin, sample_count;
    uint32_t label_off, label_len;
    MetricKind kind;
  };
  // Where a submitted batch comes from: decides logging, replay skipping and episodes.
  enum class Origin : uint8_t {
    kLive,     // ingest: logged, queued
    kReplay,   // write-ahead log at start: queued, samples a restore covers skipped
    kHistory,  // warm start: queued, no episodes, not logged
    kLogOnly,  // held live samples: logged, not queued
    kLogged,   // held live samples, logged earlier: queued
  };
  struct Batch {
    int64_t arrival_wall_ns = 0;
    bool replay = false;   // from the write-ahead log at start: skip samples a restore covers
    bool history = false;  // warm-start history: no episode changes, no latency
    uint64_t samples = 0;
    std::vector<Item> items;
    std::vector<Sample> sample_buf;
    std::string label_buf;
  };
  struct Shard {
    std::mutex mu;  // guards the registry below
    FlatIndex index;
    std::vector<std::unique_ptr<Series>> slots;
    std::vector<uint32_t> free_slots;
    std::vector<uint64_t> evicted;  // store keys to delete from the store
    int64_t last_evict_scan_ns = 0;

    std::mutex qmu;  // guards the queue
    std::condition_variable qcv;
    std::deque<Batch> queue;
    std::atomic<uint64_t> queued_samples{0};
    std::atomic<uint64_t> batches_done{0};
    uint64_t batches_pushed = 0;  // guarded by qmu
    std::thread thread;
  };

  // `fps`: precomputed fingerprints (labels sorted) or null. `held`: kLogOnly adds the segment
  // it logged into, kLogged releases it (under submit_mu_, with the queue push); else unused.
  Status SubmitInternal(std::vector<TimeSeries>& series, Origin origin,
                        const std::vector<uint64_t>* fps, HeldSegments* held);
  // Waits until every shard has finished the batches counted in `targets`; false if the workers
  // stopped first with some left.
  bool WaitBatches(const std::vector<uint64_t>& targets);
  Status WriteStates(store::StateStore* store);
  void WorkerLoop(Shard* shard);
  void ProcessBatch(Shard* shard, Batch& batch);
  Series* FindOrCreate(Shard* shard, const Batch& batch, const Item& item, int64_t now_ns);
  void EvictStale(Shard* shard, int64_t now_ns);
  void Observe(double latency_s);
  static void SaveSeries(const Series& s, std::string* out);
  Status RestoreSeries(Series* s, const Labels& labels, std::string_view in) const;

  EngineOptions opt_;
  EpisodeSink* sink_;
  std::vector<std::unique_ptr<Shard>> shards_;
  uint64_t shard_capacity_;
  std::atomic<bool> running_{false};
  store::Wal* wal_ = nullptr;
  SampleObserverFn observer_;
  std::mutex submit_mu_;        // with a WAL: orders log appends, queue pushes and rotations
  HeldSegments held_segments_;  // guarded by submit_mu_: all LogHeld samples not queued yet
  std::atomic<bool> stopping_{false};

  std::atomic<uint64_t> active_{0};
  std::atomic<uint64_t> warming_{0};  // active series whose model is still warming up
  std::atomic<uint64_t> next_store_key_{1};
  std::atomic<uint64_t> ingested_{0}, processed_{0}, rejected_{0}, refused_samples_{0},
      counter_first_{0}, created_{0}, refused_series_{0}, evicted_{0}, restored_{0}, overload_{0},
      replay_skipped_{0}, wal_records_{0}, wal_errors_{0};
  std::atomic<uint64_t> latency_buckets_[kLatencyBuckets + 1] = {};
  std::atomic<uint64_t> latency_count_{0};
  std::atomic<uint64_t> latency_sum_ns_{0};
};

}  // namespace backsight::stream

#endif  // BACKSIGHT_STREAM_ENGINE_H_
