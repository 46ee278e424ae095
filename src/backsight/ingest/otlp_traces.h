// OTLP/HTTP traces decoder (POST /v1/traces, and the OpenTelemetry Collector's file exporter
// lines): ExportTraceServiceRequest in protobuf or JSON into a flat SpanBatch.
// Specs: https://opentelemetry.io/docs/specs/otlp/ (JSON mapping as for metrics, otlp_common.h;
// trace and span ids as hex strings) and opentelemetry-proto trace/v1/trace.proto (see
// proto/trace.proto).
#ifndef BACKSIGHT_INGEST_OTLP_TRACES_H_
#define BACKSIGHT_INGEST_OTLP_TRACES_H_

#include <cstddef>
#include <string_view>

#include "backsight/core/status.h"
#include "backsight/ingest/span_batch.h"

namespace backsight::ingest {

/// Decodes a protobuf ExportTraceServiceRequest, appending its spans to `*out` (the batch is not
/// cleared, so file lines accumulate). Service: resource `service.name`
/// (`<service.namespace>/<service.name>` when a namespace is set), else "unknown_service".
/// Errors (InvalidArgument; spans of this request are not appended): body larger than
/// `max_bytes` (kTooLarge); malformed protobuf (kMalformed, byte offset and field path); a
/// trace id that is not 16 bytes or all zero, a span id that is not 8 bytes or all zero, a
/// parent id neither empty nor 8 bytes (kMalformed); a start time of 0, a time beyond int64 ns
/// or an end before the start (kTimestamp); invalid UTF-8 in a name, service or kept attribute
/// (kUtf8); a kind outside 0..5 or status code outside 0..2 (kMalformed). Each names its path,
/// e.g. `resource_spans[0].scope_spans[1].spans[2].trace_id`.
Status DecodeOtlpTracesProto(std::string_view body, SpanBatch* out, size_t max_bytes = 64 << 20);

/// As DecodeOtlpTracesProto for the JSON encoding (keys lowerCamelCase or snake_case; ids as
/// hex strings; 64-bit integers as strings or numbers; kind and status code as integers or enum
/// names, e.g. "SPAN_KIND_SERVER", "STATUS_CODE_ERROR"). Errors name the byte offset of a JSON
/// syntax error or the JSON path, e.g. `resourceSpans[0].scopeSpans[0].spans[1].traceId`.
Status DecodeOtlpTracesJson(std::string_view body, SpanBatch* out, size_t max_bytes = 64 << 20);

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_OTLP_TRACES_H_
