// Live incidents in `backsight serve` (config `incidents`, issue 10): the engine's anomaly
// episodes (metric series, log template counts, trace RED and edge gauges, postgres statement
// series), the log anomaly events, the trace findings (issue 9), the logs.security findings
// (issue 14) and the postgres query regressions (issue 12) feed an incidents::IncidentTracker
// on its own thread, which every 100 ms:
//  * applies the queued changes (bounded queue; past 100k waiting, changes are dropped, counted),
//    refreshes the service graph from the trace endpoints, resolves quiet incidents;
//  * with a span source (incidents.trace_window_spans > 0), gives an open incident its trace
//    latency evidence (incidents/trace_evidence.h) at its first ranking and then at most once a
//    second (one incident per tick, the longest waiting first): the recent spans are copied and
//    the evidence computed outside all locks; window = traces started from the incident's start
//    - 60 s on, baseline = traces started in the 10 minutes before that, chosen per entry
//    operation (root span's service and name) and taken per trace (by its root's start); when an
//    entry operation's baseline has fewer than traces::kMinBaselineTraces traces (a young
//    service or endpoint, even next to a busy one), its window starts at the incident's start
//    instead (incidents/trace_window.h). Significant evidence puts the services it names first
//    (incident_tracker.h);
//  * writes the changed incidents to the store's `incidents` table (JSON body, schema version);
//  * sends ONE Alertmanager alert per incident: alertname="BacksightIncident", labels
//    incident_id and service (the top cause's service), annotations summary and causes (the top
//    three explanations). It fires once the incident's first member is `alerting.for` old,
//    is re-sent every `alerting.resend_interval` with endsAt = now + 4 intervals (and at most once
//    a second when members joined, so its summary counts them per signal), and is resolved
//    (endsAt = resolution) when the incident resolves; when the top service changes, the alert
//    under the old label is resolved at once.
// Endpoints:
//   GET /api/v1/incidents?limit=N     newest first, without members (400 on a bad limit)
//   GET /api/v1/incidents/{id}        members, timeline, ranked causes (400 bad id, 404 unknown)
// At start the stored incidents are read back; members still open then are closed at the
// restart time (episodes do not survive a restart), so those incidents resolve unless new
// anomalies join them; the episodes the write-ahead log replay raises again are ignored
// (SetLive is called after the replay). The span ring starts empty: an open incident keeps its
// stored trace latency causes first until evidence from enough traces replaces them
// (incidents::Incident::kept_trace_causes).
#ifndef BACKSIGHT_SERVER_INCIDENT_SERVICE_H_
#define BACKSIGHT_SERVER_INCIDENT_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backsight/db/query_watcher.h"
#include "backsight/incidents/incident_tracker.h"
#include "backsight/logs/log_service.h"
#include "backsight/security/analyzer.h"
#include "backsight/server/config.h"
#include "backsight/server/engine.h"
#include "backsight/server/http_server.h"
#include "backsight/server/self_metrics.h"
#include "backsight/store/state_store.h"
#include "backsight/traces/findings.h"
#include "backsight/traces/span_ring.h"

namespace backsight::server {

/// The service graph's (caller, callee) edges, read on the incident thread.
using GraphSource = std::function<std::vector<std::pair<std::string, std::string>>()>;
/// Copies the recent spans (TraceEndpoints::CopyRecentSpans), on the incident thread.
using SpanSource = std::function<void(traces::SpanRingCopy*)>;
/// A lower bound of the recent spans' starts, ns since the epoch, INT64_MAX when there are none
/// (TraceEndpoints::RecentSpansMinStart): read without a copy, on the incident thread.
using SpanFloorSource = std::function<TimestampNs()>;

/// True when computing `inc`'s trace latency evidence now cannot change its ranking: it keeps
/// causes read back from storage (incidents::Incident::kept_trace_causes), which only evidence
/// with enough baseline traces replaces, and no recent span started before the incident did
/// (`spans_min_start_ns`, a lower bound of their starts), so every entry operation's baseline,
/// which ends at the incident's start at the latest (incidents/trace_window.h), is empty. The
/// usual state of a restored open incident after a restart: the span ring starts empty. Exposed
/// for tests.
bool TraceEvidenceCannotReplaceKeptCauses(const incidents::Incident& inc,
                                          TimestampNs spans_min_start_ns);

/// Turns an engine episode start into an incident member: signal and indicator from the metric
/// name (backsight_trace_* and traces_service_graph_* -> trace, backsight_log_template_count ->
/// log), service from `service`, else `service_name`, else `job` (where OTLP metrics put
/// service.name), grouping labels (incidents::kGroupingLabels) and an edge's `client` and `server`
/// (incidents::kEdgeLabels). Exposed for tests.
incidents::Member MemberFromSeries(const Labels& labels, uint64_t fp);

/// A logs.security finding as a point member at `now_ns` (signal security; key
/// "security:<ip>:<kind>"; indicator "<kind> from <ip>"; service = `service`, the service of the
/// log stream the client's lines came from ("" when unknown); labels service and source_ip;
/// peak_score = the finding's score; evidence = its evidence and the log time it started).
incidents::Member MemberFromSecurityFinding(const security::Finding& f, const std::string& service,
                                            TimestampNs now_ns);
/// A trace finding as a point member at `now_ns` (signal trace; key
/// "finding:<kind>:<service>:<operation>"; indicator "<kind> on <operation>"; service and label
/// service = the finding's service; peak_score = its score; evidence = its explanation and
/// example trace id).
incidents::Member MemberFromTraceFinding(const traces::Finding& f, TimestampNs now_ns);
/// A postgres query regression of `database` as a point member from the regression's `since` to
/// `now_ns` (signal database; key "db:<database>:<fingerprint hex>"; indicator "statement
/// `<text>`"; service and labels service and database = the database name, so it groups with the
/// watch's own series of that database and with a service of that name or next to it in the
/// graph; peak_value / baseline = mean / baseline ms per call; peak_score = the factor;
/// evidence = the plan change when known).
incidents::Member MemberFromDbRegression(const std::string& database, const db::WatchFinding& f,
                                         TimestampNs now_ns);

class IncidentService {
 public:
  /// `config`, `store` (may be null) and `metrics` must outlive this object.
  IncidentService(const ServeConfig& config, store::StateStore* store);
  ~IncidentService();
  IncidentService(const IncidentService&) = delete;
  IncidentService& operator=(const IncidentService&) = delete;

  /// Reads the stored incidents back (see the file comment). IoError/Corruption of the store;
  /// rows that cannot be read are skipped and counted (restore_skipped).
  Status Restore();
  /// Starts the incident thread; `graph` (may be null) is polled each tick; `spans` (may be
  /// null: no trace evidence) is copied when an incident's trace evidence is due (see the file
  /// comment). `spans_floor` (may be null: never skips) lets it skip, without a copy, the
  /// evidence of an incident for which TraceEvidenceCannotReplaceKeptCauses holds (counted in
  /// backsight_incident_trace_evidence_skipped_total).
  void Start(GraphSource graph, SpanSource spans = nullptr, SpanFloorSource spans_floor = nullptr);
  /// Applies what is queued, writes the changed incidents, stops the thread. Idempotent.
  void Stop();

  /// Takes episode changes from now on. Until then (the write-ahead log replay at start, which
  /// detects again the anomalies already in the stored incidents) they are ignored.
  void SetLive() { live_ = true; }
  /// From the engine's workers (via EpisodeTracker); thread-safe, quick. Ignored before SetLive.
  void OnEpisodeChange(const EpisodeChange& change);
  /// A log anomaly event (a point member); thread-safe, quick.
  void OnLogEvent(const logs::LogAnomalyEvent& event);
  /// A logs.security finding of a client whose lines came from `service`'s stream (a point
  /// member, MemberFromSecurityFinding); thread-safe, quick.
  void OnSecurityFinding(const security::Finding& finding, const std::string& service);
  /// A trace finding, new or seen again (a point member; seen again, it extends the member
  /// already in the incident); thread-safe, quick.
  void OnTraceFinding(const traces::Finding& finding);
  /// A query regression of `database` at a watch snapshot (a point member; every snapshot it
  /// lasts extends the same member); thread-safe, quick.
  void OnDbRegression(const std::string& database, const db::WatchFinding& finding);

  /// Registers GET /api/v1/incidents and /api/v1/incidents/* (call before the server starts).
  void Register(HttpServer* http);
  /// Sets the backsight_incident_* metrics.
  void MirrorMetrics(SelfMetrics* metrics);

 private:
  struct Input {
    enum class Kind : uint8_t { kOpen, kPeak, kClose } kind = Kind::kOpen;
    incidents::Member member;  // kOpen: the member; else key + score/value/baseline
    TimestampNs ts = 0;
  };
  struct AlertState {
    bool firing = false;
    std::string service;  // label value last sent
    int64_t last_sent_ns = 0;
    size_t members = 0;  // member count last sent
    bool resolved_sent = false;
  };
  struct AlertOut {
    uint64_t id;
    size_t members;
    std::string service;
    std::string summary, causes;
    int64_t starts_ns, ends_ns;
  };
  void Push(Input&& in);
  void Loop();
  void Tick(int64_t now);
  // Open incidents whose trace evidence is due (id, start), at most kTraceEvidencePerTick;
  // those due for which TraceEvidenceCannotReplaceKeptCauses(spans_min_start_ns) holds are
  // skipped (counted, and due again a period later). Under mu_.
  std::vector<std::pair<uint64_t, TimestampNs>> DueForTraceEvidence(int64_t now,
                                                                    TimestampNs spans_min_start_ns);
  void Alerts(int64_t now);
  void HandleList(const HttpRequest& req, HttpResponse* res);
  void HandleOne(const HttpRequest& req, HttpResponse* res);

  const ServeConfig& cfg_;
  store::StateStore* store_;
  GraphSource graph_;
  SpanSource spans_;
  SpanFloorSource spans_floor_;
  // Incident thread only: when each open incident's trace evidence was last computed, and the
  // span copy (memory reused).
  std::map<uint64_t, int64_t> trace_evaluated_;
  traces::SpanRingCopy span_copy_;

  std::mutex qmu_;
  std::condition_variable qcv_;
  std::deque<Input> queue_;
  bool stop_ = false;
  std::thread thread_;

  mutable std::mutex mu_;  // guards tracker_, alerts_, the wall times below
  incidents::IncidentTracker tracker_;
  std::map<uint64_t, AlertState> alerts_;
  std::map<uint64_t, int64_t> first_seen_wall_;  // incident -> wall time it opened here

  std::atomic<bool> live_{false};
  std::atomic<uint64_t> dropped_{0}, write_errors_{0}, posts_{0}, post_errors_{0}, restored_{0},
      restore_skipped_{0}, first_rank_ms_{0}, ranked_{0};
  // Trace evidence computations and the steady-clock ns spent in them (copy included).
  std::atomic<uint64_t> trace_evidence_runs_{0}, trace_evidence_ns_{0};
  // Trace evidence computations skipped (TraceEvidenceCannotReplaceKeptCauses).
  std::atomic<uint64_t> trace_evidence_skipped_{0};
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_INCIDENT_SERVICE_H_
