#include "backsight/traces/span_file.h"

#include "backsight/core/line_reader.h"
#include "backsight/ingest/otlp_traces.h"
#include "backsight/ingest/span_csv.h"

namespace backsight::traces {

namespace {
// Largest OTLP JSON line accepted (the line reader's own cap).
constexpr size_t kMaxJsonLineBytes = LineReader::kMaxLineBytes;
}  // namespace

Status ReadSpanFile(const std::string& path, ingest::SpanBatch* out) {
  LineReader reader;
  BACKSIGHT_RETURN_IF_ERROR(reader.Open(path));
  std::string line, csv;
  bool json = false, decided = false;
  uint64_t n = 0;
  while (reader.Next(&line)) {
    ++n;
    if (!decided) {
      const size_t p = line.find_first_not_of(" \t\r");
      if (p == std::string::npos) continue;
      json = line[p] == '{';
      decided = true;
    }
    if (json) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Status st = ingest::DecodeOtlpTracesJson(line, out, kMaxJsonLineBytes);
      if (!st.ok()) return st.WithContext(path + ":" + std::to_string(n));
    } else {
      csv.append(line);
      csv.push_back('\n');
    }
  }
  BACKSIGHT_RETURN_IF_ERROR(reader.status());
  if (!json && !csv.empty()) {
    Status st = ingest::ReadSpanCsv(csv, out);
    if (!st.ok()) return st.WithContext(path);
  }
  return Status::OK();
}

}  // namespace backsight::traces
