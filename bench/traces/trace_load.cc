// trace_load: end-to-end benchmark of POST /v1/traces on a real `backsight serve`.
//
// Starts `backsight serve` as a child process on 127.0.0.1 (fresh state dir), pre-encodes
// protobuf ExportTraceServiceRequest bodies and sends them over loopback from client threads
// with keep-alive. The spans look like an instrumented system's: 10 services, 50 operations,
// traces of a SERVER root calling downstream services (a CLIENT span in the caller, a SERVER span
// in the callee, its child), with http.* attributes on servers and a db.statement on the leaf
// calls; each request holds 512..2048 spans grouped by service into resource spans, as the
// Collector's batch processor sends them. Prints:
//   spans/s accepted end to end (every request answered 200 after its spans were aggregated),
//   server CPU s per million spans (user+sys of the server process; less sensitive to other
//   load than wall time), server RSS (VmRSS, VmHWM),
//   arrival -> visible latency: a marker span is posted every --marker-ms while the load runs,
//   and /api/v1/trace/metrics polled until its calls counter shows it; p50/p99 of those times.
//
// Usage: trace_load [--requests N] [--threads T] [--min-spans A] [--max-spans B]
//                   [--marker-ms MS] [--no-findings] [--incidents] [--trace-window-spans N]
//                   [--bin PATH_TO_BACKSIGHT]
// --no-findings runs serve with `traces: {findings: false}` (live trace findings off; on is the
// default config). --incidents turns `incidents: {enabled: true}` on, which keeps the recent-span
// ring of the incidents' trace evidence (incidents.trace_window_spans, default 100000;
// --trace-window-spans sets it, 0 = off).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "backsight/ingest/proto/trace.pb.h"
#include "backsight/ingest/span_batch.h"
#include "proc_util.h"

using namespace backsight::testing;
namespace tv1 = opentelemetry::proto::trace::v1;
using Clock = std::chrono::steady_clock;

namespace {

// How long serve may take to log its port: 10 min (as serve_load: a loaded machine can be slow to
// start serve).
constexpr int64_t kStartTimeoutMs = 600'000;

constexpr int kServices = 10;
constexpr int kOperationsPerService = 5;  // 10 x 5 = 50 operations
// Downstream calls a service makes per request it serves (a tree of depth <= kMaxDepth).
constexpr int kFanOut = 2;
constexpr int kMaxDepth = 3;
constexpr const char* kMarkerService = "trace-load-marker";

struct Args {
  int requests = 2000;
  int threads = 2;
  int min_spans = 512;
  int max_spans = 2048;
  int marker_ms = 50;
  bool findings = true;  // live trace findings (serve's default)
  bool incidents = false;
  int trace_window_spans = -1;  // -1: serve's default
  std::string bin = BACKSIGHT_BIN;
};

double Secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string RandomId(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng() | 1;  // never all zero
    for (size_t b = 0; b < 8 && i + b < n; ++b) s[i + b] = static_cast<char>(v >> (8 * b));
  }
  return s;
}

// Builds one request of about `target` spans; span start times from `*t_ns` on.
class RequestBuilder {
 public:
  RequestBuilder(std::mt19937_64* rng, uint64_t* t_ns) : rng_(*rng), t_ns_(*t_ns) {
    for (int s = 0; s < kServices; ++s) {
      auto* rs = req_.add_resource_spans();
      auto* a = rs->mutable_resource()->add_attributes();
      a->set_key("service.name");
      a->mutable_value()->set_string_value("svc-" + std::to_string(s));
      a = rs->mutable_resource()->add_attributes();
      a->set_key("service.instance.id");
      a->mutable_value()->set_string_value("svc-" + std::to_string(s) + "-pod-0");
      auto* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name("io.opentelemetry.http");
      scopes_.push_back(ss);
    }
  }

  std::string Build(int target) {
    while (spans_ < target) {
      const std::string trace_id = RandomId(rng_, 16);
      Server(trace_id, "", static_cast<int>(rng_() % 2), 0, t_ns_);
      t_ns_ += 1'000'000;  // 1 ms between traces
    }
    return req_.SerializeAsString();
  }
  int spans() const { return spans_; }

 private:
  tv1::Span* NewSpan(int service, const std::string& trace_id, const std::string& parent) {
    ++spans_;
    auto* sp = scopes_[service]->add_spans();
    sp->set_trace_id(trace_id);
    sp->set_span_id(RandomId(rng_, 8));
    sp->set_parent_span_id(parent);
    return sp;
  }
  static void Attr(tv1::Span* sp, const char* key, const std::string& value) {
    auto* kv = sp->add_attributes();
    kv->set_key(key);
    kv->mutable_value()->set_string_value(value);
  }

  // A SERVER span of `service` and its downstream calls; returns its duration in ns.
  uint64_t Server(const std::string& trace_id, const std::string& parent, int service, int depth,
                  uint64_t start) {
    auto* sp = NewSpan(service, trace_id, parent);
    const int op = static_cast<int>(rng_() % kOperationsPerService);
    sp->set_name("GET /svc" + std::to_string(service) + "/op" + std::to_string(op));
    sp->set_kind(static_cast<int>(backsight::ingest::SpanKind::kServer));
    Attr(sp, "http.request.method", "GET");
    Attr(sp, "http.route", "/svc" + std::to_string(service) + "/op" + std::to_string(op));
    uint64_t t = start + 20'000;
    if (depth < kMaxDepth) {
      for (int c = 0; c < kFanOut; ++c) {
        const int callee = (service + 1 + static_cast<int>(rng_() % (kServices - 1))) % kServices;
        auto* cl = NewSpan(service, trace_id, sp->span_id());
        cl->set_name("GET svc-" + std::to_string(callee));
        cl->set_kind(static_cast<int>(backsight::ingest::SpanKind::kClient));
        const uint64_t d = Server(trace_id, cl->span_id(), callee, depth + 1, t + 5'000);
        cl->set_start_time_unix_nano(t);
        cl->set_end_time_unix_nano(t + d + 10'000);
        t += d + 10'000;
      }
    } else {
      Attr(sp, "db.statement", "SELECT * FROM items WHERE id = ?");
      t += 100'000 + rng_() % 400'000;
    }
    if (rng_() % 100 == 0)
      sp->mutable_status()->set_code(static_cast<int>(backsight::ingest::SpanStatus::kError));
    sp->set_start_time_unix_nano(start);
    sp->set_end_time_unix_nano(t);
    return t - start;
  }

  std::mt19937_64& rng_;
  uint64_t& t_ns_;
  tv1::ExportTraceServiceRequest req_;
  std::vector<tv1::ScopeSpans*> scopes_;
  int spans_ = 0;
};

// One marker span (its own service and operation) starting at `t_ns`.
std::string MarkerBody(std::mt19937_64& rng, uint64_t t_ns) {
  tv1::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* a = rs->mutable_resource()->add_attributes();
  a->set_key("service.name");
  a->mutable_value()->set_string_value(kMarkerService);
  auto* sp = rs->add_scope_spans()->add_spans();
  sp->set_trace_id(RandomId(rng, 16));
  sp->set_span_id(RandomId(rng, 8));
  sp->set_name("marker");
  sp->set_kind(static_cast<int>(backsight::ingest::SpanKind::kServer));
  sp->set_start_time_unix_nano(t_ns);
  sp->set_end_time_unix_nano(t_ns + 1000);
  return req.SerializeAsString();
}

// The marker's calls counter on /api/v1/trace/metrics (0 when absent or unreachable).
double MarkerCalls(httplib::Client& cli) {
  auto r = cli.Get("/api/v1/trace/metrics");
  if (!r || r->status != 200) return 0;
  static const std::regex re(std::string("traces_span_metrics_calls_total\\{service_name=\"") +
                             kMarkerService + "\"[^}]*\\} ([0-9]+)");
  std::smatch m;
  if (!std::regex_search(r->body, m, re)) return 0;
  return std::stod(m[1]);
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (k == "--requests") {
      a.requests = next();
    } else if (k == "--threads") {
      a.threads = next();
    } else if (k == "--min-spans") {
      a.min_spans = next();
    } else if (k == "--max-spans") {
      a.max_spans = next();
    } else if (k == "--marker-ms") {
      a.marker_ms = next();
    } else if (k == "--no-findings") {
      a.findings = false;
    } else if (k == "--incidents") {
      a.incidents = true;
    } else if (k == "--trace-window-spans") {
      a.trace_window_spans = next();
    } else if (k == "--bin") {
      a.bin = i + 1 < argc ? argv[++i] : "";
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  std::mt19937_64 rng(42);
  uint64_t t_ns = 1'700'000'000'000'000'000ULL;
  std::vector<std::string> bodies;
  size_t bytes = 0;
  double total_spans = 0;
  for (int r = 0; r < a.requests; ++r) {
    const int target =
        a.min_spans +
        static_cast<int>(rng() % static_cast<uint64_t>(a.max_spans - a.min_spans + 1));
    RequestBuilder b(&rng, &t_ns);
    bodies.push_back(b.Build(target));
    total_spans += b.spans();
    bytes += bodies.back().size();
  }
  std::printf(
      "encoded %d requests, %.0f spans (%.0f per request), %.1f MB protobuf (%.0f B/span)\n",
      a.requests, total_spans, total_spans / a.requests, bytes / 1e6, bytes / total_spans);

  TempDir dir;
  const std::string cfg = dir.file("serve.yml");
  WriteFile(cfg,
            "listen: 127.0.0.1:0\nstate_dir: " + dir.file("state") + "\ncheckpoint_interval: 1h\n" +
                (a.findings ? "" : "traces: {findings: false}\n") +
                (!a.incidents               ? ""
                 : a.trace_window_spans < 0 ? "incidents: {enabled: true}\n"
                                            : "incidents: {enabled: true, trace_window_spans: " +
                                                  std::to_string(a.trace_window_spans) + "}\n"));
  auto proc = std::make_unique<Process>(std::vector<std::string>{a.bin, "serve", "--config", cfg},
                                        dir.file("serve.log"));
  const int port = WaitForListenPort(*proc, kStartTimeoutMs);
  if (port <= 0) {
    std::fprintf(stderr, "serve did not start:\n%s\n", proc->log().c_str());
    return 1;
  }
  const double cpu0 = CpuSeconds(proc->pid());
  std::atomic<uint64_t> errors{0};
  std::atomic<int> next{0};
  std::atomic<bool> done{false};
  const auto t0 = Clock::now();
  std::vector<std::thread> clients;
  for (int t = 0; t < a.threads; ++t) {
    clients.emplace_back([&] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      cli.set_read_timeout(60, 0);
      for (int r; (r = next++) < a.requests;) {
        auto res = cli.Post("/v1/traces", bodies[r], "application/x-protobuf");
        if (!res || res->status != 200) {
          ++errors;
          std::fprintf(stderr, "request failed: %d\n", res ? res->status : -1);
        }
      }
    });
  }
  // Markers: post one, poll until visible, wait marker_ms, repeat while the load runs.
  std::vector<double> visible_s;
  std::thread marker([&] {
    httplib::Client post("127.0.0.1", port), poll("127.0.0.1", port);
    for (httplib::Client* c : {&post, &poll}) {
      c->set_keep_alive(true);
      c->set_tcp_nodelay(true);  // else delayed ACKs add ~40 ms to every small request
    }
    std::mt19937_64 mrng(7);
    double sent = 0;
    while (!done) {
      const std::string body = MarkerBody(mrng, 1'700'000'000'000'000'000ULL);
      const auto ts = Clock::now();
      auto res = post.Post("/v1/traces", body, "application/x-protobuf");
      if (!res || res->status != 200) break;
      ++sent;
      // Poll every ms (each poll renders every series: a busy loop would load the server).
      while (MarkerCalls(poll) < sent && Secs(ts, Clock::now()) < 30) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      visible_s.push_back(Secs(ts, Clock::now()));
      std::this_thread::sleep_for(std::chrono::milliseconds(a.marker_ms));
    }
  });
  for (auto& c : clients) c.join();
  const auto t1 = Clock::now();
  done = true;
  marker.join();
  const double cpu = CpuSeconds(proc->pid()) - cpu0;
  const double wall = Secs(t0, t1);
  std::printf("client threads %d, errors %llu\n", a.threads,
              static_cast<unsigned long long>(errors.load()));
  std::printf("THROUGHPUT: %.0f spans accepted end to end in %.2f s = %.0f spans/s\n", total_spans,
              wall, total_spans / wall);
  std::printf(
      "SERVER CPU: %.2f s user+sys = %.2f CPU s per million spans (%.0f spans/s per core)\n", cpu,
      cpu / total_spans * 1e6, total_spans / cpu);
  std::printf("server RSS %s (peak %s)\n", ProcStatusMiB(proc->pid(), "VmRSS").c_str(),
              ProcStatusMiB(proc->pid(), "VmHWM").c_str());
  std::printf(
      "LATENCY arrival->visible on /api/v1/trace/metrics (%zu markers under load): "
      "p50 %.4f s, p99 %.4f s, max %.4f s\n",
      visible_s.size(), Quantile(visible_s, 0.5), Quantile(visible_s, 0.99),
      Quantile(visible_s, 1.0));
  proc->Signal(SIGTERM);
  proc->Wait(600'000);
  return 0;
}
