#include "backsight/server/exhaustion_warm_start.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace backsight::server {
ExhaustionWarmStart::ExhaustionWarmStart(const WarmStartOptions& options, uint64_t max_pending,
                                         forecast::ExhaustionTracker* tracker,
                                         HistorySource* source)
    : opt_(options), max_pending_(max_pending), tracker_(tracker), source_(source) {}

ExhaustionWarmStart::~ExhaustionWarmStart() { Stop(); }

void ExhaustionWarmStart::SetHeldLog(KeepFn keep, ReleaseFn release) {
  keep_log_ = std::move(keep);
  release_log_ = std::move(release);
}

void ExhaustionWarmStart::ReleaseLog(const Pending& p) {
  if (p.kept && release_log_) release_log_(p.log_segment);
}

void ExhaustionWarmStart::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  for (int i = 0; i < std::max(1, opt_.concurrency); ++i) {
    threads_.emplace_back([this] { FetchLoop(); });
  }
}

void ExhaustionWarmStart::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    threads.swap(threads_);
  }
  fetch_cv_.notify_all();
  stop_cv_.notify_all();
  for (std::thread& t : threads) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [fp, p] : pending_) {
    cold_.fetch_add(1);
    tracker_->Observe(p.series);
    ReleaseLog(p);
  }
  pending_.clear();
  fetch_queue_.clear();
}

void ExhaustionWarmStart::Observe(const std::vector<TimeSeries>& series) {
  for (const TimeSeries& s : series) {
    if (s.samples.empty()) continue;
    if (!tracker_->IsUsageMetric(GetLabel(s.labels, "__name__"))) {
      tracker_->Observe(s);  // capacities (and the rest, which the tracker ignores)
      continue;
    }
    const uint64_t fp = Fingerprint(s.labels);
    std::unique_lock<std::mutex> lock(mu_);
    auto it = pending_.find(fp);
    if (it == pending_.end()) {
      if (done_.Put(fp, true)) {
        if (tracker_->Tracks(fp) || stopping_) {
          // Restored from a checkpoint (or remembered no longer): it has its past already.
        } else if (tracker_->Full()) {
          // The tracker refuses it (max_series): no history to fetch for it.
        } else if (pending_.size() >= max_pending_) {
          cold_.fetch_add(1);
        } else {
          Pending& p = pending_[fp];
          if (keep_log_) p.kept = keep_log_(&p.log_segment);
          p.series = s;
          p.first_ts = s.samples.front().ts;
          // history.step is a floor here: an estimator needs hours, not the scrape resolution.
          p.step_ms = HistoryStepMs(std::max(SmallestGapMs(s.samples), opt_.default_step_ms),
                                    opt_.lookback_ms);
          fetch_queue_.push_back(fp);
          fetch_cv_.notify_one();
          continue;
        }
      }
      lock.unlock();
      tracker_->Observe(s);
      continue;
    }
    Pending& p = it->second;
    p.series.samples.insert(p.series.samples.end(), s.samples.begin(), s.samples.end());
    if (!p.replaying && p.series.samples.size() > opt_.max_held_per_series) {
      // Too long without history: feed what is held, cold; a late fetch result is dropped.
      cold_.fetch_add(1);
      tracker_->Observe(p.series);
      ReleaseLog(p);
      pending_.erase(it);
    }
  }
}

bool ExhaustionWarmStart::Sleep(int64_t ms) {
  return SleepUnlessStopping(&mu_, &stop_cv_, stopping_, ms);
}

void ExhaustionWarmStart::FetchLoop() {
  std::mt19937_64 rng(std::random_device{}());
  const auto sleep = [this](int64_t ms) { return Sleep(ms); };
  for (;;) {
    uint64_t fp;
    Labels labels;
    TimestampNs first_ts;
    int64_t step_ms;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!WaitPopFetch(&lock, &fetch_cv_, stopping_, &fetch_queue_, &fp)) return;
      auto it = pending_.find(fp);
      if (it == pending_.end()) continue;  // released cold meanwhile
      labels = it->second.series.labels;
      first_ts = it->second.first_ts;
      step_ms = it->second.step_ms;
    }
    std::vector<Sample> past;
    const Status st = FetchPast(source_, opt_, labels, first_ts, step_ms, sleep, &rng, &past,
                                /*retries=*/nullptr);
    fetches_.fetch_add(1);
    if (!st.ok()) fetch_errors_.fetch_add(1);
    Release(fp, std::move(past));
  }
}

void ExhaustionWarmStart::Release(uint64_t fp, std::vector<Sample> history) {
  TimeSeries batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(fp);
    if (it == pending_.end()) return;  // released cold meanwhile
    it->second.replaying = true;
    (history.empty() ? cold_ : warm_).fetch_add(1);
    batch.labels = it->second.series.labels;
  }
  const size_t n = history.size();
  batch.samples = std::move(history);
  tracker_->Observe(batch);
  history_samples_.fetch_add(n);
  // The held samples, then any held meanwhile, until none is left.
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(fp);
      if (it == pending_.end()) return;  // Stop fed them
      if (it->second.series.samples.empty()) {
        ReleaseLog(it->second);  // every held sample is in the tracker now
        pending_.erase(it);
        return;
      }
      batch.samples.swap(it->second.series.samples);
      it->second.series.samples.clear();
    }
    std::stable_sort(batch.samples.begin(), batch.samples.end(),
                     [](const Sample& a, const Sample& b) { return a.ts < b.ts; });
    tracker_->Observe(batch);
  }
}

ExhaustionWarmStartStats ExhaustionWarmStart::stats() const {
  ExhaustionWarmStartStats s;
  s.fetches = fetches_;
  s.fetch_errors = fetch_errors_;
  s.history_samples = history_samples_;
  s.series_warm = warm_;
  s.series_cold = cold_;
  std::lock_guard<std::mutex> lock(mu_);
  s.pending_series = pending_.size();
  s.done_series = done_.size();
  return s;
}

}  // namespace backsight::server
