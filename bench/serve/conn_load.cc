// conn_load: many keep-alive connections against `backsight serve`, and how fast the cheap
// endpoints still answer.
//
// Starts `backsight serve` as a child (or the binary given with --bin, e.g. an older build),
// opens N keep-alive connections from a few client threads with non-blocking sockets and epoll:
// half stay idle after one GET /-/healthy (like the idle pool of a remote_write sender), half
// send remote_write bodies in a loop (snappy + protobuf, pre-encoded, S series x M samples each;
// timestamps repeat after --rounds bodies per connection, so later samples are rejected by the
// detectors as out of order: this is load on HTTP + decode + queues, not on scoring). Meanwhile a
// separate connection asks GET /-/healthy and GET /metrics?outputs=false alternately every
// --probe-ms and times each answer (an unanswered request counts as its 10 s timeout). Prints:
//   PROBE latency p50/p99/max of both endpoints, answered/timed-out counts;
//   REMOTE_WRITE samples/s acknowledged with 204, 429/503/other counts, reconnects;
//   server samples processed+rejected per second (from /metrics) and RSS.
//
// Usage: conn_load [--connections N] [--busy N] [--seconds S] [--series S] [--samples M]
//                  [--rounds R] [--client-threads T] [--workers W] [--probe-ms P] [--bin PATH]
#include <fcntl.h>
#include <httplib.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <regex>
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

struct Args {
  int connections = 1000;
  int busy = -1;  // -1 = half
  double seconds = 15;
  int series = 100;
  int samples = 10;
  int rounds = 8;
  int client_threads = 2;
  int workers = 2;
  int probe_ms = 20;
  std::string bin = BACKSIGHT_BIN;
};

// Timeout of one probe request; an unanswered probe counts as this long.
constexpr int kProbeTimeoutS = 10;

double Secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

struct Stats {
  std::atomic<uint64_t> acked_samples{0}, ok{0}, r429{0}, r503{0}, other{0}, reconnects{0};
};

// One client connection driven by an epoll loop: writes a request, reads its response, repeats
// (busy) or waits for the server to close it (idle).
struct Conn {
  int fd = -1;
  bool busy = false;
  bool idle_done = false;  // idle: its one request was answered
  int id = 0;
  int round = 0;
  std::string out;  // request being written
  size_t out_off = 0;
  std::string in;  // response being read
};

class ClientLoop {
 public:
  ClientLoop(int port, const std::vector<std::vector<std::string>>* bodies, int samples_per_body,
             Stats* stats)
      : port_(port), bodies_(bodies), samples_per_body_(samples_per_body), stats_(stats) {
    ep_ = epoll_create1(0);
  }
  ~ClientLoop() {
    for (auto& c : conns_) {
      if (c.fd >= 0) close(c.fd);
    }
    close(ep_);
  }
  void Add(int id, bool busy) {
    Conn c;
    c.id = id;
    c.busy = busy;
    conns_.push_back(std::move(c));
  }
  void Run(const std::atomic<bool>& stop) {
    for (size_t i = 0; i < conns_.size(); ++i) Open(i);
    epoll_event evs[256];
    while (!stop) {
      const int n = epoll_wait(ep_, evs, 256, 50);
      for (int k = 0; k < n; ++k) Handle(evs[k].data.u32, evs[k].events);
    }
  }

 private:
  void Open(size_t i) {
    Conn& c = conns_[i];
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
    }
    c.fd = Connect(port_);
    c.in.clear();
    c.idle_done = false;
    if (c.fd < 0) return;
    NextRequest(c);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }
  void NextRequest(Conn& c) {
    c.out_off = 0;
    if (!c.busy) {
      c.out = "GET /-/healthy HTTP/1.1\r\nHost: bench\r\n\r\n";
      return;
    }
    const auto& rounds = (*bodies_)[c.id];
    const std::string& body = rounds[c.round++ % rounds.size()];
    c.out =
        "POST /api/v1/write HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-protobuf\r\n"
        "Content-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  void SetWrite(Conn& c, size_t i, bool want) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }
  void Handle(uint32_t i, uint32_t events) {
    Conn& c = conns_[i];
    if (events & (EPOLLERR | EPOLLHUP)) {
      ++stats_->reconnects;
      return Open(i);
    }
    if ((events & EPOLLOUT) && c.out_off < c.out.size()) {
      while (c.out_off < c.out.size()) {
        const ssize_t n =
            send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n > 0) {
          c.out_off += static_cast<size_t>(n);
        } else if (n < 0 && errno == EAGAIN) {
          break;
        } else {
          ++stats_->reconnects;
          return Open(i);
        }
      }
      if (c.out_off == c.out.size()) SetWrite(c, i, false);
    }
    if (!(events & EPOLLIN)) return;
    char buf[16384];
    for (;;) {
      const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EAGAIN) break;
      ++stats_->reconnects;  // closed by the server (idle timeout, 503, ...)
      return Open(i);
    }
    // Complete responses (status line, Content-Length, body).
    for (;;) {
      const size_t hdr_end = c.in.find("\r\n\r\n");
      if (hdr_end == std::string::npos) return;
      size_t len = 0;
      const size_t cl = c.in.find("Content-Length: ");
      if (cl != std::string::npos && cl < hdr_end) len = std::strtoull(&c.in[cl + 16], nullptr, 10);
      if (c.in.size() < hdr_end + 4 + len) return;
      const int status = c.in.size() > 12 ? std::atoi(&c.in[9]) : 0;
      c.in.erase(0, hdr_end + 4 + len);
      if (c.busy) {
        if (status == 204) {
          ++stats_->ok;
          stats_->acked_samples += samples_per_body_;
        } else if (status == 429) {
          ++stats_->r429;
        } else if (status == 503) {
          ++stats_->r503;
        } else {
          ++stats_->other;
        }
        NextRequest(c);
        SetWrite(c, i, true);
      } else {
        c.idle_done = true;  // stays open, idle, until the server closes it
      }
    }
  }

  int port_;
  const std::vector<std::vector<std::string>>* bodies_;
  uint64_t samples_per_body_;
  Stats* stats_;
  int ep_;
  std::vector<Conn> conns_;
};

struct Probe {
  std::vector<double> healthy_ms, metrics_ms;
  uint64_t healthy_timeouts = 0, metrics_timeouts = 0;
};

void Percentiles(const char* name, std::vector<double> v, uint64_t timeouts) {
  if (v.empty()) {
    std::printf("PROBE %-26s no answers, %llu timed out (%d s)\n", name,
                static_cast<unsigned long long>(timeouts), kProbeTimeoutS);
    return;
  }
  std::sort(v.begin(), v.end());
  auto q = [&](double p) { return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]; };
  std::printf(
      "PROBE %-26s p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu requests, %llu timed out after %d "
      "s, counted as %d s)\n",
      name, q(0.5), q(0.99), v.back(), v.size(), static_cast<unsigned long long>(timeouts),
      kProbeTimeoutS, kProbeTimeoutS);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (k == "--connections")
      a.connections = std::stoi(next());
    else if (k == "--busy")
      a.busy = std::stoi(next());
    else if (k == "--seconds")
      a.seconds = std::stod(next());
    else if (k == "--series")
      a.series = std::stoi(next());
    else if (k == "--samples")
      a.samples = std::stoi(next());
    else if (k == "--rounds")
      a.rounds = std::stoi(next());
    else if (k == "--client-threads")
      a.client_threads = std::stoi(next());
    else if (k == "--workers")
      a.workers = std::stoi(next());
    else if (k == "--probe-ms")
      a.probe_ms = std::stoi(next());
    else if (k == "--bin")
      a.bin = next();
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.busy < 0) a.busy = a.connections / 2;
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  // Bodies: connection b's series are {conn=b, s=0..S-1}, round r holds steps [r*M, (r+1)*M).
  std::vector<std::vector<std::string>> bodies(a.busy, std::vector<std::string>(a.rounds));
  size_t bytes = 0;
  for (int b = 0; b < a.busy; ++b) {
    for (int r = 0; r < a.rounds; ++r) {
      std::vector<TimeSeries> batch;
      for (int s = 0; s < a.series; ++s) {
        TimeSeries ts;
        ts.labels = {{"__name__", "conn_load_metric"},
                     {"conn", std::to_string(b)},
                     {"job", "bench"},
                     {"s", std::to_string(s)}};
        for (int m = 0; m < a.samples; ++m) {
          const int64_t step = static_cast<int64_t>(r) * a.samples + m;
          ts.samples.push_back({(1'700'000'000'000LL + step * 1000) * kNanosPerMilli,
                                100 + 10 * std::sin(step * 0.05 + s + b)});
        }
        batch.push_back(std::move(ts));
      }
      ingest::EncodeRemoteWrite(batch, &bodies[b][r]);
      bytes += bodies[b][r].size();
    }
  }
  std::printf("encoded %d x %d bodies of %d samples (%.1f MiB)\n", a.busy, a.rounds,
              a.series * a.samples, bytes / 1048576.0);

  TempDir dir;
  const std::string cfg = dir.file("serve.yml");
  WriteFile(cfg, "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") +
                     "\ncheckpoint_interval: 1h\nworkers: " + std::to_string(a.workers) +
                     "\nseries: {max_active: 2000000}\n");
  Process proc({a.bin, "serve", "--config", cfg}, dir.file("serve.log"));
  const int port = WaitForListenPort(proc, 60'000);
  if (port <= 0) {
    std::fprintf(stderr, "serve did not start:\n%s\n", proc.log().c_str());
    return 1;
  }
  std::printf("%s serve on port %d; %d connections (%d busy, %d idle), %d client threads\n",
              a.bin.c_str(), port, a.connections, a.busy, a.connections - a.busy, a.client_threads);
  std::fflush(stdout);

  Stats stats;
  std::vector<std::unique_ptr<ClientLoop>> loops;
  for (int t = 0; t < a.client_threads; ++t) {
    loops.push_back(std::make_unique<ClientLoop>(port, &bodies, a.series * a.samples, &stats));
  }
  int busy_id = 0;
  for (int i = 0; i < a.connections; ++i) {
    // Busy and idle connections interleaved evenly.
    const bool busy =
        int64_t(i) * a.busy / a.connections != int64_t(i + 1) * a.busy / a.connections;
    loops[i % a.client_threads]->Add(busy ? busy_id : 0, busy);
    if (busy) ++busy_id;
  }
  std::atomic<bool> stop{false};
  auto server_work = [&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(kProbeTimeoutS, 0);
    auto r = c.Get("/metrics?outputs=false");
    if (!r) return -1.0;
    const std::string t = "\n" + r->body;
    return MetricValue(t, "backsight_samples_processed_total") +
           MetricValue(t, "backsight_samples_rejected_total");
  };
  const double work0 = server_work();
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (auto& l : loops) threads.emplace_back([&l, &stop] { l->Run(stop); });

  // Probe: one more keep-alive connection.
  Probe probe;
  {
    httplib::Client c("127.0.0.1", port);
    c.set_keep_alive(true);
    c.set_connection_timeout(kProbeTimeoutS, 0);
    c.set_read_timeout(kProbeTimeoutS, 0);
    bool healthy = true;
    while (Secs(t0, Clock::now()) < a.seconds) {
      std::this_thread::sleep_for(std::chrono::milliseconds(a.probe_ms));
      const auto s = Clock::now();
      auto r = c.Get(healthy ? "/-/healthy" : "/metrics?outputs=false");
      const double ms = Secs(s, Clock::now()) * 1e3;
      const bool ok = r && r->status == 200;
      auto& v = healthy ? probe.healthy_ms : probe.metrics_ms;
      v.push_back(ok ? ms : kProbeTimeoutS * 1e3);
      if (!ok) ++(healthy ? probe.healthy_timeouts : probe.metrics_timeouts);
      healthy = !healthy;
    }
  }
  const double elapsed = Secs(t0, Clock::now());
  const double work1 = server_work();
  stop = true;
  for (auto& t : threads) t.join();

  Percentiles("GET /-/healthy", probe.healthy_ms, probe.healthy_timeouts);
  Percentiles("GET /metrics?outputs=false", probe.metrics_ms, probe.metrics_timeouts);
  std::printf(
      "REMOTE_WRITE %.0f samples/s acknowledged (204) over %.1f s: %llu x 204, %llu x 429, %llu "
      "x 503, %llu other, %llu reconnects\n",
      stats.acked_samples / elapsed, elapsed, static_cast<unsigned long long>(stats.ok.load()),
      static_cast<unsigned long long>(stats.r429.load()),
      static_cast<unsigned long long>(stats.r503.load()),
      static_cast<unsigned long long>(stats.other.load()),
      static_cast<unsigned long long>(stats.reconnects.load()));
  if (work0 >= 0 && work1 >= 0) {
    std::printf("SERVER %.0f samples/s decoded and processed (scored or rejected)\n",
                (work1 - work0) / elapsed);
  } else {
    std::printf("SERVER /metrics did not answer within %d s\n", kProbeTimeoutS);
  }
  std::printf("server RSS %s (peak %s)\n", ProcStatusMiB(proc.pid(), "VmRSS").c_str(),
              ProcStatusMiB(proc.pid(), "VmHWM").c_str());
  loops.clear();
  proc.Signal(SIGTERM);
  proc.Wait(60'000);
  return 0;
}
