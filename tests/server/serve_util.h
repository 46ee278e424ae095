// Starting `backsight serve` as a child process and talking to it, for integration tests.
#ifndef BACKSIGHT_TESTS_SERVER_SERVE_UTIL_H_
#define BACKSIGHT_TESTS_SERVER_SERVE_UTIL_H_

#include <httplib.h>

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/ingest/exposition.h"
#include "backsight/ingest/remote_write.h"
#include "proc_util.h"

namespace backsight::testing {

/// An Alertmanager stand-in: records the alerts POSTed to /api/v2/alerts.
class AlertReceiver {
 public:
  AlertReceiver() {
    srv_.Post("/api/v2/alerts", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      auto j = nlohmann::json::parse(req.body, nullptr, false);
      if (j.is_array()) {
        for (auto& a : j) alerts_.push_back(a);
      }
      res.status = 200;
    });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
  }
  ~AlertReceiver() {
    srv_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  nlohmann::json alerts() {
    std::lock_guard lock(mu_);
    return alerts_;
  }

 private:
  httplib::Server srv_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  nlohmann::json alerts_ = nlohmann::json::array();
};

/// A real Alertmanager (Debian's prometheus-alertmanager, scripts/install-deps.sh --test) on a
/// free 127.0.0.1 port. Its one route groups by every label (each alert its own group, sent at
/// once: group_wait 0s) to a webhook receiver served here, which records every alert of every
/// notification, so alerts that fired and resolved in between two reads are seen too. Its files
/// live in `dir` (am.yml, am/, am.log).
class AlertmanagerProcess {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus-alertmanager";
  /// False when the binary is missing (callers skip with a message).
  static bool Installed() { return HaveBinary(kBinary); }

  /// Starts `bin` and waits up to 30 s for its API; ok() says whether it answered.
  explicit AlertmanagerProcess(const TempDir& dir, const std::string& bin = kBinary)
      : port_(FreePort()) {
    hook_.Post("/notify", [this](const httplib::Request& req, httplib::Response& res) {
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      std::lock_guard lock(mu_);
      if (body.is_object() && body["alerts"].is_array()) {
        for (const auto& a : body["alerts"]) {
          notified_.push_back({{"labels", a["labels"]}, {"status", a["status"]}});
        }
      }
      res.status = 200;
    });
    const int hook_port = hook_.bind_to_any_port("127.0.0.1");
    hook_thread_ = std::thread([this] { hook_.listen_after_bind(); });
    WriteFile(dir.file("am.yml"),
              "route: {receiver: hook, group_by: ['...'], group_wait: 0s, group_interval: 1s,"
              " repeat_interval: 1h}\n"
              "receivers: [{name: hook, webhook_configs: [{url: 'http://127.0.0.1:" +
                  std::to_string(hook_port) + "/notify'}]}]\n");
    proc_ = std::make_unique<Process>(
        std::vector<std::string>{
            bin, "--config.file=" + dir.file("am.yml"), "--storage.path=" + dir.file("am"),
            "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--cluster.listen-address="},
        dir.file("am.log"));
    ok_ = WaitFor([&] { return Get("/api/v2/status").is_object(); }, 30'000);
  }
  ~AlertmanagerProcess() {
    proc_.reset();
    hook_.stop();
    hook_thread_.join();
  }
  AlertmanagerProcess(const AlertmanagerProcess&) = delete;
  AlertmanagerProcess& operator=(const AlertmanagerProcess&) = delete;

  bool ok() const { return ok_; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Process& proc() { return *proc_; }
  /// Its log so far (am.log).
  std::string log() const { return proc_->log(); }
  /// GET `path` as JSON; null on a connection error, a status other than 200 or bad JSON.
  nlohmann::json Get(const std::string& path) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(5, 0);
    auto r = c.Get(path.c_str());
    if (!r || r->status != 200) return nullptr;
    return nlohmann::json::parse(r->body, nullptr, false);
  }
  /// The alerts it holds now (GET /api/v2/alerts: active, silenced and inhibited; resolved ones
  /// are gone), only those named `alertname` unless it is empty; an empty array on errors.
  nlohmann::json Alerts(const std::string& alertname = "") const {
    nlohmann::json a =
        Get(alertname.empty() ? "/api/v2/alerts"
                              : "/api/v2/alerts?filter=alertname%3D%22" + alertname + "%22");
    return a.is_array() ? a : nlohmann::json::array();
  }
  /// Every alert of every notification so far, in order: {"labels": {...}, "status":
  /// "firing"|"resolved"}.
  nlohmann::json Notified() {
    std::lock_guard lock(mu_);
    return notified_;
  }

 private:
  int port_;
  httplib::Server hook_;
  std::thread hook_thread_;
  std::mutex mu_;
  nlohmann::json notified_ = nlohmann::json::array();
  std::unique_ptr<Process> proc_;
  bool ok_ = false;
};

/// `backsight serve --config <dir>/backsight.yml` as a child; port parsed from its log.
class ServeProcess {
 public:
  ServeProcess(const TempDir& dir, const std::string& yaml, const std::string& tag = "serve") {
    const std::string cfg = dir.file(tag + ".yml");
    WriteFile(cfg, yaml);
    proc_ = std::make_unique<Process>(
        std::vector<std::string>{BACKSIGHT_BIN, "serve", "--config", cfg}, dir.file(tag + ".log"));
    port_ = WaitForListenPort(*proc_, 20'000);
  }
  int port() const { return port_; }
  bool ok() const { return port_ > 0; }
  Process& proc() { return *proc_; }
  std::unique_ptr<httplib::Client> Client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(20, 0);
    return c;
  }
  /// POSTs a remote_write body; returns the HTTP status (0 on connection failure).
  int Write(const std::vector<TimeSeries>& series) const {
    std::string body;
    ingest::EncodeRemoteWrite(series, &body);
    return PostRaw("/api/v1/write", body, "application/x-protobuf", "snappy");
  }
  int PostRaw(const std::string& path, const std::string& body, const std::string& type,
              const std::string& encoding = "") const {
    httplib::Headers h;
    if (!encoding.empty()) h.emplace("Content-Encoding", encoding);
    auto r = Client()->Post(path.c_str(), h, body, type.c_str());
    return r ? r->status : 0;
  }
  std::string Get(const std::string& path) const {
    auto r = Client()->Get(path.c_str());
    return r ? r->body : "";
  }
  /// Value of the sample `name{labels}` on /metrics (read with the project's exposition
  /// parser, so label order and number spelling do not matter), or -1 if absent.
  double Metric(const std::string& name, Labels labels = {}) const {
    std::vector<TimeSeries> series;
    if (!ingest::ParseExposition(Get("/metrics?outputs=false"), 0, &series).ok()) return -1;
    labels.push_back({"__name__", name});
    SortLabels(&labels);
    for (const TimeSeries& ts : series) {
      if (ts.labels == labels && !ts.samples.empty()) return ts.samples.back().value;
    }
    return -1;
  }
  /// JSON state of a series (GET /api/v1/series/state?<labels>); null if absent.
  nlohmann::json State(const Labels& labels) const {
    httplib::Params p;
    for (const auto& l : labels) p.emplace(l.name, l.value);
    auto r = Client()->Get("/api/v1/series/state", p, httplib::Headers{});
    if (!r || r->status != 200) return nullptr;
    return nlohmann::json::parse(r->body, nullptr, false);
  }

 private:
  std::unique_ptr<Process> proc_;
  int port_ = -1;
};

/// GET http://127.0.0.1:<port><path> parsed as JSON; null unless it answers 200 within 5 s.
inline nlohmann::json GetJson(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5, 0);
  auto r = c.Get(path.c_str());
  if (!r || r->status != 200) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

/// The JSON state of series `labels` (ServeProcess::State) once it has accepted at least
/// `min_accepted` samples, waiting up to `timeout_ms`; else the last state seen (null if absent).
inline nlohmann::json WaitForState(const ServeProcess& s, const Labels& labels,
                                   int min_accepted = 1, int64_t timeout_ms = 10'000) {
  nlohmann::json st;
  WaitFor(
      [&] {
        st = s.State(labels);
        return st.is_object() && st["samples_accepted"].get<int>() >= min_accepted;
      },
      timeout_ms);
  return st;
}

/// One Loki push (JSON) of `lines` for stream label service=`service`, one second apart from
/// 2025-12-02T00:00:00Z (timestamps in ns, in order).
inline std::string LokiJsonBody(const std::string& service, const std::vector<std::string>& lines) {
  nlohmann::json values = nlohmann::json::array();
  for (size_t i = 0; i < lines.size(); ++i) {
    values.push_back(
        {std::to_string(1'764'633'600'000'000'000LL + int64_t(i) * 1'000'000'000LL), lines[i]});
  }
  return nlohmann::json({{"streams", {{{"stream", {{"service", service}}}, {"values", values}}}}})
      .dump();
}

/// Combined-log-format access lines of a small site: 30 ordinary clients (198.51.100.1-30, 1-5
/// page views each), then 203.0.113.66 failing 40 logins (POST /login 401) a second apart: one
/// brute_force finding for `backsight security` and logs.security.
inline std::vector<std::string> BruteForceAccessLines() {
  std::vector<std::string> out;
  for (int i = 0; i < 30; ++i) {
    for (int j = 0; j < 1 + i % 5; ++j) {
      out.push_back("198.51.100." + std::to_string(i + 1) +
                    " - - [02/Dec/2025:00:00:00 +0000] \"GET /page" + std::to_string(j) +
                    " HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"");
    }
  }
  for (int k = 0; k < 40; ++k) {
    out.push_back("203.0.113.66 - - [02/Dec/2025:01:00:" + std::string(k < 10 ? "0" : "") +
                  std::to_string(k) +
                  " +0000] \"POST /login HTTP/1.1\" 401 180 \"-\" \"curl/8.0\"");
  }
  return out;
}

/// Pushes `make(from, to)` in chunks of 100 samples until the series `labels` has left the
/// detector's warm-up (whatever its length); returns the next sample index, or -1 if it is
/// still warming up after `max_samples`.
inline int WarmUp(const ServeProcess& s, const Labels& labels,
                  const std::function<std::vector<TimeSeries>(int, int)>& make,
                  int max_samples = 5000) {
  for (int i = 0; i < max_samples; i += 100) {
    if (s.Write(make(i, i + 100)) != 204) return -1;
    const nlohmann::json st = WaitForState(s, labels, i + 100);
    if (st.is_object() && st.value("warming_up", true) == false) return i + 100;
  }
  return -1;
}

}  // namespace backsight::testing

#endif  // BACKSIGHT_TESTS_SERVER_SERVE_UTIL_H_
