#include "backsight/traces/findings.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "backsight/core/byte_io.h"

namespace backsight::traces {
namespace {

// SaveState header (docs/formats.md §5d): "BSTF" little-endian, version 1.
constexpr uint32_t kStateMagic = 0x46545342;
constexpr uint32_t kStateVersion = 1;
// Fewest bytes of one saved histogram entry, statistics entry and finding (for count checks
// before allocating).
constexpr size_t kMinHistEntryBytes = 2;
constexpr size_t kMinCountsBytes = 5;
constexpr size_t kMinFindingBytes = 21;

bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '.';
}

// Collapses `IN (?, ?, ?)` (any case, any spacing) in already-masked `s` to `IN (?)`.
std::string CollapseInLists(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const bool word_start = i == 0 || !IsIdentChar(s[i - 1]);
    if (word_start && i + 2 <= s.size() && (s[i] == 'i' || s[i] == 'I') &&
        (s[i + 1] == 'n' || s[i + 1] == 'N') && (i + 2 == s.size() || !IsIdentChar(s[i + 2]))) {
      size_t j = i + 2;
      while (j < s.size() && s[j] == ' ') ++j;
      if (j < s.size() && s[j] == '(') {
        size_t k = j + 1;
        bool only_placeholders = true;
        while (k < s.size() && s[k] != ')') {
          if (s[k] != '?' && s[k] != ',' && s[k] != ' ') only_placeholders = false;
          ++k;
        }
        if (k < s.size() && only_placeholders) {
          out += s.substr(i, 2);
          out += " (?)";
          i = k + 1;
          continue;
        }
      }
    }
    out += s[i++];
  }
  return out;
}

// Median of a count histogram (the lower median), 0 when empty.
size_t Median(const std::map<size_t, uint64_t>& hist) {
  uint64_t total = 0;
  for (const auto& [v, n] : hist) total += n;
  uint64_t seen = 0;
  for (const auto& [v, n] : hist) {
    seen += n;
    if (2 * seen >= total) return v;
  }
  return 0;
}

constexpr const char* kNPlusOne = "n_plus_one";
constexpr const char* kRetryStorm = "retry_storm";
constexpr const char* kErrorCascade = "error_cascade";

}  // namespace

std::string NormalizeSqlStatement(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
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
    const bool number_start =
        std::isdigit(static_cast<unsigned char>(c)) && (out.empty() || !IsIdentChar(out.back()));
    if (number_start) {
      while (i < sql.size() && (IsIdentChar(sql[i]))) ++i;  // digits, '.', hex, exponent
      out += '?';
      continue;
    }
    out += c;
    ++i;
  }
  return CollapseInLists(out);
}

void FindingsDetector::Add(const ingest::Span& span, int64_t arrival_ns) {
  now_ns_ = std::max(now_ns_, span.end_ns);
  Trace* t = last_trace_;
  if (t == nullptr || *last_trace_id_ != span.trace_id) {
    auto it = traces_.find(span.trace_id);
    if (it == traces_.end()) {
      while (!order_.empty() && traces_.size() >= max_traces_) {
        auto front = std::move(order_.front());
        order_.pop_front();
        auto old = traces_.find(front.second);
        if (old == traces_.end()) continue;  // finalised by ExpireQuiet
        Finalise(old->first, old->second);
        last_trace_ = nullptr;
        traces_.erase(old);
        ++finalised_early_;
      }
      it = traces_.emplace(span.trace_id, Trace()).first;
      it->second.spans.reserve(kInitialSpansPerTrace);
      order_.emplace_back(span.end_ns, span.trace_id);
    }
    t = &it->second;
    last_trace_ = t;
    last_trace_id_ = &it->first;
  }
  t->last_ns = std::max(t->last_ns, span.end_ns);
  t->last_arrival_ns = std::max(t->last_arrival_ns, arrival_ns);
  if (t->spans.size() >= kMaxSpansPerTrace) {
    ++dropped_spans_;
  } else {
    std::string_view stmt = span.Attribute("db.query.text");
    if (stmt.empty()) stmt = span.Attribute("db.statement");
    const std::hash<std::string_view> hash;
    t->spans.push_back(
        Node{hash(span.span_id), hash(span.parent_span_id), !span.parent_span_id.empty(),
             span.status == ingest::SpanStatus::kError,
             span.kind == ingest::SpanKind::kClient || span.kind == ingest::SpanKind::kProducer,
             span.service, span.name, stmt.empty() ? std::string() : NormalizeSqlStatement(stmt),
             span.start_ns, span.end_ns});
  }
  Expire();
}

void FindingsDetector::Expire() {
  const int64_t cutoff = now_ns_ - window_ns_;
  while (!order_.empty() && order_.front().first < cutoff) {
    auto front = std::move(order_.front());
    order_.pop_front();
    auto it = traces_.find(front.second);
    if (it == traces_.end()) continue;   // finalised by ExpireQuiet
    if (it->second.last_ns >= cutoff) {  // the trace grew since: look again later
      order_.emplace_back(it->second.last_ns, std::move(front.second));
      continue;
    }
    Finalise(it->first, it->second);
    last_trace_ = nullptr;
    traces_.erase(it);
  }
}

void FindingsDetector::ExpireQuiet(int64_t now_ns) {
  const int64_t cutoff = now_ns - window_ns_;
  for (auto it = traces_.begin(); it != traces_.end();) {
    if (it->second.last_arrival_ns < cutoff) {
      Finalise(it->first, it->second);
      last_trace_ = nullptr;
      it = traces_.erase(it);
    } else {
      ++it;
    }
  }
  // order_ entries of erased traces are skipped when reached; drop them when no trace is open.
  if (traces_.empty()) order_.clear();
}

void FindingsDetector::Flush() {
  for (auto& [id, t] : traces_) Finalise(id, t);
  last_trace_ = nullptr;
  traces_.clear();
  order_.clear();
}

void FindingsDetector::TakeRetryRatios(std::vector<RetryRatioBucket>* out, bool flush) {
  if (flush) retry_windows_.Flush(INT64_MAX, &retry_closed_);
  for (auto& b : retry_closed_) out->push_back(std::move(b));
  retry_closed_.clear();
}

FindingsDetector::Counts* FindingsDetector::CountsOf(const std::string& service,
                                                     const std::string& operation) {
  auto key = std::make_pair(service, operation);
  auto it = counts_.find(key);
  if (it != counts_.end()) return &it->second;
  if (counts_.size() >= kMaxOperations) return nullptr;
  return &counts_.emplace(std::move(key), Counts()).first->second;
}

FindingsDetector::Aggregate& FindingsDetector::Found(const char* kind, const std::string& service,
                                                     const std::string& operation,
                                                     int64_t seen_ns) {
  Key key(kind, service, operation);
  auto it = found_.find(key);
  if (it == found_.end()) {
    if (found_.size() >= max_findings_) {  // forget the least recently seen
      auto oldest = found_.begin();
      for (auto f = found_.begin(); f != found_.end(); ++f) {
        if (f->second.last_ns < oldest->second.last_ns) oldest = f;
      }
      found_.erase(oldest);
      ++evicted_findings_;
    }
    it = found_.emplace(std::move(key), Aggregate()).first;
    it->second.first_ns = it->second.last_ns = seen_ns;
  }
  Aggregate& a = it->second;
  a.first_ns = std::min(a.first_ns, seen_ns);
  a.last_ns = std::max(a.last_ns, seen_ns);
  ++a.count;
  return a;
}

void FindingsDetector::Finalise(const std::string& trace_id, Trace& trace) {
  ++finalised_;
  FindCascades(trace_id, trace.spans);  // before FindRepeats reorders the spans
  FindRepeats(trace_id, trace.spans);
}

bool FindingsDetector::Follows(const Node& prev, const Node& next) {
  // next.start > prev.end - kClockSlackNs, without overflow for any times.
  return next.start_ns >= prev.end_ns ||
         (prev.end_ns >= INT64_MIN + kClockSlackNs && next.start_ns > prev.end_ns - kClockSlackNs);
}

void FindingsDetector::FindRepeats(const std::string& trace_id, std::vector<Node>& ch) {
  std::sort(ch.begin(), ch.end(), [](const Node& a, const Node& b) {
    if (a.has_parent != b.has_parent) return a.has_parent < b.has_parent;
    if (a.parent_id != b.parent_id) return a.parent_id < b.parent_id;
    if (const int c = a.service.compare(b.service); c != 0) return c < 0;
    if (const int c = a.operation().compare(b.operation()); c != 0) return c < 0;
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
    const size_t calls = e - b;
    retry_windows_.Add(ch[b].service, ch[b].name, ch[b].start_ns, calls, retries, &retry_closed_);
    if (Counts* counts = CountsOf(ch[b].service, ch[b].operation())) {
      ++counts->calls[calls];
      ++counts->retries[retries];
    }
    const char* kind = nullptr;
    size_t value = 0;
    if (retries >= kMinRetries) {
      kind = kRetryStorm;
      value = retries;
    } else if (calls >= kMinRepeats &&
               static_cast<double>(sequential) >= kMinSequentialShare * (calls - 1)) {
      kind = kNPlusOne;
      value = calls;
    }
    if (kind != nullptr) {
      Aggregate& a = Found(kind, ch[b].service, ch[b].operation(), ch[b].start_ns);
      if (value > a.worst) {
        a.worst = value;
        a.example_trace_id = trace_id;
      }
    }
    b = e;
  }
}

void FindingsDetector::FindCascades(const std::string& trace_id, const std::vector<Node>& spans) {
  const size_t n = spans.size();
  bool any_error = false;
  for (const Node& s : spans) any_error = any_error || s.error;
  if (!any_error) return;
  std::unordered_map<uint64_t, size_t> index;
  index.reserve(n);
  for (size_t i = 0; i < n; ++i) index.emplace(spans[i].span_id, i);
  std::vector<size_t> parent(n, SIZE_MAX);
  for (size_t i = 0; i < n; ++i) {
    if (!spans[i].has_parent) continue;
    auto it = index.find(spans[i].parent_id);
    if (it != index.end() && it->second != i) parent[i] = it->second;
  }
  // Mark the ancestors of every erring span; each walk stops at an already marked span, and at
  // n steps (a parent cycle in hostile input).
  std::vector<bool> erring_below(n, false);
  for (size_t i = 0; i < n; ++i) {
    if (!spans[i].error) continue;
    size_t steps = 0;
    for (size_t p = parent[i]; p != SIZE_MAX && steps < n && !erring_below[p]; p = parent[p]) {
      erring_below[p] = true;
      ++steps;
    }
  }
  std::set<std::string> reached;
  for (size_t i = 0; i < n; ++i) {
    const Node& origin = spans[i];
    if (!origin.error || erring_below[i]) continue;
    reached.clear();
    size_t steps = 0;
    for (size_t p = parent[i]; p != SIZE_MAX && steps < n; p = parent[p], ++steps) {
      const Node& up = spans[p];
      // up.end <= origin.end + delay, without overflow for any times.
      const bool soon = origin.end_ns > INT64_MAX - kMaxCascadeDelayNs ||
                        up.end_ns <= origin.end_ns + kMaxCascadeDelayNs;
      if (up.error && !up.client && up.service != origin.service && soon) {
        reached.insert(up.service);
      }
    }
    if (Counts* counts = CountsOf(origin.service, origin.operation())) {
      ++counts->cascades[reached.size()];
    }
    if (reached.empty()) continue;
    Aggregate& a = Found(kErrorCascade, origin.service, origin.operation(), origin.start_ns);
    if (reached.size() > a.worst) {
      a.worst = reached.size();
      a.example_trace_id = trace_id;
    }
    for (const auto& s : reached) {
      if (a.upstream.size() >= kMaxUpstreamServices) break;
      a.upstream.insert(s);
    }
  }
}

namespace {

void PutHist(const std::map<size_t, uint64_t>& h, ByteWriter* w) {
  w->PutVarint(h.size());
  for (const auto& [v, n] : h) {
    w->PutVarint(v);
    w->PutVarint(n);
  }
}

Status GetHist(ByteReader* r, std::map<size_t, uint64_t>* h) {
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r->GetVarint(&n, "histogram size"));
  if (n > r->remaining() / kMinHistEntryBytes) {
    return Status::Corruption("trace findings state: histogram size " + std::to_string(n) +
                              " exceeds the bytes left");
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t v = 0, c = 0;
    BACKSIGHT_RETURN_IF_ERROR(r->GetVarint(&v, "histogram value"));
    BACKSIGHT_RETURN_IF_ERROR(r->GetVarint(&c, "histogram count"));
    (*h)[static_cast<size_t>(v)] += c;
  }
  return Status::OK();
}

}  // namespace

void FindingsDetector::SaveState(std::string* out) const {
  ByteWriter w(out);
  w.PutU32(kStateMagic);
  w.PutU32(kStateVersion);
  w.PutVarint(counts_.size());
  for (const auto& [key, c] : counts_) {
    w.PutString(key.first);
    w.PutString(key.second);
    PutHist(c.calls, &w);
    PutHist(c.retries, &w);
    PutHist(c.cascades, &w);
  }
  w.PutVarint(found_.size());
  for (const auto& [key, a] : found_) {
    w.PutString(std::get<0>(key));
    w.PutString(std::get<1>(key));
    w.PutString(std::get<2>(key));
    w.PutVarint(a.worst);
    w.PutVarint(a.count);
    w.PutString(a.example_trace_id);
    w.PutI64(a.first_ns);
    w.PutI64(a.last_ns);
    w.PutVarint(a.upstream.size());
    for (const auto& u : a.upstream) w.PutString(u);
  }
}

Status FindingsDetector::RestoreState(std::string_view data) {
  ByteReader r(data);
  BACKSIGHT_RETURN_IF_ERROR(r.GetStateHeader(kStateMagic, kStateVersion, "trace findings state"));
  std::map<std::pair<std::string, std::string>, Counts> counts;
  std::map<Key, Aggregate> found;
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "operations"));
  if (n > r.remaining() / kMinCountsBytes) {
    return Status::Corruption("trace findings state: " + std::to_string(n) +
                              " operations exceed the bytes left");
  }
  for (uint64_t i = 0; i < n; ++i) {
    std::pair<std::string, std::string> key;
    Counts c;
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&key.first, "operation service"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&key.second, "operation name"));
    BACKSIGHT_RETURN_IF_ERROR(GetHist(&r, &c.calls));
    BACKSIGHT_RETURN_IF_ERROR(GetHist(&r, &c.retries));
    BACKSIGHT_RETURN_IF_ERROR(GetHist(&r, &c.cascades));
    if (counts.size() < kMaxOperations) counts[std::move(key)] = std::move(c);
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "findings"));
  if (n > r.remaining() / kMinFindingBytes) {
    return Status::Corruption("trace findings state: " + std::to_string(n) +
                              " findings exceed the bytes left");
  }
  for (uint64_t i = 0; i < n; ++i) {
    std::string kind, service, operation;
    Aggregate a;
    uint64_t worst = 0, ups = 0;
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&kind, "finding kind"));
    if (kind != kNPlusOne && kind != kRetryStorm && kind != kErrorCascade) {
      return Status::Corruption("trace findings state: unknown finding kind '" + kind + "'");
    }
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&service, "finding service"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&operation, "finding operation"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&worst, "finding worst"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&a.count, "finding count"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetString(&a.example_trace_id, "finding example"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&a.first_ns, "finding first seen"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&a.last_ns, "finding last seen"));
    BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&ups, "finding upstream services"));
    if (ups > kMaxUpstreamServices) {
      return Status::Corruption("trace findings state: " + std::to_string(ups) +
                                " upstream services, more than " +
                                std::to_string(kMaxUpstreamServices));
    }
    for (uint64_t u = 0; u < ups; ++u) {
      std::string name;
      BACKSIGHT_RETURN_IF_ERROR(r.GetString(&name, "finding upstream service"));
      a.upstream.insert(std::move(name));
    }
    a.worst = static_cast<size_t>(worst);
    if (found.size() < max_findings_) {
      found[Key(std::move(kind), std::move(service), std::move(operation))] = std::move(a);
    }
  }
  if (!r.done()) {
    return Status::Corruption("trace findings state: " + std::to_string(r.remaining()) +
                              " bytes after the last finding");
  }
  counts_ = std::move(counts);
  found_ = std::move(found);
  return Status::OK();
}

std::vector<Finding> FindingsDetector::Findings() const {
  std::vector<Finding> out;
  for (const auto& [key, a] : found_) {
    const auto& [kind, service, operation] = key;
    auto c = counts_.find({service, operation});
    if (c == counts_.end()) continue;  // not scored (kMaxOperations)
    const bool storm = kind == kRetryStorm;
    const bool cascade = kind == kErrorCascade;
    const auto& hist = cascade ? c->second.cascades : storm ? c->second.retries : c->second.calls;
    uint64_t total = 0;
    for (const auto& [v, n] : hist) total += n;
    const size_t median = Median(hist);
    Finding f;
    f.kind = kind;
    f.service = service;
    f.operation = operation;
    f.score = static_cast<double>(a.worst) / static_cast<double>(std::max<size_t>(median, 1));
    f.example_trace_id = a.example_trace_id;
    f.count = a.count;
    f.first_seen_ns = a.first_ns;
    f.last_seen_ns = a.last_ns;
    char buf[256];
    if (cascade) {
      f.upstream_services.assign(a.upstream.begin(), a.upstream.end());
      std::string names;
      for (const auto& s : a.upstream) names += (names.empty() ? "" : ", ") + s;
      std::snprintf(buf, sizeof(buf),
                    "errors starting here reached up to %zu upstream services (median %zu over "
                    "%llu errors of the operation); %llu origin errors cascaded, to ",
                    a.worst, median, static_cast<unsigned long long>(total),
                    static_cast<unsigned long long>(a.count));
      f.explanation = buf + names;
    } else {
      std::snprintf(buf, sizeof(buf),
                    storm
                        ? "up to %zu calls after a failure under one parent (median %zu over %llu "
                          "parents calling it); seen under %llu parents"
                        : "up to %zu sequential calls under one parent (median %zu over %llu "
                          "parents calling it); seen under %llu parents",
                    a.worst, median, static_cast<unsigned long long>(total),
                    static_cast<unsigned long long>(a.count));
      f.explanation = buf;
    }
    out.push_back(std::move(f));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Finding& x, const Finding& y) { return x.score > y.score; });
  return out;
}

}  // namespace backsight::traces
