#include "backsight/server/capacity_service.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <span>

#include "backsight/core/number_format.h"
#include "backsight/core/time.h"
#include "backsight/server/alerts.h"
#include "backsight/server/json_body.h"

namespace backsight::server {
namespace {

// Demand series tracked over all rules, restored ones included; past it new ones are ignored
// (each holds up to kMaxHistory doubles and 7 smoothing models: ~20 KiB).
constexpr size_t kMaxDemands = 10'000;
constexpr size_t kMaxHistory = kMaxCapacityHistory;  // capacity_history.h says why a week
// Rows encoded and written per transaction at a checkpoint (bounds the memory of one save:
// 512 x 16 KiB at most).
constexpr size_t kSaveChunk = 512;
// A model is first fitted on this many buckets (an hour of 5-minute buckets), then refitted
// whenever the history doubled, and once it stops growing every kRefitEvery new buckets (a day).
constexpr size_t kMinFit = 12;
constexpr size_t kRefitEvery = 288;
constexpr int64_t kNsPerMs = 1'000'000;
// Warm start: history points fetched per bucket (a 5-minute step is fetched at 1 minute, so a
// week is 10,080 points, one query under Prometheus' 11,000-point limit), at least kMinFetchStepMs
// apart; attempts of a fetch that may succeed when retried (Unavailable), kFetchBackoffMs apart.
constexpr int64_t kFetchPerBucket = 5;
constexpr int64_t kMinFetchStepMs = 1000;
constexpr int kFetchAttempts = 3;
constexpr int64_t kFetchBackoffMs = 1000;

bool Matches(const Labels& series, const Labels& matchers) {
  for (const Label& m : matchers) {
    if (GetLabel(series, m.name) != m.value) return false;
  }
  return true;
}

// Key of a capacity sample: its metric name and the fingerprint of its other labels.
std::string CapacityKey(const std::string& metric, const Labels& labels) {
  Labels rest;
  for (const Label& l : labels) {
    if (l.name != "__name__") rest.push_back(l);
  }
  return metric + '\xff' + FormatFingerprint(Fingerprint(rest));
}

}  // namespace

CapacityService::CapacityService(const ServeConfig& cfg) : rules_(cfg.capacity) {}

CapacityService::~CapacityService() { Stop(); }

void CapacityService::EnableWarmStart(HistorySource* source, int64_t lookback_ms) {
  if (rules_.empty() || source == nullptr || warm_thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    history_ = source;
    lookback_ms_ = lookback_ms;
    warm_stop_ = false;
  }
  warm_thread_ = std::thread([this] { WarmLoop(); });
}

void CapacityService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    warm_stop_ = true;
  }
  warm_cv_.notify_all();
  if (warm_thread_.joinable()) warm_thread_.join();
}

CapacityService::WarmStats CapacityService::warm_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return warm_stats_;
}

void CapacityService::MirrorMetrics(SelfMetrics* m) const {
  WarmStats w;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (history_ == nullptr) return;
    w = warm_stats_;
  }
  m->SetCounter("backsight_capacity_warm_series_total",
                "Capacity demand series given a fetched history before their live buckets.",
                w.series_warm);
  m->SetCounter("backsight_capacity_warm_buckets_total",
                "History buckets put before live ones by the capacity warm start.", w.buckets);
  m->SetCounter("backsight_capacity_warm_fetch_errors_total",
                "History fetches for capacity demand series that failed after their retries "
                "(the series stay cold).",
                w.fetch_errors);
}

void CapacityService::WarmLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    warm_cv_.wait(lock, [this] { return warm_stop_ || !warm_queue_.empty(); });
    if (warm_stop_) return;
    const uint64_t fp = warm_queue_.front();
    warm_queue_.pop_front();
    auto it = demands_.find(fp);
    if (it == demands_.end() || it->second.first_bucket == INT64_MIN) continue;
    const Labels labels = it->second.labels;
    const int64_t step_ns = rules_[it->second.rule].step_ms * kNsPerMs;
    const int64_t first = it->second.first_bucket;
    const int64_t fetch_step_ms =
        std::max(kMinFetchStepMs, rules_[it->second.rule].step_ms / kFetchPerBucket);
    // history.lookback in whole buckets: at least one, at most what a row keeps.
    const int64_t buckets = std::clamp<int64_t>(lookback_ms_ / rules_[it->second.rule].step_ms, 1,
                                                static_cast<int64_t>(kMaxHistory));
    lock.unlock();
    std::vector<Sample> points;
    Status st;
    for (int attempt = 0; attempt < kFetchAttempts; ++attempt) {
      points.clear();
      st = history_->Fetch(labels, (first - buckets) * step_ns, first * step_ns - kNsPerMs,
                           fetch_step_ms, &points);
      if (st.ok() || st.code() != Status::Code::kUnavailable) break;
      std::unique_lock<std::mutex> wait(mu_);
      if (warm_cv_.wait_for(wait, std::chrono::milliseconds(kFetchBackoffMs),
                            [this] { return warm_stop_; })) {
        break;
      }
    }
    lock.lock();
    if (!st.ok()) {
      ++warm_stats_.fetch_errors;
      continue;
    }
    // Averaged into buckets as Observe does (gaps are not filled, as live), all before `first`.
    std::vector<double> past;
    int64_t bucket = INT64_MIN;
    double sum = 0;
    int count = 0;
    for (const Sample& p : points) {
      if (!std::isfinite(p.value)) continue;
      const int64_t b = p.ts / step_ns;
      if (b >= first) break;
      if (b != bucket) {
        if (count > 0) past.push_back(sum / count);
        bucket = b;
        sum = 0;
        count = 0;
      }
      sum += p.value;
      ++count;
    }
    if (count > 0) past.push_back(sum / count);
    it = demands_.find(fp);
    if (it == demands_.end() || past.empty()) continue;
    Demand& d = it->second;
    const size_t take = std::min(past.size(), kMaxHistory - d.history.size());
    d.history.insert(d.history.begin(), past.end() - static_cast<std::ptrdiff_t>(take), past.end());
    d.fitted_at = 0;  // refitted on the whole history, as a new model
    d.since_fit = 0;
    Refit(&d);
    d.closed_unsaved = true;
    ++warm_stats_.series_warm;
    warm_stats_.buckets += take;
  }
}

void CapacityService::Observe(const std::vector<TimeSeries>& series) {
  if (rules_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (const TimeSeries& s : series) {
    if (s.samples.empty()) continue;
    const std::string_view name = GetLabel(s.labels, "__name__");
    for (size_t r = 0; r < rules_.size(); ++r) {
      const CapacityRule& rule = rules_[r];
      if (!rule.capacity_metric.empty() && name == rule.capacity_metric) {
        const double v = s.samples.back().value;
        if (std::isfinite(v)) capacity_[CapacityKey(rule.capacity_metric, s.labels)] = v;
      }
      if (!Matches(s.labels, rule.demand_matchers)) continue;
      const uint64_t fp = Fingerprint(s.labels);
      auto it = demands_.find(fp);
      if (it == demands_.end()) {
        if (demands_.size() >= kMaxDemands) continue;
        it = demands_.emplace(fp, Demand{}).first;
        it->second.rule = r;
        it->second.labels = s.labels;
        if (history_ != nullptr) {
          warm_queue_.push_back(fp);
          warm_cv_.notify_one();
        }
      }
      Demand& d = it->second;
      const int64_t step_ns = rule.step_ms * kNsPerMs;
      for (const Sample& x : s.samples) {
        if (!std::isfinite(x.value)) continue;
        // Taken already (a retry, or the log replay over a restored row), or out of order; this
        // also drops what is older than the open bucket (too late).
        if (x.ts <= d.last_ts) continue;
        d.last_ts = x.ts;
        const int64_t b = x.ts / step_ns;
        if (d.first_bucket == INT64_MIN && d.history.empty()) d.first_bucket = b;
        if (b > d.bucket) {
          if (d.count > 0) CloseBucket(&d);
          d.bucket = b;
          d.sum = 0;
          d.count = 0;
        }
        d.sum += x.value;
        ++d.count;
        d.open_unsaved = true;
      }
      break;  // the first matching rule owns the series
    }
  }
}

void CapacityService::CloseBucket(Demand* d) {
  const CapacityRule& rule = rules_[d->rule];
  const double mean = d->sum / d->count;
  d->last_bucket_end = (d->bucket + 1) * rule.step_ms * kNsPerMs;
  if (d->history.size() == kMaxHistory) d->history.erase(d->history.begin());
  d->history.push_back(mean);
  d->closed_unsaved = true;
  const size_t n = d->history.size();
  const int steps = rule.options.horizon + rule.options.startup;
  ++d->since_fit;
  const bool refit =
      d->model == nullptr ? n >= kMinFit : n >= 2 * d->fitted_at || d->since_fit >= kRefitEvery;
  if (refit) {
    auto model = std::make_unique<forecast::AutoForecaster>();
    if (model->Fit(d->history, steps).ok()) {
      d->model = std::move(model);
      d->fitted_at = n;
      d->since_fit = 0;
    }
  } else if (d->model != nullptr && !d->model->Update(mean).ok()) {
    d->model.reset();
  }
  if (d->model != nullptr) {
    d->forecast.resize(static_cast<size_t>(steps));
    d->model->Forecast(d->forecast);
  }
}

int CapacityService::RuleFor(const Labels& labels) const {
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (Matches(labels, rules_[r].demand_matchers)) return static_cast<int>(r);
  }
  return -1;
}

void CapacityService::Refit(Demand* d) const {
  const std::vector<double>& h = d->history;
  const size_t n = h.size();
  const int steps = rules_[d->rule].options.horizon + rules_[d->rule].options.startup;
  d->model.reset();
  bool replayed = false;
  if (d->fitted_at > 0 && d->since_fit < n && n - d->since_fit >= kMinFit) {
    // As live: fitted on the buckets of the last fit (the same ones unless the window slid
    // since), then updated with each later bucket.
    const size_t base = n - d->since_fit;
    auto model = std::make_unique<forecast::AutoForecaster>();
    if (model->Fit(std::span<const double>(h.data(), base), steps).ok()) {
      replayed = true;
      for (size_t i = base; i < n && model != nullptr; ++i) {
        if (!model->Update(h[i]).ok()) model.reset();  // as CloseBucket: no model until a refit
      }
      d->model = std::move(model);
    }
  }
  if (!replayed && n >= kMinFit) {
    auto model = std::make_unique<forecast::AutoForecaster>();
    if (model->Fit(h, steps).ok()) {
      d->model = std::move(model);
      d->fitted_at = n;
      d->since_fit = 0;
    }
  }
  if (d->model != nullptr) {
    d->forecast.resize(static_cast<size_t>(steps));
    d->model->Forecast(d->forecast);
  }
}

Status CapacityService::Restore(store::StateStore* store, const SkipFn& on_skip, uint64_t* restored,
                                uint64_t* skipped) {
  if (store == nullptr) return Status::OK();  // without rules every row is an orphan
  std::lock_guard<std::mutex> lock(mu_);
  auto skip = [&](const std::string& series, const std::string& why) {
    ++*skipped;
    if (on_skip) on_skip(series, why);
    return Status::OK();
  };
  return store->LoadCapacity([&](store::CapacityRecord&& rec) {
    CapacityHistory h;
    Status ds = DecodeCapacityHistory(rec.body, &h);
    if (!ds.ok()) return skip(FormatFingerprint(rec.fp), ds.message());
    const std::string series = LabelsToString(h.labels);
    const int r = RuleFor(h.labels);
    if (r < 0) {
      orphan_rows_.push_back(rec.fp);
      return skip(series,
                  "no capacity rule selects it now; its row is deleted at the next "
                  "checkpoint");
    }
    if (rules_[r].step_ms != h.step_ms) {
      return skip(series, "stored with step " + std::to_string(h.step_ms) + " ms, rule has " +
                              std::to_string(rules_[r].step_ms) + " ms");
    }
    if (demands_.size() >= kMaxDemands) return skip(series, "capacity series cap reached");
    const uint64_t fp = Fingerprint(h.labels);
    if (demands_.count(fp) != 0) return skip(series, "stored twice");
    Demand& d = demands_[fp];
    d.rule = static_cast<size_t>(r);
    d.labels = std::move(h.labels);
    d.bucket = h.open_bucket;
    d.sum = h.open_sum;
    d.count = static_cast<int>(h.open_count);
    d.history = std::move(h.buckets);
    d.fitted_at = h.fitted_at;
    d.since_fit = h.since_fit;
    d.last_bucket_end = h.last_bucket_end;
    d.last_ts = h.last_sample_ts;
    Refit(&d);
    ++*restored;
    return Status::OK();
  });
}

Status CapacityService::Checkpoint(store::StateStore* store, bool all) {
  if (store == nullptr) return Status::OK();
  std::vector<uint64_t> fps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fps.swap(orphan_rows_);
  }
  if (!fps.empty()) {
    if (Status st = store->DeleteCapacity(fps); !st.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      orphan_rows_.insert(orphan_rows_.end(), fps.begin(), fps.end());  // tried again next time
      return st.WithContext("capacity");
    }
    fps.clear();
  }
  if (rules_.empty()) return Status::OK();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [fp, d] : demands_) {
      if (d.closed_unsaved || (all && d.open_unsaved)) fps.push_back(fp);
    }
  }
  const TimestampNs now = WallNowNs();
  std::vector<store::CapacityRecord> records;
  for (size_t i = 0; i < fps.size(); i += kSaveChunk) {
    const size_t end = std::min(fps.size(), i + kSaveChunk);
    records.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t j = i; j < end; ++j) {
        Demand& d = demands_.at(fps[j]);
        CapacityHistory h;
        h.labels = d.labels;
        h.step_ms = rules_[d.rule].step_ms;
        h.open_bucket = d.bucket;
        h.open_sum = d.sum;
        h.open_count = static_cast<uint64_t>(d.count);
        h.last_bucket_end = d.last_bucket_end;
        h.fitted_at = d.fitted_at;
        h.since_fit = d.since_fit;
        h.buckets = d.history;
        h.last_sample_ts = d.last_ts;
        store::CapacityRecord rec;
        rec.fp = fps[j];
        rec.updated_ns = now;
        EncodeCapacityHistory(h, &rec.body);
        records.push_back(std::move(rec));
        d.closed_unsaved = false;
        d.open_unsaved = false;
      }
    }
    Status st = store->SaveCapacity(records);
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t j = i; j < fps.size(); ++j) {
        Demand& d = demands_.at(fps[j]);
        d.closed_unsaved = true;  // saved again at the next checkpoint
        d.open_unsaved = true;
      }
      return st.WithContext("capacity");
    }
  }
  return Status::OK();
}

std::vector<CapacityService::Row> CapacityService::Rows() const {
  std::vector<Row> rows;
  for (const auto& [fp, d] : demands_) {
    if (d.model == nullptr || d.history.empty()) continue;
    const CapacityRule& rule = rules_[d.rule];
    forecast::CapacityOptions opt = rule.options;
    if (!rule.capacity_metric.empty()) {
      auto c = capacity_.find(CapacityKey(rule.capacity_metric, d.labels));
      if (c == capacity_.end() || !(c->second > 0)) continue;
      opt.per_replica = c->second;
    }
    rows.push_back(
        {&d, forecast::AdviseReplicas(d.history.back(), d.forecast, opt), opt.per_replica});
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.d->labels < b.d->labels; });
  return rows;
}

void CapacityService::AppendMetrics(std::string* out) const {
  if (rules_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  out->append(
      "# HELP backsight_recommended_replicas Replicas needed over the capacity rule's horizon "
      "plus start-up lead: ceil(upper 95 % forecast of demand / (per replica * target "
      "utilization)).\n# TYPE backsight_recommended_replicas gauge\n");
  for (const Row& row : Rows()) {
    out->append("backsight_recommended_replicas");
    AppendLabelSet(OutputLabels(row.d->labels), out);
    out->push_back(' ');
    AppendDouble(row.advice.replicas, out);
    out->push_back('\n');
  }
}

std::string CapacityService::ApiJson() const {
  nlohmann::json data = nlohmann::json::array();
  std::lock_guard<std::mutex> lock(mu_);
  for (const Row& row : Rows()) {
    const CapacityRule& rule = rules_[row.d->rule];
    nlohmann::json labels = nlohmann::json::object();
    for (const Label& l : row.d->labels) labels[l.name] = l.value;
    const double step_s = static_cast<double>(rule.step_ms) / 1000.0;
    data.push_back({{"demand", rule.demand},
                    {"labels", labels},
                    {"current_demand", row.advice.current},
                    {"forecast_peak", row.advice.peak},
                    {"forecast_peak_in_seconds", row.advice.peak_step * step_s},
                    {"per_replica", row.per_replica},
                    {"target_utilization", rule.options.target_utilization},
                    {"horizon_seconds", rule.options.horizon * step_s},
                    {"startup_seconds", static_cast<double>(rule.startup_ms) / 1000.0},
                    {"recommended_replicas", row.advice.replicas},
                    {"reason", row.advice.reason},
                    {"as_of", static_cast<double>(row.d->last_bucket_end) / 1e9}});
  }
  return JsonDump({{"status", "success"}, {"data", data}});
}

}  // namespace backsight::server
