// loki_push_bench: logs through Loki push (snappy-compressed protobuf PushRequest), decoded,
// mined and scored, as lines per second.
//
// Input: the raw lines of every Loghub-2k dataset in --data (each dataset one service, label
// service_name=<dataset>), repeated up to --lines lines with timestamps rising 1 ms per line, cut
// into requests of --lines-per-request lines (one stream per service, as Promtail batches) and
// pre-encoded (ingest::EncodeLokiPushProto). Repeating 2k-line files makes later rounds hit the
// miner's exact-sequence cache, as in loghub_bench's throughput run.
//   kernel: LogEndpoints::Ingest (the server's own decode + group + mine + score path, no HTTP,
//           no WAL) on --threads threads taking requests from a shared counter.
//   serve:  `backsight serve` as a child (fresh state_dir, logs WAL on unless --no-wal),
//           --threads keep-alive clients POSTing /loki/api/v1/push; lines/s = lines / wall time
//           until the last 204. Also the server's CPU seconds, peak RSS, and its estimate of
//           memory per template (GET /api/v1/log/templates).
// Usage: loki_push_bench [--data DIR] [--lines N] [--lines-per-request L] [--threads T]
//                        [--mode kernel|serve|both] [--one-service] [--no-wal]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "backsight/core/file_util.h"
#include "backsight/ingest/log_batch.h"
#include "backsight/ingest/loki_push.h"
#include "backsight/server/log_endpoints.h"
#include "proc_util.h"

using namespace backsight;
using namespace backsight::testing;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string data = DataDir() + "/loghub2k";
  long lines = 1'000'000;
  long per_request = 10'000;
  int threads = 2;
  std::string mode = "both";
  bool one_service = false;
  bool no_wal = false;
};

double Secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Service {
  std::string name;
  std::vector<std::string> lines;
};

std::vector<Service> LoadLoghub(const std::string& dir) {
  std::vector<Service> out;
  std::vector<std::filesystem::path> ds;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_directory()) ds.push_back(e.path());
  }
  std::sort(ds.begin(), ds.end());
  for (const auto& d : ds) {
    const std::string name = d.filename().string();
    std::string text;
    if (!ReadFileToString((d / (name + "_2k.log")).string(), &text).ok()) continue;
    Service s{name, {}};
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) s.lines.push_back(std::move(line));
      pos = nl + 1;
    }
    if (!s.lines.empty()) out.push_back(std::move(s));
  }
  return out;
}

// Pre-encoded request bodies covering `a.lines` lines.
std::vector<std::string> BuildBodies(const std::vector<Service>& services, const Args& a,
                                     size_t* raw_bytes) {
  std::vector<std::string> bodies;
  const TimestampNs t0 = 1'700'000'000LL * kNanosPerSecond;
  const int64_t step_ns = 1'000'000;  // 1 ms per line over all services
  std::vector<size_t> next(services.size(), 0);
  long done = 0;
  *raw_bytes = 0;
  while (done < a.lines) {
    ingest::LogBatch batch;
    const long n = std::min(a.per_request, a.lines - done);
    const long per_service = std::max<long>(1, n / static_cast<long>(services.size()));
    long in_req = 0;
    for (size_t s = 0; s < services.size() && in_req < n; ++s) {
      ingest::LogStream& st = batch.streams.emplace_back();
      st.labels = {{"service_name", services[s].name}};
      for (long k = 0; k < per_service && in_req < n; ++k) {
        const std::string& line = services[s].lines[next[s]++ % services[s].lines.size()];
        st.entries.push_back({t0 + (done + in_req) * step_ns, line, ""});
        *raw_bytes += line.size();
        ++in_req;
      }
    }
    std::string body;
    ingest::EncodeLokiPushProto(batch, &body);
    bodies.push_back(std::move(body));
    done += in_req;
  }
  return bodies;
}

void RunKernel(const std::vector<std::string>& bodies, long lines, const Args& a) {
  server::ServeConfig cfg;
  cfg.state_dir = "";
  std::unique_ptr<server::Engine> no_engine;
  server::SelfMetrics metrics;
  server::LogEndpoints logs(cfg, no_engine, &metrics);
  std::atomic<size_t> next{0};
  std::atomic<int> errors{0};
  auto t0 = Clock::now();
  std::vector<std::thread> th;
  for (int t = 0; t < a.threads; ++t) {
    th.emplace_back([&] {
      for (size_t i; (i = next++) < bodies.size();) {
        if (!logs.Ingest(server::LogEndpoints::Format::kLokiProto, bodies[i], false).ok()) {
          ++errors;
        }
      }
    });
  }
  for (auto& x : th) x.join();
  const double s = Secs(t0, Clock::now());
  uint64_t mem = 0, templates = 0;
  logs.service().MemoryEstimate(&mem, &templates);
  const auto st = logs.service().stats();
  std::printf(
      "kernel: %ld lines in %zu requests on %d threads: %.3f s = %.0f lines/s (%d errors); "
      "%" PRIu64 " services, %" PRIu64
      " templates, %.0f bytes of state per template "
      "(estimate), %" PRIu64 " anomalous lines, %" PRIu64 " events\n",
      lines, bodies.size(), a.threads, s, lines / s, errors.load(), st.services, templates,
      templates ? static_cast<double>(mem) / templates : 0.0, st.anomalous, st.events);
}

void RunServe(const std::vector<std::string>& bodies, long lines, const Args& a) {
  TempDir dir;
  const std::string cfg = dir.file("bench.yml");
  WriteFile(cfg, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                     "\ncheckpoint_interval: 1h\nwal:\n  enabled: " +
                     (a.no_wal ? "false" : "true") + "\n");
  Process proc({BACKSIGHT_BIN, "serve", "--config", cfg}, dir.file("serve.log"));
  const int port = WaitForListenPort(proc, 20'000);
  if (port <= 0) {
    std::fprintf(stderr, "serve did not start:\n%s\n", proc.log().c_str());
    return;
  }
  const double cpu0 = CpuSeconds(proc.pid());
  std::atomic<size_t> next{0};
  std::atomic<int> errors{0}, retries{0};
  auto t0 = Clock::now();
  std::vector<std::thread> th;
  for (int t = 0; t < a.threads; ++t) {
    th.emplace_back([&] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_read_timeout(60, 0);
      for (size_t i; (i = next++) < bodies.size();) {
        for (int attempt = 0; attempt < 100; ++attempt) {
          auto r = cli.Post("/loki/api/v1/push", bodies[i], "application/x-protobuf");
          if (r && r->status == 204) break;
          if (r && r->status == 429) {
            ++retries;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
          }
          ++errors;
          std::fprintf(stderr, "push: %s\n", r ? r->body.c_str() : "connection error");
          break;
        }
      }
    });
  }
  for (auto& x : th) x.join();
  const double s = Secs(t0, Clock::now());
  const double cpu = CpuSeconds(proc.pid()) - cpu0;
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Get("/api/v1/log/templates?service=HDFS&limit=1");
  std::string mem = "?";
  if (r) {
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_object() && j.contains("memory_all_services")) mem = j["memory_all_services"].dump();
  }
  std::printf(
      "serve: %ld lines in %zu requests (%.1f MB snappy) from %d clients: %.3f s wall = %.0f "
      "lines/s acknowledged (decoded%s, mined, scored); server CPU %.2f s = %.2f "
      "us/line; %d errors, %d 429 retries; peak RSS %s; memory %s\n",
      lines, bodies.size(),
      [&] {
        size_t b = 0;
        for (const auto& x : bodies) b += x.size();
        return b / 1e6;
      }(),
      a.threads, s, lines / s, a.no_wal ? ", no WAL" : ", appended to the logs WAL", cpu,
      cpu / lines * 1e6, errors.load(), retries.load(), ProcStatusMiB(proc.pid(), "VmHWM").c_str(),
      mem.c_str());
  proc.Signal(SIGTERM);
  proc.Wait(60'000);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (k == "--data")
      a.data = val();
    else if (k == "--lines")
      a.lines = std::stol(val());
    else if (k == "--lines-per-request")
      a.per_request = std::stol(val());
    else if (k == "--threads")
      a.threads = std::stoi(val());
    else if (k == "--mode")
      a.mode = val();
    else if (k == "--one-service")
      a.one_service = true;
    else if (k == "--no-wal")
      a.no_wal = true;
    else {
      std::fprintf(stderr,
                   "usage: loki_push_bench [--data DIR] [--lines N] [--lines-per-request L] "
                   "[--threads T] [--mode kernel|serve|both] [--one-service] [--no-wal]\n");
      return 2;
    }
  }
  std::vector<Service> services = LoadLoghub(a.data);
  if (services.empty()) {
    std::fprintf(stderr, "no Loghub-2k datasets in %s\n", a.data.c_str());
    return 2;
  }
  if (a.one_service) {
    Service all{"all", {}};
    for (auto& s : services) all.lines.insert(all.lines.end(), s.lines.begin(), s.lines.end());
    services = {std::move(all)};
  }
  size_t raw = 0;
  std::vector<std::string> bodies = BuildBodies(services, a, &raw);
  std::printf("input: %ld lines (%.1f MB raw) of %zu services from %s, %zu requests\n", a.lines,
              raw / 1e6, services.size(), a.data.c_str(), bodies.size());
  if (a.mode == "kernel" || a.mode == "both") RunKernel(bodies, a.lines, a);
  if (a.mode == "serve" || a.mode == "both") RunServe(bodies, a.lines, a);
  return 0;
}
