// Logs of many services, as `backsight serve` receives them (Loki push, OTLP logs): one
// LogPipeline (miner + scorer, pipeline.h) per service key, so each service has its own template
// set and template ids; anomalous lines become bounded anomaly events with example lines; the
// per-bucket count of each template is handed out when its bucket closes (the server turns them
// into series of the metric engine).
//
// Events: a line with score > 1 opens, or joins, the event of its (service, template, kind),
// kind = the line's largest signal: `new_template`, `rare_template`, `template_surge` (rate) or
// `error_burst` (level). An event stays open while lines of the same key keep coming within one
// bucket (LogAnomalyOptions::bucket_ns) of its last line, collecting up to `examples_per_event`
// example lines and its peak score. A template rate anomaly found by the metric detector when a
// bucket closes (TemplateRateEvent) is an event of kind `template_rate` (template 0 =
// error/warning lines together: `error_burst`). The newest `max_events` events are kept.
//
// Bounds (counted when refused): `max_services` services; templates per service are capped by
// the miner (MinerOptions::max_templates, least recently matched evicted).
//
// Thread-safety: all methods may be called from any thread. Each service has its own mutex (two
// services are mined in parallel, see AddBatch); the service table and the event ring have one
// each.
#ifndef BACKSIGHT_LOGS_LOG_SERVICE_H_
#define BACKSIGHT_LOGS_LOG_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/core/time.h"
#include "backsight/logs/pipeline.h"

namespace backsight::logs {

struct LogServiceOptions {
  LogPipelineOptions pipeline;    ///< Per-service miner and scorer options.
  size_t max_services = 1000;     ///< New services past this are refused (>= 1).
  size_t max_events = 1000;       ///< Anomaly events kept, newest first.
  size_t examples_per_event = 3;  ///< Example lines kept per event.
  size_t example_bytes = 512;     ///< Bytes of each example line kept.
  /// Services with pipeline options of their own (a header layout and multiline mode: tailed
  /// files, `log_files`); their `anomaly.bucket_ns` must equal `pipeline`'s. Others use
  /// `pipeline`.
  std::map<std::string, LogPipelineOptions, std::less<>> service_pipelines;
};

/// A template's line count in one closed time bucket.
struct TemplateCount {
  std::string service;
  uint32_t template_id = 0;
  TimestampNs bucket_start_ns = 0;
  uint64_t count = 0;
};

/// A log anomaly event.
struct LogAnomalyEvent {
  uint64_t id = 0;   ///< 1-based, increasing in creation order (not saved across restarts).
  std::string kind;  ///< new_template, rare_template, template_surge, error_burst, template_rate
  std::string service;
  uint32_t template_id = 0;  ///< 0: error/warning lines of the service together
  std::string template_text;
  double score = 0;  ///< Peak score (> 1).
  TimestampNs first_ts = 0, last_ts = 0;
  uint64_t lines = 0;  ///< Anomalous lines folded into the event.
  std::vector<std::string> examples;
};

/// One template as listed by the API.
struct LogTemplateInfo {
  uint32_t id = 0;
  std::string text;
  uint64_t count = 0;
  TimestampNs first_seen_ns = 0;  ///< Time of its first line.
  TimestampNs last_seen_ns = 0;   ///< Start of the bucket of its latest line.
  std::string example;            ///< Its first line (truncated, MinerOptions::example_bytes).
};

/// What one Add produced.
struct LogAddResult {
  std::vector<TemplateCount> counts;    ///< Buckets closed by these lines.
  std::vector<LogAnomalyEvent> opened;  ///< Events opened by these lines (copies).
  uint64_t anomalous = 0;               ///< Lines with score > 1.
};

/// Counters and gauges.
struct LogServiceStats {
  uint64_t lines = 0;      ///< Lines mined.
  uint64_t anomalous = 0;  ///< Lines with score > 1.
  uint64_t events = 0;     ///< Events opened.
  uint64_t services = 0;   ///< Gauge.
  uint64_t templates = 0;  ///< Gauge: live templates over all services.
  // (stats() takes no service lock: cheap enough for /metrics on an io thread.)
  uint64_t services_refused = 0;  ///< Add calls refused past max_services.
  uint64_t lines_refused = 0;     ///< Their lines.
};

class LogService {
 public:
  explicit LogService(const LogServiceOptions& options = {});
  ~LogService();
  LogService(const LogService&) = delete;
  LogService& operator=(const LogService&) = delete;

  /// Mines and scores `entries` of `service` in order (out-of-order times are clamped by the
  /// scorer). Appends to `*result` (may be null). Returns ResourceExhausted (nothing mined) when
  /// the service is new and `max_services` are known.
  Status Add(std::string_view service, std::span<const LogEntry> entries, LogAddResult* result);

  /// Mines raw `lines` of `service` (without newlines) through its pipeline's header layout and
  /// multiline joining, exactly as `backsight logs` does (LogPipeline::AddLine; `clock_ns` is
  /// the time of lines before any timestamp). ResourceExhausted as Add.
  Status AddLines(std::string_view service, std::span<const std::string_view> lines,
                  TimestampNs clock_ns, LogAddResult* result);

  /// The lines of one service within an AddBatch.
  struct ServiceEntries {
    std::string_view service;
    std::span<const LogEntry> entries;
  };
  /// Adds the lines of several services as one unit: under the locks of every service involved
  /// (taken in name order), calls `before` (may be null; e.g. a write-ahead log append; when it
  /// fails, nothing is mined and its Status is returned) and takes a ticket per service; then
  /// mines each service's items in batch order when its ticket's turn comes. So each service
  /// mines batches in exactly the order `before` saw them (the order a log replays them in),
  /// while batches sharing services pipeline over threads. Items of services refused past
  /// `max_services` are skipped and counted; the result is then ResourceExhausted, after the
  /// others were mined.
  Status AddBatch(std::span<const ServiceEntries> batch, const std::function<Status()>& before,
                  LogAddResult* result);

  /// Known services, sorted.
  std::vector<std::string> Services() const;
  /// Up to `limit` templates of `service`, most frequent first; NotFound for an unknown service.
  Status Templates(std::string_view service, size_t limit, std::vector<LogTemplateInfo>* out) const;
  /// Up to `limit` most recent events, newest first.
  std::vector<LogAnomalyEvent> RecentEvents(size_t limit) const;
  LogServiceStats stats() const;
  /// Estimated heap bytes of the mining and scoring state of every service and its number of
  /// templates (strings and vectors by capacity, each template's rate detector by its saved
  /// state size). O(templates); not for hot paths.
  void MemoryEstimate(uint64_t* bytes, uint64_t* templates) const;

  /// Appends every service's pipeline state and open bucket counts (format BSLG, version 1,
  /// docs/formats.md). Events are not saved. Safe while adding (one service at a time).
  void SaveState(std::string* out) const;
  /// Replaces all services by those in a SaveState; template ids continue. Corruption naming the
  /// service and the byte offset on bad bytes; then nothing changes.
  Status RestoreState(std::string_view in);

 private:
  struct Service;
  Service* FindOrCreate(std::string_view service, bool* refused);
  const LogPipelineOptions& PipelineOptions(std::string_view service) const;
  void AddLocked(Service* s, std::span<const LogEntry> entries, LogAddResult* result);
  // Buckets, counts and events of the record just mined into s->rec.
  void AfterRecord(Service* s, LogAddResult* result);
  // Ends the turn of the batch holding `lock` on s->mu: the next ticket may mine.
  static void EndTurn(Service* s, std::unique_lock<std::mutex>* lock);
  void Record(Service* s, const LogRecord& rec, LogAddResult* result);
  void RateEvent(Service* s, const TemplateRateEvent& e, LogAddResult* result);
  LogAnomalyEvent* FindEvent(uint64_t id);  // under events_mu_
  // Keeps new event `e` (its id set) in the bounded event list and in `result->opened`, and
  // counts it; under events_mu_.
  void KeepEvent(LogAnomalyEvent&& e, LogAddResult* result);

  LogServiceOptions options_;
  mutable std::shared_mutex services_mu_;
  std::map<std::string, std::unique_ptr<Service>, std::less<>> services_;
  mutable std::mutex events_mu_;
  std::deque<LogAnomalyEvent> events_;  // oldest first
  uint64_t next_event_id_ = 1;
  mutable std::mutex stats_mu_;
  LogServiceStats stats_;
};

}  // namespace backsight::logs

#endif  // BACKSIGHT_LOGS_LOG_SERVICE_H_
