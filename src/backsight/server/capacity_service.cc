#include "backsight/server/capacity_service.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "backsight/core/number_format.h"
#include "backsight/server/alerts.h"
#include "backsight/server/json_body.h"

namespace backsight::server {
namespace {

// Demand series tracked over all rules; past it new ones are ignored (each holds up to
// kMaxHistory doubles and 7 smoothing models: ~20 KiB).
constexpr size_t kMaxDemands = 10'000;
// Buckets kept for refits: a week of the default 5-minute step, so that the daily and weekly
// periods can both be found (FindPeriods needs 3 cycles of a period, 2 weeks for weekly; a week
// keeps refits cheap and still finds the daily one).
constexpr size_t kMaxHistory = 2016;
// A model is first fitted on this many buckets (an hour of 5-minute buckets), then refitted
// whenever the history doubled, and once it stops growing every kRefitEvery new buckets (a day).
constexpr size_t kMinFit = 12;
constexpr size_t kRefitEvery = 288;
constexpr int64_t kNsPerMs = 1'000'000;

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
      }
      Demand& d = it->second;
      const int64_t step_ns = rule.step_ms * kNsPerMs;
      for (const Sample& x : s.samples) {
        if (!std::isfinite(x.value)) continue;
        const int64_t b = x.ts / step_ns;
        if (b < d.bucket) continue;  // older than the open bucket: too late
        if (b > d.bucket) {
          if (d.count > 0) CloseBucket(&d);
          d.bucket = b;
          d.sum = 0;
          d.count = 0;
        }
        d.sum += x.value;
        ++d.count;
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
