#include "backsight/traces/findings.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace backsight::traces {
namespace {

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

void FindingsDetector::Add(const ingest::Span& span) {
  now_ns_ = std::max(now_ns_, span.end_ns);
  auto it = traces_.find(span.trace_id);
  if (it == traces_.end()) {
    while (!order_.empty() && traces_.size() >= max_traces_) {
      auto front = std::move(order_.front());
      order_.pop_front();
      auto old = traces_.find(front.second);
      Finalise(old->first, old->second);
      traces_.erase(old);
      ++finalised_early_;
    }
    it = traces_.emplace(span.trace_id, Trace()).first;
    order_.emplace_back(span.end_ns, span.trace_id);
  }
  Trace& t = it->second;
  t.last_ns = std::max(t.last_ns, span.end_ns);
  if (!span.parent_span_id.empty()) {
    if (t.children.size() >= kMaxSpansPerTrace) {
      ++dropped_spans_;
    } else {
      std::string_view stmt = span.Attribute("db.query.text");
      if (stmt.empty()) stmt = span.Attribute("db.statement");
      t.children.push_back(Child{
          span.parent_span_id, span.service, stmt.empty() ? span.name : NormalizeSqlStatement(stmt),
          span.start_ns, span.end_ns, span.status == ingest::SpanStatus::kError});
    }
  }
  Expire();
}

void FindingsDetector::Expire() {
  const int64_t cutoff = now_ns_ - window_ns_;
  while (!order_.empty() && order_.front().first < cutoff) {
    auto front = std::move(order_.front());
    order_.pop_front();
    auto it = traces_.find(front.second);
    if (it->second.last_ns >= cutoff) {  // the trace grew since: look again later
      order_.emplace_back(it->second.last_ns, std::move(front.second));
      continue;
    }
    Finalise(it->first, it->second);
    traces_.erase(it);
  }
}

void FindingsDetector::Flush() {
  for (auto& [id, t] : traces_) Finalise(id, t);
  traces_.clear();
  order_.clear();
}

void FindingsDetector::Finalise(const std::string& trace_id, Trace& trace) {
  auto& ch = trace.children;
  std::sort(ch.begin(), ch.end(), [](const Child& a, const Child& b) {
    return std::tie(a.parent_span_id, a.service, a.operation, a.start_ns) <
           std::tie(b.parent_span_id, b.service, b.operation, b.start_ns);
  });
  for (size_t b = 0; b < ch.size();) {
    size_t e = b + 1;
    size_t retries = 0, sequential = 0;
    for (; e < ch.size() && ch[e].parent_span_id == ch[b].parent_span_id &&
           ch[e].service == ch[b].service && ch[e].operation == ch[b].operation;
         ++e) {
      if (ch[e - 1].error) ++retries;
      if (ch[e].start_ns >= ch[e - 1].end_ns) ++sequential;
    }
    const size_t calls = e - b;
    Counts& counts = counts_[{ch[b].service, ch[b].operation}];
    ++counts.calls[calls];
    ++counts.retries[retries];
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
      Aggregate& a = found_[{kind, ch[b].service, ch[b].operation}];
      ++a.parents;
      if (value > a.worst) {
        a.worst = value;
        a.example_trace_id = trace_id;
      }
    }
    b = e;
  }
}

std::vector<Finding> FindingsDetector::Findings() const {
  std::vector<Finding> out;
  for (const auto& [key, a] : found_) {
    const auto& [kind, service, operation] = key;
    const Counts& c = counts_.at({service, operation});
    const bool storm = kind == kRetryStorm;
    const auto& hist = storm ? c.retries : c.calls;
    uint64_t parents = 0;
    for (const auto& [v, n] : hist) parents += n;
    const size_t median = Median(hist);
    Finding f;
    f.kind = kind;
    f.service = service;
    f.operation = operation;
    f.score = static_cast<double>(a.worst) / static_cast<double>(std::max<size_t>(median, 1));
    f.example_trace_id = a.example_trace_id;
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  storm ? "up to %zu calls after a failure under one parent (median %zu over %llu "
                          "parents calling it); seen under %zu parents"
                        : "up to %zu sequential calls under one parent (median %zu over %llu "
                          "parents calling it); seen under %zu parents",
                  a.worst, median, static_cast<unsigned long long>(parents), a.parents);
    f.explanation = buf;
    out.push_back(std::move(f));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Finding& x, const Finding& y) { return x.score > y.score; });
  return out;
}

}  // namespace backsight::traces
