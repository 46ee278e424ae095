#include "backsight/server/alerts.h"

#include <httplib.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "backsight/core/number_format.h"

namespace backsight::server {
namespace {

constexpr size_t kMaxQueued = 100'000;
constexpr size_t kMaxRecent = 1000;

// Significant digits of the numbers in alert annotations (people read them).
constexpr int kAnnotationDigits = 6;

std::string Num(double v) { return FormatDouble(v, kAnnotationDigits); }

}  // namespace

Labels OutputLabels(const Labels& in) {
  Labels out;
  out.reserve(in.size());
  for (const auto& l : in) {
    if (l.name == "__name__") {
      out.push_back({"metric", l.value});
    } else if (l.name == "metric") {
      out.push_back({"exported_metric", l.value});
    } else {
      out.push_back(l);
    }
  }
  SortLabels(&out);
  return out;
}

std::string AlertsToJson(const std::vector<AlertToSend>& alerts, const std::string& gen) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& a : alerts) {
    nlohmann::json labels = nlohmann::json::object();
    labels["alertname"] = "BacksightAnomaly";
    for (const auto& l : OutputLabels(a.labels)) {
      if (l.name == "alertname")
        labels["exported_alertname"] = l.value;
      else
        labels[l.name] = l.value;
    }
    std::string summary = LabelsToString(a.labels) + " is anomalous: value " + Num(a.value) +
                          " outside expected band [" + Num(a.yhat_lower) + ", " +
                          Num(a.yhat_upper) + "] around " + Num(a.yhat) + " (anomaly_score " +
                          Num(a.score) + ")";
    nlohmann::json ann = {{"summary", summary},
                          {"description", summary},
                          {"anomaly_score", Num(a.score)},
                          {"value", Num(a.value)},
                          {"yhat", Num(a.yhat)},
                          {"yhat_lower", Num(a.yhat_lower)},
                          {"yhat_upper", Num(a.yhat_upper)}};
    arr.push_back(
        {{"labels", labels},
         {"annotations", ann},
         {"startsAt", FormatRfc3339(a.starts_wall_ns)},
         {"endsAt", FormatRfc3339(a.ends_wall_ns)},
         {"generatorURL", gen + "/api/v1/series/state?fingerprint=" + FormatFingerprint(a.fp)}});
  }
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool PostAlertmanagerAlerts(const std::string& url, const std::string& json_array) {
  const size_t scheme_end = url.find("://");
  const size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const std::string base = path_start == std::string::npos ? url : url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!path.empty() && path.back() == '/') path.pop_back();
  httplib::Client cli(base);
  cli.set_connection_timeout(2, 0);
  cli.set_read_timeout(5, 0);
  cli.set_write_timeout(5, 0);
  auto res = cli.Post(path + "/api/v2/alerts", json_array, "application/json");
  return res && res->status / 100 == 2;
}

EpisodeTracker::EpisodeTracker(const AlertOptions& options, store::StateStore* store)
    : opt_(options), store_(store) {}

EpisodeTracker::~EpisodeTracker() { Stop(); }

void EpisodeTracker::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void EpisodeTracker::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(qmu_);
    stop_ = true;
    qcv_.notify_all();
  }
  thread_.join();
}

void EpisodeTracker::OnEpisodeChange(EpisodeChange&& change) {
  if (forward_) forward_(change);
  std::lock_guard<std::mutex> lock(qmu_);
  if (queue_.size() >= kMaxQueued) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(change));
  if (queue_.size() == 1) qcv_.notify_one();
}

void EpisodeTracker::Loop() {
  for (;;) {
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(qmu_);
      qcv_.wait_for(lock, std::chrono::milliseconds(50));
      stopping = stop_;
    }
    Tick(WallNowNs());
    if (stopping) return;
  }
}

bool EpisodeTracker::Post(const std::vector<AlertToSend>& alerts) {
  ++posts_;
  if (!PostAlertmanagerAlerts(opt_.alertmanager_url,
                              AlertsToJson(alerts, opt_.generator_base_url))) {
    ++post_errors_;
    return false;
  }
  return true;
}

void EpisodeTracker::Tick(int64_t now) {
  std::deque<EpisodeChange> changes;
  {
    std::lock_guard<std::mutex> lock(qmu_);
    changes.swap(queue_);
  }
  for (auto& c : changes) {
    auto it = episodes_.find(c.fp);
    if (c.kind == EpisodeChange::Kind::kStart) {
      Episode& e = episodes_[c.fp];
      const bool was_firing = it != episodes_.end() && e.firing && !e.ended;
      e = Episode{};
      e.labels = std::move(c.labels);
      e.start_ts = c.sample_ts;
      e.start_wall_ns = c.wall_ns;
      e.peak = e.score = c.score;
      e.value = c.value;
      e.yhat = c.yhat;
      e.lower = c.yhat_lower;
      e.upper = c.yhat_upper;
      e.firing = was_firing;
      ++started_;
      std::lock_guard<std::mutex> lock(recent_mu_);
      recent_.push_front({0, c.fp, e.labels, e.start_ts, 0, e.peak});
      if (recent_.size() > kMaxRecent) recent_.pop_back();
      continue;
    }
    if (it == episodes_.end() || it->second.ended) continue;
    Episode& e = it->second;
    e.score = c.score;
    e.value = c.value;
    e.yhat = c.yhat;
    e.lower = c.yhat_lower;
    e.upper = c.yhat_upper;
    e.event_dirty = true;
    if (c.kind == EpisodeChange::Kind::kPeak) {
      e.peak = std::max(e.peak, c.score);
    } else {
      e.ended = true;
      e.end_ts = c.sample_ts;
      e.end_wall_ns = c.wall_ns;
      e.resolved_sends_left = e.firing ? 3 : 0;
      ++ended_;
    }
    std::lock_guard<std::mutex> lock(recent_mu_);
    for (auto& r : recent_) {
      if (r.fp == c.fp && r.start_ns == e.start_ts) {
        r.peak_score = e.peak;
        r.end_ns = e.ended ? e.end_ts : 0;
        break;
      }
    }
  }

  // Persist events.
  if (store_ != nullptr) {
    std::vector<store::AnomalyEvent> evs;
    std::vector<uint64_t> fps;
    for (auto& [fp, e] : episodes_) {
      if (!e.event_dirty) continue;
      evs.push_back({e.event_id, fp, e.event_id == 0 ? e.labels : Labels{}, e.start_ts,
                     e.ended ? e.end_ts : 0, e.peak});
      fps.push_back(fp);
    }
    if (!evs.empty()) {
      if (store_->WriteEvents(&evs).ok()) {
        for (size_t i = 0; i < evs.size(); ++i) {
          Episode& e = episodes_[fps[i]];
          e.event_id = evs[i].id;
          e.event_dirty = false;
        }
      } else {
        ++write_errors_;
      }
    }
  } else {
    for (auto& [fp, e] : episodes_) e.event_dirty = false;
  }

  // Alerts.
  const int64_t for_ns = opt_.for_ms * 1'000'000;
  const int64_t resend_ns = opt_.resend_ms * 1'000'000;
  std::vector<AlertToSend> batch;
  std::vector<uint64_t> batch_fps;
  uint64_t firing = 0, pending = 0;
  if (!opt_.alertmanager_url.empty()) {
    for (auto& [fp, e] : episodes_) {
      bool send = false;
      if (!e.ended) {
        if (!e.firing && now - e.start_wall_ns >= for_ns) {
          e.firing = true;
          send = true;
        } else if (e.firing && now - e.last_sent_wall_ns >= resend_ns) {
          send = true;
        }
        if (e.firing)
          ++firing;
        else
          ++pending;
      } else if (e.resolved_sends_left > 0) {
        send = e.resolved_sends_left == 3 || now - e.last_sent_wall_ns >= resend_ns;
      }
      if (!send) continue;
      AlertToSend a;
      a.labels = e.labels;
      a.score = e.ended ? e.peak : e.score;
      a.value = e.value;
      a.yhat = e.yhat;
      a.yhat_lower = e.lower;
      a.yhat_upper = e.upper;
      a.starts_wall_ns = e.start_wall_ns;
      a.ends_wall_ns =
          e.ended ? e.end_wall_ns : now + 4 * std::max<int64_t>(resend_ns, 1'000'000'000);
      a.fp = fp;
      batch.push_back(std::move(a));
      batch_fps.push_back(fp);
    }
  }
  for (size_t off = 0; off < batch.size(); off += 1000) {
    size_t end = std::min(batch.size(), off + 1000);
    std::vector<AlertToSend> chunk(batch.begin() + off, batch.begin() + end);
    if (!Post(chunk)) break;  // retried on the next tick
    for (size_t i = off; i < end; ++i) {
      Episode& e = episodes_[batch_fps[i]];
      e.last_sent_wall_ns = now;
      if (e.ended && e.resolved_sends_left > 0) --e.resolved_sends_left;
    }
  }
  // A failed first send of a new firing alert is retried on the next tick via last_sent == 0
  // (now - 0 >= resend). Drop finished episodes.
  for (auto it = episodes_.begin(); it != episodes_.end();) {
    const Episode& e = it->second;
    if (e.ended && e.resolved_sends_left == 0 && !e.event_dirty) {
      it = episodes_.erase(it);
    } else {
      ++it;
    }
  }
  firing_ = firing;
  pending_ = pending;
}

AlertStats EpisodeTracker::stats() const {
  AlertStats s;
  s.episodes_started = started_;
  s.episodes_ended = ended_;
  s.changes_dropped = dropped_;
  s.alerts_firing = firing_;
  s.alerts_pending = pending_;
  s.alert_posts = posts_;
  s.alert_post_errors = post_errors_;
  s.event_write_errors = write_errors_;
  return s;
}

std::vector<RecentEvent> EpisodeTracker::Recent(size_t limit, uint64_t fp) const {
  std::vector<RecentEvent> out;
  std::lock_guard<std::mutex> lock(recent_mu_);
  for (const auto& r : recent_) {
    if (out.size() >= limit) break;
    if (fp == 0 || r.fp == fp) out.push_back(r);
  }
  return out;
}

}  // namespace backsight::server
