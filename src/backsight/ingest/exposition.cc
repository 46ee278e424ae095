#include "backsight/ingest/exposition.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>

#include "backsight/core/number_format.h"
#include "backsight/ingest/ingest_util.h"

namespace backsight::ingest {

namespace {

using internal::IsValidMetricName;
using internal::Quote;

enum class FamilyType {
  kCounter,
  kGauge,
  kHistogram,
  kGaugeHistogram,
  kSummary,
  kInfo,
  kStateSet,
  kUntyped
};

bool ParseFamilyType(std::string_view s, bool om, FamilyType* t) {
  if (s == "counter")
    *t = FamilyType::kCounter;
  else if (s == "gauge")
    *t = FamilyType::kGauge;
  else if (s == "histogram")
    *t = FamilyType::kHistogram;
  else if (s == "summary")
    *t = FamilyType::kSummary;
  else if (s == "untyped" && !om)
    *t = FamilyType::kUntyped;
  else if (s == "unknown" && om)
    *t = FamilyType::kUntyped;
  else if (s == "gaugehistogram" && om)
    *t = FamilyType::kGaugeHistogram;
  else if (s == "info" && om)
    *t = FamilyType::kInfo;
  else if (s == "stateset" && om)
    *t = FamilyType::kStateSet;
  else
    return false;
  return true;
}

MetricKind KindOf(FamilyType t) {
  switch (t) {
    case FamilyType::kCounter:
      return MetricKind::kCounter;
    case FamilyType::kGauge:
    case FamilyType::kInfo:
    case FamilyType::kStateSet:
      return MetricKind::kGauge;
    case FamilyType::kHistogram:
    case FamilyType::kGaugeHistogram:
      return MetricKind::kHistogram;
    case FamilyType::kSummary:
      return MetricKind::kSummary;
    case FamilyType::kUntyped:
      return MetricKind::kUnknown;
  }
  return MetricKind::kUnknown;
}

using FamilyMap =
    std::unordered_map<std::string, FamilyType, internal::StringHash, std::equal_to<>>;

bool IsSpace(char c) { return c == ' ' || c == '\t'; }
bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsMetricChar(char c) { return IsLabelChar(c) || c == ':'; }

constexpr int64_t kMaxAbsMs = INT64_MAX / kNanosPerMilli;

class Parser {
 public:
  Parser(TimestampNs default_ts, bool om, std::vector<TimeSeries>* out)
      : default_ts_(default_ts), om_(om), builder_(out) {}

  Status Line(std::string_view line, size_t line_no) {
    line_ = line;
    line_no_ = line_no;
    pos_ = 0;
    SkipSpace();
    if (pos_ == line_.size()) return Status::OK();
    if (eof_seen_) return Err("content after '# EOF'");
    if (line_[pos_] == '#') return Comment();
    return SampleLine();
  }

 private:
  // An error at the current line and column; `r` is the typed reason (default: bad grammar).
  Status Err(std::string why, Reason r = Reason::kMalformed) const {
    return Status::InvalidArgument(r, "exposition: line " + std::to_string(line_no_) + ", column " +
                                          std::to_string(pos_ + 1) + ": " + why);
  }
  void SkipSpace() {
    while (pos_ < line_.size() && IsSpace(line_[pos_])) ++pos_;
  }
  std::string_view Token() {
    size_t start = pos_;
    while (pos_ < line_.size() && !IsSpace(line_[pos_])) ++pos_;
    return line_.substr(start, pos_ - start);
  }

  Status Comment() {
    ++pos_;  // '#'
    SkipSpace();
    std::string_view word = Token();
    if (om_ && word == "EOF") {
      SkipSpace();
      if (pos_ != line_.size()) return Err("unexpected text after '# EOF'");
      eof_seen_ = true;
      return Status::OK();
    }
    if (word != "TYPE") return Status::OK();  // HELP, UNIT and free comments are ignored
    SkipSpace();
    size_t name_pos = pos_;
    std::string_view name = Token();
    if (!IsValidMetricName(name)) {
      pos_ = name_pos;
      return Err("invalid metric name " + Quote(name) + " in TYPE line");
    }
    SkipSpace();
    size_t type_pos = pos_;
    std::string_view type = Token();
    SkipSpace();
    FamilyType t;
    if (!ParseFamilyType(type, om_, &t) || pos_ != line_.size()) {
      pos_ = type_pos;
      return Err("unknown metric type " + Quote(line_.substr(type_pos)) + " in TYPE line");
    }
    auto [it, inserted] = families_.emplace(std::string(name), t);
    if (!inserted) {
      pos_ = name_pos;
      return Err("second TYPE line for metric " + Quote(name));
    }
    return Status::OK();
  }

  // Parses a double-quoted string at pos_ (which is at '"'), unescaping into *out.
  Status Quoted(std::string* out) {
    size_t start = pos_;
    ++pos_;
    out->clear();
    while (true) {
      if (pos_ >= line_.size()) {
        pos_ = start;
        return Err("unterminated quoted string");
      }
      char c = line_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c == '\\') {
        if (pos_ + 1 >= line_.size()) {
          pos_ = start;
          return Err("unterminated quoted string");
        }
        char e = line_[pos_ + 1];
        if (e == '\\' || e == '"') {
          out->push_back(e);
        } else if (e == 'n') {
          out->push_back('\n');
        } else {
          return Err("invalid escape sequence " + Quote(line_.substr(pos_, 2)) +
                     " (only \\\\, \\\" and \\n are allowed)");
        }
        pos_ += 2;
        continue;
      }
      out->push_back(c);
      ++pos_;
    }
    size_t bad;
    if (!internal::IsValidUtf8(*out, &bad)) {
      pos_ = start;
      return Err("quoted string is not valid UTF-8", Reason::kUtf8);
    }
    return Status::OK();
  }

  Status LabelSet(std::string* name, Labels* labels) {
    ++pos_;  // '{'
    std::string text;
    while (true) {
      SkipSpace();
      if (pos_ >= line_.size()) return Err("unterminated label set (missing '}')", Reason::kLabels);
      if (line_[pos_] == '}') {
        ++pos_;
        return Status::OK();
      }
      size_t item_pos = pos_;
      std::string lname;
      bool quoted = line_[pos_] == '"';
      if (quoted) {
        BACKSIGHT_RETURN_IF_ERROR(Quoted(&lname));
        if (lname.empty()) {
          pos_ = item_pos;
          return Err("empty quoted name");
        }
      } else {
        while (pos_ < line_.size() && IsLabelChar(line_[pos_])) ++pos_;
        lname.assign(line_.substr(item_pos, pos_ - item_pos));
        if (lname.empty() || (lname[0] >= '0' && lname[0] <= '9')) {
          pos_ = item_pos;
          return Err(
              lname.empty() ? "expected label name or '}'" : "invalid label name " + Quote(lname),
              Reason::kLabels);
        }
      }
      SkipSpace();
      if (quoted && pos_ < line_.size() && (line_[pos_] == ',' || line_[pos_] == '}')) {
        // {"metric.name", ...}: a quoted metric name inside the braces.
        if (!name->empty()) {
          pos_ = item_pos;
          return Err("metric name given twice");
        }
        *name = std::move(lname);
      } else {
        if (pos_ >= line_.size() || line_[pos_] != '=') {
          return Err("expected '=' after label name " + Quote(lname), Reason::kLabels);
        }
        ++pos_;
        SkipSpace();
        if (pos_ >= line_.size() || line_[pos_] != '"') {
          return Err("expected '\"' to start the value of label " + Quote(lname), Reason::kLabels);
        }
        BACKSIGHT_RETURN_IF_ERROR(Quoted(&text));
        labels->push_back({std::move(lname), text});
      }
      SkipSpace();
      if (pos_ < line_.size() && line_[pos_] == ',') {
        ++pos_;
      } else if (pos_ >= line_.size() || line_[pos_] != '}') {
        return Err("expected ',' or '}' in label set", Reason::kLabels);
      }
    }
  }

  Status Value(std::string_view tok, double* v) {
    std::string_view t = tok;
    if (!t.empty() && t[0] == '+') {
      t.remove_prefix(1);
      if (!t.empty() && (t[0] == '+' || t[0] == '-')) t = {};
    }
    if (t.empty()) return Err("invalid sample value " + Quote(tok));
    auto r = std::from_chars(t.data(), t.data() + t.size(), *v, std::chars_format::general);
    if (r.ec == std::errc::result_out_of_range) {
      // Overflow/underflow: Go's ParseFloat gives ±Inf / 0 with an error; be strict.
      return Err("sample value " + Quote(tok) + " is out of range");
    }
    if (r.ec != std::errc() || r.ptr != t.data() + t.size()) {
      return Err("invalid sample value " + Quote(tok));
    }
    return Status::OK();
  }

  Status Timestamp(std::string_view tok, TimestampNs* ts) {
    if (!om_) {
      int64_t ms;
      auto r = std::from_chars(tok.data(), tok.data() + tok.size(), ms);
      if (r.ec != std::errc() || r.ptr != tok.data() + tok.size()) {
        return Err("invalid timestamp " + Quote(tok) + " (expected integer milliseconds)",
                   Reason::kTimestamp);
      }
      if (ms > kMaxAbsMs || ms < -kMaxAbsMs)
        return Err("timestamp " + Quote(tok) + " out of range", Reason::kTimestamp);
      *ts = ms * kNanosPerMilli;
      return Status::OK();
    }
    // OpenMetrics: seconds, possibly fractional. Plain decimals are converted exactly.
    std::string_view t = tok;
    bool neg = !t.empty() && t[0] == '-';
    if (neg) t.remove_prefix(1);
    size_t dot = t.find('.');
    std::string_view ip = t.substr(0, dot), fp = dot == t.npos ? "" : t.substr(dot + 1);
    auto all_digits = [](std::string_view s) {
      return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (!ip.empty() && all_digits(ip) && all_digits(fp)) {
      int64_t sec;
      auto r = std::from_chars(ip.data(), ip.data() + ip.size(), sec);
      if (r.ec != std::errc() || sec > INT64_MAX / kNanosPerSecond - 1) {
        return Err("timestamp " + Quote(tok) + " out of range", Reason::kTimestamp);
      }
      int64_t frac = 0;
      for (size_t i = 0; i < 9; ++i) frac = frac * 10 + (i < fp.size() ? fp[i] - '0' : 0);
      int64_t ns = sec * kNanosPerSecond + frac;
      *ts = neg ? -ns : ns;
      return Status::OK();
    }
    double s;
    auto r = std::from_chars(tok.data(), tok.data() + tok.size(), s);
    if (r.ec != std::errc() || r.ptr != tok.data() + tok.size() || !std::isfinite(s)) {
      return Err("invalid timestamp " + Quote(tok) + " (expected seconds)", Reason::kTimestamp);
    }
    if (std::fabs(s) >= 9.2e9)
      return Err("timestamp " + Quote(tok) + " out of range", Reason::kTimestamp);
    *ts = static_cast<TimestampNs>(std::llround(s * 1e9));
    return Status::OK();
  }

  // Kind of a series named `name`; sets *drop for OpenMetrics `_created` series.
  MetricKind Resolve(std::string_view name, bool* drop) {
    *drop = false;
    if (families_.empty()) return MetricKind::kUnknown;
    if (auto it = families_.find(name); it != families_.end()) return KindOf(it->second);
    using F = FamilyType;
    struct Rule {
      std::string_view suffix;
      F a, b, c;
    };
    static constexpr Rule kRules[] = {
        {"_bucket", F::kHistogram, F::kGaugeHistogram, F::kGaugeHistogram},
        {"_count", F::kHistogram, F::kSummary, F::kSummary},
        {"_sum", F::kHistogram, F::kSummary, F::kSummary},
        {"_gcount", F::kGaugeHistogram, F::kGaugeHistogram, F::kGaugeHistogram},
        {"_gsum", F::kGaugeHistogram, F::kGaugeHistogram, F::kGaugeHistogram},
        {"_total", F::kCounter, F::kCounter, F::kCounter},
        {"_info", F::kInfo, F::kInfo, F::kInfo},
        {"_created", F::kCounter, F::kHistogram, F::kSummary},
    };
    for (const Rule& r : kRules) {
      if (name.size() <= r.suffix.size() || !name.ends_with(r.suffix)) continue;
      auto it = families_.find(name.substr(0, name.size() - r.suffix.size()));
      if (it == families_.end()) continue;
      F t = it->second;
      if (t != r.a && t != r.b && t != r.c) continue;
      if (r.suffix == "_created") *drop = true;
      return KindOf(t);
    }
    return MetricKind::kUnknown;
  }

  Status SampleLine() {
    std::string name;
    Labels labels;
    size_t name_pos = pos_;
    if (line_[pos_] != '{') {
      while (pos_ < line_.size() && IsMetricChar(line_[pos_])) ++pos_;
      name.assign(line_.substr(name_pos, pos_ - name_pos));
      if (!IsValidMetricName(name)) {
        pos_ = name_pos;
        return Err(name.empty() ? "expected metric name" : "invalid metric name " + Quote(name));
      }
    }
    size_t after_name = pos_;
    if (!name.empty()) SkipSpace();  // "name {labels}" is allowed
    if (pos_ < line_.size() && line_[pos_] == '{') {
      BACKSIGHT_RETURN_IF_ERROR(LabelSet(&name, &labels));
    } else if (pos_ == after_name && pos_ < line_.size()) {
      return Err("unexpected character " + Quote(line_.substr(pos_, 1)) + " after metric name");
    }
    if (name.empty()) {
      pos_ = name_pos;
      return Err("sample has no metric name");
    }
    SkipSpace();
    if (pos_ >= line_.size()) return Err("expected sample value");
    size_t value_pos = pos_;
    std::string_view vtok = Token();
    double value;
    pos_ = value_pos;
    BACKSIGHT_RETURN_IF_ERROR(Value(vtok, &value));
    pos_ += vtok.size();
    SkipSpace();
    TimestampNs ts = default_ts_;
    if (pos_ < line_.size() && !(om_ && line_[pos_] == '#')) {
      size_t ts_pos = pos_;
      std::string_view ttok = Token();
      pos_ = ts_pos;
      BACKSIGHT_RETURN_IF_ERROR(Timestamp(ttok, &ts));
      pos_ += ttok.size();
      SkipSpace();
      if (pos_ < line_.size() && !(om_ && line_[pos_] == '#')) {
        return Err("unexpected text after timestamp");
      }
    }
    // (OpenMetrics exemplars after " # " are ignored.)

    bool drop;
    MetricKind kind = Resolve(name, &drop);
    if (drop) return Status::OK();
    labels.push_back({"__name__", std::move(name)});
    SortLabels(&labels);
    for (size_t i = 1; i < labels.size(); ++i) {
      if (labels[i].name == labels[i - 1].name) {
        pos_ = name_pos;
        return Err("duplicate label name " + Quote(labels[i].name), Reason::kLabels);
      }
    }
    size_t kept = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i].value.empty()) continue;
      if (kept != i) labels[kept] = std::move(labels[i]);
      ++kept;
    }
    labels.resize(kept);
    builder_.Add(&labels, kind, Sample{ts, value});
    return Status::OK();
  }

  TimestampNs default_ts_;
  bool om_;
  internal::SeriesBuilder builder_;
  FamilyMap families_;
  bool eof_seen_ = false;
  std::string_view line_;
  size_t line_no_ = 0;
  size_t pos_ = 0;
};

bool IsOpenMetrics(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || IsSpace(text.back()))) {
    text.remove_suffix(1);
  }
  size_t nl = text.rfind('\n');
  std::string_view last = nl == text.npos ? text : text.substr(nl + 1);
  while (!last.empty() && IsSpace(last.front())) last.remove_prefix(1);
  return last == "# EOF";
}

const char* TypeName(MetricKind k) {
  switch (k) {
    case MetricKind::kCounter:
      return "counter";
    case MetricKind::kGauge:
      return "gauge";
    case MetricKind::kHistogram:
      return "histogram";
    case MetricKind::kSummary:
      return "summary";
    default:
      return "untyped";
  }
}

}  // namespace

Status ParseExposition(std::string_view text, TimestampNs default_ts, std::vector<TimeSeries>* out,
                       size_t max_bytes) {
  out->clear();
  if (text.size() > max_bytes) {
    return Status::InvalidArgument(Reason::kTooLarge, "exposition: body of " +
                                                          std::to_string(text.size()) +
                                                          " bytes exceeds the limit of " +
                                                          std::to_string(max_bytes) + " bytes");
  }
  Parser p(default_ts, IsOpenMetrics(text), out);
  size_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == text.npos ? text.size() : nl;
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_no;
    Status st = p.Line(line, line_no);
    if (!st.ok()) {
      out->clear();
      return st;
    }
    start = end + 1;
  }
  return Status::OK();
}

void WriteExposition(const std::vector<TimeSeries>& series, std::string* out,
                     const ExpositionWriteOptions& options) {
  // Group by family, families in order of first appearance.
  std::vector<std::pair<std::string_view, size_t>> order;  // (family, first index)
  std::unordered_map<std::string_view, std::vector<size_t>> members;
  for (size_t i = 0; i < series.size(); ++i) {
    const TimeSeries& s = series[i];
    std::string_view name = GetLabel(s.labels, "__name__");
    if (name.empty() || s.samples.empty()) continue;
    std::string_view family = internal::FamilyName(name, s.kind);
    auto& m = members[family];
    if (m.empty()) order.emplace_back(family, i);
    m.push_back(i);
  }
  for (const auto& [family, first] : order) {
    if (options.help) {
      if (auto it = options.help->find(std::string(family)); it != options.help->end()) {
        out->append("# HELP ").append(family).push_back(' ');
        AppendEscaped(it->second, /*quote=*/false, out);
        out->push_back('\n');
      }
    }
    out->append("# TYPE ").append(family).push_back(' ');
    out->append(TypeName(series[first].kind)).push_back('\n');
    for (size_t i : members[family]) {
      const TimeSeries& s = series[i];
      out->append(GetLabel(s.labels, "__name__"));
      AppendLabelSet(s.labels, out);
      out->push_back(' ');
      const Sample& last = s.samples.back();
      AppendDouble(last.value, out);
      if (options.timestamps) {
        int64_t ms = last.ts / kNanosPerMilli;
        if (last.ts % kNanosPerMilli < 0) --ms;
        out->push_back(' ');
        out->append(std::to_string(ms));
      }
      out->push_back('\n');
    }
  }
}

}  // namespace backsight::ingest
