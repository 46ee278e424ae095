#include "backsight/server/incident_service.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <tuple>

#include "backsight/core/number_format.h"
#include "backsight/incidents/trace_evidence.h"
#include "backsight/incidents/trace_window.h"
#include "backsight/server/alerts.h"
#include "backsight/server/http_status.h"
#include "backsight/server/json_body.h"

namespace backsight::server {
namespace {

// Changes waiting for the incident thread before new ones are dropped (as EpisodeTracker).
constexpr size_t kMaxQueued = 100'000;
// Tick of the incident thread: a change is ranked and alerted within this (plus `for`).
constexpr int64_t kTickMs = 100;
// Stored incidents read back at start: the open ones plus the kept resolved ones.
constexpr size_t kRestoreLimit = 2000;
// Explanations carried in an alert's `causes` annotation.
constexpr size_t kAlertCauses = 3;
// A firing alert's endsAt is this many resend intervals ahead (as EpisodeTracker).
constexpr int64_t kEndsAtResends = 4;
// A firing incident alert is re-sent when members joined, at most this often (ns): its summary
// follows the incident without a POST per member.
constexpr int64_t kMemberUpdateNs = 1'000'000'000;
// GET /api/v1/incidents: default and largest `limit`.
constexpr size_t kDefaultListLimit = 20;
constexpr size_t kMaxListLimit = 1000;
constexpr int64_t kNsPerMs = 1'000'000;
constexpr int64_t kNsPerS = 1'000'000'000;
// An incident's trace evidence is recomputed at most this often while it is young (its window,
// from 60 s before its start, is still filling and the fault still unfolding), then at most every
// kTraceEvidenceOldEveryNs (about 145 ms per run over a full 100k-span ring, measured: at the
// young rate an open incident would keep the incident thread ~15 % busy for as long as it lasts),
// and for at most kTraceEvidencePerTick incidents per tick.
constexpr int64_t kTraceEvidenceEveryNs = kNsPerS;
constexpr int64_t kTraceEvidenceYoungNs = 120 * kNsPerS;
constexpr int64_t kTraceEvidenceOldEveryNs = 15 * kNsPerS;
constexpr size_t kTraceEvidencePerTick = 1;
// Series of a service-graph edge scraped or remote-written from Tempo's metrics generator or the
// OpenTelemetry Collector's servicegraph connector (labels client, server).
constexpr const char* kServiceGraphPrefix = "traces_service_graph_";

std::string LabelValue(const Labels& labels, const char* name) {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return "";
}

void Answer(HttpResponse* res, const Status& st, const std::string& msg) {
  SetErrorResponse(st, JsonDump({{"status", "error"}, {"error", msg}}), "application/json", res);
}

}  // namespace

incidents::Member MemberFromSeries(const Labels& labels, uint64_t fp) {
  incidents::Member m;
  m.key = "series:" + FormatFingerprint(fp);
  const std::string name = LabelValue(labels, "__name__");
  m.service = LabelValue(labels, "service");
  if (m.service.empty()) m.service = LabelValue(labels, "service_name");
  // OTLP metrics carry the resource's service.name as `job` (the OpenTelemetry -> Prometheus
  // mapping, ingest/otlp_metrics.h), and a Prometheus job is "a collection of instances with
  // the same purpose" (Prometheus docs, Jobs and instances): the service when nothing else
  // names one.
  if (m.service.empty()) m.service = LabelValue(labels, "job");
  const std::string span = LabelValue(labels, "span_name");
  const std::string edge = LabelValue(labels, incidents::kEdgeLabels[0]) + " -> " +
                           LabelValue(labels, incidents::kEdgeLabels[1]);
  if (name == "backsight_trace_p99_seconds") {
    m.signal = incidents::Signal::kTrace;
    m.indicator = "p99 latency of " + span;
  } else if (name == "backsight_trace_error_ratio") {
    m.signal = incidents::Signal::kTrace;
    m.indicator = "error ratio of " + span;
  } else if (name == "backsight_trace_calls") {
    m.signal = incidents::Signal::kTrace;
    m.indicator = "call rate of " + span;
  } else if (name == "backsight_trace_edge_requests") {
    m.signal = incidents::Signal::kTrace;
    m.indicator = "request rate of " + edge;
  } else if (name == "backsight_trace_edge_failed_ratio") {
    m.signal = incidents::Signal::kTrace;
    m.indicator = "failed ratio of " + edge;
  } else if (name == "backsight_trace_edge_p90_seconds") {
    m.signal = incidents::Signal::kTrace;
    m.indicator = "p90 latency of " + edge;
  } else if (name == "backsight_log_template_count") {
    m.signal = incidents::Signal::kLog;
    m.indicator = "count of log template " + LabelValue(labels, "template_id");
  } else {
    if (name.rfind(kServiceGraphPrefix, 0) == 0) m.signal = incidents::Signal::kTrace;
    m.indicator = name.empty() ? LabelsToString(labels) : name;
  }
  for (const char* g : incidents::kGroupingLabels) {
    std::string v = LabelValue(labels, g);
    if (v.empty() && std::string(g) == "service") v = m.service;
    if (!v.empty()) m.labels.push_back({g, std::move(v)});
  }
  for (const char* e : incidents::kEdgeLabels) {
    std::string v = LabelValue(labels, e);
    if (!v.empty()) m.labels.push_back({e, std::move(v)});
  }
  SortLabels(&m.labels);
  return m;
}

incidents::Member MemberFromSecurityFinding(const security::Finding& f, const std::string& service,
                                            TimestampNs now_ns) {
  incidents::Member m;
  const std::string kind = security::KindName(f.kind);
  m.signal = incidents::Signal::kSecurity;
  m.key = "security:" + f.source_ip + ":" + kind;
  m.indicator = kind + " from " + f.source_ip;
  m.service = service;
  if (!service.empty()) m.labels.push_back({"service", service});
  m.labels.push_back({"source_ip", f.source_ip});
  SortLabels(&m.labels);
  m.start_ns = now_ns;
  m.end_ns = now_ns;  // a point event
  m.peak_score = f.score;
  m.evidence = "log time " + FormatRfc3339(f.start_s * kNsPerS) + ": " + f.evidence;
  return m;
}

incidents::Member MemberFromTraceFinding(const traces::Finding& f, TimestampNs now_ns) {
  incidents::Member m;
  m.signal = incidents::Signal::kTrace;
  m.key = "finding:" + f.kind + ":" + f.service + ":" + f.operation;
  m.indicator = f.kind + " on " + f.operation;
  m.service = f.service;
  if (!f.service.empty()) m.labels = {{"service", f.service}};
  m.start_ns = now_ns;
  m.end_ns = now_ns;  // a point event; seen again, it extends the member
  m.peak_score = f.score;
  m.evidence = f.explanation + " (" + std::to_string(f.count) + " times; example trace " +
               f.example_trace_id + ")";
  return m;
}

incidents::Member MemberFromDbRegression(const std::string& database, const db::WatchFinding& f,
                                         TimestampNs now_ns) {
  incidents::Member m;
  const db::Regression& r = f.regression;
  m.signal = incidents::Signal::kDatabase;
  m.key = "db:" + database + ":" + FormatFingerprint(r.fingerprint);
  m.indicator = "statement `" + f.statement + "`";
  m.service = database;
  if (!database.empty()) m.labels = {{"database", database}, {"service", database}};
  m.start_ns = std::min(r.since > 0 ? r.since : now_ns, now_ns);
  m.end_ns = now_ns;  // a point event; every snapshot it lasts extends the member
  m.peak_score = r.factor;
  m.peak_value = r.mean_ms;
  m.baseline = r.baseline_ms;
  if (f.plan_changed()) m.evidence = "plan " + f.plan_before + " -> " + f.plan_after;
  return m;
}

namespace {

incidents::IncidentOptions OptionsOf(const ServeConfig& c) {
  incidents::IncidentOptions o;
  o.gap_ns = c.incidents_gap_ms * kNsPerMs;
  o.resolve_after_ns = c.incidents_resolve_after_ms * kNsPerMs;
  o.max_open = c.incidents_max_open;
  o.max_members = c.incidents_max_members;
  return o;
}

}  // namespace

IncidentService::IncidentService(const ServeConfig& config, store::StateStore* store)
    : cfg_(config), store_(store), tracker_(OptionsOf(config)) {}

IncidentService::~IncidentService() { Stop(); }

Status IncidentService::Restore() {
  if (store_ == nullptr) return Status::OK();
  std::vector<store::StoredIncident> rows;
  BACKSIGHT_RETURN_IF_ERROR(store_->LoadIncidents(kRestoreLimit, &rows));
  const int64_t now = WallNowNs();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& row : rows) {
    incidents::Incident inc;
    nlohmann::json j = nlohmann::json::parse(row.body, nullptr, false);
    if (row.schema != store::kIncidentSchema || j.is_discarded() ||
        !incidents::IncidentFromJson(j, &inc).ok()) {
      ++restore_skipped_;
      continue;
    }
    for (auto& m : inc.members) {
      if (m.end_ns == 0) m.end_ns = std::max(now, m.start_ns);
    }
    if (inc.open()) {
      // Alert again as firing: Alertmanager may have let it expire while we were down.
      alerts_[inc.id].firing = false;
      inc.last_activity_ns = std::max(inc.last_activity_ns, now);
    }
    tracker_.Restore(std::move(inc));
    ++restored_;
  }
  return Status::OK();
}

bool TraceEvidenceCannotReplaceKeptCauses(const incidents::Incident& inc,
                                          TimestampNs spans_min_start_ns) {
  return !inc.kept_trace_causes.empty() && spans_min_start_ns >= inc.start_ns;
}

void IncidentService::Start(GraphSource graph, SpanSource spans, SpanFloorSource spans_floor) {
  graph_ = std::move(graph);
  spans_ = std::move(spans);
  spans_floor_ = std::move(spans_floor);
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void IncidentService::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(qmu_);
    stop_ = true;
    qcv_.notify_all();
  }
  thread_.join();
}

void IncidentService::Push(Input&& in) {
  std::lock_guard<std::mutex> lock(qmu_);
  if (queue_.size() >= kMaxQueued) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(in));
}

void IncidentService::OnEpisodeChange(const EpisodeChange& c) {
  if (!live_) return;
  Input in;
  in.ts = c.wall_ns;
  if (c.kind == EpisodeChange::Kind::kStart) {
    in.kind = Input::Kind::kOpen;
    in.member = MemberFromSeries(c.labels, c.fp);
    in.member.start_ns = c.wall_ns;
  } else {
    in.kind = c.kind == EpisodeChange::Kind::kPeak ? Input::Kind::kPeak : Input::Kind::kClose;
    in.member.key = "series:" + FormatFingerprint(c.fp);
  }
  in.member.peak_score = c.score;
  in.member.peak_value = c.value;
  in.member.baseline = c.yhat;
  Push(std::move(in));
}

void IncidentService::OnLogEvent(const logs::LogAnomalyEvent& e) {
  Input in;
  in.kind = Input::Kind::kOpen;
  const int64_t now = WallNowNs();
  incidents::Member& m = in.member;
  m.signal = incidents::Signal::kLog;
  m.key = "log:" + e.service + ":" + std::to_string(e.id);
  m.indicator = e.kind + " log template `" + e.template_text + "`";
  m.service = e.service;
  if (!e.service.empty()) m.labels = {{"service", e.service}};
  m.start_ns = now;
  m.end_ns = now;  // a point event
  m.peak_score = e.score;
  in.ts = now;
  Push(std::move(in));
}

void IncidentService::OnSecurityFinding(const security::Finding& f, const std::string& service) {
  Input in;
  in.member = MemberFromSecurityFinding(f, service, WallNowNs());
  in.ts = in.member.start_ns;
  Push(std::move(in));
}

void IncidentService::OnTraceFinding(const traces::Finding& f) {
  Input in;
  in.member = MemberFromTraceFinding(f, WallNowNs());
  in.ts = in.member.start_ns;
  Push(std::move(in));
}

void IncidentService::OnDbRegression(const std::string& database, const db::WatchFinding& f) {
  Input in;
  in.member = MemberFromDbRegression(database, f, WallNowNs());
  in.ts = in.member.end_ns;
  Push(std::move(in));
}

void IncidentService::Loop() {
  for (;;) {
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(qmu_);
      qcv_.wait_for(lock, std::chrono::milliseconds(kTickMs));
      stopping = stop_;
    }
    Tick(WallNowNs());
    if (stopping) return;
  }
}

void IncidentService::Tick(int64_t now) {
  std::deque<Input> inputs;
  {
    std::lock_guard<std::mutex> lock(qmu_);
    inputs.swap(queue_);
  }
  std::vector<std::pair<std::string, std::string>> edges;
  if (graph_) edges = graph_();
  // Read before mu_ (the ring's lock is the trace endpoints'); INT64_MIN: never skip.
  const TimestampNs spans_min_start = spans_floor_ ? spans_floor_() : INT64_MIN;
  std::vector<store::StoredIncident> rows;
  std::vector<std::pair<uint64_t, TimestampNs>> due;
  bool resolved = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tracker_.SetGraph(edges);
    for (Input& in : inputs) {
      switch (in.kind) {
        case Input::Kind::kOpen: {
          const uint64_t id = tracker_.Open(in.member);
          if (id != 0) first_seen_wall_.emplace(id, in.member.start_ns);
          break;
        }
        case Input::Kind::kPeak:
          tracker_.Peak(in.member.key, in.member.peak_score, in.member.peak_value,
                        in.member.baseline);
          break;
        case Input::Kind::kClose:
          tracker_.Close(in.member.key, in.ts);
          break;
      }
    }
    resolved = !tracker_.Advance(now).empty();
    // Keep first-rank start times only for incidents still open (bounded by max_open).
    for (auto it = first_seen_wall_.begin(); it != first_seen_wall_.end();) {
      const incidents::Incident* inc = tracker_.Get(it->first);
      it = inc == nullptr || !inc->open() ? first_seen_wall_.erase(it) : std::next(it);
    }
    if (spans_) due = DueForTraceEvidence(now, spans_min_start);
  }
  // Trace evidence outside all locks, on a copy of the recent spans.
  std::vector<std::pair<uint64_t, incidents::TraceLatencyEvidence>> evidence;
  if (!due.empty()) {
    const auto began = std::chrono::steady_clock::now();
    spans_(&span_copy_);
    for (const auto& [id, start] : due) {
      // Window and baseline per entry operation: from start - 60 s, or, for an entry operation
      // younger than that, from the start (incidents/trace_window.h).
      std::vector<ingest::Span> base, window;
      incidents::SplitTraceSpans(span_copy_, incidents::ChooseTracePeriods(span_copy_, start),
                                 &base, &window);
      evidence.emplace_back(id, incidents::ComputeTraceEvidence(base, window));
      trace_evaluated_[id] = now;
      ++trace_evidence_runs_;
    }
    trace_evidence_ns_ +=
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - began)
                                  .count());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, ev] : evidence) tracker_.SetTraceEvidence(id, std::move(ev));
    for (uint64_t id : tracker_.TakeChanged()) {
      const incidents::Incident* inc = tracker_.Get(id);
      if (inc == nullptr) continue;
      auto seen = first_seen_wall_.find(id);
      if (!inc->causes.empty() && seen != first_seen_wall_.end() && seen->second > 0) {
        // First ranking of this incident: delay from its first anomaly to now.
        first_rank_ms_ = static_cast<uint64_t>(std::max<int64_t>(0, now - seen->second)) /
                         static_cast<uint64_t>(kNsPerMs);
        ++ranked_;
        seen->second = 0;  // measured once
      }
      if (store_ != nullptr) {
        rows.push_back({id, inc->start_ns, inc->end_ns, store::kIncidentSchema,
                        incidents::IncidentToJson(*inc).dump(
                            -1, ' ', false, nlohmann::json::error_handler_t::replace)});
      }
    }
  }
  if (!rows.empty() && !store_->WriteIncidents(rows).ok()) ++write_errors_;
  // The table keeps what a restart reads back; older incidents go when one resolves.
  if (resolved && store_ != nullptr && !store_->PruneIncidents(kRestoreLimit).ok()) {
    ++write_errors_;
  }
  if (!cfg_.alertmanager_url.empty()) Alerts(now);
}

std::vector<std::pair<uint64_t, TimestampNs>> IncidentService::DueForTraceEvidence(
    int64_t now, TimestampNs spans_min_start_ns) {
  std::vector<std::tuple<int64_t, uint64_t, TimestampNs>> candidates;  // last, id, start
  std::map<uint64_t, int64_t> still_open;
  for (const incidents::Incident* inc : tracker_.List(SIZE_MAX)) {
    if (!inc->open()) continue;
    auto it = trace_evaluated_.find(inc->id);
    const int64_t last = it == trace_evaluated_.end() ? INT64_MIN : it->second;
    if (last != INT64_MIN) still_open.emplace(inc->id, last);
    const int64_t every = now - inc->start_ns < kTraceEvidenceYoungNs ? kTraceEvidenceEveryNs
                                                                      : kTraceEvidenceOldEveryNs;
    if (last != INT64_MIN && now - last < every) continue;
    if (TraceEvidenceCannotReplaceKeptCauses(*inc, spans_min_start_ns)) {
      still_open[inc->id] = now;  // as if computed: due again a period later
      ++trace_evidence_skipped_;
      continue;
    }
    candidates.emplace_back(last, inc->id, inc->start_ns);
  }
  trace_evaluated_ = std::move(still_open);         // forget the closed ones
  std::sort(candidates.begin(), candidates.end());  // never computed first, then the oldest
  std::vector<std::pair<uint64_t, TimestampNs>> out;
  for (size_t i = 0; i < candidates.size() && i < kTraceEvidencePerTick; ++i) {
    out.emplace_back(std::get<1>(candidates[i]), std::get<2>(candidates[i]));
  }
  return out;
}

void IncidentService::Alerts(int64_t now) {
  const int64_t for_ns = cfg_.alert_for_ms * kNsPerMs;
  const int64_t resend_ns = std::max<int64_t>(cfg_.alert_resend_ms * kNsPerMs, 1);
  std::vector<AlertOut> out;
  std::vector<uint64_t> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const incidents::Incident* inc : tracker_.List(SIZE_MAX)) {
      AlertState& a = alerts_[inc->id];
      const std::string service = inc->TopService();
      std::map<std::string, size_t> per_signal;
      for (const incidents::Member& m : inc->members) ++per_signal[incidents::SignalName(m.signal)];
      std::string signals;
      for (const auto& [name, n] : per_signal) {
        signals += (signals.empty() ? "" : ", ") + std::to_string(n) + " " + name;
      }
      std::string summary = "incident " + std::to_string(inc->id) + ": " +
                            std::to_string(inc->members.size()) + " anomalies (" + signals + "); ";
      std::string causes;
      for (size_t i = 0; i < inc->causes.size() && i < kAlertCauses; ++i) {
        if (i) causes += "\n";
        causes += std::to_string(i + 1) + ". " + inc->causes[i].explanation;
      }
      summary += inc->causes.empty() ? "no cause named (" + inc->no_cause_reason + ")"
                                     : "likely cause: " + inc->causes[0].explanation;
      if (inc->open()) {
        const bool grew =
            a.members != inc->members.size() && now - a.last_sent_ns >= kMemberUpdateNs;
        const bool due = !a.firing
                             ? now - inc->start_ns >= for_ns
                             : now - a.last_sent_ns >= resend_ns || a.service != service || grew;
        if (!due) continue;
        if (a.firing && a.service != service) {  // label changed: resolve the old alert
          out.push_back({inc->id, 0, a.service, summary, causes, inc->start_ns, now});
          ids.push_back(0);
        }
        out.push_back({inc->id, inc->members.size(), service, summary, causes, inc->start_ns,
                       now + kEndsAtResends * resend_ns});
        ids.push_back(inc->id);
      } else if (a.firing && !a.resolved_sent) {
        out.push_back({inc->id, inc->members.size(), a.service.empty() ? service : a.service,
                       summary, causes, inc->start_ns, inc->end_ns});
        ids.push_back(inc->id);
      }
    }
  }
  if (out.empty()) return;
  nlohmann::json arr = nlohmann::json::array();
  for (const AlertOut& a : out) {
    arr.push_back(
        {{"labels",
          {{"alertname", "BacksightIncident"},
           {"incident_id", std::to_string(a.id)},
           {"service", a.service}}},
         {"annotations",
          {{"summary", a.summary}, {"description", a.summary}, {"causes", a.causes}}},
         {"startsAt", FormatRfc3339(a.starts_ns)},
         {"endsAt", FormatRfc3339(a.ends_ns)},
         {"generatorURL", cfg_.external_url + "/api/v1/incidents/" + std::to_string(a.id)}});
  }
  ++posts_;
  if (!PostAlertmanagerAlerts(cfg_.alertmanager_url,
                              arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))) {
    ++post_errors_;  // retried next tick: nothing marked sent
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < out.size(); ++i) {
    if (ids[i] == 0) continue;
    AlertState& a = alerts_[ids[i]];
    const incidents::Incident* inc = tracker_.Get(ids[i]);
    if (inc == nullptr || !inc->open()) {
      a.resolved_sent = true;
    } else {
      a.firing = true;
      a.service = out[i].service;
      a.members = out[i].members;
      a.last_sent_ns = now;
    }
  }
  // Forget alert state of incidents the tracker dropped.
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    it = tracker_.Get(it->first) == nullptr ? alerts_.erase(it) : std::next(it);
  }
}

void IncidentService::Register(HttpServer* http) {
  http->Route("GET", "/api/v1/incidents",
              [this](const HttpRequest& req, HttpResponse* res) { HandleList(req, res); });
  http->Route("GET", "/api/v1/incidents/*",
              [this](const HttpRequest& req, HttpResponse* res) { HandleOne(req, res); });
}

void IncidentService::HandleList(const HttpRequest& req, HttpResponse* res) {
  size_t limit = kDefaultListLimit;
  if (req.has_param("limit")) {
    const std::string v = req.param("limit");
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n == 0 || n > kMaxListLimit) {
      Answer(res, Status::InvalidArgument("bad limit"),
             "limit must be 1.." + std::to_string(kMaxListLimit) + ", got '" + v + "'");
      return;
    }
    limit = n;
  }
  nlohmann::json arr = nlohmann::json::array();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const incidents::Incident* inc : tracker_.List(limit)) {
      arr.push_back(incidents::IncidentToJson(*inc, /*with_members=*/false));
    }
  }
  res->SetContent(JsonDump({{"status", "success"}, {"data", {{"incidents", arr}}}}),
                  "application/json");
}

void IncidentService::HandleOne(const HttpRequest& req, HttpResponse* res) {
  const std::string v = req.path.substr(req.path.rfind('/') + 1);
  char* end = nullptr;
  const unsigned long long id = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || id == 0 || v.size() > 19) {
    Answer(res, Status::InvalidArgument("bad id"),
           "incident id must be a positive integer, got '" + v + "'");
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  const incidents::Incident* inc = tracker_.Get(id);
  if (inc == nullptr) {
    Answer(res, Status::NotFound("no incident " + v), "no incident " + v);
    return;
  }
  res->SetContent(JsonDump({{"status", "success"}, {"data", incidents::IncidentToJson(*inc)}}),
                  "application/json");
}

void IncidentService::MirrorMetrics(SelfMetrics* m) {
  incidents::IncidentStats s;
  size_t open = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = tracker_.stats();
    open = tracker_.open_count();
  }
  m->SetGauge("backsight_incidents_open", "Incidents open now.", static_cast<double>(open));
  m->SetCounter("backsight_incidents_opened_total", "Incidents opened since start.",
                static_cast<double>(s.opened));
  m->SetCounter("backsight_incidents_resolved_total", "Incidents resolved since start.",
                static_cast<double>(s.resolved));
  m->SetCounter("backsight_incident_members_total",
                "Anomaly episodes added to incidents since start.", static_cast<double>(s.members));
  m->SetCounter("backsight_incident_members_dropped_total",
                "Anomaly episodes not added to an incident past incidents.max_members.",
                static_cast<double>(s.members_dropped));
  m->SetCounter("backsight_incident_refused_total",
                "Anomaly episodes dropped because incidents.max_open incidents were open.",
                static_cast<double>(s.incidents_dropped));
  m->SetCounter("backsight_incident_changes_dropped_total",
                "Episode changes dropped because the incident queue was full.",
                static_cast<double>(dropped_.load()));
  m->SetCounter("backsight_incident_write_errors_total",
                "Failed writes of incidents to the state store.",
                static_cast<double>(write_errors_.load()));
  m->SetCounter("backsight_incident_alert_posts_total", "POSTs of incident alerts to Alertmanager.",
                static_cast<double>(posts_.load()));
  m->SetCounter("backsight_incident_alert_post_errors_total",
                "Failed POSTs of incident alerts to Alertmanager.",
                static_cast<double>(post_errors_.load()));
  m->SetGauge("backsight_incidents_restored", "Incidents read back from the store at start.",
              static_cast<double>(restored_.load()));
  m->SetGauge("backsight_incidents_restore_skipped",
              "Stored incidents that could not be read back at start (other schema, damaged).",
              static_cast<double>(restore_skipped_.load()));
  m->SetCounter("backsight_incident_trace_evidence_runs_total",
                "Trace latency evidence computations of open incidents since start.",
                static_cast<double>(trace_evidence_runs_.load()));
  m->SetCounter("backsight_incident_trace_evidence_skipped_total",
                "Trace latency evidence computations skipped: the incident keeps its stored trace "
                "causes and no recent span started before it, so no baseline could replace them.",
                static_cast<double>(trace_evidence_skipped_.load()));
  m->SetCounter("backsight_incident_trace_evidence_seconds",
                "Time spent computing incidents' trace latency evidence (span ring copy, periods, "
                "attribution) since start.",
                static_cast<double>(trace_evidence_ns_.load()) / kNsPerS);
  m->SetGauge("backsight_incident_first_rank_seconds",
              "Delay from the latest ranked incident's first anomaly to its first cause ranking.",
              static_cast<double>(first_rank_ms_.load()) / 1000.0);
}

}  // namespace backsight::server
