// The query regression watch in `backsight serve` (config `postgres: [{dsn, interval}]`): one
// thread per database runs db::QueryWatcher every interval, submits each statement
// fingerprint's interval series to the stream engine as gauges, and sends regressions to
// Alertmanager as `BacksightQueryRegression` alerts. With incidents on, every regression of
// every snapshot is also passed to the forward (SetForward: the incident service, which makes it
// an incident member), and the alerts are folded into the incident alert unless
// incidents.series_alerts is true.
//
// Series (labels `fingerprint` = libpg_query fingerprint in 16 hex digits, `database`):
//   backsight_pg_statement_mean_seconds       mean execution time per call in the interval
//   backsight_pg_statement_calls_per_second
//   backsight_pg_statement_rows_per_call
//   backsight_pg_statement_blocks_read_per_call  shared blocks read per call
// scored by the engine like any metric (anomaly_score, yhat on /metrics). A regression (the
// two-snapshot rule of db/regression_watch.h) is POSTed to `alerting.alertmanager_url` at
// every snapshot while it lasts, endsAt = now + kAlertLifetimeIntervals intervals, so
// Alertmanager resolves it by itself once it is no longer sent. A server that cannot be reached
// is retried every interval (the error logged once per change of message).
#ifndef BACKSIGHT_SERVER_PG_WATCH_H_
#define BACKSIGHT_SERVER_PG_WATCH_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backsight/db/query_watcher.h"
#include "backsight/server/config.h"
#include "backsight/server/engine.h"

namespace backsight::server {

/// The engine series of one watch step (names and labels above; values at the snapshot time).
std::vector<TimeSeries> PgWatchSeries(const db::WatchStep& step, const std::string& database);

/// The Alertmanager v2 body (a JSON array) for `findings`: labels alertname=
/// "BacksightQueryRegression", fingerprint, database; annotations summary, statement, factor,
/// mean_ms, baseline_ms, plan_before, plan_after, plan_change; startsAt = the regression's
/// `since`, endsAt = `ends_ns`.
std::string RegressionAlertsJson(const std::vector<db::WatchFinding>& findings,
                                 const std::string& database, int64_t ends_ns,
                                 const std::string& generator_url);

/// The watch threads. Start after the engine, Stop before it.
class PgWatch {
 public:
  /// `config` must outlive this object; `engine` may be null (no series, alerts only).
  PgWatch(const ServeConfig& config, Engine* engine);
  ~PgWatch();
  /// Passes each regression of each snapshot with the database name (current_database()) to
  /// `fn` (on the watch threads; thread-safe, quick). Call before Start.
  using Forward = std::function<void(const std::string&, const db::WatchFinding&)>;
  void SetForward(Forward fn) { forward_ = std::move(fn); }
  void Start();
  void Stop();

  /// Snapshots taken, alerts POSTed and failed, over every target (for tests and logs).
  uint64_t steps() const { return steps_; }
  uint64_t alert_posts() const { return alert_posts_; }
  uint64_t alert_errors() const { return alert_errors_; }

  /// Alert lifetime in snapshot intervals: one lost POST or a late snapshot does not resolve
  /// it (Prometheus' rule evaluation sends endsAt = 4 resend intervals for the same reason).
  static constexpr int kAlertLifetimeIntervals = 4;

 private:
  void Loop(const PostgresTarget& target);
  bool WaitStop(int64_t ms);
  void PostAlerts(const std::string& body);

  const ServeConfig& cfg_;
  Engine* engine_;
  Forward forward_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<uint64_t> steps_{0}, alert_posts_{0}, alert_errors_{0};
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_PG_WATCH_H_
