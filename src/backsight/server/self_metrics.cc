// `backsight serve` self-metrics: the GET /metrics writer (health counters and gauges, then the
// per-series outputs of metrics_writer.h), the counters it reads, and the remote_write push of
// the output series.
#include <httplib.h>  // client of output_remote_write

#include <algorithm>
#include <iterator>

#include "backsight/ingest/remote_write.h"
#include "backsight/server/metrics_writer.h"
#include "backsight/server/server.h"

namespace backsight::server {
namespace {

void Counter(std::string* out, const char* name, const char* help, double v) {
  AppendMetric(out, name, "counter", help, v);
}

void Gauge(std::string* out, const char* name, const char* help, double v) {
  AppendMetric(out, name, "gauge", help, v);
}

}  // namespace

void Server::CountDecodeError(const std::string& endpoint, const std::string& reason) {
  std::lock_guard<std::mutex> lock(counters_mu_);
  ++decode_errors_[{endpoint, reason}];
}

void Server::CountRequest(const std::string& endpoint, int code) {
  std::lock_guard<std::mutex> lock(counters_mu_);
  ++requests_[{endpoint, code}];
}

void Server::HandleMetrics(const HttpRequest& req, HttpResponse* res) {
  // ?outputs=false: health only (cheap with 1M series, whose outputs are 4M lines).
  const bool outputs = req.param("outputs") != "false";
  res->SetContent(RenderMetrics(outputs), "text/plain; version=0.0.4; charset=utf-8");
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
