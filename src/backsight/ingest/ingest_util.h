// Internal helpers shared by the ingest decoders (not part of the public API): name and UTF-8
// validation, quoting for error messages, number formatting, series grouping, protobuf error
// diagnosis and Prometheus-family kind lookup.
#ifndef BACKSIGHT_INGEST_INGEST_UTIL_H_
#define BACKSIGHT_INGEST_INGEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"

namespace google::protobuf {
class Descriptor;
}

namespace backsight::ingest::internal {

/// Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(std::string_view s);
/// Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsValidMetricName(std::string_view s);
/// True if `s` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). On failure sets
/// *bad_offset to the offset of the first bad byte.
bool IsValidUtf8(std::string_view s, size_t* bad_offset);
/// OK if `s` is valid UTF-8 (IsValidUtf8), else InvalidArgument (Reason::kUtf8) with the message
/// "<decoder>: <path>: not valid UTF-8 (byte N)", N the offset of the first bad byte in `s`;
/// e.g. decoder "otlp logs", path "resourceLogs[0].resource.attributes[2]".
Status CheckUtf8(std::string_view s, std::string_view decoder, const std::string& path);

/// `s` in double quotes for error messages: at most 64 bytes, control and non-ASCII bytes as \xNN.
std::string Quote(std::string_view s);

/// Family-name kind table with string_view lookup.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using KindMap = std::unordered_map<std::string, MetricKind, StringHash, std::equal_to<>>;

/// Kind of the series named `name` given family kinds: exact family match first, then the
/// family with a known suffix stripped (_bucket/_sum/_count for histograms, _sum/_count for
/// summaries, _total for counters, ...). kUnknown if none applies.
MetricKind LookupKind(const KindMap& kinds, std::string_view name);

/// Groups samples into series by identical (sorted) label set, preserving first-seen order.
class SeriesBuilder {
 public:
  explicit SeriesBuilder(std::vector<TimeSeries>* out) : out_(out) { out_->clear(); }
  /// Adds one sample; `labels` must be sorted with unique names. Moves from `labels`.
  void Add(Labels* labels, MetricKind kind, Sample s);

 private:
  std::vector<TimeSeries>* out_;
  std::unordered_map<uint64_t, std::vector<size_t>> index_;
};

/// Walks `bytes` as a serialised message of type `d` and returns where it is malformed:
/// "byte N in <path>: <reason>", or a generic text if no structural problem is found.
std::string DiagnoseProtobuf(const google::protobuf::Descriptor* d, std::string_view bytes);

// Metric family of a sample name: strips _bucket/_sum/_count for histograms and _sum/_count for
// summaries (Prometheus exposition format, "Histograms and summaries"); other names unchanged.
std::string_view FamilyName(std::string_view name, MetricKind kind);

}  // namespace backsight::ingest::internal

#endif  // BACKSIGHT_INGEST_INGEST_UTIL_H_
