// OTLP HTTP server spans as access-log records for `backsight api infer` (issue 13). Lives in cli
// because analyze/api must not depend on ingest (docs/architecture.md: dependencies point one
// way, ingest sits above analyze/api); the decoded spans then go to the same ApiInferrer as
// access-log lines, so there is one templating path.
#ifndef BACKSIGHT_CLI_SPAN_ACCESS_LOG_H_
#define BACKSIGHT_CLI_SPAN_ACCESS_LOG_H_

#include <cstdint>
#include <string_view>

#include "backsight/analyze/api/access_log.h"
#include "backsight/analyze/api/infer.h"
#include "backsight/ingest/span_batch.h"

namespace backsight::cli {

/// What SpanToAccessRecord made of a span.
enum class SpanUse {
  kUsed,        // an HTTP server request: *out is filled
  kNotServer,   // kind CLIENT, INTERNAL, PRODUCER or CONSUMER (another service's view, or no
                // request at all)
  kIncomplete,  // kind SERVER/UNSPECIFIED without method, path or a 100..599 status
};

/// Maps one span to the request it served. Taken: kind SERVER, and kind UNSPECIFIED when it
/// has the HTTP attributes below (old instrumentations leave the kind unset). Attributes, both
/// semantic-convention generations (https://opentelemetry.io/docs/specs/semconv/http/, stable
/// names first, pre-1.21 names second):
///   method  `http.request.method`, else `http.method`;
///   path    `url.path` (query names from `url.query`), else `http.target` split at '?';
///   status  `http.response.status_code`, else `http.status_code`;
///   time    the span's start (ns since the epoch).
/// `http.route` is not used: it is the server framework's own template, so taking it would
/// report the routes the code declares rather than the paths served, and would hide what
/// inference is for (a route of "/*" or a missing route). The views in *out point into `span`.
SpanUse SpanToAccessRecord(const ingest::Span& span, api::AccessRecord* out);

/// Counts of the spans of one or more batches by what they became.
struct SpanCounts {
  uint64_t used = 0;
  uint64_t not_server = 0;
  uint64_t incomplete = 0;
};

/// Adds every HTTP server span of `batch` to `inferrer` and counts all spans in *counts.
void AddServerSpans(const ingest::SpanBatch& batch, api::ApiInferrer* inferrer, SpanCounts* counts);

/// True when `line` is an OTLP/JSON ExportTraceServiceRequest as the OpenTelemetry Collector's
/// file exporter writes it: a JSON object whose first key is "resourceSpans" (or
/// "resource_spans"). The request has no other field, so the first key decides; only the first
/// bytes are looked at.
bool LooksLikeOtlpTracesLine(std::string_view line);

}  // namespace backsight::cli

#endif  // BACKSIGHT_CLI_SPAN_ACCESS_LOG_H_
