// Warm start from history (issue 8) against a real Prometheus whose TSDB is pre-filled with
// `promtool tsdb create-blocks-from openmetrics`, and against a dead history source. Skipped
// with a message when Prometheus is not installed.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr int kSeries = 50;
constexpr int64_t kStepS = 15;
constexpr int64_t kHistoryS = 3 * 86'400;  // 3 days, 17,280 points per series

#define REQUIRE_BINARY(path)                                                         \
  if (!HaveBinary(path)) {                                                           \
    GTEST_SKIP() << path << " is not installed (apt-get install prometheus, or run " \
                 << "scripts/install-deps.sh --test)";                               \
  }

int64_t NowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A daily cycle plus deterministic noise, phase-shifted per series.
double Shape(int series, int64_t t_s) {
  const double noise = static_cast<double>((t_s * 7919 + series * 104729) % 1000) / 500.0;
  return 100 + 20 * std::sin(2 * M_PI * static_cast<double>(t_s) / 86'400 + series) + noise;
}

Labels SeriesLabels(const std::string& id) {
  return {{"__name__", "warm_metric"}, {"job", "warm"}, {"series", id}};
}

std::vector<TimeSeries> LiveSample(const std::vector<std::string>& ids, int64_t t_s) {
  std::vector<TimeSeries> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    TimeSeries ts;
    ts.labels = SeriesLabels(ids[i]);
    ts.kind = MetricKind::kGauge;
    ts.samples.push_back({t_s * kNanosPerSecond, Shape(static_cast<int>(i), t_s)});
    out.push_back(std::move(ts));
  }
  return out;
}

nlohmann::json GetJson(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10, 0);
  auto r = c.Get(path.c_str());
  if (!r || r->status != 200) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

// Lines of /metrics' anomaly_score family for warm_metric series.
int ScoredSeries(const std::string& metrics) {
  int n = 0;
  for (size_t p = metrics.find("\nanomaly_score{"); p != std::string::npos;
       p = metrics.find("\nanomaly_score{", p + 1)) {
    const size_t eol = metrics.find('\n', p + 1);
    if (metrics.substr(p, eol - p).find("metric=\"warm_metric\"") != std::string::npos) ++n;
  }
  return n;
}

TEST(WarmStartIntegration, FiftySeriesWithHistoryAreScoredOnTheirFirstLiveSample) {
  REQUIRE_BINARY(kPrometheus);
  REQUIRE_BINARY(kPromtool);
  TempDir dir;
  // 1. 50 series x 3 days at 15 s, ending a minute ago, as OpenMetrics, backfilled into a TSDB.
  const int64_t end_s = NowS() - 60;
  {
    std::ofstream om(dir.file("history.om"));
    om << "# TYPE warm_metric gauge\n";
    char line[160];
    for (int i = 0; i < kSeries; ++i) {
      for (int64_t t = end_s - kHistoryS + kStepS; t <= end_s; t += kStepS) {
        std::snprintf(line, sizeof line, "warm_metric{job=\"warm\",series=\"%d\"} %.4f %lld\n", i,
                      Shape(i, t), static_cast<long long>(t));
        om << line;
      }
    }
    om << "# EOF\n";
  }
  Process promtool({kPromtool, "tsdb", "create-blocks-from", "openmetrics", dir.file("history.om"),
                    dir.file("tsdb")},
                   dir.file("promtool.log"));
  ASSERT_EQ(promtool.Wait(120'000), 0) << promtool.log();

  const int pport = FreePort();
  WriteFile(dir.file("prometheus.yml"), "global: {scrape_interval: 1m}\n");
  Process prom({kPrometheus, "--config.file=" + dir.file("prometheus.yml"),
                "--storage.tsdb.path=" + dir.file("tsdb"),
                "--web.listen-address=127.0.0.1:" + std::to_string(pport)},
               dir.file("prometheus.log"));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto q =
            GetJson(pport, "/api/v1/query?query=count(warm_metric)&time=" + std::to_string(end_s));
        return q.is_object() && q["data"]["result"].size() == 1 &&
               q["data"]["result"][0]["value"][1] == std::to_string(kSeries);
      },
      60'000))
      << prom.log();

  // 2. Backsight with history at that Prometheus (a 4-day lookback: three query_range pieces).
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\nhistory:\n  url: http://127.0.0.1:" + std::to_string(pport) +
                          "\n  lookback: 4d\n  concurrency: 4\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();

  // 3. One live sample per series (plus one series Prometheus has never seen), in one request.
  std::vector<std::string> ids;
  for (int i = 0; i < kSeries; ++i) ids.push_back(std::to_string(i));
  ids.push_back("new");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(b.Write(LiveSample(ids, NowS())), 204);

  // 4. Every series with history leaves warm-up with that first sample and carries
  //    anomaly_score on /metrics.
  ASSERT_TRUE(WaitFor([&] { return ScoredSeries(b.Get("/metrics")) == kSeries; }, 120'000))
      << b.Get("/metrics") << "\n"
      << b.proc().log();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "[warm start] %d series with 3 days of history: all carry anomaly_score %.2f s "
      "after their first remote-written sample\n",
      kSeries, seconds);
  for (int i = 0; i < kSeries; ++i) {
    const auto st = b.State(SeriesLabels(ids[i]));
    ASSERT_TRUE(st.is_object()) << i;
    EXPECT_FALSE(st["warming_up"].get<bool>()) << i;
    EXPECT_GE(st["samples_accepted"].get<int>(), kHistoryS / kStepS - 2) << i;
  }
  EXPECT_EQ(b.Metric("backsight_history_fetches_succeeded_total"), kSeries + 1);
  EXPECT_EQ(b.Metric("backsight_history_series_warm_total"), kSeries);
  EXPECT_GE(b.Metric("backsight_history_samples_total"), kSeries * (kHistoryS / kStepS - 2));
  EXPECT_EQ(b.Metric("backsight_history_pending_samples"), 0);

  // 5. The series with no history is scored cold: one sample, then the normal warm-up.
  const Labels fresh = SeriesLabels("new");
  const auto st = b.State(fresh);
  ASSERT_TRUE(st.is_object());
  EXPECT_EQ(st["samples_accepted"], 1);
  EXPECT_TRUE(st["warming_up"].get<bool>());
  EXPECT_NE(
      b.Get("/metrics").find("backsight_history_series_cold_total{reason=\"no_history\"} 1\n"),
      std::string::npos);
  const int64_t live0 = NowS();
  const int warm_after = WarmUp(b, fresh, [&](int from, int to) {
    TimeSeries ts;
    ts.labels = fresh;
    ts.kind = MetricKind::kGauge;
    for (int i = from; i < to; ++i) {
      ts.samples.push_back({(live0 + (i + 1) * kStepS) * kNanosPerSecond, Shape(0, i * kStepS)});
    }
    return std::vector<TimeSeries>{ts};
  });
  EXPECT_GE(warm_after, 400) << "a series without history keeps the normal warm-up";
}

TEST(WarmStartIntegration, DeadHistorySourceDoesNotBlockIngest) {
  TempDir dir;
  const int dead_port = FreePort();  // nothing listens there
  ServeProcess b(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\nhistory:\n  url: http://127.0.0.1:" + std::to_string(dead_port) +
                          "\n  timeout: 200ms\n");
  ASSERT_TRUE(b.ok()) << b.proc().log();
  const Labels labels = SeriesLabels("dead");
  const int64_t t = NowS();
  int sent = 0;
  for (int r = 0; r < 5; ++r) {
    TimeSeries ts;
    ts.labels = labels;
    ts.kind = MetricKind::kGauge;
    for (int i = 0; i < 10; ++i, ++sent)
      ts.samples.push_back({(t + sent) * kNanosPerSecond, 1.0 * i});
    ASSERT_EQ(b.Write({ts}), 204) << "ingest answers while the history source is down";
  }
  // The held samples are scored cold once the fetch has failed for good (after its retries).
  ASSERT_TRUE(WaitFor(
      [&] {
        auto st = b.State(labels);
        return st.is_object() && st["samples_accepted"].get<int>() == sent;
      },
      60'000))
      << b.Get("/metrics") << b.proc().log();
  EXPECT_EQ(b.Metric("backsight_history_fetches_failed_total"), 1);
  EXPECT_GE(b.Metric("backsight_history_fetch_retries_total"), 1);
  EXPECT_NE(
      b.Get("/metrics").find("backsight_history_series_cold_total{reason=\"fetch_failed\"} 1\n"),
      std::string::npos);
  EXPECT_EQ(b.Metric("backsight_history_pending_samples"), 0);
}

}  // namespace
}  // namespace backsight::testing
