#include "backsight/traces/findings.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <unordered_map>

namespace backsight::traces {
namespace {

// ASCII classes of the "C" locale (std::isspace / std::isdigit / std::isalnum there), inline.
bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
         c == '.';
}

// Collapses `IN (?, ?, ?)` (any case, any spacing) in already-masked `s` to `IN (?)`, into
// `*out` (replaced).
void CollapseInLists(std::string_view s, std::string* out_ptr) {
  std::string& out = *out_ptr;
  out.clear();
  size_t i = 0;  // s[0, i) is in `out`
  // Every '(' is looked at: preceded (across spaces) by the word "in", holding only `?`, `,` and
  // spaces up to its ')', it becomes "(?)"; the text between is copied in one piece.
  for (size_t p = s.find('(', i); p != std::string_view::npos; p = s.find('(', p + 1)) {
    size_t q = p;
    while (q > i && s[q - 1] == ' ') --q;
    if (q < i + 2 || (s[q - 2] != 'i' && s[q - 2] != 'I') || (s[q - 1] != 'n' && s[q - 1] != 'N') ||
        (q - 2 > 0 && IsIdentChar(s[q - 3]))) {
      continue;
    }
    size_t k = p + 1;
    while (k < s.size() && (s[k] == '?' || s[k] == ',' || s[k] == ' ')) ++k;
    if (k == s.size() || s[k] != ')') continue;
    out.append(s, i, q - i);  // through "in"
    out += " (?)";
    i = k + 1;
    p = k;
  }
  out.append(s, i);
}

}  // namespace

std::string NormalizeSqlStatement(std::string_view sql) {
  std::string out;
  NormalizeSqlStatement(sql, &out);
  return out;
}

void NormalizeSqlStatement(std::string_view sql, std::string* result) {
  // The literals are masked into a per-thread buffer, the IN lists collapsed into `*result`.
  thread_local std::string masked;
  std::string& out = masked;
  out.clear();
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (IsSpace(c)) {
      while (i < sql.size() && IsSpace(sql[i])) ++i;
      if (!out.empty() && i < sql.size()) out += ' ';
      continue;
    }
    if (c == '\'') {  // string literal, '' is an escaped quote
      ++i;
      while (i < sql.size()) {
        if (sql[i] == '\'' && i + 1 < sql.size() && sql[i + 1] == '\'') {
          i += 2;
        } else if (sql[i++] == '\'') {
          break;
        }
      }
      out += '?';
      continue;
    }
    const bool number_start = IsDigit(c) && (out.empty() || !IsIdentChar(out.back()));
    if (number_start) {
      while (i < sql.size() && (IsIdentChar(sql[i]))) ++i;  // digits, '.', hex, exponent
      out += '?';
      continue;
    }
    // A run of ordinary characters (digits inside a word included) is copied in one piece.
    size_t j = i + 1;
    while (j < sql.size() && !IsSpace(sql[j]) && sql[j] != '\'' &&
           !(IsDigit(sql[j]) && !IsIdentChar(sql[j - 1]))) {
      ++j;
    }
    out.append(sql, i, j - i);
    i = j;
  }
  CollapseInLists(out, result);
}

FindingsDetector::FindingsDetector(int64_t window_ns, size_t max_traces, size_t max_findings)
    : window_ns_(window_ns),
      max_traces_(max_traces),
      own_stats_(std::make_unique<FindingsStats>(max_findings)),
      stats_(own_stats_.get()) {}

FindingsDetector::FindingsDetector(int64_t window_ns, size_t max_traces, FindingsStats* shared)
    : window_ns_(window_ns), max_traces_(max_traces), stats_(shared) {}

std::string_view FindingsDetector::StatementOf(const ingest::Span& span) {
  // One pass: db.query.text (semantic conventions >= 1.26) wins over db.statement (older).
  std::string_view statement;
  bool query_text_seen = false, statement_seen = false;
  for (const auto& a : span.attributes) {
    if (!query_text_seen && a.key == "db.query.text") {
      if (!a.value.empty()) return a.value;
      query_text_seen = true;
    } else if (!statement_seen && a.key == "db.statement") {
      statement = a.value;
      statement_seen = true;
    }
  }
  return statement;
}

uint32_t FindingsDetector::Intern(std::string_view name) {
  auto it = name_ids_.find(name);
  if (it != name_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(names_.size());
  auto inserted = name_ids_.emplace(std::string(name), id).first;
  names_.push_back(&inserted->first);
  return id;
}

uint32_t FindingsDetector::ServiceId(std::string_view service) {
  if (last_service_ == kNoName || NameOf(last_service_) != service) {
    last_service_ = Intern(service);
  }
  return last_service_;
}

void FindingsDetector::CompactNames() {
  NameMap ids;
  std::vector<const std::string*> names;
  auto remap = [&](uint32_t& id) {
    if (id == kNoName) return;
    auto [it, inserted] = ids.try_emplace(*names_[id], static_cast<uint32_t>(names.size()));
    if (inserted) names.push_back(&it->first);
    id = it->second;
  };
  for (auto& [key, t] : traces_) {
    for (Node& n : t.spans) {
      remap(n.service);
      remap(n.name);
      remap(n.statement);
    }
  }
  name_ids_.swap(ids);
  names_.swap(names);
  last_service_ = kNoName;
  counts_refs_.clear();
  name_cap_ = std::max(kMinNameCap, 2 * names_.size());
}

void FindingsDetector::Add(const ingest::Span& span, int64_t arrival_ns) {
  const std::string_view stmt = StatementOf(span);
  if (stmt.empty()) {
    statement_.clear();
  } else {
    NormalizeSqlStatement(stmt, &statement_);
  }
  Add(span, arrival_ns, TraceKey(span.trace_id), statement_);
}

void FindingsDetector::AdvanceSpanTime(int64_t now_ns) {
  now_ns_ = std::max(now_ns_, now_ns);
  Expire();
}

void FindingsDetector::Add(const ingest::Span& span, int64_t arrival_ns, uint64_t key,
                           std::string_view statement) {
  now_ns_ = std::max(now_ns_, span.end_ns);
  Trace* t = last_trace_;
  if (t == nullptr || last_trace_key_ != key) {
    auto it = traces_.find(key);
    if (it == traces_.end()) {
      while (!order_.empty() && traces_.size() >= max_traces_) {
        const uint64_t front = order_.front().second;
        order_.pop_front();
        auto old = traces_.find(front);
        if (old == traces_.end()) continue;  // finalised by ExpireQuiet
        Finalise(old->second);
        last_trace_ = nullptr;
        traces_.erase(old);
        ++finalised_early_;
      }
      it = traces_.emplace(key, Trace()).first;
      it->second.id = span.trace_id;
      it->second.spans.reserve(kInitialSpansPerTrace);
      order_.emplace_back(span.end_ns, key);
      arrival_order_.emplace_back(arrival_ns, key);
    }
    t = &it->second;
    last_trace_ = t;
    last_trace_key_ = key;
  }
  t->last_ns = std::max(t->last_ns, span.end_ns);
  t->last_arrival_ns = std::max(t->last_arrival_ns, arrival_ns);
  if (t->spans.size() >= kMaxSpansPerTrace) {
    ++dropped_spans_;
  } else {
    if (names_.size() >= name_cap_) CompactNames();
    const std::hash<std::string_view> hash;
    t->spans.push_back(Node{
        hash(span.span_id), hash(span.parent_span_id), span.start_ns, span.end_ns,
        ServiceId(span.service), Intern(span.name), statement.empty() ? kNoName : Intern(statement),
        !span.parent_span_id.empty(), span.status == ingest::SpanStatus::kError,
        span.kind == ingest::SpanKind::kClient || span.kind == ingest::SpanKind::kProducer});
  }
  Expire();
}

void FindingsDetector::ExpireOrder(std::deque<std::pair<int64_t, uint64_t>>* order,
                                   int64_t Trace::*last, int64_t cutoff) {
  while (!order->empty() && order->front().first < cutoff) {
    const uint64_t front = order->front().second;
    order->pop_front();
    auto it = traces_.find(front);
    if (it == traces_.end()) continue;  // finalised already (by the other order)
    if (it->second.*last >= cutoff) {   // the trace grew since: look again later
      order->emplace_back(it->second.*last, front);
      continue;
    }
    Finalise(it->second);
    last_trace_ = nullptr;
    traces_.erase(it);
  }
}

void FindingsDetector::Expire() { ExpireOrder(&order_, &Trace::last_ns, now_ns_ - window_ns_); }

void FindingsDetector::ExpireQuiet(int64_t now_ns) {
  const int64_t cutoff = now_ns - window_ns_;
  // Oldest arrival first, as Expire does by span time: a trace that received spans since it was
  // queued is queued again at its latest arrival.
  ExpireOrder(&arrival_order_, &Trace::last_arrival_ns, cutoff);
  // Queue entries of erased traces are skipped when reached; drop them when no trace is open.
  if (traces_.empty()) {
    order_.clear();
    arrival_order_.clear();
  }
}

void FindingsDetector::Flush() {
  for (auto& [key, t] : traces_) Finalise(t);
  last_trace_ = nullptr;
  traces_.clear();
  order_.clear();
  arrival_order_.clear();
}

void FindingsDetector::Finalise(Trace& trace) {
  ++finalised_;
  report_.Clear();
  report_.trace_id = trace.id;
  FindCascades(trace.spans);  // before FindRepeats reorders the spans
  FindRepeats(trace.spans);
  // The report's names are views of this detector's interned names, valid until the next
  // CompactNames (never during Add of the stats).
  stats_->Add(report_);
}

bool FindingsDetector::Follows(const Node& prev, const Node& next) {
  // next.start > prev.end - kClockSlackNs, without overflow for any times.
  return next.start_ns >= prev.end_ns ||
         (prev.end_ns >= INT64_MIN + kClockSlackNs && next.start_ns > prev.end_ns - kClockSlackNs);
}

void FindingsDetector::FindRepeats(std::vector<Node>& ch) {
  std::sort(ch.begin(), ch.end(), [](const Node& a, const Node& b) {
    if (a.has_parent != b.has_parent) return a.has_parent < b.has_parent;
    if (a.parent_id != b.parent_id) return a.parent_id < b.parent_id;
    if (a.service != b.service) return a.service < b.service;
    if (a.operation() != b.operation()) return a.operation() < b.operation();
    return a.start_ns < b.start_ns;
  });
  for (size_t b = 0; b < ch.size();) {
    size_t e = b + 1;
    size_t retries = 0, sequential = 0;
    for (; e < ch.size() && ch[e].has_parent == ch[b].has_parent &&
           ch[e].parent_id == ch[b].parent_id && ch[e].service == ch[b].service &&
           ch[e].operation() == ch[b].operation();
         ++e) {
      if (ch[e - 1].error) ++retries;
      if (Follows(ch[e - 1], ch[e])) ++sequential;
    }
    if (!ch[b].has_parent) {  // roots are nobody's calls
      b = e;
      continue;
    }
    TraceReport::CallGroup g;
    g.service = NameOf(ch[b].service);
    g.name = NameOf(ch[b].name);
    g.operation = NameOf(ch[b].operation());
    g.start_ns = ch[b].start_ns;
    g.ref = RefOf(ch[b].service, ch[b].operation());
    g.calls = e - b;
    g.retries = retries;
    if (retries >= kMinRetries) {
      g.kind = FindingsStats::kRetryStorm;
      g.value = retries;
    } else if (g.calls >= kMinRepeats &&
               static_cast<double>(sequential) >= kMinSequentialShare * (g.calls - 1)) {
      g.kind = FindingsStats::kNPlusOne;
      g.value = g.calls;
    }
    report_.groups.push_back(g);
    b = e;
  }
}

void FindingsDetector::FindCascades(const std::vector<Node>& spans) {
  const size_t n = spans.size();
  bool any_error = false;
  for (const Node& s : spans) any_error = any_error || s.error;
  if (!any_error) return;
  span_index_.clear();
  span_index_.reserve(n);
  for (size_t i = 0; i < n; ++i) span_index_.emplace(spans[i].span_id, i);
  parent_.assign(n, SIZE_MAX);
  for (size_t i = 0; i < n; ++i) {
    if (!spans[i].has_parent) continue;
    auto it = span_index_.find(spans[i].parent_id);
    if (it != span_index_.end() && it->second != i) parent_[i] = it->second;
  }
  // Mark the ancestors of every erring span; each walk stops at an already marked span, and at
  // n steps (a parent cycle in hostile input).
  erring_below_.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    if (!spans[i].error) continue;
    size_t steps = 0;
    for (size_t p = parent_[i]; p != SIZE_MAX && steps < n && !erring_below_[p]; p = parent_[p]) {
      erring_below_[p] = true;
      ++steps;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const Node& origin = spans[i];
    if (!origin.error || erring_below_[i]) continue;
    reached_.clear();
    size_t steps = 0;
    for (size_t p = parent_[i]; p != SIZE_MAX && steps < n; p = parent_[p], ++steps) {
      const Node& up = spans[p];
      // up.end <= origin.end + delay, without overflow for any times.
      const bool soon = origin.end_ns > INT64_MAX - kMaxCascadeDelayNs ||
                        up.end_ns <= origin.end_ns + kMaxCascadeDelayNs;
      if (up.error && !up.client && up.service != origin.service && soon) {
        reached_.push_back(up.service);
      }
    }
    TraceReport::Origin o;
    o.service = NameOf(origin.service);
    o.operation = NameOf(origin.operation());
    o.start_ns = origin.start_ns;
    o.ref = RefOf(origin.service, origin.operation());
    o.reached_begin = report_.reached.size();
    for (uint32_t id : reached_) report_.reached.push_back(NameOf(id));
    // Sorted and unique by name, as the set of names it replaces.
    auto first = report_.reached.begin() + static_cast<std::ptrdiff_t>(o.reached_begin);
    std::sort(first, report_.reached.end());
    report_.reached.erase(std::unique(first, report_.reached.end()), report_.reached.end());
    o.reached_end = report_.reached.size();
    report_.origins.push_back(o);
  }
}

}  // namespace backsight::traces
