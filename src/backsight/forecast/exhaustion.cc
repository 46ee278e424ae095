#include "backsight/forecast/exhaustion.h"

#include <algorithm>
#include <cmath>

#include "backsight/core/byte_io.h"

namespace backsight::forecast {

std::vector<ExhaustionRule> DefaultExhaustionRules() {
  return {
      {"node_filesystem_avail_bytes", "node_filesystem_size_bytes", 0, true, {}},
      {"container_memory_working_set_bytes", "container_spec_memory_limit_bytes", 0, false, {}},
      {"hikaricp_connections_active", "hikaricp_connections_max", 0, false, {}},
      {"go_sql_stats_connections_in_use", "go_sql_stats_connections_max_open", 0, false, {}},
      {"db_pool_connections_in_use", "db_pool_connections_max", 0, false, {}},
  };
}

Status ValidateExhaustionRule(const ExhaustionRule& rule) {
  if (rule.usage_metric.empty()) return Status::InvalidArgument("usage metric is required");
  bool has_limit = rule.limit != 0;
  if (rule.capacity_metric.empty() == !has_limit) {
    return Status::InvalidArgument("exactly one of a capacity metric and a limit is required");
  }
  if (has_limit && !(std::isfinite(rule.limit) && rule.limit > 0)) {
    return Status::InvalidArgument("limit must be a positive number");
  }
  if (rule.capacity_metric == rule.usage_metric) {
    return Status::InvalidArgument("usage and capacity metrics must differ");
  }
  return Status::OK();
}

ExhaustionTracker::ExhaustionTracker(std::vector<ExhaustionRule> rules, size_t max_series)
    : rules_(std::move(rules)), max_series_(max_series) {}

std::string ExhaustionTracker::JoinKey(const ExhaustionRule& r, const Labels& labels) const {
  std::string key;
  if (r.on.empty()) {
    AppendLabelSet(labels, &key);  // every label but __name__, escaped: unambiguous
    return key;
  }
  Labels sel;
  for (const std::string& name : r.on) sel.push_back({name, std::string(GetLabel(labels, name))});
  AppendLabelSet(sel, &key);
  return key;
}

bool ExhaustionTracker::IsUsageMetric(std::string_view name) const {
  for (const ExhaustionRule& r : rules_) {
    if (name == r.usage_metric) return true;
  }
  return false;
}

bool ExhaustionTracker::Tracks(uint64_t fingerprint) const {
  std::lock_guard<std::mutex> lock(mu_);
  return tracked_.count(fingerprint) != 0;
}

bool ExhaustionTracker::Full() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tracked_.size() >= max_series_;
}

void ExhaustionTracker::Observe(const TimeSeries& series) {
  std::string_view name = GetLabel(series.labels, "__name__");
  if (name.empty() || series.samples.empty()) return;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const ExhaustionRule& r = rules_[i];
    bool is_capacity = !r.capacity_metric.empty() && name == r.capacity_metric;
    if (!is_capacity && name != r.usage_metric) continue;
    std::string key = std::to_string(i) + JoinKey(r, series.labels);
    std::lock_guard<std::mutex> lock(mu_);
    if (is_capacity) {
      for (const Sample& s : series.samples) {
        if (std::isfinite(s.value)) capacity_[key] = s.value;
      }
      continue;
    }
    uint64_t fp = Fingerprint(series.labels);
    auto it = tracked_.find(fp);
    for (const Sample& s : series.samples) {
      double cap = r.limit;
      if (!r.capacity_metric.empty()) {
        auto c = capacity_.find(key);
        cap = c == capacity_.end() ? 0 : c->second;
      }
      if (!(cap > 0)) {
        ++stats_.samples_no_capacity;
        continue;
      }
      if (it == tracked_.end()) {
        if (tracked_.size() >= max_series_) {
          ++stats_.series_refused;
          return;
        }
        it = tracked_.emplace(fp, Tracked{series.labels, TteEstimator(cap), cap, 0, 0}).first;
      }
      Tracked& t = it->second;
      double used = r.usage_is_free ? cap - s.value : s.value;
      if (cap != t.limit) {
        t.limit = cap;
        t.estimator.set_limit(cap);
      }
      if (t.estimator.Update(s.ts, used) == TteUpdate::kAccepted) {
        t.used = used;
        t.ts = s.ts;
        ++stats_.samples;
      }
    }
  }
}

std::vector<ExhaustionStatus> ExhaustionTracker::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ExhaustionStatus> out;
  out.reserve(tracked_.size());
  for (const auto& [fp, t] : tracked_) {
    out.push_back({t.labels, t.limit, t.used, t.ts, t.estimator.Estimate(t.ts)});
  }
  std::sort(out.begin(), out.end(), [](const ExhaustionStatus& a, const ExhaustionStatus& b) {
    return a.labels < b.labels;
  });
  return out;
}

ExhaustionStats ExhaustionTracker::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ExhaustionStats s = stats_;
  s.series = tracked_.size();
  return s;
}

namespace {
constexpr uint32_t kTrackerMagic = 0x31584542;  // "BEX1" little-endian
constexpr uint32_t kTrackerVersion = 1;
}  // namespace

void ExhaustionTracker::SaveState(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  ByteWriter w(out);
  w.PutU32(kTrackerMagic);
  w.PutU32(kTrackerVersion);
  w.PutVarint(capacity_.size());
  for (const auto& [key, cap] : capacity_) {
    w.PutString(key);
    w.PutDouble(cap);
  }
  w.PutVarint(tracked_.size());
  std::string est;
  for (const auto& [fp, t] : tracked_) {
    w.PutVarint(t.labels.size());
    for (const Label& l : t.labels) {
      w.PutString(l.name);
      w.PutString(l.value);
    }
    w.PutDouble(t.limit);
    w.PutDouble(t.used);
    w.PutI64(t.ts);
    est.clear();
    t.estimator.SaveState(&est);
    w.PutString(est);
  }
}

Status ExhaustionTracker::RestoreState(std::string_view in) {
  ByteReader r(in);
  BACKSIGHT_RETURN_IF_ERROR(r.GetStateHeader(kTrackerMagic, kTrackerVersion, "exhaustion state"));
  std::unordered_map<std::string, double> capacity;
  std::unordered_map<uint64_t, Tracked> tracked;
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "capacities"));
  for (uint64_t i = 0; i < n; ++i) {
    std::string key;
    double cap = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&key, "capacity key"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&cap, "capacity"));
    capacity[key] = cap;
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "series"));
  for (uint64_t i = 0; i < n; ++i) {
    Tracked t;
    uint64_t nl = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&nl, "labels"));
    if (nl > r.remaining()) return Status::Corruption("exhaustion state: label count too large");
    for (uint64_t j = 0; j < nl; ++j) {
      Label l;
      BACKSIGHT_RETURN_IF_ERROR(r.GetString(&l.name, "label name"));
      BACKSIGHT_RETURN_IF_ERROR(r.GetString(&l.value, "label value"));
      t.labels.push_back(std::move(l));
    }
    std::string est;
    BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&t.limit, "limit"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&t.used, "used"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&t.ts, "ts"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&est, "estimator"));
    BACKSIGHT_RETURN_IF_ERROR(t.estimator.RestoreState(est));
    uint64_t fp = Fingerprint(t.labels);
    tracked.emplace(fp, std::move(t));
  }
  if (!r.done()) return Status::Corruption("exhaustion state: trailing bytes");
  std::lock_guard<std::mutex> lock(mu_);
  capacity_ = std::move(capacity);
  tracked_ = std::move(tracked);
  return Status::OK();
}

}  // namespace backsight::forecast
