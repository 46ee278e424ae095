#include "backsight/server/trace_endpoints.h"

#include <algorithm>
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
// Per-minute series of every service graph edge (labels client, server) fed to the engine.
constexpr const char* kEdgeRequestsSeries = "backsight_trace_edge_requests";
constexpr const char* kEdgeFailedRatioSeries = "backsight_trace_edge_failed_ratio";
constexpr const char* kEdgeP90Series = "backsight_trace_edge_p90_seconds";
// An operation's or edge's open bucket is closed once spans this many buckets later arrive for
// anything else (two: a bucket's spans arrive within a bucket of its end, batching included).
constexpr int64_t kSilentBuckets = 2;
}  // namespace

TraceEndpoints::TraceEndpoints(const ServeConfig& config, const std::unique_ptr<Engine>& engine,
                               SelfMetrics* metrics)
    : cfg_(config), engine_(engine), metrics_(metrics), findings_(config, engine) {}

void TraceEndpoints::Submit(const std::vector<traces::RedBucket>& closed,
                            const std::vector<traces::EdgeBucket>& closed_edges) {
  if ((closed.empty() && closed_edges.empty()) || !engine_) return;
  std::vector<TimeSeries> series;
  series.reserve(3 * (closed.size() + closed_edges.size()));
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
  auto add_edge = [&](const char* name, const traces::EdgeBucket& b, double v) {
    TimeSeries ts;
    ts.labels = {{"__name__", name}, {"client", b.client}, {"server", b.server}};
    ts.kind = MetricKind::kGauge;
    ts.samples.push_back({b.bucket_start_ns, v});
    series.push_back(std::move(ts));
  };
  for (const auto& b : closed_edges) {
    add_edge(kEdgeRequestsSeries, b, static_cast<double>(b.requests));
    add_edge(kEdgeFailedRatioSeries, b,
             b.requests ? static_cast<double>(b.failed) / b.requests : 0.0);
    add_edge(kEdgeP90Series, b, b.p90_seconds);
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
  thread_local ingest::SpanBatch batch;  // reuses its spans' memory across requests
  batch.Recycle();
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
  thread_local std::vector<traces::EdgeBucket> closed_edges;
  closed.clear();
  closed_edges.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : batch.spans) {
      red_.Add(s);
      graph_.Add(s, &closed_edges);
      windows_.Add(s, &closed);
      newest_start_ns_ = std::max(newest_start_ns_, s.start_ns);
    }
    spans_ += batch.spans.size();
    // Buckets of operations and edges silent for kSilentBuckets buckets of span time are closed
    // (and the operations' open entries freed for new ones), checked once per bucket width.
    constexpr int64_t kBucketNs = traces::RedWindows::kDefaultBucketNs;
    if (last_flush_ns_ == INT64_MIN) {
      last_flush_ns_ = newest_start_ns_;  // INT64_MIN while no span came: nothing to flush
    } else if (newest_start_ns_ - last_flush_ns_ >= kBucketNs) {
      last_flush_ns_ = newest_start_ns_;
      const int64_t before = newest_start_ns_ - kSilentBuckets * kBucketNs;
      windows_.Flush(before, &closed);
      graph_.Flush(before, &closed_edges);
    }
  }
  Submit(closed, closed_edges);
  findings_.Add(batch);
  res->status = 200;
  if (is_json) {
    res->SetContent("{}", "application/json");
  } else {
    res->SetContent("", "application/x-protobuf");
  }
  Count(res->status, st);
}

void TraceEndpoints::Register(HttpServer* http) {
  findings_.Register(http);
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
