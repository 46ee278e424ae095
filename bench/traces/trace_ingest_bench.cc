// Decodes OTLP protobuf ExportTraceServiceRequests and aggregates their spans (RED + service
// graph, per-minute windows as the server runs them), single thread, in process: spans per CPU
// second (thread CPU time) for each stage and memory per series / edge. Requests: 100 traces of 10
// spans (5 services, 20 operations), 2 resource spans per service.
//
//   trace_ingest_bench [REQUESTS]   (default 2000 = 2 M spans)
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backsight/ingest/otlp_traces.h"
#include "backsight/ingest/proto/trace.pb.h"
#include "backsight/traces/red_aggregator.h"
#include "backsight/traces/red_windows.h"
#include "backsight/traces/service_graph.h"

namespace tv1 = opentelemetry::proto::trace::v1;

namespace {

constexpr int kTracesPerRequest = 100;
constexpr int kSpansPerTrace = 10;
constexpr int kServices = 5;

std::string Id(uint64_t v, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n && i < 8; ++i) s[n - 1 - i] = static_cast<char>((v >> (8 * i)) & 255);
  s[0] = 1;
  return s;
}

std::string MakeRequest(int r) {
  tv1::ExportTraceServiceRequest req;
  std::vector<tv1::ScopeSpans*> scopes;
  for (int s = 0; s < kServices; ++s) {
    auto* rs = req.add_resource_spans();
    auto* a = rs->mutable_resource()->add_attributes();
    a->set_key("service.name");
    a->mutable_value()->set_string_value("service-" + std::to_string(s));
    scopes.push_back(rs->add_scope_spans());
  }
  const uint64_t t0 = 1700000000000000000ULL + static_cast<uint64_t>(r) * 1000000000ULL;
  for (int t = 0; t < kTracesPerRequest; ++t) {
    const uint64_t tid = static_cast<uint64_t>(r) * kTracesPerRequest + t + 1;
    for (int k = 0; k < kSpansPerTrace; ++k) {
      auto* sp = scopes[k % kServices]->add_spans();
      sp->set_trace_id(Id(tid, 16));
      sp->set_span_id(Id(tid * 16 + k + 1, 8));
      if (k > 0) sp->set_parent_span_id(Id(tid * 16 + (k - 1) / 2 + 1, 8));
      sp->set_name("op-" + std::to_string(k * 2 + t % 2));
      sp->set_kind(k % 2 ? 3 : 2);
      sp->set_start_time_unix_nano(t0 + t * 1000000 + k * 1000);
      sp->set_end_time_unix_nano(t0 + t * 1000000 + k * 1000 + 100000 + (t * 7919 + k) % 50000);
      auto* kv = sp->add_attributes();
      kv->set_key("http.route");
      kv->mutable_value()->set_string_value("/api/v1/items/{id}");
    }
  }
  return req.SerializeAsString();
}

// CPU time of this thread in seconds: on a shared machine, wall time measures the other load too.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Seconds(double since) { return ThreadCpuSeconds() - since; }

}  // namespace

int main(int argc, char** argv) {
  const int requests = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::vector<std::string> bodies;
  size_t bytes = 0;
  for (int r = 0; r < requests; ++r) {
    bodies.push_back(MakeRequest(r));
    bytes += bodies.back().size();
  }
  const double spans = static_cast<double>(requests) * kTracesPerRequest * kSpansPerTrace;
  backsight::traces::RedAggregator red;
  backsight::traces::ServiceGraph graph;
  backsight::traces::RedWindows windows;  // as the server: per-minute RED for the engine
  std::vector<backsight::traces::RedBucket> closed;
  double decode_s = 0, agg_s = 0;
  backsight::ingest::SpanBatch batch;
  for (const auto& body : bodies) {
    batch.Recycle();  // as the server does
    double t = ThreadCpuSeconds();
    backsight::Status st = backsight::ingest::DecodeOtlpTracesProto(body, &batch);
    decode_s += Seconds(t);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
    t = ThreadCpuSeconds();
    for (const auto& s : batch.spans) {
      red.Add(s);
      graph.Add(s);
      windows.Add(s, &closed);
    }
    closed.clear();
    agg_s += Seconds(t);
  }
  std::printf("requests %d, spans %.0f, protobuf %.1f MB (%.0f B/span)\n", requests, spans,
              bytes / 1e6, bytes / spans);
  std::printf("decode        %.2f CPU s  %.0f spans/s\n", decode_s, spans / decode_s);
  std::printf("RED+graph+win %.2f CPU s  %.0f spans/s\n", agg_s, spans / agg_s);
  std::printf("both          %.2f CPU s  %.0f spans/s (one thread)\n", decode_s + agg_s,
              spans / (decode_s + agg_s));
  std::printf(
      "RED series %zu (%zu B each + keys), edges %zu, remembered spans %zu, unpaired "
      "dropped %llu\n",
      red.series(), backsight::traces::RedAggregator::kBytesPerSeries, graph.Edges().size(),
      graph.remembered_spans(), static_cast<unsigned long long>(graph.dropped_unpaired()));
  return 0;
}
