// Integration tests of the real `backsight serve` process: ingest, /metrics, JSON API, hostile
// payloads, auth, bad config, restart safety (SIGTERM and kill -9).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <thread>

#include "backsight/detect/default_detector.h"
#include "backsight/ingest/proto/metrics.pb.h"
#include "http_test_util.h"
#include "serve_util.h"

namespace backsight::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000LL * kNanosPerMilli;
constexpr int64_t kStep = 10 * kNanosPerSecond;

double Value(int s, int i) {
  return 50 + 5 * std::sin(i * 0.2 + s) + (i % 5) * 0.3 + (i == 420 ? 60 : 0);
}
Labels SeriesLabels(int s) {
  return {{"__name__", "it_metric"}, {"id", std::to_string(s)}, {"job", "it"}};
}
std::vector<TimeSeries> Range(int n_series, int from, int to) {
  std::vector<TimeSeries> out;
  for (int s = 0; s < n_series; ++s) {
    TimeSeries ts;
    ts.labels = SeriesLabels(s);
    ts.kind = MetricKind::kGauge;
    for (int i = from; i < to; ++i) ts.samples.push_back({kT0 + i * kStep, Value(s, i)});
    out.push_back(std::move(ts));
  }
  return out;
}

std::string BaseConfig(const TempDir& dir, const std::string& extra = "") {
  return "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
         "\ncheckpoint_interval: 200ms\nworkers: 2\n" + extra;
}

// Waits until /metrics shows `n` processed samples.
bool WaitProcessed(const ServeProcess& s, double n) {
  return WaitFor([&] { return s.Metric("backsight_samples_processed_total") >= n; }, 30'000);
}

TEST(ServeIntegration, RemoteWriteIsScoredAndExposed) {
  TempDir dir;
  ServeProcess s(dir, BaseConfig(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  EXPECT_EQ(s.Write(Range(3, 0, 200)), 204);
  ASSERT_TRUE(WaitProcessed(s, 600));
  EXPECT_EQ(s.Metric("backsight_series_active"), 3);
  auto st = s.State(SeriesLabels(2));
  ASSERT_TRUE(st.is_object());
  EXPECT_EQ(st["samples_accepted"], 200);
  EXPECT_EQ(st["series"]["id"], "2");
  // The served score is the default detector's score for the same input.
  auto det = detect::MakeDefaultDetector();
  detect::DetectionResult r;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(det->Update(kT0 + i * kStep, Value(2, i), &r).ok());
  EXPECT_EQ(st["anomaly_score"].get<double>(), r.anomaly_score);
  EXPECT_EQ(st["warming_up"].get<bool>(), r.warming_up);
  if (std::isfinite(r.yhat)) {
    EXPECT_EQ(st["yhat"].get<double>(), r.yhat);
  }
  auto list = nlohmann::json::parse(s.Get("/api/v1/series?metric=it_metric"));
  EXPECT_EQ(list["matched"], 3);
  // Once past warm-up, the four output families are on /metrics with the input's labels.
  ASSERT_GT(WarmUp(s, SeriesLabels(0), [](int from, int to) { return Range(3, from, to); }), 0);
  // WarmUp waited for series 0 only; series 1 may sit in another worker's shard whose last batch
  // is still queued, so wait (with a deadline) until its outputs are exposed.
  const char* const kFamilies[] = {"anomaly_score", "yhat", "yhat_lower", "yhat_upper"};
  std::string m;
  WaitFor(
      [&] {
        m = s.Get("/metrics");
        for (const char* fam : kFamilies) {
          if (m.find(std::string(fam) + "{id=\"1\",") == std::string::npos) return false;
        }
        return true;
      },
      10'000);
  for (const char* fam : kFamilies) {
    EXPECT_NE(m.find(std::string(fam) + "{id=\"1\",job=\"it\",metric=\"it_metric\"} "),
              std::string::npos)
        << fam << "\n"
        << m;
  }
  EXPECT_NE(m.find("backsight_processing_latency_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
}

TEST(ServeIntegration, HostilePayloadsGetClear4xxAndNothingIsLost) {
  TempDir dir;
  ServeProcess s(dir, BaseConfig(dir, "limits: {max_body_bytes: 65536}\n"));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  ASSERT_EQ(s.Write(Range(2, 0, 100)), 204);
  ASSERT_TRUE(WaitProcessed(s, 200));
  std::string good;
  ingest::EncodeRemoteWrite(Range(1, 100, 110), &good);
  const std::string pb = "application/x-protobuf";
  EXPECT_EQ(s.PostRaw("/api/v1/write", "garbage", pb, "snappy"), 400);
  EXPECT_EQ(s.PostRaw("/api/v1/write", good.substr(0, good.size() / 2), pb, "snappy"), 400);
  EXPECT_EQ(s.PostRaw("/api/v1/write", "", pb, "snappy"), 400);
  // Snappy header claiming 1 GiB of output (decompression bomb): too large, as a gzip bomb.
  EXPECT_EQ(
      s.PostRaw("/api/v1/write", std::string("\x80\x80\x80\x80\x04", 5) + "\x00\x41", pb, "snappy"),
      413);
  EXPECT_EQ(s.PostRaw("/api/v1/write", std::string(100'000, 'x'), pb, "snappy"), 413);
  EXPECT_EQ(s.PostRaw("/api/v1/write", good, pb, "zstd"), 415);
  EXPECT_EQ(s.PostRaw("/api/v1/write", good, pb, "gzip"), 415);  // remote_write is snappy only
  // Invalid label name and missing metric name.
  std::vector<TimeSeries> bad = Range(1, 0, 1);
  bad[0].labels.push_back({"1bad", "x"});
  EXPECT_EQ(s.Write(bad), 400);
  bad = Range(1, 0, 1);
  bad[0].labels.erase(bad[0].labels.begin());
  EXPECT_EQ(s.Write(bad), 400);
  // OTLP.
  EXPECT_EQ(s.PostRaw("/v1/metrics", "{not json", "application/json"), 400);
  EXPECT_EQ(s.PostRaw("/v1/metrics", "\xff\xff\xff", "application/x-protobuf"), 400);
  EXPECT_EQ(s.PostRaw("/v1/metrics", "x", "text/plain"), 415);
  // JSON API.
  auto c = s.Client();
  EXPECT_EQ(c->Get("/api/v1/series/state?fingerprint=xyz")->status, 400);
  EXPECT_EQ(c->Get("/api/v1/series/state?fingerprint=1")->status, 404);
  EXPECT_EQ(c->Get("/api/v1/series/state")->status, 400);
  EXPECT_EQ(c->Get("/api/v1/anomalies?limit=-1")->status, 400);
  EXPECT_EQ(c->Get("/nope")->status, 404);
  // Still serving; everything accepted before is still there and scoring continues.
  EXPECT_EQ(s.Write(Range(2, 100, 110)), 204);
  ASSERT_TRUE(WaitProcessed(s, 220));
  EXPECT_EQ(s.Metric("backsight_series_active"), 2);
  EXPECT_EQ(s.State(SeriesLabels(0))["samples_accepted"], 110);
  const std::string m = s.Get("/metrics");
  EXPECT_NE(m.find("backsight_decode_errors_total{endpoint=\"remote_write\",reason=\"snappy\"}"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("backsight_decode_errors_total{endpoint=\"otlp\""), std::string::npos);
  // Labels come from the typed reasons (one each here).
  for (const char* label :
       {"remote_write\",reason=\"too_large\"} 2", "remote_write\",reason=\"labels\"} 2",
        "remote_write\",reason=\"content_encoding\"} 2", "otlp\",reason=\"json\"} 1",
        "otlp\",reason=\"malformed\"} 1", "otlp\",reason=\"content_type\"} 1"}) {
    EXPECT_NE(m.find(std::string("backsight_decode_errors_total{endpoint=\"") + label),
              std::string::npos)
        << label << "\n"
        << m;
  }
}

// A 1 GiB chunked body and a gzip bomb (1 MB inflating to 1 GiB) are refused with 413 while
// they stream in: the bomb raises the server's peak RSS by at most 64 MiB, the chunked body is
// not read past the limit. (cpp-httplib inflated the bomb before any limit check and read the
// chunked body whole: 1-2 GiB.)
TEST(ServeIntegration, HugeBodiesAreCutWhileStreaming) {
  TempDir dir;
  ServeProcess s(dir, BaseConfig(dir));  // default limits: 32 MiB body, 32 MiB decompressed
  ASSERT_TRUE(s.ok()) << s.proc().log();
  const std::string bomb = CompressZeros(1ull << 30);
  ASSERT_LT(bomb.size(), 2u << 20);
  ASSERT_EQ(s.Get("/-/healthy"), "Backsight is Healthy.\n");
  const double rss0 = ProcStatusKiB(s.proc().pid(), "VmRSS");
  ASSERT_GT(rss0, 0);

  httplib::Headers h = {{"Content-Encoding", "gzip"}};
  auto r = s.Client()->Post("/v1/metrics", h, bomb, "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("max_decompressed_bytes"), std::string::npos) << r->body;
  // At most max_decompressed_bytes (32 MiB) of output was held.
  const double hwm_gzip = ProcStatusKiB(s.proc().pid(), "VmHWM");
  EXPECT_LE(hwm_gzip - rss0, 64 * 1024) << "RSS " << rss0 << " KiB before, peak " << hwm_gzip;

  // Each body is judged from the RSS just before it: freed memory may stay resident (glibc's
  // arenas, AddressSanitizer's quarantine), which is not the next body's doing.
  const double rss1 = ProcStatusKiB(s.proc().pid(), "VmRSS");
  RawConn c(s.port());
  ASSERT_TRUE(
      c.Send("POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"));
  std::string response;
  std::thread reader([&] { response = c.ReadAll(); });
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
  uint64_t sent = 0;
  while (sent < (1ull << 30) && c.Send(chunk)) sent += 0x10000;
  reader.join();
  EXPECT_EQ(response.rfind("HTTP/1.1 413", 0), 0u) << response;
  EXPECT_NE(response.find("limits.max_body_bytes"), std::string::npos) << response;
  EXPECT_LT(sent, 256ull << 20);  // 32 MiB limit + lingering drain + socket buffers
  const double hwm = ProcStatusKiB(s.proc().pid(), "VmHWM");
  EXPECT_LE(hwm - rss1, 64 * 1024) << "RSS " << rss1 << " KiB before, peak " << hwm;
  std::printf(
      "HugeBodies: RSS %.1f MiB before; peak %.1f MiB after the gzip bomb; RSS %.1f MiB before the "
      "chunked body, peak %.1f MiB after it (%.1f MiB of its 1 GiB sent before the server "
      "closed)\n",
      rss0 / 1024, hwm_gzip / 1024, rss1 / 1024, hwm / 1024, sent / 1048576.0);

  h = {{"Content-Encoding", "br"}};
  r = s.Client()->Post("/api/v1/write", h, "x", "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  EXPECT_NE(r->body.find("'br'"), std::string::npos) << r->body;
  const std::string m = s.Get("/metrics?outputs=false");
  EXPECT_NE(m.find("backsight_decode_errors_total{endpoint=\"otlp\",reason=\"too_large\"} 1"),
            std::string::npos)
      << m;
  EXPECT_EQ(s.Metric("backsight_requests_total", {{"endpoint", "remote_write"}, {"code", "415"}}),
            1)
      << m;
}

TEST(ServeIntegration, OtlpJsonAndProtobuf) {
  TempDir dir;
  ServeProcess s(dir, BaseConfig(dir));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  const std::string json = R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"checkout"}}]},
    "scopeMetrics":[{"metrics":[{"name":"queue.depth","gauge":{"dataPoints":[
      {"timeUnixNano":"1700000000000000000","asDouble":3.5},
      {"timeUnixNano":"1700000010000000000","asDouble":4.5}]}}]}]}]})";
  EXPECT_EQ(s.PostRaw("/v1/metrics", json, "application/json"), 200);
  opentelemetry::proto::metrics::v1::ExportMetricsServiceRequest req;
  auto* m = req.add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->set_name("requests");
  auto* sum = m->mutable_sum();
  sum->set_is_monotonic(true);
  sum->set_aggregation_temporality(
      opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
  for (int i = 0; i < 3; ++i) {
    auto* p = sum->add_data_points();
    p->set_time_unix_nano(1'700'000'000'000'000'000ULL + i * 10'000'000'000ULL);
    p->set_as_double(100.0 * i);
  }
  EXPECT_EQ(s.PostRaw("/v1/metrics", req.SerializeAsString(), "application/x-protobuf"), 200);
  ASSERT_TRUE(WaitProcessed(s, 4));
  auto g = s.State({{"__name__", "queue_depth"}, {"job", "checkout"}});
  ASSERT_TRUE(g.is_object());
  EXPECT_EQ(g["samples_accepted"], 2);
  EXPECT_EQ(g["value"], 4.5);
  // The monotonic sum is a counter: scored as a per-second rate (100 per 10 s = 10/s).
  auto c = s.State({{"__name__", "requests"}});
  ASSERT_TRUE(c.is_object());
  EXPECT_EQ(c["counter_as_rate"], true);
  EXPECT_EQ(c["samples_accepted"], 2);
  EXPECT_DOUBLE_EQ(c["value"].get<double>(), 10.0);
}

TEST(ServeIntegration, BearerTokenIsRequiredWhenConfigured) {
  TempDir dir;
  ServeProcess s(dir, BaseConfig(dir, "auth: {bearer_token: s3cret}\n"));
  ASSERT_TRUE(s.ok()) << s.proc().log();
  EXPECT_EQ(s.Write(Range(1, 0, 5)), 401);
  auto c = s.Client();
  EXPECT_EQ(c->Get("/metrics")->status, 401);
  c->set_bearer_token_auth("wrong");
  EXPECT_EQ(c->Get("/metrics")->status, 401);
  c->set_bearer_token_auth("s3cret");
  EXPECT_EQ(c->Get("/metrics")->status, 200);
  std::string body;
  ingest::EncodeRemoteWrite(Range(1, 0, 5), &body);
  httplib::Headers h = {{"Content-Encoding", "snappy"}};
  EXPECT_EQ(c->Post("/api/v1/write", h, body, "application/x-protobuf")->status, 204);
}

TEST(ServeIntegration, BadConfigIsRejectedWithKeyAndReason) {
  TempDir dir;
  const std::string cfg = dir.file("bad.yml");
  WriteFile(cfg, "listen: 127.0.0.1:0\nseries:\n  max_active: lots\n");
  Process p({BACKSIGHT_BIN, "serve", "--config", cfg}, dir.file("bad.log"));
  EXPECT_EQ(p.Wait(20'000), 2);
  EXPECT_NE(p.log().find("series.max_active"), std::string::npos) << p.log();
  EXPECT_NE(p.log().find("lots"), std::string::npos) << p.log();
}

// Restart safety: after a restart, scores equal those of an uninterrupted run.
void CheckRestart(bool kill9) {
  TempDir dir;
  const int kSeries = 8, kSplit = 250, kEnd = 500;
  {
    ServeProcess s(dir, BaseConfig(dir), "first");
    ASSERT_TRUE(s.ok()) << s.proc().log();
    ASSERT_EQ(s.Write(Range(kSeries, 0, kSplit)), 204);
    ASSERT_TRUE(WaitProcessed(s, kSeries * kSplit));
    if (kill9) {
      // Two periodic checkpoints after processing: the second one started after it.
      const double c0 = s.Metric("backsight_checkpoints_total");
      ASSERT_TRUE(
          WaitFor([&] { return s.Metric("backsight_checkpoints_total") >= c0 + 2; }, 20'000));
      s.proc().Signal(SIGKILL);
      EXPECT_EQ(s.proc().Wait(20'000), 128 + SIGKILL);
    } else {
      s.proc().Signal(SIGTERM);
      EXPECT_EQ(s.proc().Wait(20'000), 0) << s.proc().log();
    }
  }
  ServeProcess s(dir, BaseConfig(dir), "second");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  EXPECT_EQ(s.Metric("backsight_series_restored"), kSeries);
  std::vector<std::unique_ptr<detect::Detector>> ref;
  for (int k = 0; k < kSeries; ++k) {
    ref.push_back(detect::MakeDefaultDetector());
    detect::DetectionResult r;
    for (int i = 0; i < kSplit; ++i)
      ASSERT_TRUE(ref[k]->Update(kT0 + i * kStep, Value(k, i), &r).ok());
  }
  for (int from = kSplit; from < kEnd; from += 50) {
    ASSERT_EQ(s.Write(Range(kSeries, from, from + 50)), 204);
    ASSERT_TRUE(WaitProcessed(s, kSeries * (from + 50 - kSplit)));
    for (int k = 0; k < kSeries; ++k) {
      detect::DetectionResult r;
      for (int i = from; i < from + 50; ++i) {
        ASSERT_TRUE(ref[k]->Update(kT0 + i * kStep, Value(k, i), &r).ok());
      }
      auto st = s.State(SeriesLabels(k));
      ASSERT_TRUE(st.is_object());
      EXPECT_EQ(st["samples_accepted"], from + 50);
      EXPECT_EQ(st["anomaly_score"].get<double>(), r.anomaly_score) << "series " << k;
      EXPECT_EQ(st["yhat"].get<double>(), r.yhat);
      EXPECT_EQ(st["yhat_lower"].get<double>(), r.yhat_lower);
      EXPECT_EQ(st["yhat_upper"].get<double>(), r.yhat_upper);
    }
  }
}

TEST(ServeIntegration, RestartAfterSigtermResumesFromCheckpoint) { CheckRestart(false); }

// The checkpoint at shutdown can fail (here: its write-ahead log directory is gone, so the log
// cannot rotate); the failure is said on stderr, not dropped, and shutdown still completes.
TEST(ServeIntegration, FailedCheckpointAtShutdownIsLogged) {
  TempDir dir;
  ServeProcess s(dir, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                          "\ncheckpoint_interval: 1h\nworkers: 2\n");
  ASSERT_TRUE(s.ok()) << s.proc().log();
  ASSERT_EQ(s.Write(Range(2, 0, 50)), 204);
  ASSERT_TRUE(WaitProcessed(s, 100));
  std::filesystem::remove_all(dir.file("state") + "/wal");
  s.proc().Signal(SIGTERM);
  EXPECT_EQ(s.proc().Wait(20'000), 0) << s.proc().log();
  EXPECT_NE(s.proc().log().find("backsight: checkpoint at shutdown failed: "), std::string::npos)
      << s.proc().log();
}
TEST(ServeIntegration, RestartAfterKill9ResumesFromLastCheckpoint) { CheckRestart(true); }

}  // namespace
}  // namespace backsight::testing
