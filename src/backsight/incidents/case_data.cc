#include "backsight/incidents/case_data.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "backsight/core/csv.h"
#include "backsight/core/file_util.h"
#include "backsight/ingest/span_csv.h"

namespace backsight::incidents {
namespace {

namespace fs = std::filesystem;

// Column positions of a header row; -1 when absent.
struct Columns {
  std::vector<std::string> names;
  int Find(std::string_view name) const {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

Status RowError(const std::string& path, uint64_t line, const std::string& why) {
  return Status::InvalidArgument(Reason::kMalformed,
                                 path + ":" + std::to_string(line) + ": " + why);
}

// Field `field` (trimmed) of row `line` as a timestamp (ISO-8601 or epoch, core/time.h); else
// the row error "bad timestamp '<field>'".
Status ParseTimestampField(const std::string& path, uint64_t line, std::string_view field,
                           TimestampNs* ts) {
  if (TryParseTimestamp(Trim(field), ts)) return Status::OK();
  return RowError(path, line, "bad timestamp '" + std::string(field) + "'");
}

// Field `field` (trimmed) of row `line` as a number, the whole of it in strtod's syntax; else
// the row error "bad value '<trimmed field>'".
Status ParseValueField(const std::string& path, uint64_t line, std::string_view field,
                       double* value) {
  const std::string v(Trim(field));
  char* end = nullptr;
  *value = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size()) {
    return RowError(path, line, "bad value '" + v + "'");
  }
  return Status::OK();
}

// Reads the CSV file at `path` into `*text`; false (and OK) when it does not exist.
Status ReadOptional(const std::string& path, std::string* text, bool* present) {
  *present = fs::exists(path);
  if (!*present) return Status::OK();
  return ReadFileToString(path, text);
}

// Runs `row_fn(fields, line)` on every data row of CSV `path` after checking that the header has
// `required` columns; `cols` receives the header.
template <typename RowFn>
Status ForEachRow(const std::string& path, const std::string& text,
                  const std::vector<std::string_view>& required, Columns* cols, RowFn row_fn) {
  CsvReader reader(text);
  std::vector<std::string_view> fields;
  bool eof = false;
  Status st = reader.Next(&fields, &eof);
  if (!st.ok()) return RowError(path, reader.line(), st.message());
  if (eof) return Status::OK();
  for (auto f : fields) cols->names.emplace_back(Trim(f));
  for (auto r : required) {
    if (cols->Find(r) < 0) return RowError(path, 1, "header lacks column '" + std::string(r) + "'");
  }
  while (true) {
    st = reader.Next(&fields, &eof);
    if (!st.ok()) return RowError(path, reader.line(), st.message());
    if (eof) return Status::OK();
    if (fields.size() < cols->names.size()) {
      return RowError(path, reader.line(),
                      "expected " + std::to_string(cols->names.size()) + " fields, found " +
                          std::to_string(fields.size()));
    }
    st = row_fn(fields, reader.line());
    if (!st.ok()) return st;
  }
}

Status LoadMetrics(const std::string& path, const std::string& text, std::vector<MetricRow>* out) {
  Columns c;
  int ts = -1, svc = -1, inst = -1, met = -1, val = -1;
  return ForEachRow(path, text, {"timestamp", "service", "metric", "value"}, &c,
                    [&](const std::vector<std::string_view>& f, uint64_t line) -> Status {
                      if (ts < 0) {
                        ts = c.Find("timestamp"), svc = c.Find("service"),
                        inst = c.Find("instance");
                        met = c.Find("metric"), val = c.Find("value");
                      }
                      MetricRow r;
                      BACKSIGHT_RETURN_IF_ERROR(ParseTimestampField(path, line, f[ts], &r.ts));
                      r.service = std::string(Trim(f[svc]));
                      if (r.service.empty()) return RowError(path, line, "empty service");
                      if (inst >= 0) r.instance = std::string(Trim(f[inst]));
                      r.metric = std::string(Trim(f[met]));
                      BACKSIGHT_RETURN_IF_ERROR(ParseValueField(path, line, f[val], &r.value));
                      out->push_back(std::move(r));
                      return Status::OK();
                    });
}

Status LoadCalls(const std::string& path, const std::string& text, std::vector<CallRow>* out) {
  Columns c;
  return ForEachRow(
      path, text, {"timestamp", "caller", "callee", "metric", "value"}, &c,
      [&](const std::vector<std::string_view>& f, uint64_t line) -> Status {
        CallRow r;
        BACKSIGHT_RETURN_IF_ERROR(ParseTimestampField(path, line, f[c.Find("timestamp")], &r.ts));
        r.caller = std::string(Trim(f[c.Find("caller")]));
        r.callee = std::string(Trim(f[c.Find("callee")]));
        if (r.caller.empty() || r.callee.empty()) return RowError(path, line, "empty service");
        r.metric = std::string(Trim(f[c.Find("metric")]));
        BACKSIGHT_RETURN_IF_ERROR(ParseValueField(path, line, f[c.Find("value")], &r.value));
        out->push_back(std::move(r));
        return Status::OK();
      });
}

Status LoadLogs(const std::string& path, const std::string& text, std::vector<LogRecord>* out) {
  Columns c;
  int ts = -1, svc = -1, inst = -1, tr = -1, sp = -1, body = -1;
  return ForEachRow(path, text, {"timestamp_unix_nano", "service", "body"}, &c,
                    [&](const std::vector<std::string_view>& f, uint64_t line) -> Status {
                      if (ts < 0) {
                        ts = c.Find("timestamp_unix_nano"), svc = c.Find("service");
                        inst = c.Find("instance"), tr = c.Find("trace_id");
                        sp = c.Find("span_id"), body = c.Find("body");
                      }
                      LogRecord r;
                      const std::string_view t = Trim(f[ts]);
                      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), r.ts);
                      if (t.empty() || ec != std::errc() || p != t.data() + t.size() || r.ts < 0) {
                        return RowError(path, line,
                                        "bad timestamp_unix_nano '" + std::string(t) + "'");
                      }
                      r.service = std::string(Trim(f[svc]));
                      if (r.service.empty()) return RowError(path, line, "empty service");
                      if (inst >= 0) r.instance = std::string(Trim(f[inst]));
                      if (tr >= 0) r.trace_id = std::string(Trim(f[tr]));
                      if (sp >= 0) r.span_id = std::string(Trim(f[sp]));
                      r.body = std::string(f[body]);
                      out->push_back(std::move(r));
                      return Status::OK();
                    });
}

Status LoadGraph(const std::string& path, const std::string& text,
                 std::vector<std::pair<std::string, std::string>>* out) {
  Columns c;
  return ForEachRow(path, text, {"caller", "callee"}, &c,
                    [&](const std::vector<std::string_view>& f, uint64_t line) -> Status {
                      std::string a(Trim(f[c.Find("caller")])), b(Trim(f[c.Find("callee")]));
                      if (a.empty() || b.empty()) return RowError(path, line, "empty service");
                      out->emplace_back(std::move(a), std::move(b));
                      return Status::OK();
                    });
}

Status LoadSpans(const std::string& path, const std::string& text, std::vector<ingest::Span>* out) {
  ingest::SpanBatch batch;
  Status st = ingest::ReadSpanCsv(text, &batch);
  if (!st.ok()) {
    // ReadSpanCsv prefixes "line L: "; name the file the same way as the other readers.
    std::string msg = st.message();
    if (msg.rfind("line ", 0) == 0) {
      const size_t colon = msg.find(':');
      msg = path + ":" + msg.substr(5, colon - 5) + msg.substr(colon);
    } else {
      msg = path + ": " + msg;
    }
    return Status::InvalidArgument(st.reason(), msg);
  }
  for (auto& s : batch.spans) out->push_back(std::move(s));
  return Status::OK();
}

Status LoadTelemetry(const std::string& dir, Telemetry* out) {
  std::string text;
  bool present = false;
  const std::string m = dir + "/metrics.csv", s = dir + "/spans.csv", l = dir + "/logs.csv",
                    g = dir + "/graph.csv", k = dir + "/calls.csv";
  Status st = ReadOptional(m, &text, &present);
  if (st.ok() && present) st = LoadMetrics(m, text, &out->metrics);
  if (st.ok()) st = ReadOptional(s, &text, &present);
  if (st.ok() && present) st = LoadSpans(s, text, &out->spans);
  if (st.ok()) st = ReadOptional(l, &text, &present);
  if (st.ok() && present) st = LoadLogs(l, text, &out->logs);
  if (st.ok()) st = ReadOptional(g, &text, &present);
  if (st.ok() && present) st = LoadGraph(g, text, &out->graph);
  if (st.ok()) st = ReadOptional(k, &text, &present);
  if (st.ok() && present) st = LoadCalls(k, text, &out->calls);
  return st;
}

}  // namespace

Status LoadCase(const std::string& dir, CaseData* out) {
  *out = CaseData();
  const std::string case_json = dir + "/case.json";
  if (!fs::is_directory(dir)) return Status::NotFound(dir + ": no such case directory");
  if (!fs::exists(case_json)) return Status::NotFound(case_json + ": missing");
  std::string text;
  Status st = ReadFileToString(case_json, &text);
  if (!st.ok()) return st;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(Reason::kJson, case_json + ": not a JSON object");
  }
  const auto at = j.find("alert_time");
  if (at == j.end() || !at->is_number() || !std::isfinite(at->get<double>())) {
    return Status::InvalidArgument(Reason::kJson, case_json + ": alert_time (epoch s) missing");
  }
  out->alert_time = static_cast<TimestampNs>(std::llround(at->get<double>() * 1e9));
  if (auto sym = j.find("symptom"); sym != j.end() && sym->is_object()) {
    if (auto v = sym->find("service"); v != sym->end() && v->is_string()) {
      out->symptom_service = v->get<std::string>();
    }
    if (auto v = sym->find("metric"); v != sym->end() && v->is_string()) {
      out->symptom_metric = v->get<std::string>();
    }
  }
  st = LoadTelemetry(dir, &out->recorded);
  if (!st.ok()) return st;
  out->has_baseline_dir = fs::is_directory(dir + "/baseline");
  if (out->has_baseline_dir) st = LoadTelemetry(dir + "/baseline", &out->baseline);
  return st;
}

}  // namespace backsight::incidents
