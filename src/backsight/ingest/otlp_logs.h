// OTLP/HTTP logs decoder (POST /v1/logs): ExportLogsServiceRequest in protobuf or JSON.
// Specs: https://opentelemetry.io/docs/specs/otlp/ (JSON mapping as for metrics, otlp_common.h)
// and opentelemetry-proto logs/v1/logs.proto (see proto/logs.proto).
#ifndef BACKSIGHT_INGEST_OTLP_LOGS_H_
#define BACKSIGHT_INGEST_OTLP_LOGS_H_

#include <cstddef>
#include <string_view>

#include "backsight/core/status.h"
#include "backsight/ingest/log_batch.h"

namespace backsight::ingest {

/// Decodes a protobuf ExportLogsServiceRequest into `*out` (replaced): one LogStream per
/// ResourceLogs. Stream labels: the resource attributes (names sanitised as for metrics,
/// otlp_common.h; `service.name` kept as `service_name`); service: resource `service.name`
/// (`<service.namespace>/<service.name>` when a namespace is set), else "unknown_service".
/// Per record: the line is the body (a string as is; other AnyValues rendered JSON-like); the
/// time is time_unix_nano, else observed_time_unix_nano; the level is severity_text, else the
/// severity_number's range name (1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24
/// FATAL), else "". Records without a body are skipped.
/// Errors (InvalidArgument, `*out` cleared): body larger than `max_bytes` (kTooLarge);
/// malformed protobuf (kMalformed, byte offset and field path); a record with neither time
/// (kTimestamp) or a time beyond int64 ns; invalid UTF-8 in a body or severity_text (kUtf8); each
/// names the path, e.g. `resource_logs[0].scope_logs[1].log_records[2].time_unix_nano`.
Status DecodeOtlpLogsProto(std::string_view body, LogBatch* out, size_t max_bytes = 64 << 20);

/// As DecodeOtlpLogsProto for the JSON encoding (keys lowerCamelCase or snake_case; 64-bit
/// integers as strings or numbers; severityNumber as an integer or its enum name, e.g.
/// "SEVERITY_NUMBER_ERROR"). Errors name the byte offset of a JSON syntax error or the JSON path,
/// e.g. `resourceLogs[0].scopeLogs[0].logRecords[1].timeUnixNano`.
Status DecodeOtlpLogsJson(std::string_view body, LogBatch* out, size_t max_bytes = 64 << 20);

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_OTLP_LOGS_H_
