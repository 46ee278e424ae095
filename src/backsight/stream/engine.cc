#include "backsight/stream/engine.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <thread>

#include "backsight/core/byte_io.h"
#include "backsight/store/sample_batch.h"

namespace backsight::stream {

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
// Series record versions (docs/formats.md section 2). Version 1 (before stream/) held the metric
// model's fields in the record itself; it is still read, as the model state of version 2.
constexpr uint8_t kSeriesStateVersion = 2;
constexpr uint8_t kSeriesStateVersionV1 = 1;
// Version of the metric model state (server/metric_model.cc kMetricModelStateVersion) that a
// version-1 record is rewritten into.
constexpr uint8_t kV1MetricModelStateVersion = 1;
constexpr size_t kChunk = 4096;
// Series named per damaged log record in a problem report (the rest are counted).
constexpr size_t kSeriesNamedPerRecord = 3;

// Samples `m` still needs before it can call one anomalous (its own warm-up, which a restored
// state keeps even when the default has changed since).
uint64_t WarmupRemaining(const Model& m) {
  const uint64_t n = m.accepted(), warmup = m.warmup_samples();
  return n < warmup ? warmup - n : 0;
}
}  // namespace

struct Engine::Series {
  uint64_t fp = 0;
  uint64_t store_key = 0;  // row key in the store (see store/state_store.h)
  Labels labels;
  std::unique_ptr<Model> model;
  bool has_result = false;
  bool dirty = true;
  bool in_episode = false;
  TimestampNs last_ts = 0;
  double last_value = 0;
  detect::DetectionResult last;
  TimestampNs episode_start_ts = 0;
  double episode_peak = 0;
  int64_t last_seen_wall_ns = 0;
  bool warming_up = true;  // counted in warming_ until the model's warm-up is over
  // Replayed samples at or before this are already in the restored state (see ReplayWal).
  TimestampNs replay_floor_ts = std::numeric_limits<TimestampNs>::min();
};

Engine::Engine(const EngineOptions& options, EpisodeSink* sink) : opt_(options), sink_(sink) {
  if (opt_.workers < 1) opt_.workers = 1;
  for (int i = 0; i < opt_.workers; ++i) shards_.push_back(std::make_unique<Shard>());
  shard_capacity_ = std::max<uint64_t>(1, opt_.queue_max_samples / shards_.size());
}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  if (running_) return;
  running_ = true;
  stopping_ = false;
  for (auto& s : shards_) {
    Shard* sp = s.get();
    sp->thread = std::thread([this, sp] { WorkerLoop(sp); });
  }
}

void Engine::Stop() {
  if (!running_) return;
  stopping_ = true;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->qmu);
    s->qcv.notify_all();
  }
  for (auto& s : shards_) {
    if (s->thread.joinable()) s->thread.join();
  }
  running_ = false;
}

bool Engine::HasSeries(uint64_t fp) {
  Shard& sh = *shards_[fp % shards_.size()];
  std::lock_guard<std::mutex> lock(sh.mu);
  return sh.index.Find(fp) != FlatIndex::kNone;
}

namespace {
// True while the thread is in the sample observer for a replayed record (KeepObservedSegment).
thread_local bool t_observing_replay = false;
}  // namespace

Status Engine::SubmitInternal(std::vector<TimeSeries>& series, Origin origin,
                              const std::vector<uint64_t>* fps, HeldSegments* held) {
  const bool replay = origin == Origin::kReplay;
  const bool log = origin == Origin::kLive || origin == Origin::kLogOnly;
  if (origin == Origin::kLogOnly && wal_ == nullptr) return Status::OK();  // nothing to log
  const size_t n = shards_.size();
  std::vector<Batch> per_shard(n);
  const int64_t now = WallNowNs();
  for (auto& b : per_shard) {
    b.arrival_wall_ns = now;
    b.replay = replay;
    b.history = origin == Origin::kHistory;
  }
  if (fps != nullptr && fps->size() != series.size()) fps = nullptr;  // misaligned: recompute
  // With a log, the record is encoded in the request's order (not shard by shard), so a replay
  // gives the server's other sample consumers the series in the order they saw them live (an
  // exhaustion rule's capacity series before its usage series, say).
  const bool encode = wal_ != nullptr && log;
  thread_local std::string record;
  if (encode) record.assign(store::kWalHeaderBytes, '\0');  // room for the framing header
  for (size_t i = 0; i < series.size(); ++i) {
    TimeSeries& ts = series[i];
    if (ts.samples.empty()) continue;
    uint64_t fp;
    if (fps != nullptr) {
      fp = (*fps)[i];  // labels sorted and hashed by the caller
    } else {
      if (!std::is_sorted(ts.labels.begin(), ts.labels.end(),
                          [](const Label& a, const Label& b) { return a.name < b.name; })) {
        SortLabels(&ts.labels);
      }
      fp = Fingerprint(ts.labels);
    }
    Batch& b = per_shard[fp % n];
    Item item;
    item.fp = fp;
    item.kind = ts.kind;
    item.sample_begin = static_cast<uint32_t>(b.sample_buf.size());
    item.sample_count = static_cast<uint32_t>(ts.samples.size());
    b.sample_buf.insert(b.sample_buf.end(), ts.samples.begin(), ts.samples.end());
    item.label_off = static_cast<uint32_t>(b.label_buf.size());
    store::EncodeLabels(ts.labels, &b.label_buf);
    item.label_len = static_cast<uint32_t>(b.label_buf.size() - item.label_off);
    b.samples += ts.samples.size();
    b.items.push_back(item);
    if (encode) {
      store::AppendBatchSeries(fp, ts.kind,
                               std::string_view(b.label_buf).substr(item.label_off, item.label_len),
                               ts.samples.data(), ts.samples.size(), &record);
    }
  }
  // Reserve room in every shard touched; all or nothing.
  size_t reserved = 0;
  for (; reserved < n; ++reserved) {
    uint64_t want = per_shard[reserved].samples;
    if (want == 0) continue;
    Shard& s = *shards_[reserved];
    uint64_t prev = s.queued_samples.fetch_add(want);
    // A single batch larger than a shard's capacity is still accepted into an empty queue, so an
    // oversized (but valid) request cannot be refused forever.
    if (prev != 0 && prev + want > shard_capacity_) {
      s.queued_samples.fetch_sub(want);
      break;
    }
  }
  if (reserved < n) {
    for (size_t i = 0; i < reserved; ++i) {
      shards_[i]->queued_samples.fetch_sub(per_shard[i].samples);
    }
    if (origin == Origin::kLive || origin == Origin::kLogOnly) ++overload_;
    return Status::ResourceExhausted(
        Reason::kQueueFull, "ingest queues are full (" + std::to_string(opt_.queue_max_samples) +
                                " samples); retry later");
  }
  // Room is reserved: the observer gets the batch now, before the log append, so a checkpoint
  // that rotates the log after this append has it in the state it saves before deleting the
  // older segments (a failed append below leaves it observed: the sender's retry is ignored by
  // the observer's newer-only rule). Held samples are observed once: when LogHeld logs them, or
  // without a log when SubmitLogged queues them.
  const bool observe = origin == Origin::kLive || origin == Origin::kReplay ||
                       origin == Origin::kLogOnly || (origin == Origin::kLogged && wal_ == nullptr);
  if (observe && observer_) {
    t_observing_replay = replay;
    observer_(series);
    t_observing_replay = false;
  }
  // With a log: the accepted batch, encoded above outside the lock, is appended and queued under
  // submit_mu_, so the log's order is the queues' order. Replayed batches are in the log already.
  std::unique_lock<std::mutex> order_lock;
  if (encode) {
    const bool any = record.size() > store::kWalHeaderBytes;
    if (any) store::FrameWalRecord(&record);  // the CRC, before taking the lock
    order_lock = std::unique_lock<std::mutex>(submit_mu_);
    uint64_t segment = 0;
    Status st = any ? wal_->AppendFramed(record, &segment) : Status::OK();
    if (!st.ok()) {
      order_lock.unlock();
      for (size_t i = 0; i < n; ++i) shards_[i]->queued_samples.fetch_sub(per_shard[i].samples);
      ++wal_errors_;
      return st.WithContext("write-ahead log");
    }
    if (any) ++wal_records_;
    if (any && origin == Origin::kLogOnly) {  // kept by Checkpoint until SubmitLogged
      uint64_t samples = 0;
      for (const Batch& b : per_shard) samples += b.samples;
      held_segments_[segment] += samples;
      if (held != nullptr) (*held)[segment] += samples;
    }
  }
  if (origin == Origin::kLogOnly) {  // held by the caller, queued later by SubmitLogged
    for (size_t i = 0; i < n; ++i) shards_[i]->queued_samples.fetch_sub(per_shard[i].samples);
    return Status::OK();
  }
  // Held samples leave held_segments_ in the same critical section that queues them, so a
  // checkpoint either waits for their batch or keeps their segment.
  const bool release = origin == Origin::kLogged && held != nullptr && !held->empty();
  if (release) order_lock = std::unique_lock<std::mutex>(submit_mu_);
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (per_shard[i].items.empty()) continue;
    total += per_shard[i].samples;
    Shard& s = *shards_[i];
    std::lock_guard<std::mutex> lock(s.qmu);
    s.queue.push_back(std::move(per_shard[i]));
    ++s.batches_pushed;
    s.qcv.notify_one();
  }
  if (release) {
    for (const auto& [segment, samples] : *held) {
      auto it = held_segments_.find(segment);
      if (it == held_segments_.end()) continue;
      it->second -= std::min(it->second, samples);
      if (it->second == 0) held_segments_.erase(it);
    }
    held->clear();
  }
  if (origin != Origin::kHistory) ingested_ += total;
  return Status::OK();
}

bool Engine::KeepObservedSegment(uint64_t* segment) {
  if (wal_ == nullptr) return false;
  std::lock_guard<std::mutex> order(submit_mu_);
  // The batch is appended after its observer returns, under submit_mu_, so into this segment or
  // a later one; a replayed record lies in an older segment: segment 0 keeps them all.
  *segment = t_observing_replay ? 0 : wal_->current_segment();
  ++held_segments_[*segment];
  return true;
}

void Engine::ReleaseObservedSegment(uint64_t segment) {
  std::lock_guard<std::mutex> order(submit_mu_);
  auto it = held_segments_.find(segment);
  if (it == held_segments_.end()) return;
  if (--it->second == 0) held_segments_.erase(it);
}

bool Engine::WaitBatches(const std::vector<uint64_t>& targets) {
  for (size_t i = 0; i < shards_.size(); ++i) {
    while (shards_[i]->batches_done.load() < targets[i]) {
      if (!running_) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  return true;
}

bool Engine::WaitIdle(int64_t timeout_ms) {
  std::vector<uint64_t> targets;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->qmu);
    targets.push_back(s->batches_pushed);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (size_t i = 0; i < shards_.size(); ++i) {
    while (shards_[i]->batches_done.load() < targets[i]) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  return true;
}

void Engine::WorkerLoop(Shard* shard) {
  for (;;) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(shard->qmu);
      shard->qcv.wait_for(lock, std::chrono::seconds(1),
                          [&] { return stopping_.load() || !shard->queue.empty(); });
      if (shard->queue.empty()) {
        if (stopping_) return;
        lock.unlock();
        std::lock_guard<std::mutex> reg(shard->mu);
        EvictStale(shard, WallNowNs());
        continue;
      }
      batch = std::move(shard->queue.front());
      shard->queue.pop_front();
    }
    ProcessBatch(shard, batch);
    shard->queued_samples.fetch_sub(batch.samples);
    shard->batches_done.fetch_add(1);
  }
}

Engine::Series* Engine::FindOrCreate(Shard* shard, const Batch& batch, const Item& item,
                                     int64_t now) {
  const uint64_t fp = item.fp;
  const uint32_t found = shard->index.Find(fp);
  if (found != FlatIndex::kNone) return shard->slots[found].get();
  if (active_.fetch_add(1) >= opt_.max_series) {
    active_.fetch_sub(1);
    ++refused_series_;
    return nullptr;
  }
  auto s = std::make_unique<Series>();
  s->fp = fp;
  if (!store::DecodeLabels(std::string_view(batch.label_buf).substr(item.label_off, item.label_len),
                           &s->labels)
           .ok()) {
    active_.fetch_sub(1);
    return nullptr;  // cannot happen: encoded by SubmitView
  }
  if (opt_.model_factory) s->model = opt_.model_factory->Create(s->labels, item.kind);
  if (s->model == nullptr) {
    active_.fetch_sub(1);
    ++refused_series_;
    return nullptr;
  }
  s->store_key = next_store_key_.fetch_add(1);
  ++warming_;
  s->last_seen_wall_ns = now;
  uint32_t slot;
  if (!shard->free_slots.empty()) {
    slot = shard->free_slots.back();
    shard->free_slots.pop_back();
    shard->slots[slot] = std::move(s);
  } else {
    slot = static_cast<uint32_t>(shard->slots.size());
    shard->slots.push_back(std::move(s));
  }
  shard->index.Put(fp, slot);
  ++created_;
  return shard->slots[slot].get();
}

void Engine::Observe(double latency_s) {
  int b = 0;
  while (b < kLatencyBuckets && latency_s > kLatencyBucketsS[b]) ++b;
  latency_buckets_[b].fetch_add(1, std::memory_order_relaxed);
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<uint64_t>(latency_s * 1e9), std::memory_order_relaxed);
}

void Engine::ProcessBatch(Shard* shard, Batch& batch) {
  const int64_t now = WallNowNs();
  uint64_t processed = 0, rejected = 0, refused = 0, first = 0, skipped = 0;
  std::vector<EpisodeChange> changes;
  {
    std::lock_guard<std::mutex> lock(shard->mu);
    // Pass 1: resolve known series with prefetching, so the cache misses of the index, the
    // series and its model state overlap instead of being paid one after the other.
    thread_local std::vector<Series*> resolved;
    const size_t n_items = batch.items.size();
    resolved.assign(n_items, nullptr);
    constexpr size_t kAhead = 8;
    for (size_t k = 0; k < std::min(n_items, kAhead); ++k) {
      shard->index.Prefetch(batch.items[k].fp);
    }
    for (size_t k = 0; k < n_items; ++k) {
      if (k + kAhead < n_items) shard->index.Prefetch(batch.items[k + kAhead].fp);
      const uint32_t slot = shard->index.Find(batch.items[k].fp);
      if (slot != FlatIndex::kNone) {
        resolved[k] = shard->slots[slot].get();
        __builtin_prefetch(resolved[k]);
      }
    }
    for (size_t k = 0; k < n_items; ++k) {
      const Item& item = batch.items[k];
      // The series object again (pass 1's prefetch may be evicted by now in a long batch):
      // cheap when series were created in the order they arrive, needed when they were not
      // (warm start creates them in the order their history fetches end).
      if (k + 8 < n_items && resolved[k + 8] != nullptr) __builtin_prefetch(resolved[k + 8]);
      if (k + 4 < n_items && resolved[k + 4] != nullptr) {
        __builtin_prefetch(resolved[k + 4]->model.get());
      }
      // Two keys ahead the model is (likely) in cache: fetch what its Update reads first.
      if (k + 2 < n_items && resolved[k + 2] != nullptr) {
        __builtin_prefetch(resolved[k + 2]->model->hot_state());
      }
      Series* s = resolved[k] != nullptr ? resolved[k] : FindOrCreate(shard, batch, item, now);
      if (s == nullptr) {
        refused += item.sample_count;
        continue;
      }
      s->last_seen_wall_ns = now;
      const Sample* first_sample = batch.sample_buf.data() + item.sample_begin;
      for (const Sample* smp_p = first_sample; smp_p != first_sample + item.sample_count; ++smp_p) {
        const Sample& smp = *smp_p;
        if (batch.replay && smp.ts <= s->replay_floor_ts) {
          ++skipped;  // in the restored checkpoint already
          continue;
        }
        ModelOutput out;
        if (!s->model->Update(smp.ts, smp.value, &out).ok()) {
          ++rejected;
          continue;
        }
        if (!out.scored) {
          ++first;
          continue;
        }
        const double v = out.value;
        const detect::DetectionResult& res = out.result;
        ++processed;
        if (s->warming_up && !res.warming_up) {
          s->warming_up = false;
          warming_.fetch_sub(1);
        }
        s->has_result = true;
        s->dirty = true;
        s->last = res;
        s->last_ts = smp.ts;
        s->last_value = v;
        // Episode changes carry the sample and its result; only a start carries the labels.
        if (batch.history) continue;  // the past raises no episode (warm start)
        auto emit = [&](EpisodeChange::Kind kind, const Labels& labels) {
          changes.push_back({kind, s->fp, labels, smp.ts, now, v, res.anomaly_score, res.yhat,
                             res.yhat_lower, res.yhat_upper});
        };
        if (res.is_anomaly) {
          if (!s->in_episode) {
            s->in_episode = true;
            s->episode_start_ts = smp.ts;
            s->episode_peak = res.anomaly_score;
            emit(EpisodeChange::Kind::kStart, s->labels);
          } else if (res.anomaly_score > s->episode_peak) {
            s->episode_peak = res.anomaly_score;
            emit(EpisodeChange::Kind::kPeak, Labels{});
          }
        } else if (s->in_episode && !res.warming_up) {
          s->in_episode = false;
          emit(EpisodeChange::Kind::kEnd, Labels{});
        }
      }
    }
    if (now - shard->last_evict_scan_ns > 1'000'000'000) EvictStale(shard, now);
  }
  processed_ += processed;
  rejected_ += rejected;
  refused_samples_ += refused;
  counter_first_ += first;
  if (skipped > 0) replay_skipped_ += skipped;
  if (!batch.history) {
    Observe(static_cast<double>(WallNowNs() - batch.arrival_wall_ns) * 1e-9);
  }
  if (sink_ != nullptr) {
    for (auto& c : changes) sink_->OnEpisodeChange(std::move(c));
  }
}

void Engine::EvictStale(Shard* shard, int64_t now) {
  shard->last_evict_scan_ns = now;
  const int64_t limit = now - opt_.stale_after_ms * 1'000'000;
  for (uint32_t i = 0; i < shard->slots.size(); ++i) {
    Series* s = shard->slots[i].get();
    if (s == nullptr || s->last_seen_wall_ns >= limit) continue;
    if (s->in_episode && sink_ != nullptr) {
      sink_->OnEpisodeChange({EpisodeChange::Kind::kEnd,
                              s->fp,
                              {},
                              s->last_ts,
                              now,
                              s->last_value,
                              s->last.anomaly_score,
                              s->last.yhat,
                              s->last.yhat_lower,
                              s->last.yhat_upper});
    }
    if (s->warming_up) warming_.fetch_sub(1);
    shard->evicted.push_back(s->store_key);
    shard->index.Erase(s->fp);
    shard->slots[i].reset();
    shard->free_slots.push_back(i);
    active_.fetch_sub(1);
    ++evicted_;
  }
}

// Series record (docs/formats.md section 2), version 2: u8 version, u8 flags (2 has_result,
// 4 in_episode), i64 last_ts, f64 last_value, last result (f64 raw_score, f64 anomaly_score,
// f64 likelihood, u8 flags: 1 is_anomaly, 2 warming_up; f64 yhat, f64 yhat_lower, f64 yhat_upper),
// i64 episode_start_ts, f64 episode_peak, string model_state (Model::SaveState).
// Version 1 had flag bit 0 = counter and, instead of model_state, the detector state string
// followed by the CounterRate state for counters; it is read by rewriting those into the metric
// model's state (server/metric_model.cc), the only model that existed then.
void Engine::SaveSeries(const Series& s, std::string* out) {
  ByteWriter w(out);
  w.PutU8(kSeriesStateVersion);
  w.PutU8((s.has_result ? 2 : 0) | (s.in_episode ? 4 : 0));
  w.PutI64(s.last_ts);
  w.PutDouble(s.last_value);
  w.PutDouble(s.last.raw_score);
  w.PutDouble(s.last.anomaly_score);
  w.PutDouble(s.last.likelihood);
  w.PutU8((s.last.is_anomaly ? 1 : 0) | (s.last.warming_up ? 2 : 0));
  w.PutDouble(s.last.yhat);
  w.PutDouble(s.last.yhat_lower);
  w.PutDouble(s.last.yhat_upper);
  w.PutI64(s.episode_start_ts);
  w.PutDouble(s.episode_peak);
  std::string model_state;
  s.model->SaveState(&model_state);
  w.PutString(model_state);
}

Status Engine::RestoreSeries(Series* s, const Labels& labels, std::string_view in) const {
  ByteReader r(in);
  uint8_t version, flags, rflags;
  BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&version, "version"));
  if (version != kSeriesStateVersion && version != kSeriesStateVersionV1) {
    return Status::Corruption(
        "series state version " + std::to_string(version) + " unknown (this build reads versions " +
        std::to_string(kSeriesStateVersionV1) + " and " + std::to_string(kSeriesStateVersion) +
        "); the series is skipped and learnt afresh");
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&flags, "flags"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s->last_ts, "last_ts"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s->last_value, "last_value"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s->last.raw_score, "raw_score"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s->last.anomaly_score, "anomaly_score"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s->last.likelihood, "likelihood"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetU8(&rflags, "result_flags"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s->last.yhat, "yhat"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s->last.yhat_lower, "yhat_lower"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s->last.yhat_upper, "yhat_upper"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&s->episode_start_ts, "episode_start_ts"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&s->episode_peak, "episode_peak"));
  std::string model_state;
  if (version == kSeriesStateVersion) {
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&model_state, "model_state"));
    if (!r.done()) {
      return Status::Corruption("series state: " + std::to_string(r.remaining()) +
                                " trailing bytes at offset " + std::to_string(r.position()));
    }
  } else {
    // Version 1: the metric model's fields, rewritten as its state (version 1 of that state:
    // u8 version, u8 counter flag, string detector state, the CounterRate bytes for counters).
    std::string det;
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&det, "detector_state"));
    ByteWriter w(&model_state);
    w.PutU8(kV1MetricModelStateVersion);
    w.PutU8(flags & 1);
    w.PutString(det);
    model_state.append(in.substr(r.position()));
  }
  if (opt_.model_factory) s->model = opt_.model_factory->Create(labels, MetricKind::kUnknown);
  if (s->model == nullptr) return Status::Corruption("no model for this series (refused)");
  BACKSIGHT_RETURN_IF_ERROR(s->model->RestoreState(model_state));
  s->has_result = flags & 2;
  // Episodes are not carried over a restart: the series starts normal and a persisting anomaly
  // opens a new episode (the store closes episodes left open, see Server).
  s->in_episode = false;
  s->last.is_anomaly = rflags & 1;
  s->last.warming_up = rflags & 2;
  return Status::OK();
}

Status Engine::Checkpoint(store::StateStore* store, const BeforeTruncateFn& before_truncate) {
  // With a log: rotate, then wait until every batch logged before the rotation is applied, so
  // the states written below cover the older segments entirely.
  uint64_t keep_from = 0;
  bool truncate = false;
  if (wal_ != nullptr) {
    std::vector<uint64_t> targets;
    {
      std::lock_guard<std::mutex> order(submit_mu_);
      BACKSIGHT_RETURN_IF_ERROR(wal_->Rotate(&keep_from));
      // Segments with held samples (LogHeld, not queued yet) stay: no state covers them.
      if (!held_segments_.empty()) keep_from = std::min(keep_from, held_segments_.begin()->first);
      for (auto& s : shards_) {
        std::lock_guard<std::mutex> lock(s->qmu);
        targets.push_back(s->batches_pushed);
      }
    }
    truncate = WaitBatches(targets);
  }
  BACKSIGHT_RETURN_IF_ERROR(WriteStates(store));
  if (before_truncate) BACKSIGHT_RETURN_IF_ERROR(before_truncate());
  if (truncate) BACKSIGHT_RETURN_IF_ERROR(wal_->RemoveBefore(keep_from));
  return Status::OK();
}

Status Engine::WriteStates(store::StateStore* store) {
  const int64_t now = WallNowNs();
  std::vector<store::SeriesRecord> records;
  for (auto& shp : shards_) {
    Shard& sh = *shp;
    std::vector<uint64_t> evicted;
    {
      std::lock_guard<std::mutex> lock(sh.mu);
      evicted.swap(sh.evicted);
    }
    if (!evicted.empty()) {
      Status st = store->DeleteStates(evicted);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(sh.mu);
        sh.evicted.insert(sh.evicted.end(), evicted.begin(), evicted.end());
        return st;
      }
    }
    size_t pos = 0;
    for (;;) {
      records.clear();
      {
        std::lock_guard<std::mutex> lock(sh.mu);
        if (pos >= sh.slots.size()) break;
        size_t end = std::min(sh.slots.size(), pos + kChunk);
        for (; pos < end; ++pos) {
          Series* s = sh.slots[pos].get();
          if (s == nullptr || !s->dirty) continue;
          store::SeriesRecord rec;
          rec.key = s->store_key;
          rec.fp = s->fp;
          rec.labels = s->labels;
          rec.updated_ns = now;
          SaveSeries(*s, &rec.state);
          s->dirty = false;
          records.push_back(std::move(rec));
        }
      }
      if (records.empty()) continue;
      Status st = store->SaveStates(records);
      if (!st.ok()) {
        // Mark them dirty again so the next checkpoint retries.
        std::lock_guard<std::mutex> lock(sh.mu);
        for (const auto& rec : records) {
          uint32_t slot = sh.index.Find(rec.fp);
          if (slot != FlatIndex::kNone) sh.slots[slot]->dirty = true;
        }
        return st;
      }
    }
  }
  return Status::OK();
}

Status Engine::Restore(store::StateStore* store, uint64_t* restored, uint64_t* skipped,
                       const RestoreProblemFn& on_problem) {
  uint64_t ok = 0, bad = 0;
  const int64_t now = WallNowNs();
  auto problem = [&](const std::string& series, const std::string& why) {
    ++bad;
    if (on_problem) on_problem("series_state", series, why);
  };
  Status st = store->LoadStates(
      [&](store::SeriesRecord&& rec) {
        SortLabels(&rec.labels);
        if (Fingerprint(rec.labels) != rec.fp) {
          problem(LabelsToString(rec.labels), "stored fingerprint " + FormatFingerprint(rec.fp) +
                                                  " does not match the labels (row key " +
                                                  std::to_string(rec.key) + ")");
          return Status::OK();
        }
        if (active_.load() >= opt_.max_series) {
          problem(LabelsToString(rec.labels), "series cap (series.max_active) reached");
          return Status::OK();
        }
        auto s = std::make_unique<Series>();
        if (Status rs = RestoreSeries(s.get(), rec.labels, rec.state); !rs.ok()) {
          problem(LabelsToString(rec.labels), "detector state unreadable: " + rs.message());
          return Status::OK();
        }
        s->replay_floor_ts = std::max(s->last_ts, s->model->held_until_ts());
        s->fp = rec.fp;
        s->store_key = rec.key;
        if (rec.key >= next_store_key_) next_store_key_ = rec.key + 1;
        s->labels = std::move(rec.labels);
        s->dirty = false;
        s->last_seen_wall_ns = now;
        Shard& sh = *shards_[rec.fp % shards_.size()];
        std::lock_guard<std::mutex> lock(sh.mu);
        if (sh.index.Find(rec.fp) != FlatIndex::kNone) {
          sh.evicted.push_back(rec.key);  // duplicate row (crash between evict and delete)
          return Status::OK();
        }
        sh.index.Put(rec.fp, static_cast<uint32_t>(sh.slots.size()));
        s->warming_up = WarmupRemaining(*s->model) > 0;
        if (s->warming_up) ++warming_;
        sh.slots.push_back(std::move(s));
        ++active_;
        ++ok;
        return Status::OK();
      },
      [&](uint64_t key, uint64_t fp, const Status& why) {
        problem(FormatFingerprint(fp), why.message() + " (row key " + std::to_string(key) + ")");
      });
  restored_ += ok;
  if (restored) *restored = ok;
  if (skipped) *skipped = bad;
  return st;
}

Status Engine::ReplayWal(store::Wal* wal, WalReplayResult* result,
                         const RestoreProblemFn& on_problem) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t skipped0 = replay_skipped_.load();
  WalReplayResult res;
  std::vector<store::BatchSeries> decoded;
  std::vector<TimeSeries> batch;
  // Names up to kSeriesNamedPerRecord series of a (possibly partial) record.
  auto name_series = [&](std::string_view payload) {
    // Best effort on a damaged record: the series decoded before the damage are named; the
    // damage itself is what the caller reports.
    (void)store::DecodeSampleBatch(payload, &decoded);
    std::string names;
    for (size_t i = 0; i < decoded.size() && i < kSeriesNamedPerRecord; ++i) {
      if (!names.empty()) names += ", ";
      names += LabelsToString(decoded[i].series.labels);
    }
    if (decoded.size() > kSeriesNamedPerRecord) {
      names += " and " + std::to_string(decoded.size() - kSeriesNamedPerRecord) + " more";
    }
    return names.empty() ? std::string("(unknown: record unreadable)") : names;
  };
  Status st = wal->Replay(
      wal->first_segment(),
      [&](std::string_view rec) {
        Status ds = store::DecodeSampleBatch(rec, &decoded);
        if (!ds.ok()) {
          ++res.undecodable;
          if (on_problem) on_problem("wal_record", name_series(rec), ds.message());
          return Status::OK();
        }
        batch.clear();
        for (auto& b : decoded) {
          res.samples += b.series.samples.size();
          batch.push_back(std::move(b.series));
        }
        for (;;) {
          Status s = SubmitInternal(batch, Origin::kReplay, nullptr, nullptr);
          if (s.reason() != Reason::kQueueFull) return s;  // a full queue drains: retry
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      },
      [&](const store::WalCorruption& c) {
        if (!on_problem) return;
        on_problem("wal_record", name_series(c.payload),
                   "segment " + wal->SegmentPath(c.segment) + ": " + c.reason + "; " +
                       std::to_string(c.bytes_lost) + " bytes from there to the segment end " +
                       (c.torn ? "dropped (torn write at a crash)" : "dropped"));
      },
      &res.log);
  WaitIdle(std::numeric_limits<int32_t>::max());
  res.samples_skipped = replay_skipped_.load() - skipped0;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (result) *result = res;
  return st;
}

void Engine::ForEachSeries(const std::function<void(const SeriesSnapshot&)>& fn) {
  SeriesSnapshot snap;
  for (auto& shp : shards_) {
    Shard& sh = *shp;
    size_t pos = 0;
    for (;;) {
      std::lock_guard<std::mutex> lock(sh.mu);
      if (pos >= sh.slots.size()) break;
      size_t end = std::min(sh.slots.size(), pos + kChunk);
      for (; pos < end; ++pos) {
        const Series* s = sh.slots[pos].get();
        if (s == nullptr) continue;
        snap.fp = s->fp;
        snap.labels = &s->labels;
        snap.is_counter = s->model->input_is_rate();
        snap.has_result = s->has_result;
        snap.last_ts = s->last_ts;
        snap.last_value = s->last_value;
        snap.result = s->last;
        snap.accepted = s->model->accepted();
        snap.warmup_remaining = WarmupRemaining(*s->model);
        snap.rejected = s->model->rejected();
        snap.in_episode = s->in_episode;
        snap.episode_start_ts = s->episode_start_ts;
        snap.episode_peak = s->episode_peak;
        snap.last_seen_wall_ns = s->last_seen_wall_ns;
        fn(snap);
      }
    }
  }
}

bool Engine::GetSeries(uint64_t fp, SeriesSnapshot* out) {
  Shard& sh = *shards_[fp % shards_.size()];
  std::lock_guard<std::mutex> lock(sh.mu);
  const uint32_t slot = sh.index.Find(fp);
  if (slot == FlatIndex::kNone) return false;
  const Series* s = sh.slots[slot].get();
  out->fp = s->fp;
  out->labels_copy = s->labels;
  out->labels = &out->labels_copy;
  out->is_counter = s->model->input_is_rate();
  out->has_result = s->has_result;
  out->last_ts = s->last_ts;
  out->last_value = s->last_value;
  out->result = s->last;
  out->accepted = s->model->accepted();
  out->warmup_remaining = WarmupRemaining(*s->model);
  out->rejected = s->model->rejected();
  out->in_episode = s->in_episode;
  out->episode_start_ts = s->episode_start_ts;
  out->episode_peak = s->episode_peak;
  out->last_seen_wall_ns = s->last_seen_wall_ns;
  return true;
}

EngineStats Engine::stats() const {
  EngineStats st;
  st.samples_ingested = ingested_;
  st.samples_processed = processed_;
  st.samples_rejected = rejected_;
  st.samples_refused = refused_samples_;
  st.samples_counter_first = counter_first_;
  st.series_created = created_;
  st.series_refused = refused_series_;
  st.series_evicted = evicted_;
  st.series_active = active_;
  st.series_warming_up = warming_;
  st.series_restored = restored_;
  for (const auto& s : shards_) st.queue_samples += s->queued_samples.load();
  st.queue_capacity = shard_capacity_ * shards_.size();
  st.overload_refusals = overload_;
  st.wal_records = wal_records_;
  st.wal_append_errors = wal_errors_;
  for (int i = 0; i <= kLatencyBuckets; ++i)
    st.latency_bucket_counts.push_back(latency_buckets_[i]);
  st.latency_count = latency_count_;
  st.latency_sum_s = static_cast<double>(latency_sum_ns_.load()) * 1e-9;
  return st;
}

}  // namespace backsight::stream
