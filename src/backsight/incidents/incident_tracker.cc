#include "backsight/incidents/incident_tracker.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "backsight/core/number_format.h"

namespace backsight::incidents {
namespace {

constexpr int64_t kNsPerS = 1'000'000'000;
// Significant digits of factors and scores in explanations (people read them).
constexpr int kExplainDigits = 3;

// "HH:MM:SS" (UTC) of a timestamp, from FormatRfc3339's `YYYY-MM-DDTHH:MM:SS...Z`.
std::string ClockTime(TimestampNs ts) {
  std::string s = FormatRfc3339(ts);
  return s.size() >= 19 ? s.substr(11, 8) : s;
}

// Onsets closer than this are said to be together: a second is the finest resolution scrape
// intervals and alert evaluation work at (Prometheus' `scrape_interval` and rule `interval` are
// whole seconds in practice), so an order within it says nothing about cause.
constexpr int64_t kSameOnsetNs = kNsPerS;

std::string Seconds(int64_t ns) {
  return FormatDouble(static_cast<double>(ns) / kNsPerS, kExplainDigits);
}

// What the indicator did: "rose x6.2", "fell to x0.31", "mean 3.1 ms -> 41 ms (x13)", or its
// score when no baseline.
std::string Movement(const Member& m) {
  if (m.signal == Signal::kLog) return "appeared (score " + FormatDouble(m.peak_score, 3) + ")";
  if (m.signal == Signal::kDatabase && m.baseline > 0) {
    return "mean " + FormatDouble(m.baseline, kExplainDigits) + " ms -> " +
           FormatDouble(m.peak_value, kExplainDigits) + " ms (x" +
           FormatDouble(m.peak_value / m.baseline, kExplainDigits) + ")";
  }
  if (m.signal == Signal::kSecurity || (m.signal == Signal::kTrace && !m.evidence.empty())) {
    return "found (score " + FormatDouble(m.peak_score, kExplainDigits) + ")";
  }
  if (m.baseline > 0 && m.peak_value >= 0 && std::isfinite(m.peak_value)) {
    const double f = m.peak_value / m.baseline;
    if (f >= 1) return "rose x" + FormatDouble(f, kExplainDigits);
    return "fell to x" + FormatDouble(f, kExplainDigits);
  }
  return "was anomalous (score " + FormatDouble(m.peak_score, kExplainDigits) + ")";
}

// The label `name`'s value, "" when absent.
std::string LabelOf(const Labels& labels, const char* name) {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return "";
}

// The service a member counts for in the ranking: its service, else its edge's server.
std::string RankedService(const Member& m) {
  return m.service.empty() ? LabelOf(m.labels, kEdgeLabels[1]) : m.service;
}

struct ServiceView {
  TimestampNs onset = 0;
  double score = 0;
  const Member* first = nullptr;  // indicator: opened first, ties -> higher peak
};

}  // namespace

const char* SignalName(Signal s) {
  switch (s) {
    case Signal::kMetric:
      return "metric";
    case Signal::kLog:
      return "log";
    case Signal::kTrace:
      return "trace";
    case Signal::kSecurity:
      return "security";
    case Signal::kDatabase:
      return "database";
  }
  return "metric";
}

bool ParseSignal(const std::string& name, Signal* out) {
  for (Signal s :
       {Signal::kMetric, Signal::kLog, Signal::kTrace, Signal::kSecurity, Signal::kDatabase}) {
    if (name == SignalName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

std::vector<std::string> MemberServices(const Member& m) {
  std::vector<std::string> out;
  auto add = [&out](std::string s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) {
      out.push_back(std::move(s));
    }
  };
  add(m.service);
  for (const char* e : kEdgeLabels) add(LabelOf(m.labels, e));
  return out;
}

std::string Incident::TopService() const {
  if (!causes.empty()) return causes[0].service;
  for (const Member& m : members) {
    const std::string s = RankedService(m);
    if (!s.empty()) return s;
  }
  return "";
}

IncidentTracker::IncidentTracker(const IncidentOptions& options) : opt_(options) {}

void IncidentTracker::SetGraph(const std::vector<std::pair<std::string, std::string>>& edges) {
  std::set<std::pair<std::string, std::string>> next(edges.begin(), edges.end());
  if (next == edges_) return;
  edges_ = std::move(next);
  for (uint64_t id : open_) {
    Rank(&incidents_[id]);
    Touch(id);
  }
}

Incident* IncidentTracker::Find(uint64_t id) {
  auto it = incidents_.find(id);
  return it == incidents_.end() ? nullptr : &it->second;
}

bool IncidentTracker::Adjacent(const std::string& a, const std::string& b) const {
  if (a.empty() || b.empty()) return false;
  return edges_.count({a, b}) > 0 || edges_.count({b, a}) > 0;
}

bool IncidentTracker::Related(const Incident& inc, const Member& m) const {
  const std::vector<std::string> services = MemberServices(m);
  const bool bare = m.labels.empty() && services.empty();
  bool incident_bare = true;
  for (const Member& o : inc.members) {
    const std::vector<std::string> other = MemberServices(o);
    if (!o.labels.empty() || !other.empty()) incident_bare = false;
    for (const std::string& s : services) {
      for (const std::string& os : other) {
        if (s == os || Adjacent(s, os)) return true;
      }
    }
    for (const Label& l : m.labels) {
      for (const Label& ol : o.labels) {
        if (l.name == ol.name && l.value == ol.value) return true;
      }
    }
  }
  return bare || incident_bare;
}

void IncidentTracker::AddTimeline(Incident* inc, TimestampNs ts, std::string text) {
  if (inc->timeline.size() >= opt_.max_timeline) return;
  inc->timeline.push_back({ts, std::move(text)});
}

uint64_t IncidentTracker::Open(const Member& member) {
  auto known = open_member_.find(member.key);
  if (known != open_member_.end()) {
    Peak(member.key, member.peak_score, member.peak_value, member.baseline);
    if (member.end_ns != 0) Close(member.key, member.end_ns);
    return known->second;
  }
  // Every open incident in time and related; the oldest takes the member and the others.
  std::vector<uint64_t> related;
  for (uint64_t id : open_) {
    const Incident& cand = incidents_[id];
    if (member.start_ns - cand.last_activity_ns > opt_.gap_ns) continue;
    if (Related(cand, member)) related.push_back(id);
  }
  Incident* inc = related.empty() ? nullptr : &incidents_[related.front()];
  for (size_t i = 1; i < related.size(); ++i) Merge(related[i], inc, member.start_ns);
  if (inc == nullptr) {
    if (open_.size() >= opt_.max_open) {
      ++stats_.incidents_dropped;
      return 0;
    }
    const uint64_t id = next_id_++;
    inc = &incidents_[id];
    inc->id = id;
    inc->start_ns = member.start_ns;
    inc->last_activity_ns = member.start_ns;
    open_.insert(id);
    ++stats_.opened;
    AddTimeline(inc, member.start_ns, "incident opened");
  }
  const std::string service = RankedService(member);
  const std::string who = (service.empty() ? "" : service + ": ") + member.indicator;
  Member* same = nullptr;  // a point member seen again: the same member, extended
  if (member.end_ns != 0) {
    for (Member& o : inc->members) {
      if (o.key == member.key && o.end_ns != 0) same = &o;
    }
  }
  if (same != nullptr) {
    same->end_ns = std::max(same->end_ns, member.end_ns);
    if (member.peak_score > same->peak_score) {
      same->peak_score = member.peak_score;
      same->peak_value = member.peak_value;
      same->baseline = member.baseline;
    }
    if (!member.evidence.empty()) same->evidence = member.evidence;  // the latest sighting's
  } else if (inc->members.size() >= opt_.max_members) {
    ++inc->members_dropped;
    ++stats_.members_dropped;
    AddTimeline(inc, member.start_ns, who + " anomalous (member dropped: max_members)");
  } else {
    inc->members.push_back(member);
    ++stats_.members;
    AddTimeline(inc, member.start_ns, who + " anomalous (" + SignalName(member.signal) + ")");
    if (member.end_ns == 0) open_member_[member.key] = inc->id;
  }
  inc->start_ns = std::min(inc->start_ns, member.start_ns);
  inc->last_activity_ns = std::max({inc->last_activity_ns, member.start_ns, member.end_ns});
  Rank(inc);
  Touch(inc->id);
  return inc->id;
}

void IncidentTracker::Merge(uint64_t from_id, Incident* into, TimestampNs ts) {
  Incident& from = incidents_[from_id];
  const std::string what = "incident " + std::to_string(from_id) + " merged in (" +
                           std::to_string(from.members.size()) + " members)";
  for (Member& m : from.members) {
    if (into->members.size() >= opt_.max_members) {
      ++into->members_dropped;
      ++stats_.members_dropped;
      if (m.end_ns == 0) open_member_.erase(m.key);
      continue;
    }
    if (m.end_ns == 0) open_member_[m.key] = into->id;
    into->members.push_back(std::move(m));
  }
  into->members_dropped += from.members_dropped;
  // Causes kept from storage (two restored incidents merging): the merged one's join the
  // surviving one's, after them, one per service; unless the survivor has fresh evidence from
  // enough traces, which ranks its (now larger) window itself (Incident::kept_trace_causes).
  if (!into->trace.enough_traces()) {
    for (LiveCause& c : from.kept_trace_causes) {
      const bool known = std::any_of(into->kept_trace_causes.begin(), into->kept_trace_causes.end(),
                                     [&](const LiveCause& k) { return k.service == c.service; });
      if (!known) into->kept_trace_causes.push_back(std::move(c));
    }
  }
  from.kept_trace_causes.clear();
  for (TimelineEntry& t : from.timeline) AddTimeline(into, t.ts, std::move(t.text));
  AddTimeline(into, ts, what);
  std::stable_sort(into->timeline.begin(), into->timeline.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.ts < b.ts; });
  into->start_ns = std::min(into->start_ns, from.start_ns);
  into->last_activity_ns = std::max(into->last_activity_ns, from.last_activity_ns);
  from.members.clear();
  from.members_dropped = 0;
  from.causes.clear();
  from.timeline.clear();
  from.merged_into = into->id;
  from.end_ns = std::max(ts, from.start_ns);
  from.no_cause_reason = "merged into incident " + std::to_string(into->id);
  AddTimeline(&from, from.end_ns, from.no_cause_reason);
  open_.erase(from_id);
  closed_order_.push_back(from_id);
  Touch(from_id);
}

void IncidentTracker::Peak(const std::string& key, double score, double value, double baseline) {
  auto it = open_member_.find(key);
  if (it == open_member_.end()) return;
  Incident* inc = Find(it->second);
  if (inc == nullptr) return;
  for (Member& m : inc->members) {
    if (m.key != key || m.end_ns != 0) continue;
    if (score > m.peak_score) {
      m.peak_score = score;
      m.peak_value = value;
      m.baseline = baseline;
      Rank(inc);
      Touch(inc->id);
    }
    return;
  }
}

void IncidentTracker::Close(const std::string& key, TimestampNs ts) {
  auto it = open_member_.find(key);
  if (it == open_member_.end()) return;
  Incident* inc = Find(it->second);
  open_member_.erase(it);
  if (inc == nullptr) return;
  for (Member& m : inc->members) {
    if (m.key != key || m.end_ns != 0) continue;
    m.end_ns = std::max(ts, m.start_ns);
    inc->last_activity_ns = std::max(inc->last_activity_ns, m.end_ns);
    AddTimeline(inc, m.end_ns,
                (RankedService(m).empty() ? "" : RankedService(m) + ": ") + m.indicator +
                    " back to normal");
    Touch(inc->id);
    return;
  }
}

void IncidentTracker::SetTraceEvidence(uint64_t id, TraceLatencyEvidence evidence) {
  Incident* inc = Find(id);
  if (inc == nullptr || !inc->open()) return;
  if (evidence.enough_traces()) inc->kept_trace_causes.clear();  // fresh evidence replaces them
  inc->trace = std::move(evidence);
  std::vector<std::string> before;
  for (const LiveCause& c : inc->causes) before.push_back(c.explanation);
  Rank(inc);
  std::vector<std::string> after;
  for (const LiveCause& c : inc->causes) after.push_back(c.explanation);
  if (after != before) Touch(id);  // stored and alerted only when the ranking reads differently
}

std::vector<uint64_t> IncidentTracker::Advance(TimestampNs now) {
  std::vector<uint64_t> resolved;
  for (auto it = open_.begin(); it != open_.end();) {
    Incident& inc = incidents_[*it];
    const bool all_closed = std::all_of(inc.members.begin(), inc.members.end(),
                                        [](const Member& m) { return m.end_ns != 0; });
    if (!all_closed || now - inc.last_activity_ns < opt_.resolve_after_ns) {
      ++it;
      continue;
    }
    inc.end_ns = now;
    AddTimeline(&inc, now, "incident resolved");
    resolved.push_back(inc.id);
    Touch(inc.id);
    closed_order_.push_back(inc.id);
    ++stats_.resolved;
    it = open_.erase(it);
  }
  while (closed_order_.size() > opt_.max_closed) {
    incidents_.erase(closed_order_.front());
    closed_order_.pop_front();
  }
  return resolved;
}

void IncidentTracker::Restore(Incident incident) {
  const uint64_t id = incident.id;
  if (id == 0 || incidents_.count(id)) return;
  next_id_ = std::max(next_id_, id + 1);
  Incident& inc = incidents_[id] = std::move(incident);
  if (inc.open()) {
    inc.kept_trace_causes.clear();
    for (const LiveCause& c : inc.causes) {
      if (c.evidence == kCauseByTraceLatency) inc.kept_trace_causes.push_back(c);
    }
    open_.insert(id);
    for (const Member& m : inc.members) {
      if (m.end_ns == 0) open_member_[m.key] = id;
    }
  } else {
    closed_order_.push_back(id);
  }
}

std::vector<const Incident*> IncidentTracker::List(size_t limit) const {
  std::vector<const Incident*> out;
  for (const auto& [id, inc] : incidents_) out.push_back(&inc);
  std::sort(out.begin(), out.end(), [](const Incident* a, const Incident* b) {
    return a->start_ns != b->start_ns ? a->start_ns > b->start_ns : a->id > b->id;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

const Incident* IncidentTracker::Get(uint64_t id) const {
  auto it = incidents_.find(id);
  return it == incidents_.end() ? nullptr : &it->second;
}

std::vector<uint64_t> IncidentTracker::TakeChanged() {
  std::vector<uint64_t> out(changed_.begin(), changed_.end());
  changed_.clear();
  return out;
}

void IncidentTracker::Rank(Incident* inc) const {
  std::map<std::string, ServiceView> services;
  for (const Member& m : inc->members) {
    const std::string service = RankedService(m);
    if (service.empty()) continue;
    ServiceView& v = services[service];
    if (v.first == nullptr || m.start_ns < v.onset ||
        (m.start_ns == v.onset && m.peak_score > v.first->peak_score)) {
      v.onset = m.start_ns;
      v.first = &m;
    }
    v.score = std::max(v.score, m.peak_score);
  }
  struct Row {
    std::string service;
    const ServiceView* view;
    bool calls_anomalous;  // a caller of another anomalous service: a likely victim
  };
  std::vector<Row> rows;
  for (const auto& [name, view] : services) {
    bool calls = false;
    for (const auto& [other, ov] : services) {
      if (other != name && edges_.count({name, other})) calls = true;
    }
    rows.push_back({name, &view, calls});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.calls_anomalous != b.calls_anomalous) return !a.calls_anomalous;
    if (a.view->onset != b.view->onset) return a.view->onset < b.view->onset;
    if (a.view->score != b.view->score) return a.view->score > b.view->score;
    return a.service < b.service;
  });
  // The causes placed by trace evidence: those kept from storage until fresh evidence from
  // enough traces replaces them, else the services the significant evidence names (strong
  // enough, and a member's service or next to one), strongest first.
  std::vector<LiveCause> traced;
  if (!inc->kept_trace_causes.empty()) {
    for (LiveCause c : inc->kept_trace_causes) {
      auto v = services.find(c.service);
      if (v != services.end()) {  // as a fresh one: the member's score and onset
        c.score = v->second.score;
        c.onset_ns = v->second.onset;
      }
      traced.push_back(std::move(c));
    }
  } else if (inc->trace.significant()) {
    std::vector<std::pair<std::string, const TraceServiceEvidence*>> named;
    double top = 0;
    for (const auto& [name, e] : inc->trace.services) top = std::max(top, e.strength);
    for (const auto& [name, e] : inc->trace.services) {
      if (e.strength < kTraceLeaderShare * top) continue;
      bool near = services.count(name) > 0;
      for (const auto& [other, ov] : services) near = near || Adjacent(name, other);
      if (near) named.emplace_back(name, &e);
    }
    std::sort(named.begin(), named.end(), [](const auto& a, const auto& b) {
      return a.second->strength != b.second->strength ? a.second->strength > b.second->strength
                                                      : a.first < b.first;
    });
    for (const auto& [name, e] : named) {
      auto v = services.find(name);
      const bool member = v != services.end();
      traced.push_back({name, e->indicator.empty() ? "trace latency" : "latency of " + e->indicator,
                        member ? v->second.score : 0, member ? v->second.onset : inc->start_ns,
                        name + ": " + e->explanation + " (trace latency attribution: " +
                            FormatDouble(inc->trace.margin, kExplainDigits) +
                            " times the threshold share of slow traces)",
                        kCauseByTraceLatency});
    }
  }
  inc->causes = traced;
  inc->no_cause_reason.clear();
  const auto is_traced = [&traced](const std::string& name) {
    return std::any_of(traced.begin(), traced.end(),
                       [&name](const LiveCause& t) { return t.service == name; });
  };
  if (rows.empty() && traced.empty()) {
    inc->no_cause_reason = "no member names a service";
    return;
  }
  if (traced.empty() && rows[0].view->score < opt_.min_cause_score) {
    inc->no_cause_reason = "weak evidence: best score " + FormatDouble(rows[0].view->score, 3) +
                           " below " + FormatDouble(opt_.min_cause_score, 3);
    return;
  }
  for (const Row& r : rows) {
    if (is_traced(r.service)) continue;
    // The first anomaly upstream (among the service's anomalous callers) when the graph knows
    // any, else the first anomaly in another service of the incident.
    bool has_callers = false;
    for (const auto& [other, ov] : services) {
      if (other != r.service && edges_.count({other, r.service})) has_callers = true;
    }
    TimestampNs upstream = 0;
    for (const auto& [other, ov] : services) {
      if (other == r.service) continue;
      if (has_callers && !edges_.count({other, r.service})) continue;
      if (upstream == 0 || ov.onset < upstream) upstream = ov.onset;
    }
    const Member& m = *r.view->first;
    std::string text = r.service + ": " + m.indicator + " " + Movement(m) +
                       (m.signal == Signal::kDatabase ? " since " : " at ") +
                       ClockTime(m.start_ns) + " UTC";
    if (upstream != 0) {
      const int64_t lead = upstream - r.view->onset;
      const char* what =
          has_callers ? " the first upstream anomaly" : " the first anomaly in another service";
      if (lead < kSameOnsetNs && lead > -kSameOnsetNs) {
        text += ", together with" + std::string(what) + " (within 1 s)";
      } else {
        text += lead >= 0 ? ", " + Seconds(lead) + " s before" + what
                          : ", " + Seconds(-lead) + " s after" + what;
      }
    } else {
      text += ", the only service anomalous";
    }
    if (r.calls_anomalous) text += " (calls an anomalous service: likely a victim)";
    inc->causes.push_back(
        {r.service, m.indicator, r.view->score, r.view->onset, std::move(text), kCauseByMembers});
  }
  if (inc->first_ranked_ns == 0) inc->first_ranked_ns = inc->last_activity_ns;
}

namespace {

nlohmann::json Time(TimestampNs ns) {
  return ns == 0 ? nlohmann::json() : nlohmann::json(FormatRfc3339(ns));
}

nlohmann::json LabelsJson(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const Label& l : labels) j[l.name] = l.value;
  return j;
}

}  // namespace

nlohmann::json IncidentToJson(const Incident& inc, bool with_members) {
  nlohmann::json j = {{"id", inc.id},
                      {"state", inc.merged_into != 0 ? "merged"
                                : inc.open()         ? "open"
                                                     : "resolved"},
                      {"start", Time(inc.start_ns)},
                      {"start_ns", inc.start_ns},
                      {"end", Time(inc.end_ns)},
                      {"end_ns", inc.end_ns},
                      {"merged_into", inc.merged_into},
                      {"last_activity_ns", inc.last_activity_ns},
                      {"first_ranked_ns", inc.first_ranked_ns},
                      {"top_service", inc.TopService()},
                      {"member_count", inc.members.size()},
                      {"members_dropped", inc.members_dropped},
                      {"no_cause_reason", inc.no_cause_reason}};
  nlohmann::json causes = nlohmann::json::array();
  for (size_t i = 0; i < inc.causes.size(); ++i) {
    const LiveCause& c = inc.causes[i];
    causes.push_back({{"rank", i + 1},
                      {"service", c.service},
                      {"indicator", c.indicator},
                      {"score", c.score},
                      {"onset", Time(c.onset_ns)},
                      {"onset_ns", c.onset_ns},
                      {"explanation", c.explanation},
                      {"evidence", c.evidence}});
  }
  j["causes"] = std::move(causes);
  if (!with_members) return j;
  nlohmann::json members = nlohmann::json::array();
  for (const Member& m : inc.members) {
    members.push_back({{"signal", SignalName(m.signal)},
                       {"key", m.key},
                       {"indicator", m.indicator},
                       {"service", m.service},
                       {"labels", LabelsJson(m.labels)},
                       {"start", Time(m.start_ns)},
                       {"start_ns", m.start_ns},
                       {"end", Time(m.end_ns)},
                       {"end_ns", m.end_ns},
                       {"peak_score", m.peak_score},
                       {"peak_value", m.peak_value},
                       {"baseline", m.baseline},
                       {"evidence", m.evidence}});
  }
  j["members"] = std::move(members);
  nlohmann::json timeline = nlohmann::json::array();
  for (const TimelineEntry& t : inc.timeline) {
    timeline.push_back({{"time", Time(t.ts)}, {"ts_ns", t.ts}, {"text", t.text}});
  }
  j["timeline"] = std::move(timeline);
  return j;
}

Status IncidentFromJson(const nlohmann::json& j, Incident* out) {
  try {
    Incident inc;
    inc.id = j.at("id").get<uint64_t>();
    inc.start_ns = j.at("start_ns").get<int64_t>();
    inc.end_ns = j.at("end_ns").get<int64_t>();
    inc.last_activity_ns = j.at("last_activity_ns").get<int64_t>();
    inc.first_ranked_ns = j.value("first_ranked_ns", int64_t{0});
    inc.members_dropped = j.value("members_dropped", uint64_t{0});
    inc.merged_into = j.value("merged_into", uint64_t{0});
    inc.no_cause_reason = j.value("no_cause_reason", "");
    for (const auto& c : j.at("causes")) {
      inc.causes.push_back({c.at("service").get<std::string>(),
                            c.at("indicator").get<std::string>(), c.at("score").get<double>(),
                            c.at("onset_ns").get<int64_t>(), c.at("explanation").get<std::string>(),
                            // absent in rows written before it existed
                            c.value("evidence", std::string(kCauseByMembers))});
    }
    for (const auto& mj : j.at("members")) {
      Member m;
      const std::string sig = mj.at("signal").get<std::string>();
      if (!ParseSignal(sig, &m.signal)) {
        return Status::InvalidArgument("incident JSON: unknown member signal '" + sig + "'");
      }
      m.key = mj.at("key").get<std::string>();
      m.indicator = mj.at("indicator").get<std::string>();
      m.service = mj.at("service").get<std::string>();
      for (const auto& [k, v] : mj.at("labels").items()) m.labels.push_back({k, v});
      SortLabels(&m.labels);
      m.start_ns = mj.at("start_ns").get<int64_t>();
      m.end_ns = mj.at("end_ns").get<int64_t>();
      m.peak_score = mj.at("peak_score").get<double>();
      m.peak_value = mj.at("peak_value").get<double>();
      m.baseline = mj.at("baseline").get<double>();
      m.evidence = mj.value("evidence", "");  // absent in rows written before it existed
      inc.members.push_back(std::move(m));
    }
    for (const auto& t : j.at("timeline")) {
      inc.timeline.push_back({t.at("ts_ns").get<int64_t>(), t.at("text").get<std::string>()});
    }
    *out = std::move(inc);
    return Status::OK();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("incident JSON: ") + e.what());
  }
}

}  // namespace backsight::incidents
