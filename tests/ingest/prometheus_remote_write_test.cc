// Integration test: a real Prometheus (/usr/bin/prometheus) scrapes itself and remote-writes to a
// cpp-httplib receiver here, which decodes every body with DecodeRemoteWrite. ctest label
// `integration`; skipped when Prometheus is not installed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "backsight/ingest/remote_write.h"

namespace backsight::ingest {
namespace {

constexpr char kPrometheus[] = "/usr/bin/prometheus";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct ChildGuard {
  pid_t pid = -1;
  ~ChildGuard() { Stop(); }
  void Stop() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status;
      for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
      pid = -1;
    }
  }
};

TEST(PrometheusRemoteWrite, RealPrometheusBodiesDecode) {
  if (access(kPrometheus, X_OK) != 0) GTEST_SKIP() << kPrometheus << " not installed";

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

  int pport = FreePort();
  ASSERT_GT(pport, 0);
  auto dir =
      std::filesystem::temp_directory_path() / ("backsight_prom_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "data");
  {
    std::ofstream cfg(dir / "prometheus.yml");
    cfg << "global:\n  scrape_interval: 1s\n"
        << "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << pport << "']\n"
        << "remote_write:\n  - url: http://127.0.0.1:" << rport << "/api/v1/write\n"
        << "    queue_config:\n      batch_send_deadline: 1s\n"
        << "    metadata_config:\n      send_interval: 1s\n";
  }
  std::string cfg_flag = "--config.file=" + (dir / "prometheus.yml").string();
  std::string data_flag = "--storage.tsdb.path=" + (dir / "data").string();
  std::string listen_flag = "--web.listen-address=127.0.0.1:" + std::to_string(pport);
  ChildGuard child;
  child.pid = fork();
  ASSERT_GE(child.pid, 0);
  if (child.pid == 0) {
    execl(kPrometheus, kPrometheus, cfg_flag.c_str(), data_flag.c_str(), listen_flag.c_str(),
          "--log.level=error", static_cast<char*>(nullptr));
    _exit(127);
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (saw_up && metadata_entries > 0) break;
    }
    int status;
    if (waitpid(child.pid, &status, WNOHANG) == child.pid) {
      child.pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  child.Stop();
  svr.stop();
  server.join();
  std::filesystem::remove_all(dir);

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
