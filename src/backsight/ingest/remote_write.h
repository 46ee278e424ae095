// Prometheus remote_write 1.0 decoder and encoder.
// Spec: https://prometheus.io/docs/concepts/remote_write_spec/ (body = snappy block format of a
// protobuf prometheus.WriteRequest, prompb/remote.proto + types.proto; see proto/remote.proto).
#ifndef BACKSIGHT_INGEST_REMOTE_WRITE_H_
#define BACKSIGHT_INGEST_REMOTE_WRITE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"

namespace backsight::ingest {

/// Metadata of one metric family as sent in WriteRequest.metadata.
struct RemoteWriteMetadata {
  std::string family;  ///< metric_family_name
  MetricKind kind = MetricKind::kUnknown;
  std::string help;
  std::string unit;
};

/// Decodes a remote_write 1.0 body into series.
///
/// `body`: the raw HTTP body (snappy *block* format, not framed). `*out` is replaced by one
/// TimeSeries per WriteRequest.timeseries entry that has samples (series carrying only native
/// histograms or exemplars are dropped); labels are sorted (as the spec requires of senders),
/// include `__name__`, and labels with empty values are dropped (Prometheus semantics). Sample
/// timestamps are converted from ms to ns; values are kept as sent, including NaN (staleness
/// markers). If the request carries metadata, a series' kind is taken from the family whose name
/// matches (exactly, or with a _bucket/_sum/_count/_total suffix stripped): COUNTER→kCounter,
/// GAUGE→kGauge, HISTOGRAM/GAUGEHISTOGRAM→kHistogram, SUMMARY→kSummary, INFO/STATESET→kGauge.
///
/// Elements already in `*out` are reused (strings and vectors keep their capacity), so a caller
/// that passes the same vector on every call decodes without steady-state allocations; the
/// protobuf message and decompression buffer are reused per thread.
///
/// Errors (InvalidArgument, *out cleared): not snappy / corrupt snappy data; decompressed size
/// above `max_decompressed_bytes`; malformed protobuf (message names the byte offset and field
/// path); invalid, unsorted or duplicate label names; missing `__name__`; label values that are
/// not UTF-8; timestamps outside ±292 years of the epoch. Messages name the series and label index.
Status DecodeRemoteWrite(std::string_view body, std::vector<TimeSeries>* out,
                         size_t max_decompressed_bytes = 64 << 20);

/// As DecodeRemoteWrite, and also returns WriteRequest.metadata in `*metadata` (replaced; may be
/// null). Prometheus sends metadata in separate requests that carry no series, so a server that
/// wants kinds should remember these per family.
Status DecodeRemoteWriteWithMetadata(std::string_view body, std::vector<TimeSeries>* out,
                                     std::vector<RemoteWriteMetadata>* metadata,
                                     size_t max_decompressed_bytes = 64 << 20);

/// Encodes series as a remote_write 1.0 body (snappy-compressed WriteRequest) into `*body`
/// (replaced). Labels are written sorted by name (a sorted copy is made if needed); timestamps
/// are ns and written as ms (floor). For each metric family with a known kind one
/// MetricMetadata entry is added (family = __name__ with _bucket/_sum/_count stripped for
/// histograms and summaries), so DecodeRemoteWrite restores kinds.
void EncodeRemoteWrite(const std::vector<TimeSeries>& series, std::string* body);

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_REMOTE_WRITE_H_
