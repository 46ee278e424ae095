#include "backsight/server/trace_endpoints.h"

#include <algorithm>
#include <iterator>
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
    : cfg_(config),
      engine_(engine),
      metrics_(metrics),
      ring_(config.incidents_enabled ? config.incidents_trace_window_spans : 0),
      findings_(config, engine) {}

void TraceEndpoints::CopyRecentSpans(traces::SpanRingCopy* out) const {
  std::lock_guard<std::mutex> lock(ring_mu_);
  ring_.CopyTo(out);
}

TimestampNs TraceEndpoints::RecentSpansMinStart() const {
  std::lock_guard<std::mutex> lock(ring_mu_);
  return ring_.min_start_ns();
}

void TraceEndpoints::MirrorMetrics(SelfMetrics* m) const {
  if (ring_.capacity() == 0) return;  // fixed at construction: no lock needed
  size_t spans = 0;
  uint64_t resets = 0;
  {
    std::lock_guard<std::mutex> lock(ring_mu_);
    spans = ring_.size();
    resets = ring_.resets();
  }
  m->SetGauge("backsight_span_ring_spans",
              "Recent spans kept for the incidents' trace evidence (incidents.trace_window_spans).",
              static_cast<double>(spans));
  m->SetCounter("backsight_span_ring_resets_total",
                "Times the span ring's name table filled up and the ring was emptied.",
                static_cast<double>(resets));
}

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

int64_t TraceEndpoints::SilenceClock::Advance(int64_t batch_newest_ns) {
  constexpr int64_t kBucketNs = traces::RedWindows::kDefaultBucketNs;
  newest_start_ns = std::max(newest_start_ns, batch_newest_ns);
  if (last_flush_ns == INT64_MIN) {
    last_flush_ns = newest_start_ns;  // INT64_MIN while no span came: nothing to flush
  } else if (newest_start_ns - last_flush_ns >= kBucketNs) {
    last_flush_ns = newest_start_ns;
    return newest_start_ns - kSilentBuckets * kBucketNs;
  }
  return INT64_MIN;
}

std::string TraceEndpoints::RenderMetrics() {
  std::lock_guard<std::mutex> render_lock(render_mu_);
  {
    std::lock_guard<std::mutex> lock(red_mu_);
    red_snapshot_ = red_;
  }
  {
    std::lock_guard<std::mutex> lock(graph_mu_);
    graph_.Snapshot(&graph_snapshot_);
  }
  std::string text;
  red_snapshot_.WritePrometheus(&text);
  graph_snapshot_.WritePrometheus(&text);
  return text;
}

void TraceEndpoints::Count(int code, const Status& st) {
  metrics_->CountRequest(kEndpoint, code);
  if (code == 400 || code == 413 || code == 415) {
    metrics_->CountDecodeError(kEndpoint, ReasonName(st.reason()));
  }
}

uint64_t TraceEndpoints::spans() const { return spans_.load(std::memory_order_relaxed); }

std::vector<std::pair<std::string, std::string>> TraceEndpoints::Edges() const {
  std::lock_guard<std::mutex> lock(graph_mu_);
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
  int64_t batch_newest_ns = INT64_MIN;
  for (const auto& sp : batch.spans) batch_newest_ns = std::max(batch_newest_ns, sp.start_ns);
  // The three aggregates, each under its own lock, in whichever order finds a lock free first
  // (two requests then aggregate at once in different ones). Silent buckets are closed per
  // aggregate once per bucket width of span time (SilenceClock).
  auto run = [&](int stage) {
    switch (stage) {
      case 0:
        for (const auto& sp : batch.spans) graph_.Add(sp, &closed_edges);
        if (const int64_t before = graph_clock_.Advance(batch_newest_ns); before != INT64_MIN) {
          graph_.Flush(before, &closed_edges);
        }
        break;
      case 1:
        for (const auto& sp : batch.spans) red_.Add(sp);
        break;
      case 2:
        ring_.Add(batch.spans);
        break;
      default:
        for (const auto& sp : batch.spans) windows_.Add(sp, &closed);
        if (const int64_t before = windows_clock_.Advance(batch_newest_ns); before != INT64_MIN) {
          windows_.Flush(before, &closed);
        }
    }
  };
  // Largest stage first; the ring (stage 2) only when kept (its copy is one short lock).
  std::mutex* const locks[] = {&graph_mu_, &red_mu_, &ring_mu_, &windows_mu_};
  bool done[std::size(locks)] = {};
  size_t stages = std::size(locks);
  if (ring_.capacity() == 0) {
    done[2] = true;
    --stages;
  }
  for (size_t left = stages; left > 0;) {
    int first_busy = -1;
    bool progressed = false;
    for (int i = 0; i < static_cast<int>(std::size(locks)); ++i) {
      if (done[i]) continue;
      std::unique_lock<std::mutex> lock(*locks[i], std::try_to_lock);
      if (!lock.owns_lock()) {
        if (first_busy < 0) first_busy = i;
        continue;
      }
      run(i);
      done[i] = progressed = true;
      --left;
    }
    if (!progressed && first_busy >= 0) {  // every remaining lock busy: wait for the first
      std::lock_guard<std::mutex> lock(*locks[first_busy]);
      run(first_busy);
      done[first_busy] = true;
      --left;
    }
  }
  spans_.fetch_add(batch.spans.size(), std::memory_order_relaxed);
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
    res->SetContent(RenderMetrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace backsight::server
