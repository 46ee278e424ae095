// Time-to-exhaustion live, with real peers (issue 11): three days of a filling disk and of a
// sawtooth control are backfilled into a real Prometheus' TSDB (promtool tsdb
// create-blocks-from openmetrics); Prometheus then scrapes a tiny exporter served here (current
// values continuing both series) and remote-writes to `backsight serve`, which warm-starts the
// new usage series from that Prometheus (`history.url`: remote_write only forwards fresh
// samples) and posts to a real Alertmanager. The filling disk's BacksightExhaustionPredicted
// alert must show in Alertmanager before the disk fills; none may show for the sawtooth.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

constexpr double kSize = 1e12;            // a 1 TB filesystem
constexpr int64_t kBackfillStep = 300;    // node-exporter every 5 minutes, seconds
constexpr int64_t kSpan = 3 * 86400;      // history backfilled
constexpr int64_t kToFull = 18 * 3600;    // /fill is full this long after the test starts
constexpr int64_t kSawPeriod = 6 * 3600;  // /saw: 40 % -> 80 % in 6 h, then rotated back

int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Used bytes of `mountpoint` at unix second t, with the test started at `t0`.
double Used(const std::string& mountpoint, int64_t t0, double t) {
  if (mountpoint == "/fill") {
    const double start = static_cast<double>(t0 - kSpan);
    return 0.3 * kSize + 0.7 * kSize * (t - start) / (static_cast<double>(t0 + kToFull) - start);
  }
  const double phase = std::fmod(t, static_cast<double>(kSawPeriod)) / kSawPeriod;
  return kSize * (0.4 + 0.4 * phase);
}

TEST(ExhaustionLive, PrometheusHistoryWarmStartAlertsAlertmanagerBeforeTheFill) {
  for (const char* bin : {kPrometheus, kPromtool, kAlertmanager}) {
    if (!HaveBinary(bin)) {
      GTEST_SKIP() << bin << " is not installed (run scripts/install-deps.sh --test)";
    }
  }
  TempDir dir;
  const int64_t t0 = WallSeconds();
  const int eport = FreePort(), pport = FreePort();
  const std::string target = "127.0.0.1:" + std::to_string(eport);
  const char* kMounts[] = {"/fill", "/saw"};
  auto labels = [&](const char* mountpoint) {
    return std::string("{instance=\"") + target + "\",job=\"node\",mountpoint=\"" + mountpoint +
           "\"}";
  };

  // 1. Three days of history, up to a minute before now, backfilled into the TSDB.
  std::string om;
  char line[256];
  for (const char* family : {"node_filesystem_avail_bytes", "node_filesystem_size_bytes"}) {
    om += std::string("# TYPE ") + family + " gauge\n";
    for (const char* mp : kMounts) {
      for (int64_t t = t0 - kSpan; t < t0 - 60; t += kBackfillStep) {
        const double v = std::string(family) == "node_filesystem_size_bytes"
                             ? kSize
                             : kSize - Used(mp, t0, static_cast<double>(t));
        std::snprintf(line, sizeof(line), " %.17g %lld\n", v, static_cast<long long>(t));
        om += family + labels(mp) + line;
      }
    }
  }
  om += "# EOF\n";
  WriteFile(dir.file("history.om"), om);
  {
    Process backfill({kPromtool, "tsdb", "create-blocks-from", "openmetrics",
                      dir.file("history.om"), dir.file("tsdb")},
                     dir.file("promtool.log"));
    ASSERT_TRUE(WaitFor([&] { return !backfill.running(); }, 60'000)) << backfill.log();
  }

  // 2. The exporter: current values continuing both series.
  httplib::Server exporter;
  exporter.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string body;
    for (const char* mp : kMounts) {
      std::snprintf(line, sizeof(line), " %.17g\n", kSize);
      body += "node_filesystem_size_bytes{mountpoint=\"" + std::string(mp) + "\"}" + line;
      std::snprintf(line, sizeof(line), " %.17g\n", kSize - Used(mp, t0, now));
      body += "node_filesystem_avail_bytes{mountpoint=\"" + std::string(mp) + "\"}" + line;
    }
    res.set_content(body, "text/plain; version=0.0.4");
  });
  std::thread exporter_thread([&] { exporter.listen("127.0.0.1", eport); });
  struct Joiner {
    httplib::Server& s;
    std::thread& t;
    ~Joiner() {
      s.stop();
      t.join();
    }
  } joiner{exporter, exporter_thread};

  // 3. Alertmanager, Backsight (history from Prometheus, alerts to Alertmanager), Prometheus.
  AlertmanagerProcess am(dir, kAlertmanager);
  ASSERT_TRUE(am.ok()) << am.log();
  const int aport = am.port();
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\nhistory:\n  url: http://127.0.0.1:" + std::to_string(pport) +
                          "\n  lookback: 96h\n  step: 5m\n"
                          "alerting:\n  alertmanager_url: http://127.0.0.1:" +
                          std::to_string(aport) + "\n  resend_interval: 10s\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  const std::string bt = "127.0.0.1:" + std::to_string(b.port());
  WriteFile(dir.file("prometheus.yml"), R"(
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: node
    static_configs: [{targets: [')" + target +
                                            R"(']}]
remote_write:
  - url: http://)" + bt + R"(/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 50ms, max_backoff: 500ms}
)");
  Process prom({kPrometheus, "--config.file=" + dir.file("prometheus.yml"),
                "--storage.tsdb.path=" + dir.file("tsdb"),
                "--web.listen-address=127.0.0.1:" + std::to_string(pport)},
               dir.file("prometheus.log"));

  auto find_alert = [&](const std::string& mountpoint) -> nlohmann::json {
    auto alerts =
        GetJson(aport, "/api/v2/alerts?filter=alertname%3D%22BacksightExhaustionPredicted%22");
    if (!alerts.is_array()) return nullptr;
    for (const auto& a : alerts) {
      if (a["labels"].value("mountpoint", "") == mountpoint) return a;
    }
    return nullptr;
  };
  nlohmann::json fill;
  ASSERT_TRUE(WaitFor(
      [&] {
        fill = find_alert("/fill");
        return fill.is_object();
      },
      90'000))
      << prom.log() << "\n"
      << b.proc().log() << "\n"
      << b.Get("/metrics?outputs=false");
  const int64_t seen_after = WallSeconds() - t0;
  EXPECT_EQ(fill["labels"]["metric"], "node_filesystem_avail_bytes");
  EXPECT_EQ(fill["labels"]["instance"], target);
  EXPECT_EQ(fill["status"]["state"], "active");
  const double tte = std::stod(fill["annotations"]["tte_seconds"].get<std::string>());
  std::printf("fill alert in Alertmanager %lld s after start; predicted TTE %.2f h (true %.2f h)\n",
              static_cast<long long>(seen_after), tte / 3600, (kToFull - seen_after) / 3600.0);
  EXPECT_GT(tte, 0.0);  // before the fill
  EXPECT_NEAR(tte, static_cast<double>(kToFull), 0.25 * kToFull);
  // The estimators were warm-started from Prometheus' history (both usage series).
  EXPECT_GE(b.Metric("backsight_exhaustion_warm_series_total"), 2);
  EXPECT_GE(b.Metric("backsight_exhaustion_warm_history_samples_total"),
            2.0 * 0.9 * kSpan / kBackfillStep);
  // The control: a few more ticks and resends, still no alert for the sawtooth.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_TRUE(find_alert("/saw").is_null()) << find_alert("/saw").dump();
  EXPECT_TRUE(find_alert("/fill").is_object());
}

}  // namespace
}  // namespace backsight::testing
