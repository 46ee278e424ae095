// A decoded batch of pushed log entries (Loki push, OTLP logs), grouped into streams. Lines are
// views: into the batch's own buffer (a decompressed body) or its owned strings (unescaped JSON
// strings, protobuf fields), so decoding copies no line twice. Moving a batch keeps the views
// valid; copying it is not allowed.
#ifndef BACKSIGHT_INGEST_LOG_BATCH_H_
#define BACKSIGHT_INGEST_LOG_BATCH_H_

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/time.h"

namespace backsight::ingest {

/// One log line as pushed.
struct LogLine {
  TimestampNs ts = 0;      ///< ns since the epoch.
  std::string_view line;   ///< The message text.
  std::string_view level;  ///< Severity text ("error", "WARN", ...); "" when unknown.
};

/// Lines sharing one label set. `service` keys the template set the lines are mined into: Loki
/// label `service_name`, `service`, `app`, `application`, `job` or `container` (first present),
/// OTLP resource `service.name` (prefixed `namespace/` when `service.namespace` is set); else
/// "unknown_service".
struct LogStream {
  std::string service;
  Labels labels;  ///< Sorted stream labels (Loki) or resource attributes (OTLP, sanitised names).
  std::vector<LogLine> entries;
};

/// A decoded request. Not copyable (views point into `buffer` and `owned`).
struct LogBatch {
  LogBatch() = default;
  LogBatch(const LogBatch&) = delete;
  LogBatch& operator=(const LogBatch&) = delete;
  LogBatch(LogBatch&&) = default;
  LogBatch& operator=(LogBatch&&) = default;

  std::vector<LogStream> streams;
  std::vector<char> buffer;       ///< Decompressed body the views may point into.
  std::deque<std::string> owned;  ///< Strings the views may point into (stable addresses).

  /// Total lines over all streams.
  size_t lines() const {
    size_t n = 0;
    for (const auto& s : streams) n += s.entries.size();
    return n;
  }
  void Clear() {
    streams.clear();
    buffer.clear();
    owned.clear();
  }
  /// Stores `s` and returns a view of it that stays valid while the batch lives.
  std::string_view Own(std::string&& s) { return owned.emplace_back(std::move(s)); }
};

/// "unknown_service": the service of streams that name none.
inline constexpr std::string_view kUnknownService = "unknown_service";

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_LOG_BATCH_H_
