#include "backsight/ingest/span_csv.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <vector>

#include "backsight/core/csv.h"

namespace backsight::ingest {

namespace {

// Column roles, in the order of the two header name tables below.
enum Col { kTrace, kSpan, kParent, kService, kInstance, kOperation, kStart, kEnd, kStatus, kCols };
constexpr std::array<const char*, kCols> kBacksightNames = {
    "trace_id",  "span_id",         "parent_span_id", "service", "instance",
    "operation", "start_unix_nano", "end_unix_nano",  "status"};
// Nezha has no service, instance or status column (nullptr: not required).
constexpr std::array<const char*, kCols> kNezhaNames = {
    "TraceID",           "SpanID",          "ParentID", nullptr, "PodName", "OperationName",
    "StartTimeUnixNano", "EndTimeUnixNano", nullptr};
// Nezha's parent id of a root span.
constexpr std::string_view kNezhaRoot = "root";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Finds the columns of `names` in `header`; false (with the first missing name) if one is absent.
bool MapColumns(const std::vector<std::string_view>& header,
                const std::array<const char*, kCols>& names, std::array<int, kCols>* idx,
                std::string* missing) {
  for (int c = 0; c < kCols; ++c) {
    (*idx)[c] = -1;
    if (!names[c]) continue;
    for (size_t i = 0; i < header.size(); ++i) {
      if (Trim(header[i]) == names[c]) (*idx)[c] = static_cast<int>(i);
    }
    if ((*idx)[c] < 0) {
      *missing = names[c];
      return false;
    }
  }
  return true;
}

Status RowErr(uint64_t line, const std::string& why, Reason r) {
  return Status::InvalidArgument(r, "line " + std::to_string(line) + ": " + why);
}

}  // namespace

std::string_view ServiceOfPod(std::string_view pod) {
  size_t last = pod.rfind('-');
  if (last == std::string_view::npos || last == 0) return pod;
  size_t second = pod.rfind('-', last - 1);
  if (second == std::string_view::npos || second == 0) return pod;
  return pod.substr(0, second);
}

Status ReadSpanCsv(std::string_view text, SpanBatch* out) {
  CsvReader reader(text);
  std::vector<std::string_view> fields;
  bool eof = false;
  BACKSIGHT_RETURN_IF_ERROR(reader.Next(&fields, &eof));
  if (eof) return Status::OK();
  std::array<int, kCols> idx;
  std::string missing;
  bool nezha = false;
  for (std::string_view f : fields) nezha = nezha || Trim(f) == kNezhaNames[kTrace];
  if (!MapColumns(fields, nezha ? kNezhaNames : kBacksightNames, &idx, &missing)) {
    return RowErr(reader.line(),
                  "span CSV header lacks column " + missing +
                      (nezha ? std::string(" (Nezha trace file)")
                             : std::string(" (expected trace_id,span_id,parent_span_id,service,"
                                           "instance,operation,start_unix_nano,end_unix_nano,"
                                           "status)")),
                  Reason::kMalformed);
  }
  int need = 0;
  for (int c : idx) need = std::max(need, c + 1);
  std::vector<Span> spans;
  while (true) {
    BACKSIGHT_RETURN_IF_ERROR(reader.Next(&fields, &eof));
    if (eof) break;
    const uint64_t line = reader.line();
    if (static_cast<int>(fields.size()) < need) {
      return RowErr(
          line,
          "expected " + std::to_string(need) + " fields, got " + std::to_string(fields.size()),
          Reason::kMalformed);
    }
    auto get = [&](Col c) { return idx[c] < 0 ? std::string_view() : Trim(fields[idx[c]]); };
    Span& s = spans.emplace_back();
    s.trace_id = get(kTrace);
    s.span_id = get(kSpan);
    if (s.trace_id.empty()) return RowErr(line, "empty trace id", Reason::kMalformed);
    if (s.span_id.empty()) return RowErr(line, "empty span id", Reason::kMalformed);
    std::string_view parent = get(kParent);
    if (nezha && parent == kNezhaRoot) parent = {};
    s.parent_span_id = parent;
    s.instance = get(kInstance);
    s.service = nezha ? ServiceOfPod(s.instance) : get(kService);
    if (s.service.empty()) s.service = "unknown_service";
    s.name = get(kOperation);
    int64_t t[2];
    for (int k = 0; k < 2; ++k) {
      const std::string_view v = get(k == 0 ? kStart : kEnd);
      auto r = std::from_chars(v.data(), v.data() + v.size(), t[k]);
      if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || t[k] < 0) {
        return RowErr(line,
                      std::string(k == 0 ? "start" : "end") +
                          " time is not a non-negative integer of ns: \"" + std::string(v) + "\"",
                      Reason::kTimestamp);
      }
    }
    if (t[1] < t[0]) return RowErr(line, "end time before the start time", Reason::kTimestamp);
    s.start_ns = t[0];
    s.end_ns = t[1];
    const std::string_view st = get(kStatus);
    if (st.empty() || st == "unset") {
      s.status = SpanStatus::kUnset;
    } else if (st == "ok") {
      s.status = SpanStatus::kOk;
    } else if (st == "error") {
      s.status = SpanStatus::kError;
    } else {
      return RowErr(line, "unknown status \"" + std::string(st) + "\" (unset, ok, error or empty)",
                    Reason::kMalformed);
    }
  }
  out->spans.insert(out->spans.end(), std::make_move_iterator(spans.begin()),
                    std::make_move_iterator(spans.end()));
  return Status::OK();
}

}  // namespace backsight::ingest
