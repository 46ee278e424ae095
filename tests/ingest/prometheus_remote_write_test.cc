// Integration test: a real Prometheus (/usr/bin/prometheus) scrapes itself and remote-writes to a
// cpp-httplib receiver here, which decodes every body with DecodeRemoteWrite. ctest label
// `integration`; skipped when Prometheus is not installed.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "backsight/ingest/remote_write.h"
#include "server/proc_util.h"

namespace backsight::ingest {
namespace {

constexpr char kPrometheus[] = "/usr/bin/prometheus";

TEST(PrometheusRemoteWrite, RealPrometheusBodiesDecode) {
  if (!testing::HaveBinary(kPrometheus)) GTEST_SKIP() << kPrometheus << " not installed";

  std::mutex mu;
  int bodies = 0, failures = 0, metadata_entries = 0;
  size_t series_total = 0;
  bool saw_up = false;
  std::string first_error, encoding, version;
  httplib::Server svr;
  svr.Post("/api/v1/write", [&](const httplib::Request& req, httplib::Response& res) {
    std::vector<TimeSeries> out;
    std::vector<RemoteWriteMetadata> meta;
    Status st = DecodeRemoteWriteWithMetadata(req.body, &out, &meta);
    std::lock_guard<std::mutex> lock(mu);
    ++bodies;
    encoding = req.get_header_value("Content-Encoding");
    version = req.get_header_value("X-Prometheus-Remote-Write-Version");
    if (!st.ok()) {
      ++failures;
      if (first_error.empty()) first_error = st.ToString();
      res.status = 400;
      return;
    }
    series_total += out.size();
    metadata_entries += static_cast<int>(meta.size());
    for (const auto& s : out) {
      if (GetLabel(s.labels, "__name__") == "up" && GetLabel(s.labels, "job") == "prometheus" &&
          !s.samples.empty() && s.samples.back().value == 1) {
        saw_up = true;
      }
    }
    res.status = 204;
  });
  int rport = svr.bind_to_any_port("127.0.0.1");
  ASSERT_GT(rport, 0);
  std::thread server([&] { svr.listen_after_bind(); });

  const int pport = testing::FreePort();
  ASSERT_GT(pport, 0);
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("data"));
  testing::WriteFile(dir.file("prometheus.yml"),
                     "global:\n  scrape_interval: 1s\n"
                     "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n"
                     "      - targets: ['127.0.0.1:" +
                         std::to_string(pport) +
                         "']\n"
                         "remote_write:\n  - url: http://127.0.0.1:" +
                         std::to_string(rport) +
                         "/api/v1/write\n"
                         "    queue_config:\n      batch_send_deadline: 1s\n"
                         "    metadata_config:\n      send_interval: 1s\n");
  testing::Process prometheus(
      {kPrometheus, "--config.file=" + dir.file("prometheus.yml"),
       "--storage.tsdb.path=" + dir.file("data"),
       "--web.listen-address=127.0.0.1:" + std::to_string(pport), "--log.level=error"},
      dir.file("prometheus.log"));
  testing::WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return (saw_up && metadata_entries > 0) || !prometheus.running();
      },
      30'000);
  prometheus.Signal(SIGTERM);
  prometheus.Wait(5'000);  // SIGKILL on destruction if still running
  svr.stop();
  server.join();

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GT(bodies, 0) << "Prometheus sent nothing within 30 s";
  EXPECT_EQ(failures, 0) << first_error;
  EXPECT_EQ(encoding, "snappy");
  EXPECT_EQ(version, "0.1.0");
  EXPECT_GT(series_total, 0u);
  EXPECT_TRUE(saw_up) << "no up{job=\"prometheus\"} == 1 sample among " << series_total;
  std::printf("prometheus remote_write: %d bodies, %zu series, %d metadata entries decoded\n",
              bodies, series_total, metadata_entries);
}

}  // namespace
}  // namespace backsight::ingest
