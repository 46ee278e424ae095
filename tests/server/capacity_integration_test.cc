// Capacity advice in the real `backsight serve` binary: request-rate series arrive by
// remote_write; a daily-seasonal one written up to six hours before its peak gets more
// recommended replicas than a flat one of the same current level, on /metrics and on
// GET /api/v1/capacity; a capacity metric can stand in for per_replica; bad rules are rejected;
// the bucket history survives a restart (clean stop, or kill -9 after a checkpoint), so the same
// advice is there before any new sample.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backsight/ingest/exposition.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr int64_t kStep = 60;  // scraped every minute
constexpr double kTwoPi = 6.283185307179586;

TimeSeries Series(const std::string& name, const std::string& job, const std::string& service) {
  TimeSeries s;
  s.labels = {{"__name__", name}, {"job", job}, {"service", service}};
  SortLabels(&s.labels);
  s.kind = MetricKind::kGauge;
  return s;
}

// Four days of requests/s up to `end` (a UTC midnight): service "shop" swings 500 +- 300 with the
// day (rising through 500 at midnight, peak at 06:00), "batch" stays at 500; "other" is in a job
// the rule does not select. "queue" (another rule) is flat at 500 with a capacity series of 50.
void WriteFourDays(const ServeProcess& s, int64_t end) {
  const int64_t start = end - 4 * 86400;
  for (int64_t day = 0; day < 4; ++day) {
    std::vector<TimeSeries> batch = {
        Series("http_requests_rate", "web", "shop"), Series("http_requests_rate", "web", "batch"),
        Series("http_requests_rate", "other", "shop"), Series("queue_rate", "web", "queue"),
        Series("queue_capacity", "web", "queue")};
    for (int64_t t = start + day * 86400 + kStep; t <= start + (day + 1) * 86400; t += kStep) {
      const TimestampNs ts = t * kNanosPerSecond;
      const double wiggle = 5 * std::sin(static_cast<double>(t) * 1.7);
      batch[0].samples.push_back({ts, 500 + 300 * std::sin(kTwoPi * t / 86400) + wiggle});
      batch[1].samples.push_back({ts, 500 + wiggle});
      batch[2].samples.push_back({ts, 500 + wiggle});
      batch[3].samples.push_back({ts, 500 + wiggle});
      batch[4].samples.push_back({ts, 50});
    }
    ASSERT_EQ(s.Write(batch), 204);
  }
}

TEST(CapacityServe, SeasonalDemandGetsMoreReplicasBeforeItsPeak) {
  TempDir dir;
  const std::string yaml =
      "listen: 127.0.0.1:0\nstate_dir: \"\"\ncapacity:\n"
      "  - demand: 'http_requests_rate{job=\"web\"}'\n    per_replica: 100\n"
      "    target_utilization: 0.8\n    min: 2\n    max: 40\n    horizon: 6h\n    startup: 5m\n"
      "    step: 5m\n"
      "  - demand: queue_rate\n    capacity_metric: queue_capacity\n    horizon: 1h\n";
  ServeProcess s(dir, yaml);
  ASSERT_TRUE(s.ok()) << s.proc().log();
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  WriteFourDays(s, now / 86400 * 86400);

  std::map<std::string, double> replicas;  // by service/job
  std::vector<TimeSeries> out;
  ASSERT_TRUE(ingest::ParseExposition(s.Get("/metrics"), 0, &out).ok());
  for (const TimeSeries& ts : out) {
    if (GetLabel(ts.labels, "__name__") != "backsight_recommended_replicas") continue;
    replicas[std::string(GetLabel(ts.labels, "service")) + "/" +
             std::string(GetLabel(ts.labels, "job"))] = ts.samples.back().value;
  }
  ASSERT_EQ(replicas.size(), 3u) << s.Get("/metrics");
  EXPECT_EQ(replicas.count("shop/other"), 0u);
  // Now ~500 req/s for both: ceil(500 / 80) = 7 on the current value; the shop's peak of 800
  // within 6 h needs ceil(800 / 80) = 10.
  EXPECT_GE(replicas["shop/web"], 10);
  EXPECT_LE(replicas["batch/web"], 8);
  // queue: 500 req/s over 50 per replica at 0.8: ceil(500 / 40) = 13, within the band's slack.
  EXPECT_GE(replicas["queue/web"], 13);
  EXPECT_LE(replicas["queue/web"], 15);

  const nlohmann::json api = nlohmann::json::parse(s.Get("/api/v1/capacity"));
  ASSERT_EQ(api["status"], "success") << api.dump();
  ASSERT_EQ(api["data"].size(), 3u) << api.dump();
  bool seen_shop = false;
  for (const auto& row : api["data"]) {
    if (row["labels"]["service"] != "shop") continue;
    seen_shop = true;
    EXPECT_EQ(row["demand"], "http_requests_rate{job=\"web\"}");
    EXPECT_EQ(row["recommended_replicas"], replicas["shop/web"]);
    EXPECT_NEAR(row["current_demand"].get<double>(), 500, 60);
    EXPECT_GT(row["forecast_peak"].get<double>(), 750);
    EXPECT_GT(row["forecast_peak_in_seconds"].get<double>(), 3 * 3600);
    EXPECT_NE(row["reason"].get<std::string>().find("forecast peak"), std::string::npos);
  }
  EXPECT_TRUE(seen_shop) << api.dump();
}

// Writes four days, stops (`kill9`: checkpoint, then SIGKILL; else SIGTERM, a clean stop), starts
// again on the same state_dir and expects the same GET /api/v1/capacity before any new sample.
void ExpectSameAdviceAfterRestart(bool kill9) {
  TempDir dir;
  const std::string yaml = "listen: 127.0.0.1:0\nstate_dir: \"" + dir.file("state") +
                           "\"\ncheckpoint_interval: 1h\ncapacity:\n"
                           "  - demand: 'http_requests_rate{job=\"web\"}'\n    per_replica: 100\n"
                           "    horizon: 6h\n    step: 5m\n"
                           "  - demand: queue_rate\n    capacity_metric: queue_capacity\n";
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string before;
  {
    ServeProcess s(dir, yaml, "first");
    ASSERT_TRUE(s.ok()) << s.proc().log();
    WriteFourDays(s, now / 86400 * 86400);
    before = s.Get("/api/v1/capacity");
    ASSERT_EQ(nlohmann::json::parse(before)["data"].size(), 3u) << before;
    if (kill9) {
      ASSERT_EQ(s.PostRaw("/api/v1/checkpoint", "", "text/plain"), 200);
      s.proc().Signal(SIGKILL);
      ASSERT_EQ(s.proc().Wait(20'000), 128 + SIGKILL);
    } else {
      s.proc().Signal(SIGTERM);
      ASSERT_EQ(s.proc().Wait(30'000), 0) << s.proc().log();
    }
  }
  ServeProcess s(dir, yaml, "second");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  // queue/web's capacity series is not stored: it has advice again once its capacity is known.
  std::vector<TimeSeries> cap = {Series("queue_capacity", "web", "queue")};
  cap[0].samples.push_back({now / 86400 * 86400 * kNanosPerSecond, 50});
  ASSERT_EQ(s.Write(cap), 204);
  EXPECT_EQ(s.Get("/api/v1/capacity"), before);
  const nlohmann::json st = nlohmann::json::parse(s.Get("/api/v1/status"));
  EXPECT_EQ(st["data"]["restore"]["capacity_series_restored"], 3) << st.dump();
  EXPECT_EQ(st["data"]["restore"]["capacity_series_skipped"], 0) << st.dump();
  EXPECT_NE(s.proc().log().find("restored 3 capacity series (0 skipped) in "), std::string::npos)
      << s.proc().log();
}

TEST(CapacityServe, SameAdviceAfterCleanRestart) { ExpectSameAdviceAfterRestart(false); }

TEST(CapacityServe, SameAdviceAfterKill9AfterCheckpoint) { ExpectSameAdviceAfterRestart(true); }

// Requests/s of the capacity rules (service "shop" with the daily swing, "queue" and its capacity
// series) and a filling disk for the built-in filesystem exhaustion rule (80 GB free of 100 GB,
// 5 GB a day less since `origin`), one sample a minute in (from, to], in one remote_write request.
void WriteRange(const ServeProcess& s, int64_t origin, int64_t from, int64_t to) {
  std::vector<TimeSeries> batch = {
      Series("http_requests_rate", "web", "shop"), Series("queue_rate", "web", "queue"),
      Series("queue_capacity", "web", "queue"), Series("node_filesystem_size_bytes", "node", "db"),
      Series("node_filesystem_avail_bytes", "node", "db")};
  for (int64_t t = from + kStep; t <= to; t += kStep) {
    const TimestampNs ts = t * kNanosPerSecond;
    const double wiggle = 5 * std::sin(static_cast<double>(t) * 1.7);
    batch[0].samples.push_back({ts, 500 + 300 * std::sin(kTwoPi * t / 86400) + wiggle});
    batch[1].samples.push_back({ts, 500 + wiggle});
    batch[2].samples.push_back({ts, 50});
    batch[3].samples.push_back({ts, 100e9});
    batch[4].samples.push_back(
        {ts, 80e9 - 5e9 * static_cast<double>(t - origin) / 86400 + 1e8 * wiggle});
  }
  ASSERT_EQ(s.Write(batch), 204);
}

// The /api/v1/capacity body and the time-to-exhaustion lines of /metrics: what a restart must
// give back.
std::string CapacityAndExhaustion(const ServeProcess& s) {
  std::string out = s.Get("/api/v1/capacity") + "\n";
  const std::string metrics = s.Get("/metrics");
  size_t pos = 0;
  while (pos < metrics.size()) {
    size_t end = metrics.find('\n', pos);
    if (end == std::string::npos) end = metrics.size();
    const std::string line = metrics.substr(pos, end - pos);
    if (line.rfind("backsight_time_to_exhaustion", 0) == 0) out += line + "\n";
    pos = end + 1;
  }
  return out;
}

// Samples accepted after the last checkpoint reach capacity advice and time-to-exhaustion through
// the write-ahead log after a kill -9: three days, a checkpoint, most of a fourth day (its last
// bucket left open), SIGKILL, restart, one more sample (closing that bucket). The capacity API and
// the exhaustion predictions equal those of a run given the same samples and never killed.
TEST(CapacityServe, SamplesAfterTheCheckpointSurviveKill9) {
  const std::string yaml_tail =
      "\"\ncheckpoint_interval: 1h\ncapacity:\n"
      "  - demand: 'http_requests_rate{job=\"web\"}'\n    per_replica: 100\n"
      "    horizon: 6h\n    step: 5m\n"
      "  - demand: queue_rate\n    capacity_metric: queue_capacity\n";
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t end = now / 86400 * 86400;
  const int64_t start = end - 4 * 86400;
  const int64_t checkpointed = end - 86400;
  const int64_t killed = end - 7 * 60;  // the bucket [end - 10 m, end - 5 m) still open
  const int64_t closer = end - 60;

  TempDir ref_dir;
  ServeProcess ref(ref_dir,
                   "listen: 127.0.0.1:0\nstate_dir: \"" + ref_dir.file("state") + yaml_tail,
                   "never-killed");
  ASSERT_TRUE(ref.ok()) << ref.proc().log();
  WriteRange(ref, start, start, checkpointed);
  ASSERT_EQ(ref.PostRaw("/api/v1/checkpoint", "", "text/plain"), 200);
  WriteRange(ref, start, checkpointed, killed);
  WriteRange(ref, start, killed, closer);
  const std::string want = CapacityAndExhaustion(ref);
  ASSERT_NE(want.find("backsight_time_to_exhaustion_seconds{"), std::string::npos) << want;
  ASSERT_EQ(nlohmann::json::parse(want.substr(0, want.find('\n')))["data"].size(), 2u) << want;

  TempDir dir;
  const std::string yaml = "listen: 127.0.0.1:0\nstate_dir: \"" + dir.file("state") + yaml_tail;
  {
    ServeProcess s(dir, yaml, "first");
    ASSERT_TRUE(s.ok()) << s.proc().log();
    WriteRange(s, start, start, checkpointed);
    ASSERT_EQ(s.PostRaw("/api/v1/checkpoint", "", "text/plain"), 200);
    WriteRange(s, start, checkpointed, killed);
    s.proc().Signal(SIGKILL);
    ASSERT_EQ(s.proc().Wait(20'000), 128 + SIGKILL);
  }
  ServeProcess s(dir, yaml, "second");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  WriteRange(s, start, killed, closer);
  EXPECT_EQ(CapacityAndExhaustion(s), want);
  const nlohmann::json st = nlohmann::json::parse(s.Get("/api/v1/status"));
  EXPECT_EQ(st["data"]["restore"]["capacity_series_restored"], 2) << st.dump();
  EXPECT_EQ(st["data"]["wal_replay"]["samples"], 5 * (killed - checkpointed) / kStep) << st.dump();
}

// history.url: four days of a daily swing backfilled into a real Prometheus (promtool tsdb
// create-blocks-from openmetrics); a demand series new to serve gets advice after two live
// buckets (12 needed without history), with a forecast peak that follows the swing.
TEST(CapacityServe, WarmStartFromPrometheusHistory) {
  constexpr const char* kPrometheus = "/usr/bin/prometheus";
  constexpr const char* kPromtool = "/usr/bin/promtool";
  for (const char* bin : {kPrometheus, kPromtool}) {
    if (!HaveBinary(bin)) {
      GTEST_SKIP() << bin << " is not installed (run scripts/install-deps.sh --test)";
    }
  }
  TempDir dir;
  const int64_t t0 = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  auto swing = [](double t) { return 500 + 300 * std::sin(kTwoPi * t / 86400); };
  std::string om = "# TYPE http_requests_rate gauge\n";
  char line[128];
  for (int64_t t = t0 - 4 * 86400; t < t0 - 60; t += kStep) {
    std::snprintf(line, sizeof(line), " %.17g %lld\n", swing(static_cast<double>(t)),
                  static_cast<long long>(t));
    om += std::string("http_requests_rate{job=\"web\",service=\"shop\"}") + line;
  }
  om += "# EOF\n";
  WriteFile(dir.file("history.om"), om);
  {
    Process backfill({kPromtool, "tsdb", "create-blocks-from", "openmetrics",
                      dir.file("history.om"), dir.file("tsdb")},
                     dir.file("promtool.log"));
    ASSERT_TRUE(WaitFor([&] { return !backfill.running(); }, 60'000)) << backfill.log();
  }
  const int pport = FreePort();
  WriteFile(dir.file("prometheus.yml"), "global: {scrape_interval: 15s}\n");
  Process prom({kPrometheus, "--config.file=" + dir.file("prometheus.yml"),
                "--storage.tsdb.path=" + dir.file("tsdb"),
                "--web.listen-address=127.0.0.1:" + std::to_string(pport)},
               dir.file("prometheus.log"));
  ASSERT_TRUE(
      WaitFor([&] { return GetJson(pport, "/api/v1/status/buildinfo").is_object(); }, 60'000))
      << prom.log();

  const std::string yaml =
      "listen: 127.0.0.1:0\nstate_dir: \"" + dir.file("state") +
      "\"\ncheckpoint_interval: 1h\nhistory:\n  url: http://127.0.0.1:" + std::to_string(pport) +
      "\ncapacity:\n"
      "  - demand: 'http_requests_rate{job=\"web\"}'\n    per_replica: 100\n"
      "    horizon: 6h\n    step: 5m\n";
  auto s = std::make_unique<ServeProcess>(dir, yaml, "first");
  ASSERT_TRUE(s->ok()) << s->proc().log();
  std::vector<TimeSeries> live = {Series("http_requests_rate", "web", "shop")};
  for (int64_t t = t0; t <= t0 + 900; t += kStep) {
    live[0].samples.push_back({t * kNanosPerSecond, swing(static_cast<double>(t))});
  }
  ASSERT_EQ(s->Write(live), 204);
  nlohmann::json api;
  ASSERT_TRUE(WaitFor(
      [&] {
        api = nlohmann::json::parse(s->Get("/api/v1/capacity"), nullptr, false);
        return api.is_object() && api["data"].size() == 1;
      },
      30'000))
      << s->Get("/api/v1/capacity") << "\n"
      << s->proc().log() << prom.log();
  // The swing's highest value over the advice's horizon (6 h + 5 m start-up) from the last bucket.
  double peak = 0;
  for (int64_t t = t0 + 900; t <= t0 + 900 + 6 * 3600 + 300; t += 60) {
    peak = std::max(peak, swing(static_cast<double>(t)));
  }
  const double forecast_peak = api["data"][0]["forecast_peak"].get<double>();
  std::printf("forecast peak %.1f, true peak within the horizon %.1f\n", forecast_peak, peak);
  EXPECT_NEAR(forecast_peak, peak, 100) << api.dump();
  // The warm start's figures on /metrics (self_metrics.h).
  const std::string metrics = s->Get("/metrics");
  EXPECT_NE(metrics.find("\nbacksight_capacity_warm_series_total 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("\nbacksight_capacity_warm_fetch_errors_total 0\n"), std::string::npos);

  // kill -9 before any checkpoint: the write-ahead log replay creates the series again, and it
  // fetches its history again before its first bucket, as live: the same advice.
  s->proc().Signal(SIGKILL);
  ASSERT_EQ(s->proc().Wait(20'000), 128 + SIGKILL);
  s = std::make_unique<ServeProcess>(dir, yaml, "second");
  ASSERT_TRUE(s->ok()) << s->proc().log();
  nlohmann::json again;
  ASSERT_TRUE(WaitFor(
      [&] {
        again = nlohmann::json::parse(s->Get("/api/v1/capacity"), nullptr, false);
        return again.is_object() && again["data"].size() == 1;
      },
      30'000))
      << s->Get("/api/v1/capacity") << "\n"
      << s->proc().log();
  EXPECT_EQ(again, api);
}

TEST(CapacityServe, BadRulesAreRejectedWithKeyAndReason) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  - demand: 'rate{job='\n    per_replica: 10\n", "capacity[0].demand"},
      {"  - demand: rate\n    per_replica: 10\n    capacity_metric: cap\n",
       "exactly one of per_replica and capacity_metric"},
      {"  - demand: rate\n    per_replica: 10\n    target_utilization: 1.5\n",
       "target utilization must be in (0, 1]"},
      {"  - demand: rate\n    per_replica: 10\n    min: 5\n    max: 2\n", "max replicas"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string cfg = dir.file("bad" + std::to_string(i) + ".yml");
    WriteFile(cfg, "listen: 127.0.0.1:0\ncapacity:\n" + cases[i].first);
    Process p({BACKSIGHT_BIN, "serve", "--config", cfg}, dir.file("bad.log"));
    EXPECT_EQ(p.Wait(20'000), 2) << cases[i].first;
    EXPECT_NE(p.log().find(cases[i].second), std::string::npos) << p.log();
  }
}

}  // namespace
}  // namespace backsight::testing
