// `backsight serve`: wires the ingest decoders, the engine, the store, alerts and the HTTP API.
//
// Endpoints (all require `Authorization: Bearer <token>` when a token is configured, else 401):
//   POST /api/v1/write    Prometheus remote_write 1.0 (snappy + protobuf). 204 on success;
//                         400 for data that cannot be decoded (not retried by senders); 413 for
//                         a body above limits.max_body_bytes; 415 for a Content-Encoding other
//                         than snappy; 429 when the engine queues are full (retried by senders).
//   POST /v1/metrics      OTLP/HTTP metrics, protobuf (application/x-protobuf) or JSON
//                         (application/json); 200 with an empty ExportMetricsServiceResponse;
//                         `Content-Encoding: gzip|deflate` accepted (inflated within
//                         limits.max_decompressed_bytes, else 413); 400 / 413 / 415 / 429 as above.
//   GET  /metrics         Backsight's own health and the output series (metrics_writer.h);
//                         `?outputs=false` gives the health metrics only.
//   GET  /api/v1/anomalies?limit=N[&fingerprint=HEX]   recent anomaly episodes (JSON).
//   GET  /api/v1/series/state?fingerprint=HEX | ?<label>=<value>&...   one series' state (JSON;
//                         the query parameters form the full label set, `__name__` included).
//   GET  /api/v1/series?metric=NAME&limit=N   active series (labels, fingerprint), JSON.
//   POST /api/v1/checkpoint  checkpoint now (200 with the count written).
//   GET  /api/v1/incidents?limit=N, /api/v1/incidents/{id}   incidents (incident_service.h).
//   GET  /api/v1/status   start-up report and configuration summary (JSON, see StatusJson).
//   GET  /-/healthy, /-/ready
// Any endpoint: 503 + Connection: close past limits.max_connections open connections, 503 +
// Retry-After past limits.max_inflight_body_bytes of bodies held (http_server.h). /-/healthy,
// /-/ready and /metrics?outputs=false run on the io threads and answer while the workers are busy.
#ifndef BACKSIGHT_SERVER_SERVER_H_
#define BACKSIGHT_SERVER_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/server/alerts.h"
#include "backsight/server/capacity_service.h"
#include "backsight/server/config.h"
#include "backsight/server/engine.h"
#include "backsight/server/exhaustion_service.h"
#include "backsight/server/http_server.h"
#include "backsight/server/incident_service.h"
#include "backsight/server/log_endpoints.h"
#include "backsight/server/pg_watch.h"
#include "backsight/server/sample_sink.h"
#include "backsight/server/self_metrics.h"
#include "backsight/server/startup_report.h"
#include "backsight/server/trace_endpoints.h"
#include "backsight/server/warm_start.h"
#include "backsight/store/state_store.h"
#include "backsight/store/wal.h"

namespace backsight::server {

class Server {
 public:
  explicit Server(ServeConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Opens the store (creating state_dir) and the write-ahead log, restores detector states,
  /// starts the engine, replays the log, then starts the HTTP listener and the background loops.
  /// Returns IoError when the port cannot be bound or the store cannot be opened, Corruption
  /// (naming the file and how to recover) when the database file is damaged or not SQLite.
  Status Start();
  /// Stops accepting requests, drains the engine, writes a final checkpoint, stops all threads.
  /// Idempotent.
  void Stop();

  /// The port actually bound (useful with listen port 0).
  int port() const { return port_; }
  /// Checkpoints all changed series now. `periodic` (the checkpoint timer) without a write-ahead
  /// log: capacity series are saved only when a bucket closed since their last save, not for
  /// samples in the open bucket (with a log they are all saved, as its segments are deleted).
  Status CheckpointNow(bool periodic = false);
  Engine* engine() { return engine_.get(); }
  /// The exposition body of GET /metrics (health metrics, plus the output series if asked).
  std::string RenderMetrics(bool with_outputs = true);
  /// The body of GET /api/v1/status, in the style of Prometheus' /api/v1/status/runtimeinfo:
  /// {"status": "success", "data": {start time, config summary, restore and WAL replay figures,
  /// entries skipped at start-up with reasons, WAL size, checkpoints}}.
  nlohmann::json StatusJson();

 private:
  void SetupRoutes();
  // Ingest endpoints (ingest_endpoints.cc): decode, then Submit to the engine.
  void HandleRemoteWrite(const HttpRequest& req, HttpResponse* res);
  // Decoded metric series into the engine, through warm start when history.url is set (new
  // series held until their history is replayed). Errors as Engine::SubmitView and Intercept.
  Status SubmitSeries(std::vector<TimeSeries>& series);
  void HandleOtlpMetrics(const HttpRequest& req, HttpResponse* res);
  void ScrapeLoop();
  // JSON API (query_api.cc).
  void HandleAnomalies(const HttpRequest& req, HttpResponse* res);
  void HandleSeriesState(const HttpRequest& req, HttpResponse* res);
  void HandleSeriesList(const HttpRequest& req, HttpResponse* res);
  void HandleCheckpoint(const HttpRequest& req, HttpResponse* res);
  void HandleStatus(const HttpRequest& req, HttpResponse* res);
  // Self-metrics and output series (self_metrics.cc).
  void HandleMetrics(const HttpRequest& req, HttpResponse* res);
  void OutputPushLoop();
  void CountDecodeError(const std::string& endpoint, const std::string& reason);
  void CountRequest(const std::string& endpoint, int code);
  // Durability (durability.cc): open the store and the WAL, restore, replay, report.
  Status OpenStore();
  Status RestoreStates();
  // Reads the capacity series back from the store (before any sample is accepted).
  Status RestoreCapacity();
  Status ReplayWal();
  void MirrorDurabilityMetrics();
  void MirrorWarmStartMetrics();  // backsight_history_*, with history.url
  void CheckpointLoop();

  ServeConfig cfg_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<store::Wal> wal_;
  StartupReport report_;
  int64_t start_wall_ns_ = 0;
  // With incidents.enabled (incident_service.h). Declared before the tracker and the engine,
  // whose workers forward episodes to it, so that it outlives them.
  std::unique_ptr<IncidentService> incidents_;
  std::unique_ptr<EpisodeTracker> tracker_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HistorySource> history_;  // with history.url: warm start of new series
  std::unique_ptr<WarmStart> warm_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<LogEndpoints> logs_;      // logs ingest, API, alerts, state (log_endpoints.h)
  std::unique_ptr<PgWatch> pg_watch_;       // postgres: query regression watch (pg_watch.h)
  std::unique_ptr<TraceEndpoints> traces_;  // POST /v1/traces, RED + graph (trace_endpoints.h)
  std::unique_ptr<ExhaustionService> exhaustion_;  // TTE outputs and alerts (exhaustion:)
  std::unique_ptr<CapacityService> capacity_;      // replica advice (capacity:)
  // Everything fed the accepted metric samples besides the engine (sample_sink.h), through the
  // engine's sample observer: live batches and the write-ahead log replay alike.
  std::vector<SampleSink*> sinks_;
  std::thread checkpoint_thread_, scrape_thread_, push_thread_;
  int port_ = 0;
  bool started_ = false;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;

  std::mutex checkpoint_mu_;  // one checkpoint at a time
  std::atomic<uint64_t> checkpoints_{0}, checkpoint_errors_{0}, checkpoint_last_ms_{0},
      restore_skipped_{0};
  std::atomic<uint64_t> restore_ms_{0};

  SelfMetrics self_metrics_;  // backsight_* on GET /metrics
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_SERVER_H_
