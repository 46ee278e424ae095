// Encoding of a batch of samples as one write-ahead-log record (store/wal.h): per series its
// fingerprint, kind, canonical label set and samples, in the order the engine applies them.
//
// Layout (repeated until the record ends; varints and fixed-width fields as in core/byte_io.h):
//   u64 fingerprint | u8 kind | varint labels_len | labels (EncodeLabels) |
//   varint n_samples | n x (zigzag varint timestamp delta-of-delta | f64 value bits)
// Timestamps are delta-of-delta coded as in Gorilla (Pelkonen et al., VLDB 2015), from a delta of
// 0 before the first sample, so steady scrape intervals cost 1 byte per timestamp instead of 8;
// a value keeps its exact bit pattern (replay is bit-exact).
#ifndef BACKSIGHT_STORE_SAMPLE_BATCH_H_
#define BACKSIGHT_STORE_SAMPLE_BATCH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"

namespace backsight::store {

/// Appends one series of a batch to *out (a record under construction).
/// `encoded_labels` is the series' canonical label set as written by EncodeLabels.
void AppendBatchSeries(uint64_t fp, MetricKind kind, std::string_view encoded_labels,
                       const Sample* samples, size_t n, std::string* out);

/// One series of a decoded batch.
struct BatchSeries {
  uint64_t fp = 0;
  TimeSeries series;
};

/// Decodes a record built with AppendBatchSeries into *out (cleared first). Returns Corruption
/// naming the byte offset and field when malformed; *out then holds the series decoded before
/// the bad one (useful to name what a damaged record held).
Status DecodeSampleBatch(std::string_view record, std::vector<BatchSeries>* out);

}  // namespace backsight::store

#endif  // BACKSIGHT_STORE_SAMPLE_BATCH_H_
