// Integration tests with real Debian-packaged peers: Prometheus (remote_write into Backsight, and
// scraping Backsight's /metrics), prometheus-node-exporter (scraped by Backsight) and
// prometheus-alertmanager (receiving Backsight's alerts). Each test is skipped with a message
// when its peer binary is not installed (`make test` installs them via scripts/install-deps.sh
// --test).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";
constexpr const char* kNodeExporter = "/usr/bin/prometheus-node-exporter";

#define REQUIRE_BINARY(path)                                                                     \
  if (!HaveBinary(path)) {                                                                       \
    GTEST_SKIP() << path << " is not installed (apt-get install " << std::string(path).substr(9) \
                 << ", or run scripts/install-deps.sh --test)";                                  \
  }

constexpr int64_t kT0 = 1'700'000'000'000LL * kNanosPerMilli;
constexpr int64_t kStep = 10 * kNanosPerSecond;
double Normal(int i) { return 20 + 2 * std::sin(i * 0.3) + (i % 3) * 0.2; }

std::vector<TimeSeries> OneSeries(const Labels& labels, int from, int to,
                                  double spike_at_last = 0) {
  TimeSeries ts;
  ts.labels = labels;
  ts.kind = MetricKind::kGauge;
  for (int i = from; i < to; ++i) ts.samples.push_back({kT0 + i * kStep, Normal(i)});
  if (spike_at_last != 0) ts.samples.back().value = spike_at_last;
  return {ts};
}

TEST(PeersIntegration, PrometheusRemoteWritesToAndScrapesBacksight) {
  REQUIRE_BINARY(kPrometheus);
  TempDir dir;
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") + "\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  // A warmed-up series of our own, so /metrics carries output series for Prometheus to scrape.
  const Labels mine = {{"__name__", "it_metric"}, {"id", "0"}, {"job", "it"}};
  ASSERT_GT(WarmUp(b, mine, [&](int from, int to) { return OneSeries(mine, from, to); }), 0);

  const int pport = FreePort();
  const std::string bt = "127.0.0.1:" + std::to_string(b.port());
  WriteFile(dir.file("prometheus.yml"), R"(
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: backsight
    honor_labels: true
    static_configs: [{targets: [')" + bt + R"(']}]
remote_write:
  - url: http://)" + bt + R"(/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 50ms, max_backoff: 500ms}
    write_relabel_configs:
      # Do not feed Backsight's outputs back into it.
      - source_labels: [__name__]
        regex: 'anomaly_score|yhat|yhat_lower|yhat_upper'
        action: drop
)");
  Process prom({kPrometheus, "--config.file=" + dir.file("prometheus.yml"),
                "--storage.tsdb.path=" + dir.file("tsdb"),
                "--web.listen-address=127.0.0.1:" + std::to_string(pport)},
               dir.file("prometheus.log"));

  // 1. Prometheus remote-writes its scrape of Backsight (e.g. `up`) into Backsight.
  const Labels up = {{"__name__", "up"}, {"instance", bt}, {"job", "backsight"}};
  ASSERT_TRUE(WaitFor(
      [&] {
        auto st = b.State(up);
        return st.is_object() && st["samples_accepted"].get<int>() >= 2;
      },
      45'000))
      << prom.log() << "\n"
      << b.Get("/metrics");
  EXPECT_EQ(b.State(up)["value"], 1.0);

  // 2. Prometheus scraped Backsight's /metrics: the output series are queryable with the input's
  //    labels and its metric name in `metric`.
  nlohmann::json q;
  ASSERT_TRUE(WaitFor(
      [&] {
        q = GetJson(pport, "/api/v1/query?query=anomaly_score%7Bmetric%3D%22it_metric%22%7D");
        return q.is_object() && q["data"]["result"].size() == 1;
      },
      30'000))
      << prom.log();
  const auto& metric = q["data"]["result"][0]["metric"];
  EXPECT_EQ(metric["id"], "0");
  EXPECT_EQ(metric["job"], "it");
  EXPECT_EQ(metric["__name__"], "anomaly_score");
  for (const char* fam : {"yhat", "yhat_lower", "yhat_upper"}) {
    auto y = GetJson(pport,
                     std::string("/api/v1/query?query=") + fam + "%7Bmetric%3D%22it_metric%22%7D");
    ASSERT_TRUE(y.is_object());
    EXPECT_EQ(y["data"]["result"].size(), 1u) << fam;
  }
  auto health = GetJson(pport, "/api/v1/query?query=backsight_samples_processed_total");
  ASSERT_TRUE(health.is_object());
  ASSERT_EQ(health["data"]["result"].size(), 1u);
  EXPECT_GE(std::stod(health["data"]["result"][0]["value"][1].get<std::string>()), 100);
}

TEST(PeersIntegration, OutputSeriesArePushedToPrometheusByRemoteWrite) {
  REQUIRE_BINARY(kPrometheus);
  TempDir dir;
  const int pport = FreePort();
  WriteFile(dir.file("prometheus.yml"), "global: {scrape_interval: 1m}\n");
  Process prom({kPrometheus, "--config.file=" + dir.file("prometheus.yml"),
                "--storage.tsdb.path=" + dir.file("tsdb"), "--web.enable-remote-write-receiver",
                "--web.listen-address=127.0.0.1:" + std::to_string(pport)},
               dir.file("prometheus.log"));
  ASSERT_TRUE(
      WaitFor([&] { return GetJson(pport, "/api/v1/status/buildinfo").is_object(); }, 30'000))
      << prom.log();
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\noutput_remote_write:\n  url: http://127.0.0.1:" +
                          std::to_string(pport) + "/api/v1/write\n  interval: 200ms\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  // Recent timestamps: Prometheus' TSDB refuses samples far in the past.
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const Labels pushed = {{"__name__", "pushed_metric"}, {"id", "7"}};
  ASSERT_GT(
      WarmUp(b, pushed,
             [&](int from, int to) {
               TimeSeries ts;
               ts.labels = pushed;
               for (int i = from; i < to; ++i) {
                 ts.samples.push_back({(now_ms - 1'000'000 + i * 100) * kNanosPerMilli, Normal(i)});
               }
               return std::vector<TimeSeries>{ts};
             }),
      0);
  // Output samples carry the input's last timestamp: query Prometheus at that time.
  const int64_t last_ns = b.State(pushed)["last_timestamp_ns"].get<int64_t>();
  const std::string at = "&time=" + std::to_string(last_ns / kNanosPerMilli / 1000.0);
  nlohmann::json q;
  ASSERT_TRUE(WaitFor(
      [&] {
        q = GetJson(pport, "/api/v1/query?query=yhat_upper%7Bmetric%3D%22pushed_metric%22%7D" + at);
        return q.is_object() && q["data"]["result"].size() == 1;
      },
      30'000))
      << prom.log() << "\n"
      << b.Get("/metrics");
  EXPECT_EQ(q["data"]["result"][0]["metric"]["id"], "7");
  EXPECT_EQ(b.Metric("backsight_output_push_errors_total"), 0);
}

TEST(PeersIntegration, BacksightScrapesNodeExporter) {
  REQUIRE_BINARY(kNodeExporter);
  TempDir dir;
  const int nport = FreePort();
  Process ne({kNodeExporter, "--web.listen-address=127.0.0.1:" + std::to_string(nport),
              "--collector.disable-defaults", "--collector.cpu", "--collector.meminfo",
              "--collector.loadavg"},
             dir.file("node_exporter.log"));
  const std::string target = "127.0.0.1:" + std::to_string(nport);
  // Backsight's first scrape must find node-exporter listening, or it rightly counts an error.
  ASSERT_TRUE(WaitFor(
      [&] {
        httplib::Client c("127.0.0.1", nport);
        auto r = c.Get("/metrics");
        return r && r->status == 200;
      },
      30'000))
      << ne.log();
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\nscrape_configs:\n  - job_name: node\n    scrape_interval: 200ms\n"
                          "    static_configs: [{targets: ['" +
                          target + "']}]\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  // node_cpu_seconds_total is a counter: scored as a rate once two scrapes arrived.
  nlohmann::json list;
  ASSERT_TRUE(WaitFor(
      [&] {
        list = nlohmann::json::parse(b.Get("/api/v1/series?metric=node_cpu_seconds_total"), nullptr,
                                     false);
        if (!list.is_object() || list["matched"].get<int>() == 0) return false;
        Labels l;
        for (auto& [k, v] : list["series"][0]["series"].items()) l.push_back({k, v});
        auto st = b.State(l);
        return st.is_object() && st["samples_accepted"].get<int>() >= 2;
      },
      30'000))
      << ne.log() << "\n"
      << b.proc().log() << "\n"
      << b.Get("/metrics");
  const auto& labels = list["series"][0]["series"];
  EXPECT_EQ(labels["job"], "node");
  EXPECT_EQ(labels["instance"], target);
  EXPECT_TRUE(labels.contains("cpu"));
  EXPECT_TRUE(labels.contains("mode"));
  Labels l;
  for (auto& [k, v] : labels.items()) l.push_back({k, v});
  EXPECT_EQ(b.State(l)["counter_as_rate"], true);
  auto mem = nlohmann::json::parse(b.Get("/api/v1/series?metric=node_memory_MemTotal_bytes"));
  EXPECT_EQ(mem["matched"], 1);
  const Labels node = {{"job", "node"}, {"instance", target}};
  EXPECT_GE(b.Metric("backsight_scrapes_total", node), 1) << b.Get("/metrics?outputs=false");
  EXPECT_EQ(b.Metric("backsight_scrape_errors_total", node), 0);
}

TEST(PeersIntegration, AlertmanagerReceivesAndResolvesAlerts) {
  REQUIRE_BINARY(kAlertmanager);
  TempDir dir;
  AlertmanagerProcess am(dir, kAlertmanager);
  ASSERT_TRUE(am.ok()) << am.log();
  const int aport = am.port();
  // resend_interval 10s: a firing alert's endsAt is 40 s ahead, so it can only leave
  // Alertmanager's active list within this test by being resolved.
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\nalerting:\n  alertmanager_url: http://127.0.0.1:" +
                          std::to_string(aport) + "\n  for: 1s\n  resend_interval: 10s\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  const Labels series = {{"__name__", "checkout_latency"}, {"service", "shop"}};
  const int next = WarmUp(b, series, [&](int from, int to) { return OneSeries(series, from, to); });
  ASSERT_GT(next, 0);
  ASSERT_EQ(b.State(series)["in_anomaly"], false);
  // Inject an anomaly: one sample far outside anything seen.
  ASSERT_EQ(b.Write(OneSeries(series, next, next + 1, 5000)), 204);
  const auto injected = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return b.State(series)["in_anomaly"] == true; }, 10'000))
      << b.State(series).dump();

  auto find_alert = [&]() -> nlohmann::json {
    auto alerts = GetJson(aport, "/api/v2/alerts?filter=alertname%3D%22BacksightAnomaly%22");
    if (!alerts.is_array()) return nullptr;
    for (const auto& a : alerts) {
      if (a["labels"].value("metric", "") == "checkout_latency" &&
          a["labels"].value("service", "") == "shop") {
        return a;
      }
    }
    return nullptr;
  };
  nlohmann::json alert;
  ASSERT_TRUE(WaitFor(
      [&] {
        alert = find_alert();
        return alert.is_object();
      },
      20'000))
      << am.log() << "\n"
      << b.Get("/metrics");
  const double fired_after_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - injected).count();
  std::printf("alert visible in Alertmanager %.3f s after injection (alerting.for = 1 s)\n",
              fired_after_s);
  EXPECT_GE(fired_after_s, 1.0);  // not before `for` has passed
  EXPECT_GT(std::stod(alert["annotations"]["anomaly_score"].get<std::string>()), 1.0);
  EXPECT_TRUE(alert["annotations"].contains("yhat_lower"));
  EXPECT_TRUE(alert["annotations"].contains("yhat_upper"));
  EXPECT_NE(alert["annotations"]["summary"].get<std::string>().find("checkout_latency"),
            std::string::npos);
  EXPECT_EQ(alert["status"]["state"], "active");

  // Recovery: normal samples until the episode ends, then the alert is resolved.
  int i = next + 1;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (b.State(series)["in_anomaly"] == false) return true;
        if (i < next + 5000) b.Write(OneSeries(series, i, i + 10));
        i += 10;
        return false;
      },
      30'000));
  ASSERT_TRUE(WaitFor([&] { return find_alert().is_null(); }, 20'000)) << find_alert().dump();
  // The episode is stored as an anomaly event with start, end and peak score.
  auto ev = nlohmann::json::parse(b.Get("/api/v1/anomalies"));
  ASSERT_GE(ev["events"].size(), 1u);
  EXPECT_EQ(ev["events"][0]["series"]["__name__"], "checkout_latency");
  EXPECT_FALSE(ev["events"][0]["end"].is_null());
  EXPECT_GT(ev["events"][0]["peak_score"].get<double>(), 1.0);
}

}  // namespace
}  // namespace backsight::testing
