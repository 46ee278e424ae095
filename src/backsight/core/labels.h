// Label sets and series identity (Prometheus data model).
#ifndef BACKSIGHT_CORE_LABELS_H_
#define BACKSIGHT_CORE_LABELS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backsight/core/time.h"

namespace backsight {

/// One label: name and value (UTF-8). The metric name is the label `__name__`.
struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
  auto operator<=>(const Label&) const = default;
};

/// A label set. Canonical form is sorted by name with unique names; series identity is the full
/// canonical label set.
using Labels = std::vector<Label>;

/// Sorts by name (stable) in place. Does not remove duplicates.
void SortLabels(Labels* labels);

/// Returns the value of `name`, or an empty view if absent.
std::string_view GetLabel(const Labels& labels, std::string_view name);

/// 64-bit fingerprint of a canonical (sorted) label set: FNV-1a over name/value bytes with
/// separators, so {a="bc"} and {ab="c"} differ. Stable across runs and platforms (persisted).
uint64_t Fingerprint(const Labels& sorted_labels);

/// A fingerprint as 16 lowercase hex digits, zero-padded: the form the HTTP API prints and takes
/// (`?fingerprint=`), the alerts' generatorURL and the start-up report use.
std::string FormatFingerprint(uint64_t fingerprint);

/// Appends `s` escaped as the Prometheus text format wants it: backslash as \\, line feed as \n,
/// and, when `quote` (label values), double quote as \". `# HELP` text is escaped without
/// `quote` (exposition format 0.0.4).
void AppendEscaped(std::string_view s, bool quote, std::string* out);

/// Appends `{a="x",b="y"}`: every label but `__name__`, in the given order, values escaped;
/// appends nothing when there is no such label.
void AppendLabelSet(const Labels& labels, std::string* out);

/// Renders `name{a="x",b="y"}` in the Prometheus text style (AppendLabelSet after the name).
std::string LabelsToString(const Labels& labels);

/// Kind of a metric as sent by its source.
enum class MetricKind : uint8_t { kUnknown = 0, kGauge, kCounter, kHistogram, kSummary };

/// One observation of a series.
struct Sample {
  TimestampNs ts = 0;  ///< ns since the epoch
  double value = 0;
};

/// A series with its samples, as produced by decoders (remote_write, exposition, OTLP, CSV).
struct TimeSeries {
  Labels labels;  ///< includes __name__ when the source has a metric name
  MetricKind kind = MetricKind::kUnknown;
  std::vector<Sample> samples;
};

}  // namespace backsight

#endif  // BACKSIGHT_CORE_LABELS_H_
