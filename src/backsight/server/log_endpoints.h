// Logs in `backsight serve`: the log ingest endpoints, the log query API, log anomaly alerts
// and the log miners' durability. Kept apart from server.cc, which calls it at a few points.
//
// Endpoints:
//   POST /loki/api/v1/push   Loki push: snappy-compressed protobuf PushRequest
//                            (application/x-protobuf) or JSON (application/json, gzip/deflate
//                            Content-Encoding accepted). 204 on success; 400 bad data, 413 too
//                            large, 415 other Content-Type, 429 past logs.max_services.
//   POST /v1/logs            OTLP/HTTP logs, protobuf or JSON (gzip/deflate accepted); 200 with an
//                            empty ExportLogsServiceResponse; errors as above.
//   GET  /api/v1/log/templates?service=S&limit=N   a service's templates, most frequent first
//                            (id, template, count, first_seen, last_seen, example); without
//                            `service`: the services. Also the estimated memory per template.
//   GET  /api/v1/log/anomalies?limit=N   recent log anomaly events, newest first (kind, service,
//                            template id and text, score, first/last time, lines, examples).
//   GET  /api/v1/security/findings   with logs.security: attacking clients seen in the access-log
//                            and sshd lines of every pushed or tailed stream (one analyzer for the
//                            site, security/analyzer.h), judged now: a JSON array of source_ip,
//                            start_ts, end_ts, kind, score, evidence. Every 5 s the findings are
//                            judged: each new (address, kind) is sent once to Alertmanager
//                            (alertname="BacksightSecurityFinding", labels source_ip and kind,
//                            annotations evidence and score), and logs.security_deny_list, when
//                            set, is rewritten with the addresses (one per line) for a firewall or
//                            proxy to read; Backsight never blocks by itself. With incidents on,
//                            each new (address, kind) is also passed once to the security
//                            forward (SetSecurityForward) with the service of the stream that
//                            last carried the address's lines. With a state_dir the findings
//                            served, alerted and forwarded (at most 65,536 of each, oldest
//                            dropped, counted in backsight_security_keys_dropped_total) are kept
//                            in <state_dir>/security.state, written after each judgement that
//                            added one and at checkpoints: after a restart the findings are
//                            still listed and none is sent or forwarded again.
// Log anomaly events also appear in GET /api/v1/anomalies (MergeAnomalies), and, with
// alerting.alertmanager_url, each new event is sent to Alertmanager once as an alert with
// alertname="BacksightLogAnomaly", labels service, kind, template_id and annotations summary,
// template, example, score; it ends (endsAt) 4 resend intervals later.
// Template counts per closed bucket are submitted to the engine as the gauge series
// backsight_log_template_count{service="S",template_id="N"} (logs.template_series).
//
// Durability (with a state_dir): every accepted request body is appended to a write-ahead log
// in <state_dir>/logs-wal (store/wal.h) under the locks of the services it touches, before it is
// mined and acknowledged; a checkpoint (with the engine's) rotates that log, writes every
// service's miner and scorer state to <state_dir>/logs.state (atomically) and deletes the older
// segments. At start the state is restored and the log replayed (without alerts), so after a
// restart, also after `kill -9`, template ids and scores continue as if nothing happened.
//
// Local files (config `log_files`): one thread polls a logs::FileTailer per file every 250 ms;
// each file is a service whose lines go through its own header layout and multiline joining
// (LogService::AddLines, as `backsight logs`). File lines are not written to the log's WAL: the
// tailers' positions are saved in logs.state in the same checkpoint as the services' state
// (a poll mines its lines and advances its position under the shared lock the checkpoint takes
// exclusively), so after a restart, also after `kill -9`, each file is read again from the
// position of the last checkpoint: every line is mined exactly once (unless the file was
// truncated, or rotated twice, while the server was down).
#ifndef BACKSIGHT_SERVER_LOG_ENDPOINTS_H_
#define BACKSIGHT_SERVER_LOG_ENDPOINTS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "backsight/analyze/api/access_log.h"
#include "backsight/core/bounded_fifo_map.h"
#include "backsight/core/status.h"
#include "backsight/logs/file_tailer.h"
#include "backsight/logs/log_service.h"
#include "backsight/security/analyzer.h"
#include "backsight/security/finding_ledger.h"
#include "backsight/security/request_inspector.h"
#include "backsight/server/config.h"
#include "backsight/server/engine.h"
#include "backsight/server/http_server.h"
#include "backsight/server/self_metrics.h"
#include "backsight/store/wal.h"

namespace backsight::server {

class LogEndpoints {
 public:
  /// `config`, `engine` and `metrics` must outlive this object; `engine` may still be empty
  /// until Open(). Requests and refused bodies are counted in `metrics`
  /// (backsight_requests_total, backsight_decode_errors_total with endpoint loki or otlp_logs).
  LogEndpoints(const ServeConfig& config, const std::unique_ptr<Engine>& engine,
               SelfMetrics* metrics);
  ~LogEndpoints();
  LogEndpoints(const LogEndpoints&) = delete;
  LogEndpoints& operator=(const LogEndpoints&) = delete;

  /// Registers the routes (call before the HTTP server starts). No-op when logs are disabled.
  void Register(HttpServer* http);
  /// Restores <state_dir>/logs.state, replays the log's write-ahead log, opens it for appends
  /// and starts the alert sender. Call once the engine runs, before serving. Corruption naming
  /// the file on a damaged state (move it aside to start afresh); IoError on the log.
  Status Open();
  /// Saves every service's state and truncates the write-ahead log (see the file comment).
  Status Checkpoint();
  /// Adds the `limit` newest log events to `*events` (the array of GET /api/v1/anomalies, newest
  /// first) and keeps the `limit` newest of both, by start time.
  void MergeAnomalies(size_t limit, nlohmann::json* events);
  /// Sets the backsight_log_* health metrics in `metrics` (call before serializing it).
  void MirrorMetrics(SelfMetrics* metrics);
  /// Stops the file tailers and the alert sender. Idempotent.
  void Stop();

  /// Wire formats of accepted bodies (also the first byte of a write-ahead log record).
  enum class Format : uint8_t { kLokiProto = 0, kLokiJson = 1, kOtlpProto = 2, kOtlpJson = 3 };
  /// Decodes, logs (unless `replay`) and mines one body. Returns the decoder's error, the log
  /// append's IoError, or ResourceExhausted past logs.max_services.
  Status Ingest(Format format, std::string_view body, bool replay);

  logs::LogService& service() { return service_; }
  /// Also passes every log anomaly event opened by live (not replayed) lines to `fn` (thread-
  /// safe, quick; e.g. the incident service). Call before Open.
  void SetEventForward(std::function<void(const logs::LogAnomalyEvent&)> fn) {
    event_forward_ = std::move(fn);
  }
  /// With logs.security, also passes every new (address, kind) finding once to `fn` with the
  /// service of the log stream (or tailed file) that last carried that address's lines ("" when
  /// unknown). Called on the judging thread every few seconds. Call before Open.
  using SecurityForward = std::function<void(const security::Finding&, const std::string&)>;
  void SetSecurityForward(SecurityForward fn) { security_forward_ = std::move(fn); }

 private:
  struct Alert {
    logs::LogAnomalyEvent event;
    int64_t wall_ns = 0;
  };
  struct Tail {
    std::string service;
    std::unique_ptr<logs::FileTailer> tailer;
  };
  void AlertLoop();
  void TailLoop();
  // Template count series to the engine and, unless `replay`, alerts for the opened events.
  void Deliver(logs::LogAddResult* result, bool replay);
  void Count(const char* endpoint, int code, const Status& st);
  void HandlePush(const char* endpoint, Format proto, Format json, const HttpRequest& req,
                  HttpResponse* res);

  const ServeConfig& cfg_;
  const std::unique_ptr<Engine>& engine_;
  logs::LogService service_;
  std::unique_ptr<store::Wal> wal_;
  std::shared_mutex checkpoint_mu_;  // ingest: shared; checkpoint: exclusive (rotate + save)

  std::vector<Tail> tails_;
  std::mutex tail_mu_;
  std::condition_variable tail_cv_;
  bool tail_stop_ = false;
  std::thread tail_thread_;

  std::mutex alert_mu_;
  std::condition_variable alert_cv_;
  std::deque<Alert> alerts_;
  bool alert_stop_ = false;
  std::thread alert_thread_;

  SelfMetrics* metrics_;
  std::function<void(const logs::LogAnomalyEvent&)> event_forward_;
  std::atomic<uint64_t> series_dropped_{0}, series_submitted_{0}, alert_posts_{0}, alert_errors_{0},
      alerts_dropped_{0}, replayed_records_{0}, replay_errors_{0};
  std::atomic<uint64_t> file_lines_{0}, file_rotations_{0}, file_truncations_{0},
      file_long_lines_{0}, file_read_errors_{0}, file_resumed_{0};
  std::atomic<uint64_t> memory_bytes_{0}, memory_templates_{0};

  // logs.security: one analyzer for all streams (the site's clients are one population).
  void FeedSecurity(std::string_view line, const std::string& service);
  // The client's address -> the service of the stream that last carried its lines (under
  // security_mu_; past kMaxSecurityClientServices the first-noted address is dropped).
  void NoteClientService(std::string_view client, const std::string& service);
  // Client addresses whose stream service is remembered for the incident members of their
  // findings: the analyzer's own bound on live clients (security::AnalyzerOptions::max_clients).
  static constexpr size_t kMaxSecurityClientServices = size_t{1} << 16;
  BoundedFifoMap<std::string, std::string> client_service_{kMaxSecurityClientServices};
  SecurityForward security_forward_;
  // The findings' expiry clock (Unix s): the newest log time seen, never past the wall clock (a
  // line dated in the future does not expire findings early). Under security_mu_.
  int64_t SecurityClock() const;
  void SecurityLoop();  // judges every kSecurityJudgeMs: alerts and the deny list
  // The findings served, alerted and forwarded, bounded (under security_mu_); saved to
  // <state_dir>/security.state by SaveSecurityState, restored by Open.
  security::FindingLedger ledger_;
  // Writes the ledger to <state_dir>/security.state when `always` or it changed; IoError.
  Status SaveSecurityState(bool always);
  std::mutex security_save_mu_;  // one writer of security.state at a time
  std::thread security_thread_;
  bool security_stop_ = false;  // under alert_mu_
  std::condition_variable security_cv_;
  std::mutex security_mu_;
  std::unique_ptr<security::RequestInspector> inspector_;
  std::unique_ptr<security::SecurityAnalyzer> security_;
  api::AccessLogParser access_parser_;
  api::AccessRecord access_record_;
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_LOG_ENDPOINTS_H_
