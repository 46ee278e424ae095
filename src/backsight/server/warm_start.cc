#include "backsight/server/warm_start.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace backsight::server {
namespace {

// At most this many query_range requests per series (SplitRange pieces): a step finer than
// lookback / (8 x 11,000 points) is coarsened, e.g. 7 s for a 7-day lookback.
constexpr int64_t kMaxQueriesPerFetch = 8;
// Smallest step asked for: Prometheus' own minimum scrape resolution is 1 ms, but a history
// finer than 1 s costs queries without adding to what the detector learns.
constexpr int64_t kMinStepMs = 1000;

// History is queued in pieces of this many points, so one series' past never fills a shard's
// queue on its own (queues hold limits.queue_max_samples / workers).
constexpr size_t kHistoryChunk = 10'000;
// Wait between tries while the engine queues are full.
constexpr auto kQueueFullWait = std::chrono::milliseconds(2);
// Known-set lookups are prefetched this many series ahead (as Engine::ProcessBatch does for
// its index), so their cache misses overlap.
constexpr size_t kKnownPrefetchAhead = 8;

bool LabelsSorted(const Labels& labels) {
  return std::is_sorted(labels.begin(), labels.end(),
                        [](const Label& a, const Label& b) { return a.name < b.name; });
}

}  // namespace

int64_t HistoryStepMs(int64_t wanted_ms, int64_t lookback_ms) {
  const int64_t coarsest = lookback_ms / (kMaxQueriesPerFetch * kMaxPointsPerQuery) + 1;
  return std::max({wanted_ms, kMinStepMs, coarsest});
}

int64_t SmallestGapMs(std::vector<Sample> samples) {
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.ts < b.ts; });
  int64_t best = 0;
  for (size_t i = 1; i < samples.size(); ++i) {
    const int64_t gap = (samples[i].ts - samples[i - 1].ts) / kNanosPerMilli;
    if (gap > 0 && (best == 0 || gap < best)) best = gap;
  }
  return best;
}

Status FetchPast(HistorySource* source, const WarmStartOptions& opt, const Labels& labels,
                 TimestampNs first_ts, int64_t step_ms, const std::function<bool(int64_t)>& sleep,
                 std::mt19937_64* rng, std::vector<Sample>* past, std::atomic<uint64_t>* retries) {
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  std::vector<Sample> history;
  Status st;
  for (int attempt = 1;; ++attempt) {
    history.clear();
    st = source->Fetch(labels, first_ts - opt.lookback_ms * kNanosPerMilli,
                       first_ts - kNanosPerMilli, step_ms, &history);
    if (st.ok() || st.code() != Status::Code::kUnavailable || attempt >= opt.max_attempts) break;
    if (retries != nullptr) retries->fetch_add(1);
    const int64_t backoff = std::min(opt.backoff_max_ms, opt.backoff_base_ms << (attempt - 1));
    if (!sleep(static_cast<int64_t>(static_cast<double>(backoff) * jitter(*rng)))) break;
  }
  past->clear();
  past->reserve(history.size());
  for (const Sample& s : history) {
    if (s.ts < first_ts && (past->empty() || s.ts > past->back().ts)) past->push_back(s);
  }
  return st;
}

bool WaitPopFetch(std::unique_lock<std::mutex>* lock, std::condition_variable* cv,
                  const bool& stopping, std::deque<uint64_t>* queue, uint64_t* fp) {
  cv->wait(*lock, [&] { return stopping || !queue->empty(); });
  if (stopping) return false;
  *fp = queue->front();
  queue->pop_front();
  return true;
}

bool SleepUnlessStopping(std::mutex* mu, std::condition_variable* cv, const bool& stopping,
                         int64_t ms) {
  std::unique_lock<std::mutex> lock(*mu);
  return !cv->wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping; });
}

WarmStart::WarmStart(const WarmStartOptions& options, Engine* engine, HistorySource* source)
    : opt_(options), engine_(engine), source_(source) {}

WarmStart::~WarmStart() { Stop(); }

void WarmStart::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  known_reset_at_ns_ = WallNowNs();
  for (int i = 0; i < std::max(1, opt_.concurrency); ++i) {
    threads_.emplace_back([this] { FetchLoop(); });
  }
  threads_.emplace_back([this] { ReleaseLoop(); });
}

void WarmStart::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    threads.swap(threads_);
  }
  fetch_cv_.notify_all();
  stop_cv_.notify_all();
  // Fetch threads first (the last one is the release thread): they finish their current try.
  for (size_t i = 0; i + 1 < threads.size(); ++i) threads[i].join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [fp, p] : pending_) {
      if (p.state != State::kReleasing) {
        cold_failed_.fetch_add(1);
        ReleaseLocked(fp, &p);
      }
    }
    fetch_queue_.clear();
    release_done_ = true;
  }
  release_cv_.notify_all();
  threads.back().join();
}

Status WarmStart::Intercept(std::vector<TimeSeries>* series, std::vector<uint64_t>* fingerprints) {
  // Fast path, run by every request once its series are known: fingerprints outside any lock,
  // lookups under a shared lock (one exclusive lock per request cost +29 % server CPU per
  // sample in serve_load, the HTTP pool threads queueing on it).
  std::vector<uint64_t>& fps = *fingerprints;
  fps.assign(series->size(), 0);
  for (size_t i = 0; i < series->size(); ++i) {
    TimeSeries& ts = (*series)[i];
    if (ts.samples.empty()) continue;
    if (!LabelsSorted(ts.labels)) SortLabels(&ts.labels);
    fps[i] = Fingerprint(ts.labels);
  }
  const int64_t now = WallNowNs();
  if (now - known_reset_at_ns_.load() <= opt_.known_reset_ms * kNanosPerMilli) {
    std::shared_lock<std::shared_mutex> known_lock(known_mu_);
    bool all_known = true;
    const size_t n = series->size();
    for (size_t i = 0; i < std::min(n, kKnownPrefetchAhead); ++i) known_.Prefetch(fps[i]);
    for (size_t i = 0; i < n && all_known; ++i) {
      if (i + kKnownPrefetchAhead < n) known_.Prefetch(fps[i + kKnownPrefetchAhead]);
      all_known = (*series)[i].samples.empty() || known_.Find(fps[i]) != FlatIndex::kNone;
    }
    if (all_known) return Status::OK();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (now - known_reset_at_ns_.load() > opt_.known_reset_ms * kNanosPerMilli) {
    std::lock_guard<std::shared_mutex> known_lock(known_mu_);
    known_ = FlatIndex();
    known_reset_at_ns_ = now;
  }
  // Pass 1: pick the entries to hold (nothing changes yet, so a failed log append undoes nothing).
  struct Take {
    size_t index;  // in *series
    uint64_t fp;
    bool is_new;
  };
  std::vector<Take> takes;
  std::vector<TimeSeries> hold;
  std::unordered_set<uint64_t> new_here;  // a series twice in one request
  uint64_t new_samples = 0;
  for (size_t i = 0; i < series->size(); ++i) {
    TimeSeries& ts = (*series)[i];
    bool take = false, is_new = false;
    uint64_t fp = 0;
    if (!ts.samples.empty()) {
      fp = fps[i];
      if (!IsKnown(fp)) {
        if (pending_.count(fp) != 0 || new_here.count(fp) != 0) {
          take = true;
        } else if (engine_->HasSeries(fp)) {
          AddKnown(fp);
        } else if (stopping_ ||
                   held_total_ + new_samples + ts.samples.size() > opt_.max_held_samples) {
          AddKnown(fp);
          cold_full_.fetch_add(1);
        } else {
          take = is_new = true;
          new_here.insert(fp);
          new_samples += ts.samples.size();
        }
      }
    }
    if (take) {
      takes.push_back({i, fp, is_new});
      hold.push_back(ts);  // a copy: the caller's entry keeps its buffers (see below)
    }
  }
  if (hold.empty()) return Status::OK();
  HeldSegments logged;  // one record: at most one segment
  BACKSIGHT_RETURN_IF_ERROR(engine_->LogHeld(hold, &logged));
  // Held entries stay in *series with no samples (the engine skips those) instead of being
  // moved out: the decoders reuse a request vector's strings and vectors, and entries freed and
  // regrown here during a burst of new series scatter them over the heap for good (remote_write
  // decoding took ~2x the CPU per series afterwards in serve_load).
  for (const Take& t : takes) (*series)[t.index].samples.clear();
  // Pass 2: hold them.
  for (size_t i = 0; i < hold.size(); ++i) {
    TimeSeries& ts = hold[i];
    const uint64_t fp = takes[i].fp;
    auto [it, inserted] = pending_.try_emplace(fp);
    Pending& p = it->second;
    if (inserted) {
      p.labels = ts.labels;
      p.kind = ts.kind;
      p.first_ts = ts.samples.front().ts;
      for (const Sample& s : ts.samples) p.first_ts = std::min(p.first_ts, s.ts);
      const int64_t gap = SmallestGapMs(ts.samples);
      p.step_ms = HistoryStepMs(gap > 0 ? gap : opt_.default_step_ms, opt_.lookback_ms);
      fetch_queue_.push_back(fp);
      fetch_cv_.notify_one();
    }
    p.held.insert(p.held.end(), ts.samples.begin(), ts.samples.end());
    for (const auto& [segment, samples] : logged) p.held_segments[segment] += ts.samples.size();
    held_total_ += ts.samples.size();
    if (p.held.size() > opt_.max_held_per_series &&
        (p.state == State::kQueued || p.state == State::kFetching)) {
      cold_overflow_.fetch_add(1);
      ReleaseLocked(fp, &p);
    }
  }
  return Status::OK();
}

bool WarmStart::IsKnown(uint64_t fp) const {
  std::shared_lock<std::shared_mutex> lock(known_mu_);
  return known_.Find(fp) != FlatIndex::kNone;
}

void WarmStart::AddKnown(uint64_t fp) {
  std::lock_guard<std::shared_mutex> lock(known_mu_);
  known_.Put(fp, 0);
}

void WarmStart::ReleaseLocked(uint64_t fp, Pending* p) {
  p->state = State::kReleasing;
  release_queue_.push_back(fp);
  release_cv_.notify_one();
}

bool WarmStart::Sleep(int64_t ms) { return SleepUnlessStopping(&mu_, &stop_cv_, stopping_, ms); }

bool WarmStart::SubmitRetrying(std::vector<TimeSeries>& series, bool history, HeldSegments* held) {
  for (;;) {
    std::vector<TimeSeries> copy = series;  // Submit sorts labels but leaves the samples
    Status st = history ? engine_->SubmitHistory(copy) : engine_->SubmitLogged(copy, held);
    if (st.ok()) return true;
    if (st.reason() != Reason::kQueueFull) return false;
    if (history) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
    }
    std::this_thread::sleep_for(kQueueFullWait);
  }
}

void WarmStart::FetchLoop() {
  std::mt19937_64 rng(std::random_device{}());
  const auto sleep = [this](int64_t ms) { return Sleep(ms); };
  for (;;) {
    uint64_t fp;
    Labels labels;
    MetricKind kind;
    TimestampNs first_ts;
    int64_t step_ms;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!WaitPopFetch(&lock, &fetch_cv_, stopping_, &fetch_queue_, &fp)) return;
      auto it = pending_.find(fp);
      if (it == pending_.end() || it->second.state != State::kQueued) continue;
      Pending& p = it->second;
      p.state = State::kFetching;
      labels = p.labels;
      kind = p.kind;
      first_ts = p.first_ts;
      step_ms = p.step_ms;
    }
    started_fetches_.fetch_add(1);
    std::vector<Sample> past;
    const Status st =
        FetchPast(source_, opt_, labels, first_ts, step_ms, sleep, &rng, &past, &retries_);
    (st.ok() ? succeeded_ : failed_).fetch_add(1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(fp);
      if (it == pending_.end() || it->second.state != State::kFetching) continue;  // cold already
      if (!st.ok() || past.empty()) {
        (st.ok() ? cold_no_history_ : cold_failed_).fetch_add(1);
        ReleaseLocked(fp, &it->second);
        continue;
      }
      it->second.state = State::kSubmitting;
    }
    bool queued = true;
    for (size_t off = 0; off < past.size() && queued; off += kHistoryChunk) {
      std::vector<TimeSeries> chunk(1);
      chunk[0].labels = labels;
      chunk[0].kind = kind;
      chunk[0].samples.assign(past.begin() + off,
                              past.begin() + std::min(past.size(), off + kHistoryChunk));
      queued = SubmitRetrying(chunk, true, nullptr);
      if (queued) history_samples_.fetch_add(chunk[0].samples.size());
    }
    if (queued) warm_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(fp);
    if (it != pending_.end() && it->second.state == State::kSubmitting) {
      if (!queued) cold_failed_.fetch_add(1);
      ReleaseLocked(fp, &it->second);
    }
  }
}

void WarmStart::ReleaseLoop() {
  for (;;) {
    uint64_t fp;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Stop() sets release_done_ once every remaining series is in the queue.
      release_cv_.wait(lock, [this] { return release_done_ || !release_queue_.empty(); });
      if (release_queue_.empty()) return;
      fp = release_queue_.front();
      release_queue_.pop_front();
    }
    // Queue the held samples, then any held meanwhile, until none is left; only then do new
    // samples of the series go straight to the engine (after these in its queue).
    for (;;) {
      std::vector<TimeSeries> batch(1);
      HeldSegments segments;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = pending_.find(fp);
        if (it == pending_.end()) break;
        Pending& p = it->second;
        if (p.held.empty()) {
          pending_.erase(it);
          AddKnown(fp);
          break;
        }
        batch[0].labels = p.labels;
        batch[0].kind = p.kind;
        batch[0].samples.swap(p.held);
        segments.swap(p.held_segments);
        held_total_ -= batch[0].samples.size();
      }
      std::stable_sort(batch[0].samples.begin(), batch[0].samples.end(),
                       [](const Sample& a, const Sample& b) { return a.ts < b.ts; });
      (void)SubmitRetrying(batch, false, &segments);  // live samples: retried until queued
    }
  }
}

WarmStartStats WarmStart::stats() const {
  WarmStartStats s;
  s.fetches_started = started_fetches_;
  s.fetches_succeeded = succeeded_;
  s.fetches_failed = failed_;
  s.fetch_retries = retries_;
  s.history_samples = history_samples_;
  s.series_warm = warm_;
  s.cold_no_history = cold_no_history_;
  s.cold_fetch_failed = cold_failed_;
  s.cold_held_overflow = cold_overflow_;
  s.cold_pending_full = cold_full_;
  std::lock_guard<std::mutex> lock(mu_);
  s.held_samples = held_total_;
  s.pending_series = pending_.size();
  return s;
}

}  // namespace backsight::server
