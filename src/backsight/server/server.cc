// `backsight serve` lifecycle: construction, Start (store, HTTP listener, engine, background
// loops), Stop, the checkpoint timer and the route table. The handlers live by concern in
// ingest_endpoints.cc, query_api.cc and self_metrics.cc; durability in durability.cc.
#include "backsight/server/server.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "backsight/server/http_status.h"
#include "backsight/server/metric_model.h"

namespace backsight::server {
namespace {

// HTTP io threads: they only move bytes and parse headers; two keep one busy core from
// delaying the other connections.
constexpr int kHttpIoThreads = 2;
// Lower bound on the HTTP worker pool (decode + submit, JSON API, /metrics with outputs):
// at least this many, else one per core.
constexpr int kMinHttpPoolThreads = 4;

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

}  // namespace

Server::Server(ServeConfig config) : cfg_(std::move(config)) {}

Server::~Server() {
  Stop();
  // After a failed Start, Stop does nothing: stop the incident thread here, before the trace
  // endpoints it polls for the service graph are destroyed.
  if (incidents_) incidents_->Stop();
}

Status Server::Start() {
  BACKSIGHT_RETURN_IF_ERROR(ValidateConfig(cfg_));
  std::string host;
  int port = 0;
  BACKSIGHT_RETURN_IF_ERROR(SplitHostPort(cfg_.listen, &host, &port));
  if (!cfg_.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cfg_.state_dir, ec);
    if (ec) {
      return Status::IoError("state_dir '" + cfg_.state_dir + "': cannot create: " + ec.message());
    }
    BACKSIGHT_RETURN_IF_ERROR(OpenStore());
  }

  HttpServerOptions ho;
  ho.io_threads = kHttpIoThreads;
  ho.pool_threads =
      std::max(kMinHttpPoolThreads, static_cast<int>(std::thread::hardware_concurrency()));
  ho.max_connections = cfg_.max_connections;
  ho.max_body_bytes = cfg_.max_body_bytes;
  ho.max_decompressed_bytes = cfg_.max_decompressed_bytes;
  ho.max_inflight_body_bytes = cfg_.max_inflight_body_bytes;
  ho.header_timeout_ms = cfg_.header_timeout_ms;
  ho.idle_timeout_ms = cfg_.idle_timeout_ms;
  ho.body_timeout_ms = cfg_.body_timeout_ms;
  RaiseFileLimit();
  http_ = std::make_unique<HttpServer>(ho);
  logs_ = std::make_unique<LogEndpoints>(cfg_, engine_, &self_metrics_);
  traces_ = std::make_unique<TraceEndpoints>(cfg_, engine_, &self_metrics_);
  if (cfg_.incidents_enabled) {
    incidents_ = std::make_unique<IncidentService>(cfg_, store_.get());
    BACKSIGHT_RETURN_IF_ERROR(incidents_->Restore());
    logs_->SetEventForward([this](const logs::LogAnomalyEvent& e) { incidents_->OnLogEvent(e); });
    logs_->SetSecurityForward([this](const security::Finding& f, const std::string& service) {
      incidents_->OnSecurityFinding(f, service);
    });
    traces_->findings().SetForward(
        [this](const traces::Finding& f) { incidents_->OnTraceFinding(f); });
  }
  exhaustion_ = std::make_unique<ExhaustionService>(cfg_);
  capacity_ = std::make_unique<CapacityService>(cfg_);
  if (store_) BACKSIGHT_RETURN_IF_ERROR(RestoreCapacity());
  exhaustion_->Restore();
  sinks_ = {exhaustion_.get(), capacity_.get()};  // live and replayed samples, in this order
  SetupRoutes();
  Status bs = http_->Bind(host, port);
  if (!bs.ok()) {
    http_.reset();
    return Status::IoError("listen " + cfg_.listen + ": cannot bind: " + bs.message());
  }
  port_ = http_->port();
  if (cfg_.external_url.empty()) {
    cfg_.external_url = "http://" +
                        (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                        std::to_string(port_);
  }

  AlertOptions ao;
  ao.alertmanager_url = ItemAlertsOn(cfg_) ? cfg_.alertmanager_url : "";
  ao.for_ms = cfg_.alert_for_ms;
  ao.resend_ms = cfg_.alert_resend_ms;
  ao.generator_base_url = cfg_.external_url;
  tracker_ = std::make_unique<EpisodeTracker>(ao, store_.get());
  if (incidents_) {
    tracker_->SetForward([this](const EpisodeChange& c) { incidents_->OnEpisodeChange(c); });
    SpanSource spans;
    SpanFloorSource spans_floor;
    if (cfg_.incidents_trace_window_spans > 0) {
      spans = [this](traces::SpanRingCopy* out) { traces_->CopyRecentSpans(out); };
      spans_floor = [this] { return traces_->RecentSpansMinStart(); };
    }
    // The graph learned from traces, plus the edges the config gives (incidents.service_graph).
    incidents_->Start(
        [this] {
          auto edges = traces_->Edges();
          edges.insert(edges.end(), cfg_.incidents_service_graph.begin(),
                       cfg_.incidents_service_graph.end());
          return edges;
        },
        std::move(spans), std::move(spans_floor));
  }
  EngineOptions eo;
  eo.workers = cfg_.workers > 0
                   ? cfg_.workers
                   : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  eo.max_series = cfg_.max_series;
  eo.queue_max_samples = cfg_.queue_max_samples;
  eo.stale_after_ms = cfg_.series_stale_after_ms;
  eo.model_factory = MakeMetricModelFactory(cfg_.counters_as_rates);
  engine_ = std::make_unique<Engine>(eo, tracker_.get());
  engine_->SetWal(wal_.get());
  // Every accepted or replayed batch (the ingest endpoints', and the server's own series from
  // traces, logs and postgres) reaches the sample sinks through this one hook.
  engine_->SetSampleObserver([this](const std::vector<TimeSeries>& series) {
    for (SampleSink* sink : sinks_) sink->Observe(series);
  });
  if (store_) BACKSIGHT_RETURN_IF_ERROR(RestoreStates());
  tracker_->Start();
  engine_->Start();
  WarmStartOptions wo;
  if (!cfg_.history_url.empty()) {
    history_ = std::make_unique<PrometheusHistoryClient>(cfg_.history_url, cfg_.history_timeout_ms);
    wo.lookback_ms = cfg_.history_lookback_ms;
    wo.concurrency = cfg_.history_concurrency;
    wo.default_step_ms = cfg_.history_step_ms;
    wo.known_reset_ms = cfg_.series_stale_after_ms;
    // The sample sinks' warm starts before the replay: a series the replay creates (new since the
    // last checkpoint) fetches its history as it did live, so its advice and prediction are the
    // ones of a run never killed. (The engine's replay does not go through warm_: such a series'
    // detector starts cold, see README.)
    exhaustion_->EnableWarmStart(wo, history_.get());
    if (wal_) {
      // Held samples' log segments stay until the tracker has them (kill -9 during a fetch).
      Engine* engine = engine_.get();
      exhaustion_->SetHeldLog(
          [engine](uint64_t* segment) { return engine->KeepObservedSegment(segment); },
          [engine](uint64_t segment) { engine->ReleaseObservedSegment(segment); });
    }
    if (cfg_.history_capacity) capacity_->EnableWarmStart(history_.get(), cfg_.history_lookback_ms);
  }
  if (wal_) BACKSIGHT_RETURN_IF_ERROR(ReplayWal());
  if (incidents_) incidents_->SetLive();  // after the replay: its episodes are already stored
  if (history_) {
    warm_ = std::make_unique<WarmStart>(wo, engine_.get(), history_.get());
    warm_->Start();
  }
  BACKSIGHT_RETURN_IF_ERROR(logs_->Open());
  BACKSIGHT_RETURN_IF_ERROR(traces_->findings().Open());
  traces_->findings().Start();
  exhaustion_->Start(cfg_.external_url);
  stopping_ = false;
  BACKSIGHT_RETURN_IF_ERROR(http_->Start());  // serve once the engine runs
  if (store_) checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
  if (!cfg_.scrape_jobs.empty()) scrape_thread_ = std::thread([this] { ScrapeLoop(); });
  if (!cfg_.output_remote_write_url.empty()) {
    push_thread_ = std::thread([this] { OutputPushLoop(); });
  }
  if (!cfg_.postgres.empty()) {
    pg_watch_ = std::make_unique<PgWatch>(cfg_, engine_.get());
    if (incidents_) {
      pg_watch_->SetForward([this](const std::string& database, const db::WatchFinding& f) {
        incidents_->OnDbRegression(database, f);
      });
    }
    pg_watch_->Start();
  }
  started_ = true;
  return Status::OK();
}

void Server::Stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
    stop_cv_.notify_all();
  }
  if (http_) http_->Stop();
  if (scrape_thread_.joinable()) scrape_thread_.join();
  if (push_thread_.joinable()) push_thread_.join();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  if (pg_watch_) pg_watch_->Stop();
  if (warm_) warm_->Stop();  // queues the live samples still held, cold
  traces_->findings().Stop();
  engine_->Stop();  // drains the queues
  if (store_) {
    // The last checkpoint. On failure a restart resumes from the previous one (plus the
    // write-ahead log when enabled); say so on stderr. CheckpointNow counted the failure in
    // backsight_checkpoint_errors_total.
    Status st = CheckpointNow();
    if (!st.ok()) {
      std::fprintf(stderr,
                   "backsight: checkpoint at shutdown failed: %s (a restart resumes from the "
                   "previous checkpoint%s)\n",
                   st.ToString().c_str(), wal_ ? " and replays the write-ahead log" : "");
    }
  }
  tracker_->Stop();                    // flushes events
  if (incidents_) incidents_->Stop();  // after the tracker: its last changes are applied
  logs_->Stop();
  exhaustion_->Stop();
  capacity_->Stop();
}

Status Server::CheckpointNow(bool periodic) {
  if (!store_) return Status::Unavailable(Reason::kNotConfigured, "no state_dir configured");
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  auto t0 = std::chrono::steady_clock::now();
  // The sample sinks are saved before the engine deletes the log segments they were fed from.
  // With a log, every capacity series with a new sample is saved (its samples are in no segment
  // after this); without one, a periodic checkpoint saves only those that closed a bucket.
  const bool all_capacity = !periodic || wal_ != nullptr;
  Status st = engine_->Checkpoint(store_.get(), [&] {
    Status ss = exhaustion_->Checkpoint();
    if (ss.ok()) ss = capacity_->Checkpoint(store_.get(), all_capacity);
    return ss;
  });
  if (st.ok()) st = logs_->Checkpoint();
  if (st.ok()) st = traces_->findings().Checkpoint();
  checkpoint_last_ms_ = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  if (st.ok())
    ++checkpoints_;
  else
    ++checkpoint_errors_;
  return st;
}

void Server::CheckpointLoop() {
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::milliseconds(cfg_.checkpoint_interval_ms));
    if (stopping_) break;
    lock.unlock();
    Status st = CheckpointNow(/*periodic=*/true);
    if (!st.ok()) std::fprintf(stderr, "backsight: checkpoint failed: %s\n", st.ToString().c_str());
    lock.lock();
  }
}

void Server::SetupRoutes() {
  HttpServer& s = *http_;
  s.SetPreRoute([this](const HttpRequest& req, HttpResponse* res) {
    if (cfg_.bearer_token.empty()) return false;
    const std::string auth = req.header("Authorization");
    if (auth.rfind("Bearer ", 0) == 0 &&
        ConstantTimeEquals(std::string_view(auth).substr(7), cfg_.bearer_token)) {
      return false;
    }
    res->status = 401;
    res->SetHeader("WWW-Authenticate", "Bearer realm=\"backsight\"");
    res->SetContent(
        "401 unauthorized: a valid 'Authorization: Bearer <token>' header is required\n",
        "text/plain");
    CountRequest(req.path, 401);
    return true;
  });
  // The server's own refusals (limits, encodings) on the ingest endpoints are counted like the
  // handlers' answers.
  s.SetObserver([this](const HttpRequest& req, const HttpResponse& res) {
    const char* ep = req.path == "/v1/metrics"     ? "otlp"
                     : req.path == "/api/v1/write" ? "remote_write"
                                                   : nullptr;
    if (!ep) return;
    if (res.status == 400 || res.status == 413 || res.status == 415) {
      CountDecodeError(ep, ReasonName(res.reason));
    }
    CountRequest(ep, res.status);
  });

  logs_->Register(&s);
  traces_->Register(&s);
  if (incidents_) incidents_->Register(&s);
  // One Route() call per endpoint; handlers run on the worker pool unless said otherwise.
  RouteOptions snappy;  // remote_write framing, decoded by the handler
  snappy.passthrough_encodings = {"snappy"};
  RouteOptions inflate;  // OTLP/HTTP allows gzip (and deflate) request bodies
  inflate.inflate_encodings = {"gzip", "deflate"};
  RouteOptions health_only_inline;  // /metrics?outputs=false is cheap: answer on the io thread
  health_only_inline.inline_if = [](const HttpRequest& req) {
    return req.param("outputs") == "false";
  };
  RouteOptions inline_opts;
  inline_opts.dispatch = Dispatch::kInline;

  s.Route(
      "POST", "/api/v1/write",
      [this](const HttpRequest& req, HttpResponse* res) { HandleRemoteWrite(req, res); }, snappy);
  s.Route(
      "POST", "/v1/metrics",
      [this](const HttpRequest& req, HttpResponse* res) { HandleOtlpMetrics(req, res); }, inflate);
  s.Route(
      "GET", "/metrics",
      [this](const HttpRequest& req, HttpResponse* res) { HandleMetrics(req, res); },
      health_only_inline);
  s.Route("GET", "/api/v1/anomalies",
          [this](const HttpRequest& req, HttpResponse* res) { HandleAnomalies(req, res); });
  s.Route("GET", "/api/v1/series/state",
          [this](const HttpRequest& req, HttpResponse* res) { HandleSeriesState(req, res); });
  s.Route("GET", "/api/v1/series",
          [this](const HttpRequest& req, HttpResponse* res) { HandleSeriesList(req, res); });
  s.Route("POST", "/api/v1/checkpoint",
          [this](const HttpRequest& req, HttpResponse* res) { HandleCheckpoint(req, res); });
  s.Route("GET", "/api/v1/capacity", [this](const HttpRequest&, HttpResponse* res) {
    res->SetContent(capacity_->ApiJson(), "application/json");
  });
  s.Route("GET", "/api/v1/status",
          [this](const HttpRequest& req, HttpResponse* res) { HandleStatus(req, res); });
  s.Route(
      "GET", "/-/healthy",
      [](const HttpRequest&, HttpResponse* res) {
        res->SetContent("Backsight is Healthy.\n", "text/plain");
      },
      inline_opts);
  s.Route(
      "GET", "/-/ready",
      [](const HttpRequest&, HttpResponse* res) {
        res->SetContent("Backsight is Ready.\n", "text/plain");
      },
      inline_opts);
}

}  // namespace backsight::server
