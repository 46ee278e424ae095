// serve_load: end-to-end benchmark of `backsight serve`.
//
// Starts `backsight serve` as a child process on 127.0.0.1 (fresh state dir), pre-encodes
// remote_write bodies (snappy + protobuf, via ingest::EncodeRemoteWrite), sends them over
// loopback from client threads with keep-alive (retrying after 429), waits until every sample is
// scored, and prints:
//   samples/s decoded and scored, 429 count, server RSS (VmRSS, VmHWM from /proc/<pid>/status),
//   arrival->score latency p50/p99 (from backsight_processing_latency_seconds on /metrics),
//   and with --restart: SIGTERM-to-exit time (final checkpoint) and restart time (start to
//   listening, restore duration) for the series loaded; with --restart --kill9 the server is
//   killed instead (nothing checkpointed) and the restart replays the write-ahead log (records/s).
//   --no-wal runs the server without its write-ahead log (config wal.enabled: false).
//   --capacity adds a capacity rule selecting every bench series (the first 10,000 get a
//   demand series), so live ingest and the replay also feed capacity advice.
//
// Usage: serve_load [--series N] [--samples-per-series M] [--series-per-request K]
//                   [--rounds R] [--threads T] [--workers W] [--rate SAMPLES_PER_S]
//                   [--restart [--kill9]] [--no-wal] [--capacity] [--bin PATH_TO_BACKSIGHT]
//                   [--history-url URL]  (warm start on, against that query API)
#include <httplib.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/ingest/remote_write.h"
#include "proc_util.h"

using namespace backsight;
using namespace backsight::testing;
using Clock = std::chrono::steady_clock;

namespace {

// How long serve may take to log its port: 10 min (a restart restores and replays every series
// before it listens).
constexpr int64_t kStartTimeoutMs = 600'000;

struct Args {
  int series = 100'000;
  int samples_per_series = 10;
  int series_per_request = 1000;
  int rounds = 10;
  int threads = 2;
  int workers = 2;
  bool restart = false;
  bool kill9 = false;     // restart after kill -9 (replays the WAL) instead of SIGTERM
  bool no_wal = false;    // wal.enabled: false
  bool capacity = false;  // a capacity rule over the bench series
  double rate = 0;        // offered samples/s over all client threads; 0 = as fast as possible
  int warm_rounds = 0;    // rounds sent (creating the series) before measuring
  std::string bin = BACKSIGHT_BIN;  // --bin: another build to compare with
  std::string history_url;          // --history-url: turn warm start on (a query API)
};

double Secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string GetMetrics(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  auto r = c.Get("/metrics?outputs=false");
  return r ? "\n" + r->body : "";
}

// Quantile from a cumulative Prometheus histogram on /metrics (upper bucket bound).
std::vector<std::pair<double, double>> Buckets(const std::string& text) {
  std::regex re("backsight_processing_latency_seconds_bucket\\{le=\"([^\"]+)\"\\} ([0-9]+)");
  std::vector<std::pair<double, double>> b;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    std::string le = (*it)[1];
    b.push_back({le == "+Inf" ? INFINITY : std::stod(le), std::stod((*it)[2])});
  }
  return b;
}

// Quantile of the observations made between two /metrics texts (`before` may be empty).
double HistQuantile(const std::string& text, double q, const std::string& before = "") {
  auto b = Buckets(text);
  auto b0 = Buckets(before);
  for (size_t i = 0; i < b.size() && i < b0.size(); ++i) b[i].second -= b0[i].second;
  if (b.empty() || b.back().second == 0) return NAN;
  double target = q * b.back().second;
  for (auto& [le, c] : b) {
    if (c >= target) return le;
  }
  return INFINITY;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (k == "--series")
      a.series = next();
    else if (k == "--samples-per-series")
      a.samples_per_series = next();
    else if (k == "--series-per-request")
      a.series_per_request = next();
    else if (k == "--rounds")
      a.rounds = next();
    else if (k == "--threads")
      a.threads = next();
    else if (k == "--workers")
      a.workers = next();
    else if (k == "--restart")
      a.restart = true;
    else if (k == "--kill9")
      a.kill9 = true;
    else if (k == "--capacity")
      a.capacity = true;
    else if (k == "--no-wal")
      a.no_wal = true;
    else if (k == "--warm-rounds")
      a.warm_rounds = next();
    else if (k == "--bin")
      a.bin = i + 1 < argc ? argv[++i] : "";
    else if (k == "--history-url")
      a.history_url = i + 1 < argc ? argv[++i] : "";
    else if (k == "--rate")
      a.rate = i + 1 < argc ? std::atof(argv[++i]) : 0;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  TempDir dir;
  const std::string cfg = dir.file("serve.yml");
  WriteFile(cfg, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                     "\ncheckpoint_interval: 1h\nworkers: " + std::to_string(a.workers) +
                     "\nseries: {max_active: 2000000}\n" +
                     // The WAL is on by default; the key is written only to turn it off, so
                     // that --bin can run builds older than the WAL.
                     (a.no_wal ? "wal: {enabled: false}\n" : "") +
                     (a.capacity ? "capacity: [{demand: bench_metric, per_replica: 100}]\n" : "") +
                     // Warm start on: the cost of checking every series for a history fetch.
                     (a.history_url.empty() ? "" : "history: {url: \"" + a.history_url + "\"}\n"));

  // Pre-encode: chunk c holds series [c*K, (c+1)*K); round r holds steps [r*M, (r+1)*M).
  const int chunks = (a.series + a.series_per_request - 1) / a.series_per_request;
  std::printf("encoding %d rounds x %d requests (%d series x %d samples each)...\n", a.rounds,
              chunks, a.series_per_request, a.samples_per_series);
  std::fflush(stdout);
  std::vector<std::vector<std::string>> bodies(chunks, std::vector<std::string>(a.rounds));
  {
    std::vector<std::thread> enc;
    for (int t = 0; t < 2; ++t) {
      enc.emplace_back([&, t] {
        std::mt19937_64 rng(t);
        std::normal_distribution<double> noise(0, 1);
        std::vector<TimeSeries> batch;
        for (int c = t; c < chunks; c += 2) {
          for (int r = 0; r < a.rounds; ++r) {
            batch.clear();
            for (int s = c * a.series_per_request;
                 s < std::min(a.series, (c + 1) * a.series_per_request); ++s) {
              TimeSeries ts;
              ts.labels = {{"__name__", "bench_metric"},
                           {"instance", "host-" + std::to_string(s % 1000) + ":9100"},
                           {"job", "bench"},
                           {"series", std::to_string(s)}};
              for (int m = 0; m < a.samples_per_series; ++m) {
                int64_t step = static_cast<int64_t>(r) * a.samples_per_series + m;
                ts.samples.push_back({(1'700'000'000'000LL + step * 1000) * kNanosPerMilli,
                                      100 + 10 * std::sin(step * 0.05 + s) + noise(rng)});
              }
              batch.push_back(std::move(ts));
            }
            ingest::EncodeRemoteWrite(batch, &bodies[c][r]);
          }
        }
      });
    }
    for (auto& t : enc) t.join();
  }
  size_t bytes = 0;
  for (auto& c : bodies) {
    for (auto& b : c) bytes += b.size();
  }
  const double total = static_cast<double>(a.series) * a.samples_per_series * a.rounds;
  std::printf("encoded %.0f samples in %.1f MiB of snappy bodies\n", total, bytes / 1048576.0);

  auto t_start = Clock::now();
  auto proc = std::make_unique<Process>(std::vector<std::string>{a.bin, "serve", "--config", cfg},
                                        dir.file("serve.log"));
  int port = WaitForListenPort(*proc, kStartTimeoutMs);
  if (port <= 0) {
    std::fprintf(stderr, "serve did not start:\n%s\n", proc->log().c_str());
    return 1;
  }
  std::printf("backsight serve started in %.3f s on port %d\n", Secs(t_start, Clock::now()), port);

  std::atomic<uint64_t> retries{0}, errors{0};
  auto send_rounds = [&](int r_begin, int r_end, Clock::time_point t0) {
    std::vector<std::thread> clients;
    for (int t = 0; t < a.threads; ++t) {
      clients.emplace_back([&, t] {
        httplib::Client cli("127.0.0.1", port);
        cli.set_keep_alive(true);
        cli.set_tcp_nodelay(true);
        cli.set_read_timeout(60, 0);
        httplib::Headers h = {{"Content-Encoding", "snappy"},
                              {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
        // Pacing: request j of this thread is due at t0 + j * per_request.
        const double per_request_s =
            a.rate > 0 ? a.series_per_request * double(a.samples_per_series) * a.threads / a.rate
                       : 0;
        int64_t j = 0;
        for (int r = r_begin; r < r_end; ++r) {
          for (int c = t; c < chunks; c += a.threads) {
            if (per_request_s > 0) {
              std::this_thread::sleep_until(
                  t0 + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(per_request_s * double(j++))));
            }
            for (;;) {
              auto res = cli.Post("/api/v1/write", h, bodies[c][r], "application/x-protobuf");
              if (res && res->status == 204) break;
              if (res && res->status == 429) {
                ++retries;
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                continue;
              }
              ++errors;
              std::fprintf(stderr, "request failed: %d\n", res ? res->status : -1);
              break;
            }
          }
        }
      });
    }
    for (auto& c : clients) c.join();
  };
  auto drain = [&](double expected) {
    std::string text;
    WaitFor(
        [&] {
          text = GetMetrics(port);
          return MetricValue(text, "backsight_samples_processed_total") +
                     MetricValue(text, "backsight_samples_rejected_total") >=
                 expected;
        },
        600'000);
    return text;
  };
  double base = 0;
  std::string mw;
  if (a.warm_rounds > 0) {
    auto tw = Clock::now();
    send_rounds(0, a.warm_rounds, tw);
    mw = drain(static_cast<double>(a.series) * a.samples_per_series * a.warm_rounds);
    base = MetricValue(mw, "backsight_samples_processed_total");
    std::printf("warm-up: %d rounds (%.0f samples, creating the series) in %.2f s\n", a.warm_rounds,
                base, Secs(tw, Clock::now()));
  }
  const double cpu0 = CpuSeconds(proc->pid());
  auto t0 = Clock::now();
  send_rounds(a.warm_rounds, a.rounds, t0);
  auto t_sent = Clock::now();
  std::string m = drain(total);
  auto t1 = Clock::now();
  const double cpu = CpuSeconds(proc->pid()) - cpu0;
  const double processed = MetricValue(m, "backsight_samples_processed_total") - base;
  const double measured =
      static_cast<double>(a.series) * a.samples_per_series * (a.rounds - a.warm_rounds);
  std::printf(
      "sent %.0f samples in %.2f s (%.0f samples/s offered), 429 retries %llu, errors %llu\n",
      measured, Secs(t0, t_sent), measured / Secs(t0, t_sent),
      static_cast<unsigned long long>(retries.load()),
      static_cast<unsigned long long>(errors.load()));
  std::printf("THROUGHPUT: %.0f samples decoded+scored in %.2f s = %.0f samples/s\n", processed,
              Secs(t0, t1), processed / Secs(t0, t1));
  std::printf("SERVER CPU: %.2f s user+sys = %.1f ns per sample (less sensitive to other load)\n",
              cpu, cpu / processed * 1e9);
  std::printf(
      "series active: %.0f; server RSS %s (peak %s)\n", MetricValue(m, "backsight_series_active"),
      ProcStatusMiB(proc->pid(), "VmRSS").c_str(), ProcStatusMiB(proc->pid(), "VmHWM").c_str());
  std::printf(
      "LATENCY arrival->score of the measured rounds (histogram bucket bounds): p50 <= %.4f s, p99 "
      "<= %.4f s\n",
      HistQuantile(m, 0.5, mw), HistQuantile(m, 0.99, mw));

  std::printf("WAL: %.0f segments, %.1f MiB\n", MetricValue(m, "backsight_wal_segments"),
              MetricValue(m, "backsight_wal_size_bytes") / 1048576.0);
  if (a.restart) {
    auto ts = Clock::now();
    proc->Signal(a.kill9 ? SIGKILL : SIGTERM);
    int rc = proc->Wait(600'000);
    if (a.kill9) {
      std::printf("kill -9 (nothing checkpointed), exit code %d\n", rc);
    } else {
      std::printf("SIGTERM -> exit (final checkpoint of %.0f series): %.2f s, exit code %d\n",
                  MetricValue(m, "backsight_series_active"), Secs(ts, Clock::now()), rc);
    }
    auto tr = Clock::now();
    proc = std::make_unique<Process>(std::vector<std::string>{a.bin, "serve", "--config", cfg},
                                     dir.file("serve2.log"));
    port = WaitForListenPort(*proc, kStartTimeoutMs);
    const double restart_s = Secs(tr, Clock::now());
    std::string m2 = GetMetrics(port);
    std::printf(
        "RESTART: %.2f s from exec to listening with %.0f series restored (restore %.2f s)\n",
        restart_s, MetricValue(m2, "backsight_series_restored"),
        MetricValue(m2, "backsight_restore_duration_seconds"));
    const double rec = MetricValue(m2, "backsight_wal_replay_records");
    const double smp = MetricValue(m2, "backsight_wal_replay_samples");
    const double rs = MetricValue(m2, "backsight_wal_replay_duration_seconds");
    std::printf(
        "REPLAY: %.0f WAL records (%.0f samples) in %.2f s = %.0f records/s, %.0f samples/s\n", rec,
        smp, rs, rs > 0 ? rec / rs : 0, rs > 0 ? smp / rs : 0);
  }
  proc->Signal(SIGTERM);
  proc->Wait(600'000);
  return 0;
}
