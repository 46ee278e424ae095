// Live incidents: anomaly episodes of every signal (metric series, log templates and log anomaly
// events, trace RED and service-graph edge series, trace findings, security findings, database
// query regressions) grouped into incidents, with a cause ranking kept up to date.
//
// Grouping (issue 10, "Grouping"): a member that opens joins an open incident when
//  * time: it opens within `gap_ns` of the incident's last activity (a member opening or
//    closing), and
//  * relation: it shares a label value (name and value equal; the grouping labels service,
//    namespace, pod, instance, job, database, and whatever else a member carries, e.g. a
//    security finding's source_ip) with a member, or one of its services equals or is next to
//    one of a member's services in the service graph (an edge either way, from traces). A
//    member's services are its `service` plus, for a service-graph edge series, the values of
//    its `client` and `server` labels (MemberServices), so an edge relates to both ends. A
//    member with no label and no service relates by time alone.
// Otherwise it opens a new incident. A point member (end_ns set: a log event, a finding) whose
// key is already a member of the incident it joins extends that member (end, peak, the latest
// non-empty evidence) instead of adding another: a trace finding seen again is one member. An
// incident resolves once all its members have closed and `resolve_after_ns` has passed since the
// last one closed (checked by Advance). Bounds, all counted: at most `max_open` open incidents
// (past it a member that would open a new one is dropped), `max_members` members per incident (past
// it members are dropped; their onsets still count in the timeline), `max_timeline` timeline
// entries, `max_closed` resolved incidents kept in memory.
//
// Cause ranking (per service; re-ranked on every change; a member counts for its `service`, else
// for its edge's `server`: the callee answered the requests whose rate, failures or latency
// moved): a service's onset is its earliest
// member start, its score its highest member peak, its indicator the member that opened first
// (ties: higher peak). Order: a service with no anomalous callee in the graph before one that
// calls an anomalous service (a callee's fault shows upstream: the caller is a victim), then
// earlier onset (first movers, as in change-point onset ordering), then higher score. When the
// best service's score is below `min_cause_score` the incident has no cause ("weak evidence")
// rather than a guess. Trace latency evidence (trace_evidence.h), computed by the caller over the
// incident's spans and given with SetTraceEvidence, goes first when significant (margin >= 1):
// the services it names with at least kTraceLeaderShare of its leader's strength that are a
// member's service or next to one in the graph rank before the order above, strongest first,
// explained by the trace evidence (a CPU-starved caller whose every call waits longer is named
// over its callees, which the order above would blame). An open incident restored from storage
// keeps its stored trace latency causes first until evidence from enough traces replaces them
// (Incident::kept_trace_causes); a resolved one is never re-ranked.
//
// Not thread-safe: the caller serialises calls (server/incident_service.h does).
#ifndef BACKSIGHT_INCIDENTS_INCIDENT_TRACKER_H_
#define BACKSIGHT_INCIDENTS_INCIDENT_TRACKER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/core/time.h"
#include "backsight/incidents/trace_evidence.h"

namespace backsight::incidents {

/// Where a member's anomaly comes from: an engine series (metric; log template counts: log;
/// trace RED and edge series: trace), a log anomaly event (log), a trace finding (trace, the
/// finding kind in the indicator), a logs.security finding (security), a postgres query
/// regression (database).
enum class Signal : uint8_t { kMetric = 0, kLog = 1, kTrace = 2, kSecurity = 3, kDatabase = 4 };
/// "metric", "log", "trace", "security", "database".
const char* SignalName(Signal s);
/// The inverse of SignalName; false for an unknown name.
bool ParseSignal(const std::string& name, Signal* out);

/// One anomaly episode of one source, as the tracker sees it. Times in ns since the epoch.
/// kDatabase members: peak_value and baseline are the regressed and the baseline mean time per
/// call in ms.
struct Member {
  Signal signal = Signal::kMetric;
  std::string key;        ///< identity of the source (unique per signal source)
  std::string indicator;  ///< operator words: "checkout_latency", "p99 latency of GET /x"
  std::string service;    ///< "" when unknown
  Labels labels;          ///< the grouping labels of the source (service, namespace, ...)
  TimestampNs start_ns = 0;
  TimestampNs end_ns = 0;  ///< 0 while open
  double peak_score = 0;   ///< highest anomaly_score (> 1 is anomalous)
  double peak_value = 0;   ///< value at the peak
  double baseline = 0;     ///< expected value (yhat) at the peak; 0 when unknown
  /// Source text for the operator (security evidence, trace finding explanation and example
  /// trace, plan change); "" when none.
  std::string evidence;
};

/// The services a member stands for: its `service` and, for an edge series (labels `client`,
/// `server`: backsight_trace_edge_*, traces_service_graph_*), both ends; no duplicates, no "".
std::vector<std::string> MemberServices(const Member& m);

/// LiveCause::evidence of a cause placed by significant trace latency evidence (trace_evidence.h).
inline constexpr const char* kCauseByTraceLatency = "trace_latency";
/// LiveCause::evidence of a cause placed by its members (callee before caller, onset, score).
inline constexpr const char* kCauseByMembers = "members";

/// A ranked cause of a live incident (not root_cause.h's batch Cause).
struct LiveCause {
  std::string service;
  std::string indicator;
  double score = 0;  ///< the service's highest member peak score
  TimestampNs onset_ns = 0;
  std::string explanation;  ///< one sentence for the operator
  /// Which evidence placed it: kCauseByTraceLatency or kCauseByMembers.
  std::string evidence = kCauseByMembers;
};

/// One line of an incident's timeline.
struct TimelineEntry {
  TimestampNs ts = 0;
  std::string text;
};

/// An incident: its members, timeline and current cause ranking.
struct Incident {
  uint64_t id = 0;
  TimestampNs start_ns = 0;          ///< first member's start
  TimestampNs last_activity_ns = 0;  ///< latest member start or end
  TimestampNs end_ns = 0;            ///< 0 while open; resolution (or merge) time
  /// Set when this incident was merged into that one (then closed, its members moved there).
  uint64_t merged_into = 0;
  TimestampNs first_ranked_ns = 0;  ///< when a cause was first named (0: never)
  std::vector<Member> members;
  uint64_t members_dropped = 0;  ///< past max_members
  std::vector<TimelineEntry> timeline;
  std::vector<LiveCause> causes;  ///< best first; empty when the evidence is weak
  std::string no_cause_reason;
  /// The latest trace latency evidence of the incident's window (SetTraceEvidence; not stored:
  /// recomputed from live spans).
  TraceLatencyEvidence trace;
  /// An open incident read back from storage: its stored causes placed by trace latency evidence
  /// (evidence kCauseByTraceLatency), explanations as stored. They rank first, in their stored
  /// order, until SetTraceEvidence gives evidence computed from enough traces
  /// (TraceLatencyEvidence::enough_traces), which replaces them. Not stored itself: the stored
  /// causes carry them. (The span ring starts empty at a restart: without them the ranking would
  /// fall back to the members' order and the top cause change for no reason.) A merged incident's
  /// kept causes join the survivor's (Open).
  std::vector<LiveCause> kept_trace_causes;
  bool open() const { return end_ns == 0; }
  /// The best cause's service, else the first member's service ("" when unknown).
  std::string TopService() const;
};

/// Limits and time constants (ns).
struct IncidentOptions {
  /// A member opening this long after an incident's last activity starts a new incident
  /// (2 min: two Prometheus scrape/evaluation rounds at the default 1 min).
  int64_t gap_ns = 120'000'000'000;
  /// All members closed this long: resolved (5 min, Alertmanager's default resolve_timeout).
  int64_t resolve_after_ns = 300'000'000'000;
  size_t max_open = 1000;
  size_t max_members = 1000;
  size_t max_timeline = 200;
  size_t max_closed = 1000;
  /// A best service scoring below this names no cause (1 = the detectors' alert threshold).
  double min_cause_score = 1.5;
};

/// Counters of the tracker (monotonic).
struct IncidentStats {
  uint64_t opened = 0;
  uint64_t resolved = 0;
  uint64_t members = 0;
  uint64_t members_dropped = 0;    ///< past max_members
  uint64_t incidents_dropped = 0;  ///< members refused past max_open
};

/// A service named by significant trace evidence ranks first when its strength is at least this
/// share of the evidence's strongest (as the batch ranking's kCalleeShare: a service at half the
/// leader's strength is part of the same story; below, a by-stander's noise).
inline constexpr double kTraceLeaderShare = 0.5;

/// Grouping labels (issue 10): a shared value of one of them relates two members. `database`:
/// the postgres watch's series and query regressions of one database.
inline constexpr const char* kGroupingLabels[] = {"service",  "namespace", "pod",
                                                  "instance", "job",       "database"};
/// The labels of a service-graph edge series (Tempo's and the OpenTelemetry Collector's
/// servicegraph connector's names): each names a service.
inline constexpr const char* kEdgeLabels[] = {"client", "server"};

class IncidentTracker {
 public:
  explicit IncidentTracker(const IncidentOptions& options);

  /// Replaces the service graph: (caller, callee) pairs.
  void SetGraph(const std::vector<std::pair<std::string, std::string>>& edges);

  /// A member opens (member.end_ns may already be set: a point event such as a log anomaly).
  /// A member with the key of an open member of an open incident updates it instead. It joins
  /// the oldest open incident it is related to within gap_ns; when it relates to several (e.g.
  /// checkout joining frontend's and payment's, opened apart), the others are merged into that
  /// one: their members and timeline move there (and their kept_trace_causes, after its own, one
  /// per service, unless it has evidence from enough traces), and they close with merged_into
  /// set. Returns
  /// the incident's id, 0 when dropped (past max_open).
  uint64_t Open(const Member& member);
  /// A higher score for the open member `key` (ignored when unknown).
  void Peak(const std::string& key, double score, double value, double baseline);
  /// The member `key` closes at `ts` (ignored when unknown or closed).
  void Close(const std::string& key, TimestampNs ts);
  /// Sets the trace latency evidence of open incident `id` (ComputeTraceEvidence over its window
  /// and a baseline before it, computed by the caller: the tracker holds no spans) and re-ranks
  /// it (see the file comment). Evidence with enough_traces() drops the causes kept from storage
  /// (Incident::kept_trace_causes); evidence without leaves them first. Ignored for an unknown or
  /// closed incident.
  void SetTraceEvidence(uint64_t id, TraceLatencyEvidence evidence);
  /// Resolves incidents whose members all closed `resolve_after_ns` before `now`; returns
  /// their ids.
  std::vector<uint64_t> Advance(TimestampNs now);

  /// Puts back an incident read from storage (open ones keep growing, and keep their causes
  /// placed by trace latency evidence first: Incident::kept_trace_causes; resolved ones never
  /// change). Ids continue after it.
  void Restore(Incident incident);

  /// Newest first (by start), at most `limit`.
  std::vector<const Incident*> List(size_t limit) const;
  /// Null when unknown.
  const Incident* Get(uint64_t id) const;
  /// Ids changed since the last call (for persistence and alerts), then forgets them.
  std::vector<uint64_t> TakeChanged();
  size_t open_count() const { return open_.size(); }
  const IncidentStats& stats() const { return stats_; }

 private:
  Incident* Find(uint64_t id);
  bool Related(const Incident& inc, const Member& m) const;
  bool Adjacent(const std::string& a, const std::string& b) const;
  void Rank(Incident* inc) const;
  void AddTimeline(Incident* inc, TimestampNs ts, std::string text);
  void Merge(uint64_t from_id, Incident* into, TimestampNs ts);
  void Touch(uint64_t id) { changed_.insert(id); }

  IncidentOptions opt_;
  std::set<std::pair<std::string, std::string>> edges_;  // (caller, callee)
  std::map<uint64_t, Incident> incidents_;               // open and the kept resolved ones
  std::set<uint64_t> open_;
  std::map<std::string, uint64_t> open_member_;  // key of an open member -> its incident
  std::deque<uint64_t> closed_order_;
  std::set<uint64_t> changed_;
  uint64_t next_id_ = 1;
  IncidentStats stats_;
};

/// The JSON of an incident (GET /api/v1/incidents/{id}, and the stored form):
/// {id, state (open, resolved, merged), start, end, merged_into (0: not merged), top_service,
/// members:[...], timeline:[...], causes:[...], ...}; times RFC 3339 plus `_ns` integers. Each
/// cause has `evidence` ("trace_latency" or "members", LiveCause::evidence).
nlohmann::json IncidentToJson(const Incident& inc, bool with_members = true);
/// Reads IncidentToJson's output back. InvalidArgument naming the field when malformed.
Status IncidentFromJson(const nlohmann::json& j, Incident* out);

}  // namespace backsight::incidents

#endif  // BACKSIGHT_INCIDENTS_INCIDENT_TRACKER_H_
