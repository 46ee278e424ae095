// Configuration of `backsight serve`: YAML in the style of Prometheus, with defaults that work
// with no file at all. Every rejected value is reported with its key path and the reason.
#ifndef BACKSIGHT_SERVER_CONFIG_H_
#define BACKSIGHT_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/forecast/capacity.h"
#include "backsight/forecast/exhaustion.h"

namespace backsight::server {

/// One scrape job (Prometheus `scrape_configs[]` subset): static targets `host:port`.
struct ScrapeJob {
  std::string job_name;
  std::vector<std::string> targets;  ///< host:port
  std::string metrics_path = "/metrics";
  int64_t interval_ms = 0;  ///< 0 = global scrape_interval
  int64_t timeout_ms = 0;   ///< 0 = min(interval, 10 s)
  bool honor_labels = false;
};

/// One local log file followed by `backsight serve` (`log_files[]`, logs/file_tailer.h).
struct LogFile {
  std::string path;                  ///< The file's name, followed across rotation and truncation.
  std::string header = "raw";        ///< Header layout or preset, as `backsight logs --header`.
  std::string multiline = "indent";  ///< indent or none, as `backsight logs --multiline`.
  std::string service;               ///< Service name of its lines (default: the file's base name).
};

/// One PostgreSQL database watched for query regressions (`postgres[]`, db/query_watcher.h).
struct PostgresTarget {
  std::string dsn;               ///< postgresql:// URI or key=value string
  int64_t interval_ms = 60'000;  ///< between pg_stat_statements snapshots
};

/// One capacity advice rule (`capacity[]`, server/capacity_service.h, forecast/capacity.h).
struct CapacityRule {
  std::string demand;                 ///< the selector as written, e.g. `http_rps{service="api"}`
  Labels demand_matchers;             ///< `__name__` and the equality matchers of `demand`
  std::string capacity_metric;        ///< per-replica capacity series ("" = per_replica constant)
  forecast::CapacityOptions options;  ///< per_replica, target_utilization, min, max (replicas)
  int64_t step_ms = 300'000;          ///< demand averaged into buckets of this step (5 min)
  int64_t horizon_ms = 3'600'000;     ///< advice covers this far ahead (an hour)
  int64_t startup_ms = 300'000;       ///< replica start-up lead added to the horizon
};

/// Everything `backsight serve` can be told. Units are in the field names.
struct ServeConfig {
  std::string listen = "127.0.0.1:9465";      ///< HOST:PORT of the HTTP endpoints (port 0 = any)
  std::string state_dir = "backsight-state";  ///< SQLite database lives here; "" = no persistence
  int64_t checkpoint_interval_ms = 60'000;    ///< periodic checkpoint of detector states
  /// Write-ahead log of accepted samples in <state_dir>/wal (nothing acknowledged is lost on
  /// kill -9); `wal_fsync` also survives power loss at one disk flush per request.
  bool wal_enabled = true;
  bool wal_fsync = false;
  uint64_t max_series = 1'000'000;  ///< cap on active series; new ones past it are refused
  int64_t series_stale_after_ms = 3'600'000;  ///< series without samples for this long are evicted
  int workers = 0;                            ///< engine threads; 0 = number of cores
  uint64_t queue_max_samples = 1'000'000;  ///< samples waiting in engine queues before 429 (~1 s)
  uint64_t max_body_bytes = 32ull << 20;   ///< largest accepted compressed request body
  /// Largest decompressed body (snappy, gzip, deflate), checked while inflating. 32 MiB, as
  /// vmagent's -maxInsertRequestSize: a Prometheus remote_write body (max_samples_per_send 2000)
  /// is well under 1 MiB, and a decompression bomb then costs at most this much memory.
  uint64_t max_decompressed_bytes = 32ull << 20;
  // HTTP connections (http_server.h).
  uint64_t max_connections = 4096;  ///< open connections; one more gets 503 + close
  /// Request bodies held at once over all connections (16 bodies of the default 32 MiB
  /// decompressed limit); past it 503 + Retry-After.
  uint64_t max_inflight_body_bytes = 512ull << 20;
  int64_t header_timeout_ms = 10'000;  ///< whole request header (slowloris guard)
  int64_t idle_timeout_ms = 30'000;    ///< kept-alive connection without a new request
  int64_t body_timeout_ms = 60'000;    ///< reading one request body / writing one response
  std::string bearer_token;            ///< when set, every endpoint requires it
  // Alerts.
  std::string alertmanager_url;      ///< e.g. http://127.0.0.1:9093 ("" = no alerts)
  int64_t alert_for_ms = 60'000;     ///< anomalous this long before an alert fires
  int64_t alert_resend_ms = 60'000;  ///< firing alerts are re-sent this often
  std::string external_url;          ///< generatorURL base; default http://<listen>
  // Scraping.
  int64_t scrape_interval_ms = 15'000;
  int64_t scrape_timeout_ms = 10'000;
  std::vector<ScrapeJob> scrape_jobs;
  // Output push (for large fleets): remote_write the output series to this URL.
  std::string output_remote_write_url;
  int64_t output_remote_write_interval_ms = 15'000;
  // Counters (monotonic sums, `_total`) are turned into per-second rates before detection.
  bool counters_as_rates = true;
  // Warm start (warm_start.h): a new series' past is fetched from this Prometheus-compatible
  // query API (Prometheus, VictoriaMetrics, Thanos, Mimir) and replayed before its first score.
  std::string history_url;                         ///< e.g. http://prometheus:9090 ("" = off)
  int64_t history_lookback_ms = 7 * 86'400'000LL;  ///< how far back to fetch
  int history_concurrency = 4;                     ///< fetches in flight at once
  int64_t history_timeout_ms = 10'000;             ///< connect/read timeout of one request
  int64_t history_step_ms = 15'000;  ///< step when a series' interval is unknown (one sample)
  bool history_capacity = true;      ///< capacity demand series new to serve fetch their past too
  // Trace findings (traces.*; trace_findings.h).
  bool trace_findings = true;               ///< group spans per trace and find patterns
  int64_t trace_wait_ms = 30'000;           ///< a trace is analysed after this quiet period
  uint64_t trace_max_open_traces = 50'000;  ///< past it the oldest open trace is analysed early
  uint64_t trace_max_findings = 1000;       ///< (kind, service, operation) findings kept
  // Logs (POST /loki/api/v1/push, POST /v1/logs; log_endpoints.h).
  bool logs_enabled = true;
  uint64_t logs_max_services = 1000;     ///< services past this are refused (429)
  uint64_t logs_max_templates = 10'000;  ///< per service; least recently matched evicted
  int64_t logs_bucket_ms = 60'000;       ///< template count bucket (series step)
  uint64_t logs_max_events = 1000;       ///< log anomaly events kept in memory
  bool logs_template_series = true;      ///< template counts become engine series
  bool logs_security = false;            ///< access/sshd lines also go to the security analyzer
  std::string logs_security_deny_list;   ///< file of the findings' addresses ("" = none)
  /// A finding whose last evidence is older than this (log time) is dropped; one day by
  /// default (security::FindingLedger::kDefaultRetentionS).
  int64_t logs_security_retention_ms = 86'400'000;
  std::vector<LogFile> log_files;  ///< local files tailed into the log services
  // Incidents (incident_service.h): episodes of every signal grouped, causes ranked, one
  // Alertmanager alert per incident.
  bool incidents_enabled = false;
  int64_t incidents_gap_ms = 120'000;            ///< a member this close joins an incident
  int64_t incidents_resolve_after_ms = 300'000;  ///< all members closed this long: resolved
  uint64_t incidents_max_open = 1000;            ///< open incidents; past it members dropped
  uint64_t incidents_max_members = 1000;         ///< members per incident
  /// Recent spans kept for the incidents' trace latency evidence (0 = off; only with incidents
  /// on; traces::SpanRing::kBytesPerSpan each).
  uint64_t incidents_trace_window_spans = 100'000;
  /// Service graph edges (caller, callee) given in the config (incidents.service_graph), used
  /// with those learned from traces for grouping and ranking; for services without tracing.
  std::vector<std::pair<std::string, std::string>> incidents_service_graph;
  /// With incidents on, per-series (BacksightAnomaly), log (BacksightLogAnomaly), trace finding
  /// (BacksightTraceFinding) and query regression (BacksightQueryRegression) alerts are off
  /// unless this is true (they are incident members instead). BacksightSecurityFinding and
  /// BacksightExhaustionPredicted alerts are sent either way.
  bool incidents_series_alerts = false;
  // Time-to-exhaustion (`exhaustion:`; server/exhaustion_service.h, forecast/exhaustion.h).
  bool exhaustion_enabled = true;
  bool exhaustion_default_rules = true;  ///< filesystem, container memory, connection pools
  std::vector<forecast::ExhaustionRule> exhaustion_rules;  ///< added after the defaults
  /// BacksightExhaustionPredicted fires when the predicted TTE is below this; a day, the lead
  /// an operator needs to act on a filling disk during working hours.
  int64_t exhaustion_horizon_ms = 86'400'000;
  uint64_t exhaustion_max_series = 100'000;  ///< usage series tracked (~1 KiB each)
  std::vector<PostgresTarget> postgres;      ///< databases under the query regression watch
  std::vector<CapacityRule> capacity;        ///< demand series given replica advice
};

/// True when per-series, per-log-event, trace finding and query regression alerts are sent (an
/// Alertmanager is configured, and incidents are off or incidents.series_alerts is true).
bool ItemAlertsOn(const ServeConfig& config);

/// Parses a Prometheus-style duration ("500ms", "15s", "1m30s", "2h", "1d") into milliseconds.
Status ParseDurationMs(const std::string& text, int64_t* ms);

/// Loads and validates a YAML config file over the defaults. Errors name the key path (e.g.
/// `scrape_configs[0].static_configs[0].targets[1]`) and the reason; unknown keys are rejected.
Status LoadConfigFile(const std::string& path, ServeConfig* config);
/// Same, from YAML text (`source` names it in messages).
Status LoadConfigText(const std::string& yaml, const std::string& source, ServeConfig* config);
/// Checks cross-field rules (listen address syntax, URLs, positive limits). Called by the loaders
/// and again after command-line overrides.
Status ValidateConfig(const ServeConfig& config);

/// Splits "host:port" (IPv6 as "[::1]:port"); port must be 0..65535.
Status SplitHostPort(const std::string& hostport, std::string* host, int* port);

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_CONFIG_H_
