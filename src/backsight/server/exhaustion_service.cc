#include "backsight/server/exhaustion_service.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "backsight/core/file_util.h"
#include "backsight/core/number_format.h"
#include "backsight/core/time.h"
#include "backsight/server/alerts.h"
#include "backsight/server/engine.h"

namespace backsight::server {
namespace {

constexpr int64_t kTickMs = 1000;
// Firing alerts stay active for this many resend intervals without news (Prometheus: 4).
constexpr int kLifetimeResends = 4;
constexpr int64_t kNsPerMs = 1'000'000;
constexpr const char* kStateFile = "exhaustion.state";

std::vector<forecast::ExhaustionRule> RulesOf(const ServeConfig& cfg) {
  std::vector<forecast::ExhaustionRule> rules;
  if (!cfg.exhaustion_enabled) return rules;
  if (cfg.exhaustion_default_rules) rules = forecast::DefaultExhaustionRules();
  rules.insert(rules.end(), cfg.exhaustion_rules.begin(), cfg.exhaustion_rules.end());
  return rules;
}

std::string Rfc3339Seconds(double unix_s) {
  return FormatRfc3339(static_cast<TimestampNs>(std::llround(unix_s)) * kNanosPerSecond);
}

}  // namespace

ExhaustionService::ExhaustionService(const ServeConfig& cfg)
    : tracker_(RulesOf(cfg), cfg.exhaustion_max_series),
      max_series_(cfg.exhaustion_max_series),
      state_dir_(cfg.state_dir),
      horizon_s_(static_cast<double>(cfg.exhaustion_horizon_ms) / 1000.0),
      alertmanager_url_(cfg.alertmanager_url),
      resend_ns_(cfg.alert_resend_ms * kNsPerMs) {}

ExhaustionService::~ExhaustionService() { Stop(); }

void ExhaustionService::Restore() {
  if (state_dir_.empty()) return;
  const std::string path = state_dir_ + "/" + kStateFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;
  std::string data;
  Status st = ReadFileToString(path, &data);
  if (st.ok()) st = tracker_.RestoreState(data);
  if (!st.ok()) {
    std::fprintf(stderr,
                 "backsight: %s: %s; time-to-exhaustion estimators start afresh (12 h before "
                 "the first prediction)\n",
                 path.c_str(), st.ToString().c_str());
  }
}

Status ExhaustionService::Checkpoint() const {
  if (state_dir_.empty()) return Status::OK();
  std::string data;
  tracker_.SaveState(&data);
  return WriteFileAtomically(state_dir_ + "/" + kStateFile, data);
}

void ExhaustionService::EnableWarmStart(const WarmStartOptions& options, HistorySource* source) {
  if (warm_) return;
  warm_ = std::make_unique<ExhaustionWarmStart>(options, max_series_, &tracker_, source);
}

void ExhaustionService::SetHeldLog(ExhaustionWarmStart::KeepFn keep,
                                   ExhaustionWarmStart::ReleaseFn release) {
  if (warm_) warm_->SetHeldLog(std::move(keep), std::move(release));
}

void ExhaustionService::Start(const std::string& generator_base) {
  generator_base_ = generator_base;
  if (warm_) warm_->Start();
  if (alertmanager_url_.empty() || thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(kTickMs));
      if (stop_) break;
      lock.unlock();
      Tick(WallNowNs());
      lock.lock();
    }
  });
}

void ExhaustionService::Stop() {
  if (warm_) warm_->Stop();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ExhaustionService::Observe(const std::vector<TimeSeries>& series) {
  if (warm_) {
    warm_->Observe(series);
    return;
  }
  for (const TimeSeries& s : series) tracker_.Observe(s);
}

void ExhaustionService::AppendMetrics(std::string* out) const {
  std::vector<forecast::ExhaustionStatus> snap = tracker_.Snapshot();
  struct Family {
    const char* name;
    const char* help;
  };
  const Family families[] = {
      {"backsight_time_to_exhaustion_seconds",
       "Predicted seconds from the usage series' last sample until it reaches its capacity "
       "(absent: none foreseen within 14 days)."},
      {"backsight_time_to_exhaustion_lower_seconds",
       "Earliest predicted crossing of the capacity, seconds from the last sample."},
      {"backsight_time_to_exhaustion_upper_seconds",
       "Latest predicted crossing of the capacity, seconds from the last sample (absent beyond "
       "14 days)."},
  };
  for (int f = 0; f < 3; ++f) {
    out->append("# HELP ").append(families[f].name).append(" ").append(families[f].help);
    out->append("\n# TYPE ").append(families[f].name).append(" gauge\n");
    for (const forecast::ExhaustionStatus& s : snap) {
      if (!s.estimate.foreseen) continue;
      double v = f == 0 ? s.estimate.tte_seconds
                        : (f == 1 ? s.estimate.tte_low_seconds : s.estimate.tte_high_seconds);
      if (!std::isfinite(v) || v > forecast::TteEstimator::kHorizonSeconds) continue;
      out->append(families[f].name);
      AppendLabelSet(OutputLabels(s.labels), out);
      out->push_back(' ');
      AppendDouble(std::round(v), out);
      out->push_back('\n');
    }
  }
}

void ExhaustionService::MirrorMetrics(SelfMetrics* m) const {
  forecast::ExhaustionStats st = tracker_.stats();
  m->SetGauge("backsight_exhaustion_series", "Usage series with a time-to-exhaustion estimator.",
              st.series);
  m->SetCounter("backsight_exhaustion_samples_total",
                "Usage samples fed to time-to-exhaustion estimators.", st.samples);
  m->SetCounter("backsight_exhaustion_samples_no_capacity_total",
                "Usage samples skipped because their capacity series had no positive value yet.",
                st.samples_no_capacity);
  m->SetCounter("backsight_exhaustion_series_refused_total",
                "Usage series refused past exhaustion.max_series.", st.series_refused);
  if (warm_) {
    ExhaustionWarmStartStats w = warm_->stats();
    m->SetCounter("backsight_exhaustion_warm_fetches_total",
                  "History fetches for new usage series (exhaustion warm start).", w.fetches);
    m->SetCounter("backsight_exhaustion_warm_fetch_errors_total",
                  "History fetches for usage series that failed after their retries.",
                  w.fetch_errors);
    m->SetCounter("backsight_exhaustion_warm_history_samples_total",
                  "History samples replayed into time-to-exhaustion estimators.",
                  w.history_samples);
    m->SetCounter("backsight_exhaustion_warm_series_total",
                  "Usage series whose estimator started from a non-empty history.", w.series_warm);
    m->SetCounter("backsight_exhaustion_cold_series_total",
                  "Usage series whose estimator started without history (none found, fetch "
                  "failed, too many samples or series waiting).",
                  w.series_cold);
    m->SetGauge("backsight_exhaustion_warm_pending_series",
                "Usage series waiting for their history (live samples held).", w.pending_series);
  }
  m->SetGauge("backsight_exhaustion_alerts_firing", "BacksightExhaustionPredicted alerts firing.",
              alerts_firing_);
  m->SetCounter("backsight_exhaustion_alert_posts_total",
                "POSTs of exhaustion alerts to Alertmanager.", posts_);
  m->SetCounter("backsight_exhaustion_alert_post_errors_total",
                "Failed POSTs of exhaustion alerts to Alertmanager.", post_errors_);
}

std::string ExhaustionService::AlertJson(const Firing& f, int64_t now_ns) const {
  const forecast::ExhaustionStatus& s = f.status;
  nlohmann::json labels = nlohmann::json::object();
  labels["alertname"] = "BacksightExhaustionPredicted";
  for (const Label& l : OutputLabels(f.labels)) labels[l.name] = l.value;
  double ts_s = static_cast<double>(s.ts) / kNanosPerSecond;
  nlohmann::json ann = nlohmann::json::object();
  std::string series = LabelsToString(f.labels);
  if (s.estimate.foreseen) {
    double tte = s.estimate.tte_seconds;
    std::string when = Rfc3339Seconds(ts_s + tte);
    ann["summary"] = series + " is predicted to reach its capacity " + FormatDouble(s.limit, 6) +
                     " at " + when + " (in " + FormatDouble(tte / 3600.0, 3) + " h)";
    ann["predicted_time"] = when;
    ann["predicted_time_earliest"] = Rfc3339Seconds(ts_s + s.estimate.tte_low_seconds);
    ann["predicted_time_latest"] =
        std::isfinite(s.estimate.tte_high_seconds) &&
                s.estimate.tte_high_seconds <= forecast::TteEstimator::kHorizonSeconds
            ? Rfc3339Seconds(ts_s + s.estimate.tte_high_seconds)
            : std::string("none within 14 days");
    ann["tte_seconds"] = FormatDouble(std::round(tte));
  } else {
    ann["summary"] = series + ": exhaustion no longer predicted";
  }
  ann["limit"] = FormatDouble(s.limit);
  ann["used"] = FormatDouble(s.used);
  int64_t ends = f.resolved ? now_ns : now_ns + kLifetimeResends * resend_ns_;
  return nlohmann::json{{"labels", labels},
                        {"annotations", ann},
                        {"startsAt", FormatRfc3339(f.starts_ns)},
                        {"endsAt", FormatRfc3339(ends)},
                        {"generatorURL", generator_base_ + "/metrics"}}
      .dump();
}

void ExhaustionService::Tick(int64_t now_ns) {
  std::vector<forecast::ExhaustionStatus> snap = tracker_.Snapshot();
  std::unordered_map<uint64_t, bool> seen;
  for (forecast::ExhaustionStatus& s : snap) {
    bool predicted = s.estimate.foreseen && s.estimate.tte_seconds < horizon_s_;
    uint64_t fp = Fingerprint(s.labels);
    auto it = firing_.find(fp);
    if (predicted) {
      seen[fp] = true;
      if (it == firing_.end() || it->second.resolved) {
        Firing f;
        f.labels = s.labels;
        f.starts_ns = now_ns;
        it = firing_.insert_or_assign(fp, std::move(f)).first;
      }
      it->second.status = std::move(s);
    }
  }
  for (auto& [fp, f] : firing_) {
    if (!seen.count(fp) && !f.resolved) {
      f.resolved = true;
      f.last_sent_ns = 0;  // send the resolution
      f.status.estimate = {};
    }
  }
  std::string body = "[";
  std::vector<uint64_t> sent;
  for (auto& [fp, f] : firing_) {
    if (f.last_sent_ns != 0 && now_ns - f.last_sent_ns < resend_ns_) continue;
    if (body.size() > 1) body += ",";
    body += AlertJson(f, now_ns);
    sent.push_back(fp);
  }
  body += "]";
  uint64_t active = 0;
  for (const auto& [fp, f] : firing_) active += f.resolved ? 0 : 1;
  alerts_firing_ = active;
  if (sent.empty() || alertmanager_url_.empty() || !Post(body)) return;  // retried next tick
  for (uint64_t fp : sent) {
    auto it = firing_.find(fp);
    if (it->second.resolved) {
      firing_.erase(it);
    } else {
      it->second.last_sent_ns = now_ns;
    }
  }
}

bool ExhaustionService::Post(const std::string& body) {
  ++posts_;
  if (!PostAlertmanagerAlerts(alertmanager_url_, body)) {
    ++post_errors_;
    return false;
  }
  return true;
}

}  // namespace backsight::server
