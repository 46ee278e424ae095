// Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text: parser and writer.
// Specs: https://prometheus.io/docs/instrumenting/exposition_formats/ (0.0.4) and
// https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md (1.0).
#ifndef BACKSIGHT_INGEST_EXPOSITION_H_
#define BACKSIGHT_INGEST_EXPOSITION_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/core/time.h"

namespace backsight::ingest {

/// Parses a scrape body into series; `*out` is replaced.
///
/// The dialect is OpenMetrics 1.0 when the last non-empty line is `# EOF`, else text 0.0.4.
/// Differences: 0.0.4 timestamps are integer milliseconds, OpenMetrics timestamps are (fractional)
/// seconds; OpenMetrics exemplars (` # {...} v [ts]`) are skipped, and `_created` samples of
/// counter/histogram/summary families are dropped (they hold start times, not values).
/// Samples without a timestamp get `default_ts` (ns). `# TYPE` lines set the kind of the family's
/// series: counter→kCounter, gauge/info/stateset→kGauge, histogram/gaugehistogram→kHistogram
/// (its _bucket/_sum/_count series), summary→kSummary (quantile, _sum, _count series),
/// untyped/unknown→kUnknown. `# HELP`, `# UNIT` and other comments are ignored. Label values may
/// use the escapes \\, \" and \n; values may be NaN, +Inf, -Inf. Quoted UTF-8 metric/label names
/// (`{"my.metric", "a.b"="x"}`) are accepted. Samples of the same label set are merged into one
/// series (in order of appearance). Labels are sorted; empty label values are dropped.
///
/// Errors: InvalidArgument "exposition: line L, column C: <reason>" for malformed lines, invalid
/// names, bad escapes or numbers, invalid UTF-8, duplicate label names, conflicting TYPE lines,
/// content after `# EOF`; and when `text` is larger than `max_bytes`.
Status ParseExposition(std::string_view text, TimestampNs default_ts, std::vector<TimeSeries>* out,
                       size_t max_bytes = 64 << 20);

/// Options for WriteExposition.
struct ExpositionWriteOptions {
  /// Append each sample's timestamp (integer ms) after the value.
  bool timestamps = false;
  /// Optional `# HELP` text per metric family name (escaped on output).
  const std::unordered_map<std::string, std::string>* help = nullptr;
};

/// Renders series as text exposition format 0.0.4 (Content-Type
/// `text/plain; version=0.0.4; charset=utf-8`), appending to `*out`.
///
/// For every series with a `__name__` and at least one sample, its last sample is written as
/// `name{label="value",...} value [timestamp_ms]`. Series are grouped by family (the name with
/// _bucket/_sum/_count stripped for kHistogram, _sum/_count for kSummary); families are written
/// in order of first appearance, each preceded by `# HELP` (if given) and `# TYPE`
/// (counter/gauge/histogram/summary/untyped). Values print as the shortest round-trip decimal,
/// NaN, +Inf or -Inf. ParseExposition(WriteExposition(x)) reproduces x's last samples.
void WriteExposition(const std::vector<TimeSeries>& series, std::string* out,
                     const ExpositionWriteOptions& options = {});

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_EXPOSITION_H_
