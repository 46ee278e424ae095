// Protobuf decode kernels of the OTLP/HTTP endpoints, one thread, warm (the thread's kept arena
// block and, for traces, the batch's recycled spans reused as the server does):
//   BM_DecodeOtlpTraces   a fixed 1000-span ExportTraceServiceRequest (100 traces of 10 spans, 5
//                         services, an http.route attribute per span) into a SpanBatch;
//   BM_DecodeOtlpMetrics  1000 gauge points (100 metrics x 10 series, 2 attributes each);
//   BM_DecodeOtlpLogs     1000 log records (5 services, severity text, a 60-byte body).
// items/s = spans, points or records per second.
//   build/bench/micro/otlp_decode_bench [--benchmark_filter=...] [--benchmark_repetitions=N]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backsight/ingest/log_batch.h"
#include "backsight/ingest/otlp_logs.h"
#include "backsight/ingest/otlp_metrics.h"
#include "backsight/ingest/otlp_traces.h"
#include "backsight/ingest/proto/logs.pb.h"
#include "backsight/ingest/proto/metrics.pb.h"
#include "backsight/ingest/proto/trace.pb.h"

namespace backsight::ingest {
namespace {

namespace tv1 = opentelemetry::proto::trace::v1;
namespace mv1 = opentelemetry::proto::metrics::v1;
namespace lv1 = opentelemetry::proto::logs::v1;

constexpr int kItems = 1000;  // spans, points or records per request
constexpr int kServices = 5;
constexpr uint64_t kT0 = 1700000000000000000ULL;

std::string Id(uint64_t v, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n && i < 8; ++i) s[n - 1 - i] = static_cast<char>((v >> (8 * i)) & 255);
  s[0] = 1;
  return s;
}

void SetService(opentelemetry::proto::resource::v1::Resource* r, int s) {
  auto* a = r->add_attributes();
  a->set_key("service.name");
  a->mutable_value()->set_string_value("service-" + std::to_string(s));
}

std::string TracesBody() {
  constexpr int kSpansPerTrace = 10;
  tv1::ExportTraceServiceRequest req;
  std::vector<tv1::ScopeSpans*> scopes;
  for (int s = 0; s < kServices; ++s) {
    auto* rs = req.add_resource_spans();
    SetService(rs->mutable_resource(), s);
    scopes.push_back(rs->add_scope_spans());
  }
  for (int t = 0; t < kItems / kSpansPerTrace; ++t) {
    for (int k = 0; k < kSpansPerTrace; ++k) {
      auto* sp = scopes[k % kServices]->add_spans();
      sp->set_trace_id(Id(t + 1, 16));
      sp->set_span_id(Id(t * 16 + k + 1, 8));
      if (k > 0) sp->set_parent_span_id(Id(t * 16 + (k - 1) / 2 + 1, 8));
      sp->set_name("op-" + std::to_string(k * 2 + t % 2));
      sp->set_kind(k % 2 ? 3 : 2);
      sp->set_start_time_unix_nano(kT0 + t * 1000000 + k * 1000);
      sp->set_end_time_unix_nano(kT0 + t * 1000000 + k * 1000 + 100000);
      auto* kv = sp->add_attributes();
      kv->set_key("http.route");
      kv->mutable_value()->set_string_value("/api/v1/items/{id}");
    }
  }
  return req.SerializeAsString();
}

std::string MetricsBody() {
  constexpr int kSeriesPerMetric = 10;
  mv1::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  SetService(rm->mutable_resource(), 0);
  auto* sm = rm->add_scope_metrics();
  for (int m = 0; m < kItems / kSeriesPerMetric; ++m) {
    auto* metric = sm->add_metrics();
    metric->set_name("app_metric_" + std::to_string(m));
    for (int s = 0; s < kSeriesPerMetric; ++s) {
      auto* p = metric->mutable_gauge()->add_data_points();
      p->set_time_unix_nano(kT0);
      p->set_as_double(m * 0.5 + s);
      auto* a = p->add_attributes();
      a->set_key("instance");
      a->mutable_value()->set_string_value("host-" + std::to_string(s));
      a = p->add_attributes();
      a->set_key("job");
      a->mutable_value()->set_string_value("app");
    }
  }
  return req.SerializeAsString();
}

std::string LogsBody() {
  lv1::ExportLogsServiceRequest req;
  for (int s = 0; s < kServices; ++s) {
    auto* rl = req.add_resource_logs();
    SetService(rl->mutable_resource(), s);
    auto* sl = rl->add_scope_logs();
    for (int i = 0; i < kItems / kServices; ++i) {
      auto* r = sl->add_log_records();
      r->set_time_unix_nano(kT0 + i * 1000000);
      r->set_severity_text(i % 10 ? "INFO" : "ERROR");
      r->mutable_body()->set_string_value("request " + std::to_string(i) +
                                          " served in 12 ms for user 4711 from 10.0.0.7 ok");
    }
  }
  return req.SerializeAsString();
}

void BM_DecodeOtlpTraces(benchmark::State& state) {
  const std::string body = TracesBody();
  SpanBatch batch;
  for (auto _ : state) {
    batch.Recycle();  // as the server does
    if (!DecodeOtlpTracesProto(body, &batch).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(batch.spans.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_DecodeOtlpTraces);

void BM_DecodeOtlpMetrics(benchmark::State& state) {
  const std::string body = MetricsBody();
  std::vector<TimeSeries> out;
  for (auto _ : state) {
    if (!DecodeOtlpMetricsProto(body, &out).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_DecodeOtlpMetrics);

void BM_DecodeOtlpLogs(benchmark::State& state) {
  const std::string body = LogsBody();
  LogBatch out;
  for (auto _ : state) {
    if (!DecodeOtlpLogsProto(body, &out).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out.streams.data());
  }
  state.SetItemsProcessed(state.iterations() * kItems);
}
BENCHMARK(BM_DecodeOtlpLogs);

}  // namespace
}  // namespace backsight::ingest

BENCHMARK_MAIN();
