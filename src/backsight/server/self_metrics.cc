// `backsight serve` self-metrics: the GET /metrics writer (health counters and gauges, then the
// per-series outputs of metrics_writer.h), the counters it reads, and the remote_write push of
// the output series.
#include "backsight/server/self_metrics.h"

#include <httplib.h>  // client of output_remote_write
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <iterator>

#include "backsight/ingest/remote_write.h"
#include "backsight/server/metrics_writer.h"
#include "backsight/server/server.h"

namespace backsight::server {

namespace {

prometheus::Family<prometheus::Counter>* CounterFamily(prometheus::Registry* r,
                                                       const std::string& name,
                                                       const std::string& help) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(*r);
}

}  // namespace

SelfMetrics::SelfMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      decode_errors_(CounterFamily(registry_.get(), "backsight_decode_errors_total",
                                   "Payloads refused as undecodable, by reason.")),
      requests_(CounterFamily(registry_.get(), "backsight_requests_total",
                              "Ingest requests by endpoint and HTTP status.")),
      scrapes_(CounterFamily(registry_.get(), "backsight_scrapes_total",
                             "Scrapes of configured targets.")),
      scrape_errors_(CounterFamily(registry_.get(), "backsight_scrape_errors_total",
                                   "Failed scrapes of configured targets.")),
      output_pushes_(&CounterFamily(registry_.get(), "backsight_output_pushes_total",
                                    "remote_write pushes of the output series.")
                          ->Add({})),
      output_push_errors_(&CounterFamily(registry_.get(), "backsight_output_push_errors_total",
                                         "Failed output remote_write pushes.")
                               ->Add({})) {}

void SelfMetrics::CountDecodeError(const std::string& endpoint, const std::string& reason) {
  decode_errors_->Add({{"endpoint", endpoint}, {"reason", reason}}).Increment();
}

void SelfMetrics::CountRequest(const std::string& endpoint, int code) {
  requests_->Add({{"endpoint", endpoint}, {"code", std::to_string(code)}}).Increment();
}

void SelfMetrics::CountScrape(const std::string& job, const std::string& instance, bool ok) {
  const prometheus::Labels labels = {{"job", job}, {"instance", instance}};
  scrapes_->Add(labels).Increment();
  prometheus::Counter& errors = scrape_errors_->Add(labels);  // listed at 0 until one fails
  if (!ok) errors.Increment();
}

void SelfMetrics::CountOutputPush(bool ok) {
  output_pushes_->Increment();
  if (!ok) output_push_errors_->Increment();
}

void SelfMetrics::SetGauge(const std::string& name, const std::string& help, double value) {
  std::lock_guard<std::mutex> lock(mirrored_mu_);
  prometheus::Gauge*& g = gauges_[name];
  if (g == nullptr)
    g = &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
  g->Set(value);
}

void SelfMetrics::SetCounter(const std::string& name, const std::string& help, double total) {
  std::lock_guard<std::mutex> lock(mirrored_mu_);
  prometheus::Counter*& c = counters_[name];
  if (c == nullptr) c = &CounterFamily(registry_.get(), name, help)->Add({});
  const double delta = total - c->Value();
  if (delta > 0) c->Increment(delta);
}

void SelfMetrics::SetCounter(const std::string& name, const std::string& help,
                             const std::string& label, const std::string& value, double total) {
  std::lock_guard<std::mutex> lock(mirrored_mu_);
  // The key cannot clash with an unlabelled counter's: metric names hold no '{'.
  prometheus::Counter*& c = counters_[name + '{' + label + '=' + value];
  if (c == nullptr) c = &CounterFamily(registry_.get(), name, help)->Add({{label, value}});
  const double delta = total - c->Value();
  if (delta > 0) c->Increment(delta);
}

void SelfMetrics::SetHistogram(const std::string& name, const std::string& help,
                               const std::vector<double>& bounds,
                               const std::vector<uint64_t>& bucket_counts, double sum) {
  std::lock_guard<std::mutex> lock(mirrored_mu_);
  MirroredHistogram& h = histograms_[name];
  if (h.metric == nullptr) {
    h.metric = &prometheus::BuildHistogram()
                    .Name(name)
                    .Help(help)
                    .Register(*registry_)
                    .Add({}, prometheus::Histogram::BucketBoundaries(bounds));
    h.counts.assign(bounds.size() + 1, 0);
  }
  if (bucket_counts.size() != h.counts.size()) return;  // owner broke the contract; keep last
  std::vector<double> increments(h.counts.size());
  for (size_t i = 0; i < h.counts.size(); ++i) {
    increments[i] =
        bucket_counts[i] > h.counts[i] ? static_cast<double>(bucket_counts[i] - h.counts[i]) : 0;
    h.counts[i] = std::max(h.counts[i], bucket_counts[i]);
  }
  h.metric->ObserveMultiple(increments, std::max(0.0, sum - h.sum));
  h.sum = std::max(h.sum, sum);
}

std::string SelfMetrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void Server::CountDecodeError(const std::string& endpoint, const std::string& reason) {
  self_metrics_.CountDecodeError(endpoint, reason);
}

void Server::CountRequest(const std::string& endpoint, int code) {
  self_metrics_.CountRequest(endpoint, code);
}

void Server::HandleMetrics(const HttpRequest& req, HttpResponse* res) {
  // ?outputs=false: health only (cheap with 1M series, whose outputs are 4M lines).
  const bool outputs = req.param("outputs") != "false";
  res->SetContent(RenderMetrics(outputs), "text/plain; version=0.0.4; charset=utf-8");
}

std::string Server::RenderMetrics(bool with_outputs) {
  SelfMetrics& m = self_metrics_;
  const EngineStats es = engine_->stats();
  const AlertStats as = tracker_->stats();
  m.SetCounter("backsight_samples_ingested_total", "Samples accepted into the engine queues.",
               es.samples_ingested);
  m.SetCounter("backsight_samples_processed_total", "Samples scored by a detector.",
               es.samples_processed);
  m.SetCounter("backsight_samples_rejected_total",
               "Samples refused by their detector (NaN/Inf, duplicate or out-of-order timestamp).",
               es.samples_rejected);
  m.SetCounter("backsight_samples_refused_total",
               "Samples dropped because their series was refused (series cap reached).",
               es.samples_refused);
  m.SetGauge("backsight_series_active", "Series with a detector in memory.", es.series_active);
  m.SetGauge("backsight_series_warming_up",
             "Active series whose detector is still in its warm-up (no anomaly_score above 1 yet).",
             es.series_warming_up);
  m.SetGauge("backsight_series_max", "Configured cap on active series.",
             static_cast<double>(engine_->options().max_series));
  m.SetCounter("backsight_series_created_total", "Series created on their first sample.",
               es.series_created);
  m.SetCounter("backsight_series_refused_total",
               "Attempts to create a series refused because the series cap was reached.",
               es.series_refused);
  m.SetCounter("backsight_series_evicted_total", "Series evicted after going stale.",
               es.series_evicted);
  m.SetGauge("backsight_series_restored", "Series restored from the last checkpoint at start.",
             es.series_restored);
  m.SetGauge("backsight_queue_samples", "Samples waiting in the engine queues.", es.queue_samples);
  m.SetGauge("backsight_queue_capacity_samples", "Capacity of the engine queues.",
             es.queue_capacity);
  m.SetCounter("backsight_overload_refusals_total",
               "Requests answered 429 because the engine queues were full.", es.overload_refusals);
  if (http_) {
    const HttpServerStats hs = http_->stats();
    m.SetGauge("backsight_http_connections_open", "Open HTTP connections.", hs.connections_open);
    m.SetCounter("backsight_http_connections_refused_total",
                 "Connections answered 503 because limits.max_connections were open.",
                 hs.connections_refused);
    m.SetCounter("backsight_http_timeouts_total",
                 "Connections closed by the header, idle or body timeout.", hs.timeouts);
    m.SetCounter("backsight_http_inflight_refusals_total",
                 "Requests answered 503 because limits.max_inflight_body_bytes were held.",
                 hs.inflight_refusals);
    m.SetGauge("backsight_http_inflight_body_bytes", "Request body bytes held in memory.",
               hs.inflight_body_bytes);
  }
  m.SetHistogram("backsight_processing_latency_seconds",
                 "Time from a request's arrival to its samples being scored.",
                 std::vector<double>(std::begin(kLatencyBucketsS), std::end(kLatencyBucketsS)),
                 es.latency_bucket_counts, es.latency_sum_s);
  m.SetCounter("backsight_checkpoints_total", "Completed checkpoints of detector states.",
               checkpoints_);
  m.SetCounter("backsight_checkpoint_errors_total", "Failed checkpoints.", checkpoint_errors_);
  m.SetGauge("backsight_checkpoint_last_duration_seconds", "Duration of the last checkpoint.",
             checkpoint_last_ms_ * 1e-3);
  m.SetGauge("backsight_restore_duration_seconds", "Time taken to restore states at start.",
             restore_ms_ * 1e-3);
  m.SetGauge("backsight_restore_skipped", "Stored series that could not be restored at start.",
             restore_skipped_);
  m.SetCounter("backsight_anomaly_episodes_total", "Anomaly episodes started.",
               as.episodes_started);
  m.SetCounter("backsight_anomaly_episodes_ended_total", "Anomaly episodes ended.",
               as.episodes_ended);
  m.SetCounter("backsight_episode_changes_dropped_total",
               "Episode changes dropped because the tracker queue was full.", as.changes_dropped);
  m.SetGauge("backsight_alerts_firing", "Alerts currently firing.", as.alerts_firing);
  m.SetGauge("backsight_alerts_pending", "Anomalous series not yet anomalous for alerting.for.",
             as.alerts_pending);
  m.SetCounter("backsight_alertmanager_posts_total", "POSTs to Alertmanager.", as.alert_posts);
  m.SetCounter("backsight_alertmanager_post_errors_total", "Failed POSTs to Alertmanager.",
               as.alert_post_errors);
  m.SetCounter("backsight_event_write_errors_total", "Failed writes of anomaly events.",
               as.event_write_errors);
  MirrorDurabilityMetrics();
  if (warm_) MirrorWarmStartMetrics();
  logs_->MirrorMetrics(&m);
  if (incidents_) incidents_->MirrorMetrics(&m);
  traces_->findings().MirrorMetrics(&m);
  traces_->MirrorMetrics(&m);
  exhaustion_->MirrorMetrics(&m);
  capacity_->MirrorMetrics(&m);
  std::string out = m.Serialize();
  if (with_outputs) {
    WriteSeriesMetrics(engine_.get(), &out);
    exhaustion_->AppendMetrics(&out);
    capacity_->AppendMetrics(&out);
  }
  return out;
}

void Server::MirrorWarmStartMetrics() {
  SelfMetrics& m = self_metrics_;
  const WarmStartStats s = warm_->stats();
  m.SetCounter("backsight_history_fetches_started_total",
               "History fetches (query_range) started for new series.", s.fetches_started);
  m.SetCounter("backsight_history_fetches_succeeded_total",
               "History fetches that succeeded (possibly with no points).", s.fetches_succeeded);
  m.SetCounter("backsight_history_fetches_failed_total",
               "History fetches that failed after their retries.", s.fetches_failed);
  m.SetCounter("backsight_history_fetch_retries_total",
               "History fetch tries repeated after a retryable error.", s.fetch_retries);
  m.SetCounter("backsight_history_samples_total",
               "Past samples fetched and replayed through new detectors.", s.history_samples);
  m.SetCounter("backsight_history_series_warm_total",
               "Series whose detector was warmed with history before its first live score.",
               s.series_warm);
  const std::pair<const char*, uint64_t> cold[] = {{"fetch_failed", s.cold_fetch_failed},
                                                   {"held_overflow", s.cold_held_overflow},
                                                   {"no_history", s.cold_no_history},
                                                   {"pending_full", s.cold_pending_full}};
  for (const auto& [reason, n] : cold) {
    m.SetCounter("backsight_history_series_cold_total", "Series scored without history, by reason.",
                 "reason", reason, static_cast<double>(n));
  }
  m.SetGauge("backsight_history_pending_samples",
             "Live samples held until their series' history is replayed.", s.held_samples);
  m.SetGauge("backsight_history_pending_series", "Series waiting for their history.",
             s.pending_series);
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
      const bool ok = res && res->status / 100 == 2;
      self_metrics_.CountOutputPush(ok);
      if (!ok) break;
    }
  }
}

}  // namespace backsight::server
