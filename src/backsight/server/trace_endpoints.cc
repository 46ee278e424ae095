#include "backsight/server/trace_endpoints.h"

#include <nlohmann/json.hpp>

#include "backsight/ingest/otlp_traces.h"
#include "backsight/server/http_status.h"

namespace backsight::server {

namespace {
// OTLP/HTTP error body's code for a bad request (google.rpc.Code INVALID_ARGUMENT).
constexpr int kGrpcInvalidArgument = 3;
constexpr const char* kEndpoint = "otlp_traces";
// Per-minute RED series of every (service, operation) fed to the engine.
constexpr const char* kCallsSeries = "backsight_trace_calls";
constexpr const char* kErrorRatioSeries = "backsight_trace_error_ratio";
constexpr const char* kP99Series = "backsight_trace_p99_seconds";
}  // namespace

TraceEndpoints::TraceEndpoints(const ServeConfig& config, const std::unique_ptr<Engine>& engine,
                               SelfMetrics* metrics)
    : cfg_(config), engine_(engine), metrics_(metrics) {}

void TraceEndpoints::Submit(const std::vector<traces::RedBucket>& closed) {
  if (closed.empty() || !engine_) return;
  std::vector<TimeSeries> series;
  series.reserve(3 * closed.size());
  auto add = [&](const char* name, const traces::RedBucket& b, double v) {
    TimeSeries ts;
    ts.labels = {{"__name__", name}, {"service_name", b.service}, {"span_name", b.operation}};
    ts.kind = MetricKind::kGauge;
    ts.samples.push_back({b.bucket_start_ns, v});
    series.push_back(std::move(ts));
  };
  for (const auto& b : closed) {
    add(kCallsSeries, b, static_cast<double>(b.calls));
    add(kErrorRatioSeries, b, b.calls ? static_cast<double>(b.errors) / b.calls : 0.0);
    add(kP99Series, b, b.p99_seconds);
  }
  const size_t n = series.size();
  if (engine_->Submit(std::move(series)).ok()) {
    series_submitted_ += n;
  } else {
    series_dropped_ += n;  // queues full: these buckets are lost, the RED totals are not
  }
}

void TraceEndpoints::Count(int code, const Status& st) {
  metrics_->CountRequest(kEndpoint, code);
  if (code == 400 || code == 413 || code == 415) {
    metrics_->CountDecodeError(kEndpoint, ReasonName(st.reason()));
  }
}

uint64_t TraceEndpoints::spans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spans_;
}

std::vector<std::pair<std::string, std::string>> TraceEndpoints::Edges() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const traces::GraphEdge* e : graph_.Edges()) out.emplace_back(e->client, e->server);
  return out;
}

void TraceEndpoints::HandlePush(const HttpRequest& req, HttpResponse* res) {
  bool is_json = false;
  if (const Status bad = ProtobufOrJsonBody(req, &is_json); !bad.ok()) {
    SetErrorResponse(bad, std::to_string(HttpStatusFor(bad)) + ": " + bad.message() + "\n",
                     "text/plain", res);
    Count(res->status, bad);
    return;
  }
  thread_local ingest::SpanBatch batch;  // keeps its capacity across requests
  batch.Clear();
  Status st = is_json
                  ? ingest::DecodeOtlpTracesJson(req.body, &batch, cfg_.max_decompressed_bytes)
                  : ingest::DecodeOtlpTracesProto(req.body, &batch, cfg_.max_decompressed_bytes);
  if (!st.ok()) {
    if (is_json) {
      SetErrorResponse(
          st, nlohmann::json({{"code", kGrpcInvalidArgument}, {"message", st.message()}}).dump(),
          "application/json", res);
    } else {
      SetErrorResponse(st, std::to_string(HttpStatusFor(st)) + ": " + st.message() + "\n",
                       "text/plain", res);
    }
    Count(res->status, st);
    return;
  }
  thread_local std::vector<traces::RedBucket> closed;
  closed.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : batch.spans) {
      red_.Add(s);
      graph_.Add(s);
      windows_.Add(s, &closed);
    }
    spans_ += batch.spans.size();
  }
  Submit(closed);
  res->status = 200;
  if (is_json) {
    res->SetContent("{}", "application/json");
  } else {
    res->SetContent("", "application/x-protobuf");
  }
  Count(res->status, st);
}

void TraceEndpoints::Register(HttpServer* http) {
  RouteOptions inflate;  // OTLP/HTTP allows gzip (and deflate) request bodies
  inflate.inflate_encodings = {"gzip", "deflate"};
  http->Route(
      "POST", "/v1/traces",
      [this](const HttpRequest& req, HttpResponse* res) { HandlePush(req, res); }, inflate);
  http->Route("GET", "/api/v1/trace/metrics", [this](const HttpRequest&, HttpResponse* res) {
    std::string text;
    {
      std::lock_guard<std::mutex> lock(mu_);
      red_.WritePrometheus(&text);
      graph_.WritePrometheus(&text);
    }
    res->SetContent(std::move(text), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace backsight::server
