// Time-to-exhaustion in the real `backsight serve` binary: node-exporter filesystem series
// (avail + size) arrive by remote_write; a filling disk gets backsight_time_to_exhaustion_seconds
// and a BacksightExhaustionPredicted alert at an Alertmanager stand-in; a log-rotation sawtooth
// on the same host gets neither.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backsight/ingest/exposition.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr int64_t kStep = 300;  // node-exporter every 5 minutes
constexpr double kSize = 1e12;  // a 1 TB filesystem

TimeSeries Fs(const std::string& name, const std::string& mountpoint) {
  TimeSeries s;
  s.labels = {{"__name__", name}, {"instance", "host:9100"}, {"mountpoint", mountpoint}};
  SortLabels(&s.labels);
  s.kind = MetricKind::kGauge;
  return s;
}

// Three days up to `now` for two filesystems on one host: /fill grows from 30 % and is full
// `to_full` seconds after the last sample; /saw fills 40 % -> 80 % in 6 h and is rotated back.
void WriteThreeDays(const ServeProcess& s, int64_t now, int64_t to_full) {
  const int64_t span = 3 * 86400;
  const int64_t start = now - span;
  const double rate = 0.7 * kSize / (span + to_full);
  for (int64_t day = 0; day < 3; ++day) {
    std::vector<TimeSeries> batch = {
        Fs("node_filesystem_size_bytes", "/fill"), Fs("node_filesystem_avail_bytes", "/fill"),
        Fs("node_filesystem_size_bytes", "/saw"), Fs("node_filesystem_avail_bytes", "/saw")};
    for (int64_t t = start + day * 86400 + kStep; t <= start + (day + 1) * 86400; t += kStep) {
      const TimestampNs ts = t * kNanosPerSecond;
      double fill_used = 0.3 * kSize + rate * (t - start);
      double saw_used = kSize * (0.4 + 0.4 * static_cast<double>(t % (6 * 3600)) / (6 * 3600));
      batch[0].samples.push_back({ts, kSize});
      batch[1].samples.push_back({ts, kSize - fill_used});
      batch[2].samples.push_back({ts, kSize});
      batch[3].samples.push_back({ts, kSize - saw_used});
    }
    ASSERT_EQ(s.Write(batch), 204);
  }
}

int64_t NowStep() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() /
         kStep * kStep;
}

// backsight_time_to_exhaustion_seconds by mountpoint, from GET /metrics.
std::map<std::string, double> TteByMountpoint(const ServeProcess& s) {
  std::map<std::string, double> out;
  std::vector<TimeSeries> series;
  if (!ingest::ParseExposition(s.Get("/metrics"), 0, &series).ok()) return out;
  for (const TimeSeries& ts : series) {
    if (GetLabel(ts.labels, "__name__") == "backsight_time_to_exhaustion_seconds") {
      out[std::string(GetLabel(ts.labels, "mountpoint"))] = ts.samples.back().value;
    }
  }
  return out;
}

TEST(ExhaustionServe, EstimatorsSurviveARestart) {
  TempDir dir;
  const std::string yaml = "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") + "\n";
  const int64_t to_full = 20 * 3600;
  double before = -1;
  {
    ServeProcess s(dir, yaml, "first");
    ASSERT_TRUE(s.ok()) << s.proc().log();
    WriteThreeDays(s, NowStep(), to_full);
    std::map<std::string, double> tte = TteByMountpoint(s);
    ASSERT_EQ(tte.count("/fill"), 1u);
    before = tte["/fill"];
    s.proc().Signal(SIGTERM);
    ASSERT_EQ(s.proc().Wait(20'000), 0) << s.proc().log();
  }
  ServeProcess s(dir, yaml, "second");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  std::map<std::string, double> tte = TteByMountpoint(s);  // no sample since the restart
  EXPECT_EQ(tte.count("/saw"), 0u);
  ASSERT_EQ(tte.count("/fill"), 1u) << s.Get("/metrics");
  EXPECT_EQ(tte["/fill"], before);
}

// A Prometheus history API that answers the engine's warm start at once (no history: the
// detector's held samples are released) and keeps the exhaustion warm start's fetches (at
// history.step, 5 m) waiting until destroyed, so only the exhaustion warm start holds samples.
class SlowHistory {
 public:
  SlowHistory() {
    srv_.Post("/api/v1/query_range", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.get_param_value("step") != "60.000") {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(60), [this] { return done_; });
      }
      res.set_content(R"({"status":"success","data":{"resultType":"matrix","result":[]}})",
                      "application/json");
    });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
  }
  ~SlowHistory() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    srv_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  httplib::Server srv_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

// Live samples the exhaustion warm start holds while it waits for a series' history are kept in
// the write-ahead log through a checkpoint (its segment is not deleted while they are held):
// after a kill -9 the replay gives them to the estimator.
TEST(ExhaustionServe, SamplesHeldForHistorySurviveCheckpointAndKill9) {
  TempDir dir;
  SlowHistory history;
  ASSERT_GT(history.port(), 0);
  const std::string state =
      "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") + "\ncheckpoint_interval: 1h\n";
  const int64_t now = NowStep();
  constexpr int64_t kHeld = 100;
  {
    ServeProcess s(dir,
                   state + "history:\n  url: http://127.0.0.1:" + std::to_string(history.port()) +
                       "\n  timeout: 60s\n  step: 5m\n",
                   "holding");
    ASSERT_TRUE(s.ok()) << s.proc().log();
    // 100 samples of each filesystem (fewer than history.max_held_per_series, 240).
    std::vector<TimeSeries> batch = {
        Fs("node_filesystem_size_bytes", "/fill"), Fs("node_filesystem_avail_bytes", "/fill"),
        Fs("node_filesystem_size_bytes", "/saw"), Fs("node_filesystem_avail_bytes", "/saw")};
    for (int64_t i = 0; i < kHeld; ++i) {
      const TimestampNs ts = (now - (kHeld - i) * 60) * kNanosPerSecond;  // a minute apart
      batch[0].samples.push_back({ts, kSize});
      batch[1].samples.push_back({ts, kSize * (0.5 - 0.001 * static_cast<double>(i))});
      batch[2].samples.push_back({ts, kSize});
      batch[3].samples.push_back({ts, kSize * 0.5});
    }
    ASSERT_EQ(s.Write(batch), 204);
    // Both usage series wait for their history: their samples are held, none fed yet; the
    // engine's warm start has released its own.
    ASSERT_TRUE(
        WaitFor([&] { return s.Metric("backsight_history_fetches_succeeded_total") == 4; }, 20'000))
        << s.Get("/metrics");
    EXPECT_EQ(s.Metric("backsight_exhaustion_warm_pending_series"), 2) << s.Get("/metrics");
    EXPECT_EQ(s.Metric("backsight_exhaustion_samples_total"), 0);
    ASSERT_EQ(s.PostRaw("/api/v1/checkpoint", "", "text/plain"), 200);
    s.proc().Signal(SIGKILL);
    ASSERT_EQ(s.proc().Wait(20'000), 128 + SIGKILL);
  }
  {
    // Restarted with the same slow source: the log replay hands the samples to the warm start,
    // which holds them again (their record is in a segment older than the current one), and a
    // checkpoint followed by kill -9 still loses nothing.
    ServeProcess s(dir,
                   state + "history:\n  url: http://127.0.0.1:" + std::to_string(history.port()) +
                       "\n  timeout: 60s\n  step: 5m\n",
                   "holding-replayed");
    ASSERT_TRUE(s.ok()) << s.proc().log();
    EXPECT_EQ(s.Metric("backsight_exhaustion_warm_pending_series"), 2) << s.Get("/metrics");
    EXPECT_EQ(s.Metric("backsight_exhaustion_samples_total"), 0);
    ASSERT_EQ(s.PostRaw("/api/v1/checkpoint", "", "text/plain"), 200);
    s.proc().Signal(SIGKILL);
    ASSERT_EQ(s.proc().Wait(20'000), 128 + SIGKILL);
  }
  ServeProcess s(dir, state, "restarted");  // no history source: the replay feeds them at once
  ASSERT_TRUE(s.ok()) << s.proc().log();
  EXPECT_EQ(s.Metric("backsight_exhaustion_series"), 2) << s.Get("/api/v1/status");
  EXPECT_EQ(s.Metric("backsight_exhaustion_samples_total"), 2 * kHeld) << s.Get("/metrics");
}

TEST(ExhaustionServe, FillingDiskAlertsAndSawtoothDoesNot) {
  TempDir dir;
  AlertReceiver am;
  const std::string yaml =
      "listen: 127.0.0.1:0\nstate_dir: \"\"\nalerting:\n  alertmanager_url: http://127.0.0.1:" +
      std::to_string(am.port()) + "\n  resend_interval: 1s\nexhaustion:\n  horizon: 1d\n";
  ServeProcess s(dir, yaml);
  ASSERT_TRUE(s.ok()) << s.proc().log();

  const int64_t to_full = 20 * 3600;
  WriteThreeDays(s, NowStep(), to_full);

  // The output series: the fill's TTE within 10 % of 20 h; nothing for the sawtooth.
  std::vector<TimeSeries> out;
  ASSERT_TRUE(ingest::ParseExposition(s.Get("/metrics"), 0, &out).ok());
  double fill_tte = -1;
  for (const TimeSeries& ts : out) {
    if (GetLabel(ts.labels, "__name__") != "backsight_time_to_exhaustion_seconds") continue;
    EXPECT_EQ(GetLabel(ts.labels, "metric"), "node_filesystem_avail_bytes");
    EXPECT_EQ(GetLabel(ts.labels, "mountpoint"), "/fill") << "the sawtooth has a TTE";
    if (GetLabel(ts.labels, "mountpoint") == "/fill") fill_tte = ts.samples.back().value;
  }
  EXPECT_NEAR(fill_tte, to_full, 0.1 * to_full);

  // The alert reaches the Alertmanager stand-in, with its predicted time; none for /saw.
  nlohmann::json fill_alert;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& a : am.alerts()) {
          if (a["labels"]["mountpoint"] == "/fill") fill_alert = a;
        }
        return fill_alert.is_object();
      },
      15'000))
      << am.alerts().dump();
  EXPECT_EQ(fill_alert["labels"]["alertname"], "BacksightExhaustionPredicted");
  EXPECT_EQ(fill_alert["labels"]["metric"], "node_filesystem_avail_bytes");
  EXPECT_EQ(fill_alert["labels"]["instance"], "host:9100");
  const std::string predicted = fill_alert["annotations"]["predicted_time"];
  EXPECT_EQ(predicted.substr(0, 2), "20") << predicted;  // an RFC 3339 time
  EXPECT_TRUE(fill_alert["annotations"].contains("predicted_time_earliest"));
  EXPECT_TRUE(fill_alert["annotations"].contains("predicted_time_latest"));
  // Resent while it lasts (resend_interval 1s); still nothing for the sawtooth.
  ASSERT_TRUE(WaitFor([&] { return am.alerts().size() >= 2; }, 10'000));
  for (const auto& a : am.alerts()) EXPECT_NE(a["labels"]["mountpoint"], "/saw") << a.dump();
}

}  // namespace
}  // namespace backsight::testing
