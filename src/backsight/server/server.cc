#include "backsight/server/server.h"

#include <httplib.h>  // clients: scrape targets, output remote_write

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "backsight/ingest/exposition.h"
#include "backsight/ingest/otlp_metrics.h"
#include "backsight/ingest/remote_write.h"
#include "backsight/server/http_status.h"
#include "backsight/server/metrics_writer.h"

namespace backsight::server {
namespace {

// google.rpc.Code INVALID_ARGUMENT: the code of the Status message an OTLP/HTTP JSON error carries.
constexpr int kGrpcInvalidArgument = 3;
// HTTP io threads: they only move bytes and parse headers; two keep one busy core from
// delaying the other connections.
constexpr int kHttpIoThreads = 2;
// Lower bound on the HTTP worker pool (decode + submit, JSON API, /metrics with outputs):
// at least this many, else one per core.
constexpr int kMinHttpPoolThreads = 4;

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

nlohmann::json JsonNum(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json LabelsJson(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& l : labels) j[l.name] = l.value;
  return j;
}

std::string JsonDump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Answers 400 with {"error": msg}.
void BadRequest(HttpResponse* res, const std::string& msg) {
  SetErrorResponse(Status::InvalidArgument(msg), JsonDump({{"error", msg}}), "application/json",
                   res);
}

// Reads ?limit= (1..max) into *limit when present. On a bad value answers 400 and returns false.
bool LimitParam(const HttpRequest& req, unsigned long long max, size_t* limit, HttpResponse* res) {
  if (!req.has_param("limit")) return true;
  const std::string v = req.param("limit");
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n == 0 || n > max) {
    BadRequest(res, "limit must be 1.." + std::to_string(max) + ", got '" + v + "'");
    return false;
  }
  *limit = n;
  return true;
}

// Reads ?fingerprint= (1-16 hex digits) into *fp. On a bad value answers 400 and returns false.
bool FingerprintParam(const HttpRequest& req, uint64_t* fp, HttpResponse* res) {
  const std::string v = req.param("fingerprint");
  char* end = nullptr;
  *fp = std::strtoull(v.c_str(), &end, 16);
  if (v.empty() || v.size() > 16 || *end != '\0') {
    BadRequest(res, "fingerprint must be 1-16 hex digits");
    return false;
  }
  return true;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

void Counter(std::string* out, const char* name, const char* help, double v) {
  AppendMetric(out, name, "counter", help, v);
}

void Gauge(std::string* out, const char* name, const char* help, double v) {
  AppendMetric(out, name, "gauge", help, v);
}

}  // namespace

Server::Server(ServeConfig config) : cfg_(std::move(config)) {}

Server::~Server() { Stop(); }

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
  logs_ = std::make_unique<LogEndpoints>(cfg_, engine_);
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
  ao.alertmanager_url = cfg_.alertmanager_url;
  ao.for_ms = cfg_.alert_for_ms;
  ao.resend_ms = cfg_.alert_resend_ms;
  ao.generator_base_url = cfg_.external_url;
  tracker_ = std::make_unique<EpisodeTracker>(ao, store_.get());
  EngineOptions eo;
  eo.workers = cfg_.workers > 0
                   ? cfg_.workers
                   : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  eo.max_series = cfg_.max_series;
  eo.queue_max_samples = cfg_.queue_max_samples;
  eo.stale_after_ms = cfg_.series_stale_after_ms;
  eo.counters_as_rates = cfg_.counters_as_rates;
  engine_ = std::make_unique<Engine>(eo, tracker_.get());
  engine_->SetWal(wal_.get());
  if (store_) BACKSIGHT_RETURN_IF_ERROR(RestoreStates());
  tracker_->Start();
  engine_->Start();
  if (wal_) BACKSIGHT_RETURN_IF_ERROR(ReplayWal());
  BACKSIGHT_RETURN_IF_ERROR(logs_->Open());
  stopping_ = false;
  BACKSIGHT_RETURN_IF_ERROR(http_->Start());  // serve once the engine runs
  if (store_) checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
  if (!cfg_.scrape_jobs.empty()) scrape_thread_ = std::thread([this] { ScrapeLoop(); });
  if (!cfg_.output_remote_write_url.empty()) {
    push_thread_ = std::thread([this] { OutputPushLoop(); });
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
  tracker_->Stop();  // flushes events
  logs_->Stop();
}

Status Server::CheckpointNow() {
  if (!store_) return Status::Unavailable(Reason::kNotConfigured, "no state_dir configured");
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  auto t0 = std::chrono::steady_clock::now();
  Status st = engine_->Checkpoint(store_.get());
  if (st.ok()) st = logs_->Checkpoint();
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
    Status st = CheckpointNow();
    if (!st.ok()) std::fprintf(stderr, "backsight: checkpoint failed: %s\n", st.ToString().c_str());
    lock.lock();
  }
}

void Server::CountDecodeError(const std::string& endpoint, const std::string& reason) {
  std::lock_guard<std::mutex> lock(counters_mu_);
  ++decode_errors_[{endpoint, reason}];
}

void Server::CountRequest(const std::string& endpoint, int code) {
  std::lock_guard<std::mutex> lock(counters_mu_);
  ++requests_[{endpoint, code}];
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
      [this](const HttpRequest& req, HttpResponse* res) {
        // Content-Encoding is "" or snappy here (others got 415 from the server); snappy is the
        // remote_write framing, undone by the decoder.
        // Reused per pool thread: the decoder keeps its strings' and vectors' capacity.
        thread_local std::vector<TimeSeries> series;
        Status st = ingest::DecodeRemoteWrite(req.body, &series, cfg_.max_decompressed_bytes);
        if (!st.ok()) {
          CountDecodeError("remote_write", ReasonName(st.reason()));
          SetErrorResponse(st,
                           std::to_string(HttpStatusFor(st)) +
                               " bad remote_write payload: " + st.message() + "\n",
                           "text/plain", res);
          CountRequest("remote_write", res->status);
          return;
        }
        st = engine_->SubmitView(series);
        if (!st.ok()) {
          SetErrorResponse(st, std::to_string(HttpStatusFor(st)) + ": " + st.message() + "\n",
                           "text/plain", res);
        } else {
          res->status = 204;
        }
        CountRequest("remote_write", res->status);
      },
      snappy);

  s.Route(
      "POST", "/v1/metrics",
      [this](const HttpRequest& req, HttpResponse* res) {
        std::string ct = req.header("Content-Type");
        ct = ct.substr(0, ct.find(';'));
        const bool json = ct == "application/json";
        if (!json && ct != "application/x-protobuf") {
          const Status bad = Status::InvalidArgument(
              Reason::kUnsupportedMediaType,
              "Content-Type must be application/x-protobuf or application/json");
          CountDecodeError("otlp", ReasonName(bad.reason()));
          SetErrorResponse(bad, std::to_string(HttpStatusFor(bad)) + ": " + bad.message() + "\n",
                           "text/plain", res);
          CountRequest("otlp", res->status);
          return;
        }
        std::vector<TimeSeries> series;
        Status st =
            json ? ingest::DecodeOtlpMetricsJson(req.body, &series, cfg_.max_decompressed_bytes)
                 : ingest::DecodeOtlpMetricsProto(req.body, &series, cfg_.max_decompressed_bytes);
        if (!st.ok()) {
          CountDecodeError("otlp", ReasonName(st.reason()));
          // OTLP/HTTP: a Status message is expected; plain text is accepted by clients as message.
          if (json) {
            SetErrorResponse(st,
                             JsonDump({{"code", kGrpcInvalidArgument}, {"message", st.message()}}),
                             "application/json", res);
          } else {
            SetErrorResponse(
                st, std::to_string(HttpStatusFor(st)) + " bad OTLP payload: " + st.message() + "\n",
                "text/plain", res);
          }
          CountRequest("otlp", res->status);
          return;
        }
        st = engine_->Submit(std::move(series));
        if (!st.ok()) {
          SetErrorResponse(st, std::to_string(HttpStatusFor(st)) + ": " + st.message() + "\n",
                           "text/plain", res);
        } else {
          res->status = 200;
          if (json)
            res->SetContent("{}", "application/json");
          else
            res->SetContent("", "application/x-protobuf");
        }
        CountRequest("otlp", res->status);
      },
      inflate);

  s.Route(
      "GET", "/metrics",
      [this](const HttpRequest& req, HttpResponse* res) {
        // ?outputs=false: health only (cheap with 1M series, whose outputs are 4M lines).
        const bool outputs = req.param("outputs") != "false";
        res->SetContent(RenderMetrics(outputs), "text/plain; version=0.0.4; charset=utf-8");
      },
      health_only_inline);

  s.Route("GET", "/api/v1/anomalies", [this](const HttpRequest& req, HttpResponse* res) {
    size_t limit = 100;
    uint64_t fp = 0;
    if (!LimitParam(req, 10000, &limit, res)) return;
    if (req.has_param("fingerprint")) {
      if (!FingerprintParam(req, &fp, res)) return;
    }
    std::vector<store::AnomalyEvent> events;
    if (store_) {
      Status st = store_->RecentEvents(limit, fp, &events);
      if (!st.ok()) {
        SetErrorResponse(st, JsonDump({{"error", st.ToString()}}), "application/json", res);
        return;
      }
    } else {
      events = tracker_->Recent(limit, fp);
    }
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : events) {
      arr.push_back({{"series", LabelsJson(e.labels)},
                     {"fingerprint", Hex(e.fp)},
                     {"start", FormatRfc3339(e.start_ns)},
                     {"end", e.end_ns ? nlohmann::json(FormatRfc3339(e.end_ns)) : nullptr},
                     {"peak_score", JsonNum(e.peak_score)}});
    }
    if (fp == 0) logs_->MergeAnomalies(limit, &arr);
    res->SetContent(JsonDump({{"events", arr}}), "application/json");
  });

  s.Route("GET", "/api/v1/series/state", [this](const HttpRequest& req, HttpResponse* res) {
    uint64_t fp = 0;
    if (req.has_param("fingerprint")) {
      if (!FingerprintParam(req, &fp, res)) return;
    } else {
      Labels labels;
      for (const auto& [k, v] : req.params) labels.push_back({k, v});
      if (labels.empty()) {
        BadRequest(res,
                   "give ?fingerprint=HEX or the full label set as parameters, "
                   "e.g. ?__name__=up&job=node");
        return;
      }
      SortLabels(&labels);
      fp = Fingerprint(labels);
    }
    SeriesSnapshot s;
    if (!engine_->GetSeries(fp, &s)) {
      const Status missing = Status::NotFound("no active series with fingerprint " + Hex(fp));
      SetErrorResponse(missing, JsonDump({{"error", missing.message()}}), "application/json", res);
      return;
    }
    nlohmann::json j = {
        {"series", LabelsJson(s.labels_copy)}, {"fingerprint", Hex(s.fp)},
        {"counter_as_rate", s.is_counter},     {"samples_accepted", s.accepted},
        {"samples_rejected", s.rejected},      {"has_result", s.has_result},
        {"in_anomaly", s.in_episode},          {"warmup_samples_remaining", s.warmup_remaining}};
    if (s.has_result) {
      j["last_timestamp"] = FormatRfc3339(s.last_ts);
      j["last_timestamp_ns"] = s.last_ts;
      j["value"] = JsonNum(s.last_value);
      j["anomaly_score"] = JsonNum(s.result.anomaly_score);
      j["yhat"] = JsonNum(s.result.yhat);
      j["yhat_lower"] = JsonNum(s.result.yhat_lower);
      j["yhat_upper"] = JsonNum(s.result.yhat_upper);
      j["is_anomaly"] = s.result.is_anomaly;
      j["warming_up"] = s.result.warming_up;
    }
    if (s.in_episode) {
      j["anomaly_start"] = FormatRfc3339(s.episode_start_ts);
      j["anomaly_peak_score"] = JsonNum(s.episode_peak);
    }
    res->SetContent(JsonDump(j), "application/json");
  });

  s.Route("GET", "/api/v1/series", [this](const HttpRequest& req, HttpResponse* res) {
    const std::string metric = req.param("metric");
    size_t limit = 1000;
    if (!LimitParam(req, 100000, &limit, res)) return;
    nlohmann::json arr = nlohmann::json::array();
    uint64_t matched = 0;
    engine_->ForEachSeries([&](const SeriesSnapshot& s) {
      if (!metric.empty() && GetLabel(*s.labels, "__name__") != metric) return;
      ++matched;
      if (arr.size() < limit) {
        arr.push_back({{"series", LabelsJson(*s.labels)}, {"fingerprint", Hex(s.fp)}});
      }
    });
    res->SetContent(JsonDump({{"series", arr}, {"matched", matched}}), "application/json");
  });

  s.Route("POST", "/api/v1/checkpoint", [this](const HttpRequest&, HttpResponse* res) {
    Status st = CheckpointNow();
    if (!st.ok()) {
      SetErrorResponse(st, JsonDump({{"error", st.ToString()}}), "application/json", res);
      return;
    }
    res->SetContent(JsonDump({{"status", "ok"}}), "application/json");
  });
  s.Route("GET", "/api/v1/status", [this](const HttpRequest&, HttpResponse* res) {
    res->SetContent(JsonDump(StatusJson()), "application/json");
  });
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

std::string Server::RenderMetrics(bool with_outputs) {
  std::string out;
  const EngineStats es = engine_->stats();
  const AlertStats as = tracker_->stats();
  Counter(&out, "backsight_samples_ingested_total", "Samples accepted into the engine queues.",
          es.samples_ingested);
  Counter(&out, "backsight_samples_processed_total", "Samples scored by a detector.",
          es.samples_processed);
  Counter(&out, "backsight_samples_rejected_total",
          "Samples refused by their detector (NaN/Inf, duplicate or out-of-order timestamp).",
          es.samples_rejected);
  Counter(&out, "backsight_samples_refused_total",
          "Samples dropped because their series was refused (series cap reached).",
          es.samples_refused);
  Gauge(&out, "backsight_series_active", "Series with a detector in memory.", es.series_active);
  Gauge(&out, "backsight_series_warming_up",
        "Active series whose detector is still in its warm-up (no anomaly_score above 1 yet).",
        es.series_warming_up);
  Gauge(&out, "backsight_series_max", "Configured cap on active series.",
        static_cast<double>(engine_->options().max_series));
  Counter(&out, "backsight_series_created_total", "Series created on their first sample.",
          es.series_created);
  Counter(&out, "backsight_series_refused_total",
          "Attempts to create a series refused because the series cap was reached.",
          es.series_refused);
  Counter(&out, "backsight_series_evicted_total", "Series evicted after going stale.",
          es.series_evicted);
  Gauge(&out, "backsight_series_restored", "Series restored from the last checkpoint at start.",
        es.series_restored);
  Gauge(&out, "backsight_queue_samples", "Samples waiting in the engine queues.", es.queue_samples);
  Gauge(&out, "backsight_queue_capacity_samples", "Capacity of the engine queues.",
        es.queue_capacity);
  Counter(&out, "backsight_overload_refusals_total",
          "Requests answered 429 because the engine queues were full.", es.overload_refusals);
  if (http_) {
    const HttpServerStats hs = http_->stats();
    Gauge(&out, "backsight_http_connections_open", "Open HTTP connections.", hs.connections_open);
    Counter(&out, "backsight_http_connections_refused_total",
            "Connections answered 503 because limits.max_connections were open.",
            hs.connections_refused);
    Counter(&out, "backsight_http_timeouts_total",
            "Connections closed by the header, idle or body timeout.", hs.timeouts);
    Counter(&out, "backsight_http_inflight_refusals_total",
            "Requests answered 503 because limits.max_inflight_body_bytes were held.",
            hs.inflight_refusals);
    Gauge(&out, "backsight_http_inflight_body_bytes", "Request body bytes held in memory.",
          hs.inflight_body_bytes);
  }
  {
    std::lock_guard<std::mutex> lock(counters_mu_);
    out += "# HELP backsight_decode_errors_total Payloads refused as undecodable, by reason.\n";
    out += "# TYPE backsight_decode_errors_total counter\n";
    for (const auto& [k, v] : decode_errors_) {
      out += "backsight_decode_errors_total{endpoint=\"" + k.first + "\",reason=\"" + k.second +
             "\"} " + std::to_string(v) + "\n";
    }
    out += "# HELP backsight_requests_total Ingest requests by endpoint and HTTP status.\n";
    out += "# TYPE backsight_requests_total counter\n";
    for (const auto& [k, v] : requests_) {
      std::string ep = k.first;
      for (char& c : ep) {
        if (c == '"' || c == '\\' || c == '\n') c = '_';
      }
      out += "backsight_requests_total{endpoint=\"" + ep + "\",code=\"" + std::to_string(k.second) +
             "\"} " + std::to_string(v) + "\n";
    }
    out += "# HELP backsight_scrapes_total Scrapes of configured targets.\n";
    out += "# TYPE backsight_scrapes_total counter\n";
    for (const auto& [k, v] : scrapes_) {
      out += "backsight_scrapes_total{job=\"" + k.first + "\",instance=\"" + k.second + "\"} " +
             std::to_string(v.first) + "\n";
    }
    out += "# HELP backsight_scrape_errors_total Failed scrapes of configured targets.\n";
    out += "# TYPE backsight_scrape_errors_total counter\n";
    for (const auto& [k, v] : scrapes_) {
      out += "backsight_scrape_errors_total{job=\"" + k.first + "\",instance=\"" + k.second +
             "\"} " + std::to_string(v.second) + "\n";
    }
    Counter(&out, "backsight_output_pushes_total", "remote_write pushes of the output series.",
            static_cast<double>(output_pushes_));
    Counter(&out, "backsight_output_push_errors_total", "Failed output remote_write pushes.",
            static_cast<double>(output_push_errors_));
  }
  out +=
      "# HELP backsight_processing_latency_seconds Time from a request's arrival to its "
      "samples being scored.\n# TYPE backsight_processing_latency_seconds histogram\n";
  uint64_t cum = 0;
  for (int i = 0; i <= kLatencyBuckets; ++i) {
    cum += es.latency_bucket_counts[i];
    out += "backsight_processing_latency_seconds_bucket{le=\"";
    if (i < kLatencyBuckets)
      AppendNumber(kLatencyBucketsS[i], &out);
    else
      out += "+Inf";
    out += "\"} " + std::to_string(cum) + "\n";
  }
  out += "backsight_processing_latency_seconds_sum ";
  AppendNumber(es.latency_sum_s, &out);
  out += "\nbacksight_processing_latency_seconds_count " + std::to_string(es.latency_count) + "\n";
  Counter(&out, "backsight_checkpoints_total", "Completed checkpoints of detector states.",
          checkpoints_);
  Counter(&out, "backsight_checkpoint_errors_total", "Failed checkpoints.", checkpoint_errors_);
  Gauge(&out, "backsight_checkpoint_last_duration_seconds", "Duration of the last checkpoint.",
        checkpoint_last_ms_ * 1e-3);
  Gauge(&out, "backsight_restore_duration_seconds", "Time taken to restore states at start.",
        restore_ms_ * 1e-3);
  Gauge(&out, "backsight_restore_skipped", "Stored series that could not be restored at start.",
        restore_skipped_);
  Counter(&out, "backsight_anomaly_episodes_total", "Anomaly episodes started.",
          as.episodes_started);
  Counter(&out, "backsight_anomaly_episodes_ended_total", "Anomaly episodes ended.",
          as.episodes_ended);
  Counter(&out, "backsight_episode_changes_dropped_total",
          "Episode changes dropped because the tracker queue was full.", as.changes_dropped);
  Gauge(&out, "backsight_alerts_firing", "Alerts currently firing.", as.alerts_firing);
  Gauge(&out, "backsight_alerts_pending", "Anomalous series not yet anomalous for alerting.for.",
        as.alerts_pending);
  Counter(&out, "backsight_alertmanager_posts_total", "POSTs to Alertmanager.", as.alert_posts);
  Counter(&out, "backsight_alertmanager_post_errors_total", "Failed POSTs to Alertmanager.",
          as.alert_post_errors);
  Counter(&out, "backsight_event_write_errors_total", "Failed writes of anomaly events.",
          as.event_write_errors);
  RenderDurabilityMetrics(&out);
  logs_->RenderMetrics(&out);
  if (with_outputs) WriteSeriesMetrics(engine_.get(), &out);
  return out;
}

void Server::ScrapeLoop() {
  struct Target {
    const ScrapeJob* job;
    std::string target;
    int64_t interval_ms, timeout_ms;
    std::chrono::steady_clock::time_point due;
  };
  std::vector<Target> targets;
  auto now = std::chrono::steady_clock::now();
  for (const auto& job : cfg_.scrape_jobs) {
    int64_t iv = job.interval_ms > 0 ? job.interval_ms : cfg_.scrape_interval_ms;
    int64_t to = job.timeout_ms > 0 ? job.timeout_ms : std::min(iv, cfg_.scrape_timeout_ms);
    for (const auto& t : job.targets) targets.push_back({&job, t, iv, to, now});
  }
  std::vector<TimeSeries> series;
  for (;;) {
    auto next = std::chrono::steady_clock::time_point::max();
    for (const auto& t : targets) next = std::min(next, t.due);
    {
      std::unique_lock<std::mutex> lock(stop_mu_);
      stop_cv_.wait_until(lock, next, [this] { return stopping_; });
      if (stopping_) return;
    }
    now = std::chrono::steady_clock::now();
    for (auto& t : targets) {
      if (t.due > now) continue;
      t.due += std::chrono::milliseconds(t.interval_ms);
      if (t.due < now) t.due = now + std::chrono::milliseconds(t.interval_ms);
      httplib::Client cli("http://" + t.target);
      cli.set_connection_timeout(std::chrono::milliseconds(t.timeout_ms));
      cli.set_read_timeout(std::chrono::milliseconds(t.timeout_ms));
      httplib::Headers headers = {{"Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1"}};
      const TimestampNs ts = WallNowNs();
      auto res = cli.Get(t.job->metrics_path, headers);
      bool ok = res && res->status == 200;
      if (ok) {
        Status st = ingest::ParseExposition(res->body, ts, &series);
        if (!st.ok()) {
          CountDecodeError("scrape", ReasonName(st.reason()));
          ok = false;
        }
      }
      if (ok) {
        for (auto& s : series) {
          bool has_job = false, has_instance = false;
          for (auto& l : s.labels) {
            if (l.name == "job") has_job = true;
            if (l.name == "instance") has_instance = true;
            if (!t.job->honor_labels && (l.name == "job" || l.name == "instance")) {
              l.name = "exported_" + l.name;
            }
          }
          if (t.job->honor_labels) {
            if (!has_job) s.labels.push_back({"job", t.job->job_name});
            if (!has_instance) s.labels.push_back({"instance", t.target});
          } else {
            s.labels.push_back({"job", t.job->job_name});
            s.labels.push_back({"instance", t.target});
          }
          SortLabels(&s.labels);
        }
        ok = engine_->Submit(std::move(series)).ok();
        series.clear();
      }
      std::lock_guard<std::mutex> lock(counters_mu_);
      auto& c = scrapes_[{t.job->job_name, t.target}];
      ++c.first;
      if (!ok) ++c.second;
    }
  }
}

void Server::OutputPushLoop() {
  const std::string& url = cfg_.output_remote_write_url;
  size_t scheme_end = url.find("://");
  size_t path_start = url.find('/', scheme_end + 3);
  std::string base = path_start == std::string::npos ? url : url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client cli(base);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(30, 0);
  httplib::Headers headers = {{"Content-Encoding", "snappy"},
                              {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  std::vector<TimeSeries> all;
  std::string body;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(stop_mu_);
      stop_cv_.wait_for(lock, std::chrono::milliseconds(cfg_.output_remote_write_interval_ms),
                        [this] { return stopping_; });
      if (stopping_) return;
    }
    all.clear();
    CollectOutputSeries(engine_.get(), &all);
    constexpr size_t kPerRequest = 20'000;
    for (size_t off = 0; off < all.size(); off += kPerRequest) {
      std::vector<TimeSeries> chunk(
          std::make_move_iterator(all.begin() + off),
          std::make_move_iterator(all.begin() + std::min(all.size(), off + kPerRequest)));
      ingest::EncodeRemoteWrite(chunk, &body);
      auto res = cli.Post(path, headers, body, "application/x-protobuf");
      std::lock_guard<std::mutex> lock(counters_mu_);
      ++output_pushes_;
      if (!res || res->status / 100 != 2) {
        ++output_push_errors_;
        break;
      }
    }
  }
}

}  // namespace backsight::server
