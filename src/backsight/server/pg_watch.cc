#include "backsight/server/pg_watch.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "backsight/core/labels.h"
#include "backsight/core/number_format.h"
#include "backsight/core/time.h"
#include "backsight/db/connection.h"
#include "backsight/server/alerts.h"

namespace backsight::server {
namespace {

constexpr double kMsPerSecond = 1000;
constexpr int64_t kNsPerMs = 1'000'000;

}  // namespace

std::vector<TimeSeries> PgWatchSeries(const db::WatchStep& step, const std::string& database) {
  std::vector<TimeSeries> out;
  out.reserve(4 * step.samples.size());
  for (const auto& s : step.samples) {
    const std::string fp = FormatFingerprint(s.fingerprint);
    auto add = [&](const char* name, double v) {
      TimeSeries ts;
      ts.labels = {{"__name__", name}, {"database", database}, {"fingerprint", fp}};
      ts.kind = MetricKind::kGauge;
      ts.samples.push_back({s.at, v});
      out.push_back(std::move(ts));
    };
    add("backsight_pg_statement_mean_seconds", s.mean_ms / kMsPerSecond);
    add("backsight_pg_statement_calls_per_second", s.calls_per_second);
    add("backsight_pg_statement_rows_per_call", s.rows_per_call);
    add("backsight_pg_statement_blocks_read_per_call", s.blocks_read_per_call);
  }
  return out;
}

std::string RegressionAlertsJson(const std::vector<db::WatchFinding>& findings,
                                 const std::string& database, int64_t ends_ns,
                                 const std::string& generator_url) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : findings) {
    const auto& r = f.regression;
    const std::string factor = FormatDouble(r.factor, 3);
    std::string change = "unknown";
    if (f.plan_changed()) {
      change = f.plan_before + " -> " + f.plan_after;
    } else if (!f.plan_after.empty() && !f.plan_before.empty()) {
      change = "unchanged";
    }
    arr.push_back(
        {{"labels",
          {{"alertname", "BacksightQueryRegression"},
           {"database", database},
           {"fingerprint", FormatFingerprint(r.fingerprint)}}},
         {"annotations",
          {{"summary", "query " + factor + "x slower in " + database + ": " + f.statement},
           {"statement", f.statement},
           {"factor", factor},
           {"mean_ms", FormatDouble(r.mean_ms, 6)},
           {"baseline_ms", FormatDouble(r.baseline_ms, 6)},
           {"plan_before", f.plan_before},
           {"plan_after", f.plan_after},
           {"plan_change", change}}},
         {"startsAt", FormatRfc3339(r.since)},
         {"endsAt", FormatRfc3339(ends_ns)},
         {"generatorURL", generator_url}});
  }
  return arr.dump();
}

PgWatch::PgWatch(const ServeConfig& config, Engine* engine) : cfg_(config), engine_(engine) {}

PgWatch::~PgWatch() { Stop(); }

void PgWatch::Start() {
  for (const auto& t : cfg_.postgres) threads_.emplace_back([this, &t] { Loop(t); });
}

void PgWatch::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

bool PgWatch::WaitStop(int64_t ms) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_; });
}

void PgWatch::PostAlerts(const std::string& body) {
  ++alert_posts_;
  // Re-sent at the next snapshot on failure.
  if (!PostAlertmanagerAlerts(cfg_.alertmanager_url, body)) ++alert_errors_;
}

void PgWatch::Loop(const PostgresTarget& target) {
  std::unique_ptr<db::Connection> conn;
  std::unique_ptr<db::QueryWatcher> watcher;
  std::string database, last_error;
  const std::string generator =
      (cfg_.external_url.empty() ? "http://" + cfg_.listen : cfg_.external_url) + "/metrics";
  do {
    Status st;
    if (!watcher) {
      conn.reset();
      st = db::Connection::Open(target.dsn, &conn);
      if (st.ok()) st = conn->QueryValue("SELECT current_database()", &database);
      if (st.ok()) st = db::QueryWatcher::Start(conn.get(), db::RegressionRule{}, &watcher);
    }
    db::WatchStep step;
    if (st.ok()) st = watcher->Step(&step);
    if (!st.ok()) {
      watcher.reset();  // reconnect at the next interval
      if (st.message() != last_error) {
        std::fprintf(stderr, "backsight serve: postgres watch: %s\n", st.message().c_str());
      }
      last_error = st.message();
      continue;
    }
    last_error.clear();
    ++steps_;
    if (engine_ != nullptr && !step.samples.empty()) {
      (void)engine_->Submit(PgWatchSeries(step, database));  // full queues: this step is lost
    }
    if (forward_) {
      for (const auto& f : step.findings) forward_(database, f);
    }
    if (!step.findings.empty() && ItemAlertsOn(cfg_)) {
      const int64_t ends = WallNowNs() + kAlertLifetimeIntervals * target.interval_ms * kNsPerMs;
      PostAlerts(RegressionAlertsJson(step.findings, database, ends, generator));
    }
    for (const auto& f : step.findings) {
      if (f.regression.first) {
        std::fprintf(stderr, "backsight serve: query regression in %s: %sx slower: %s\n",
                     database.c_str(), FormatDouble(f.regression.factor, 3).c_str(),
                     f.statement.c_str());
      }
    }
  } while (!WaitStop(target.interval_ms));
}

}  // namespace backsight::server
