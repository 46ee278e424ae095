// OTLP/HTTP metrics decoder (POST /v1/metrics): ExportMetricsServiceRequest in protobuf or JSON.
// Specs: https://opentelemetry.io/docs/specs/otlp/ (JSON mapping: lowerCamelCase keys, 64-bit
// integers as decimal strings or numbers, enums as integers) and opentelemetry-proto
// metrics/v1/metrics.proto (see proto/metrics.proto). Mapping to Prometheus-style series follows
// https://opentelemetry.io/docs/specs/otel/compatibility/prometheus_and_openmetrics/ in outline.
#ifndef BACKSIGHT_INGEST_OTLP_METRICS_H_
#define BACKSIGHT_INGEST_OTLP_METRICS_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"

namespace backsight::ingest {

/// Decodes a protobuf-encoded ExportMetricsServiceRequest; `*out` is replaced.
///
/// Mapping: `__name__` = metric name with characters outside [a-zA-Z0-9_:] replaced by '_' (a
/// leading digit gets a '_' prefix; no unit or _total suffixes are added). Labels come from three
/// layers, later layers overriding earlier ones on equal names: resource attributes, scope
/// (`otel_scope_name`, `otel_scope_version`, scope attributes), data-point attributes. Attribute
/// keys are sanitised like names (dots → underscores; a leading digit gets "key_", a leading "__"
/// gets "key"); keys that collide within one layer have their values joined with ';'. Resource
/// `service.name` becomes `job` (`service.namespace/service.name` if a namespace is set) and
/// `service.instance.id` becomes `instance`. Non-string attribute values are rendered as text
/// (true, 42, 1.5, JSON-like for arrays and maps). Empty values are dropped.
///
/// Kinds: Gauge → kGauge; Sum with is_monotonic and CUMULATIVE temporality → kCounter, other Sums
/// → kGauge; Histogram → `<name>_count`, `<name>_sum` (if set) and cumulative `<name>_bucket{le}`
/// (kHistogram); ExponentialHistogram → `_count`, `_sum` (kHistogram); Summary → `_count`, `_sum`
/// and `<name>{quantile}` (kSummary). Timestamps are time_unix_nano. Points flagged
/// NO_RECORDED_VALUE are skipped. Points with identical label sets are merged into one series.
///
/// Errors (InvalidArgument, *out cleared): body larger than `max_bytes`; malformed protobuf (byte
/// offset and field path); a data point without time_unix_nano or with a time beyond int64 ns,
/// a NumberDataPoint without a value, histogram bucket_counts/explicit_bounds size mismatch,
/// invalid UTF-8 in names; each names the path, e.g.
/// `resource_metrics[0].scope_metrics[1].metrics[2].sum.data_points[3].time_unix_nano`.
Status DecodeOtlpMetricsProto(std::string_view body, std::vector<TimeSeries>* out,
                              size_t max_bytes = 64 << 20);

/// As DecodeOtlpMetricsProto for the JSON encoding. Keys are lowerCamelCase (snake_case accepted
/// too); unknown keys are ignored; int64/fixed64 fields accept decimal strings or numbers; doubles
/// accept numbers or "NaN", "Infinity", "-Infinity"; enums accept integers or names.
/// Errors name the byte offset for JSON syntax errors and the JSON path (e.g.
/// `resourceMetrics[0].scopeMetrics[0].metrics[1].gauge.dataPoints[0].timeUnixNano`) otherwise.
Status DecodeOtlpMetricsJson(std::string_view body, std::vector<TimeSeries>* out,
                             size_t max_bytes = 64 << 20);

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_OTLP_METRICS_H_
