// Loki push decoder (POST /loki/api/v1/push). Two encodings, as Loki's distributor takes them
// (https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs):
//   - protobuf: snappy block-compressed logproto.PushRequest (grafana/loki pkg/push/push.proto):
//     PushRequest{repeated StreamAdapter streams = 1}, StreamAdapter{string labels = 1 (a label
//     string such as `{app="x", env="prod"}`), repeated EntryAdapter entries = 2, uint64 hash = 3},
//     EntryAdapter{google.protobuf.Timestamp timestamp = 1, string line = 2, repeated
//     LabelPairAdapter structuredMetadata = 3}, LabelPairAdapter{string name = 1, string value =
//     2}.
//   - JSON: {"streams":[{"stream":{"label":"value",...},"values":[["<unix ns as a string>",
//     "<line>"(, {"<metadata>":"<value>"})], ...]}, ...]}.
// Lines are views into the batch (the decompressed buffer, or the parsed JSON strings moved into
// the batch): no line is copied.
#ifndef BACKSIGHT_INGEST_LOKI_PUSH_H_
#define BACKSIGHT_INGEST_LOKI_PUSH_H_

#include <cstddef>
#include <string_view>

#include "backsight/core/labels.h"
#include "backsight/core/status.h"
#include "backsight/ingest/log_batch.h"

namespace backsight::ingest {

/// Parses a Loki/PromQL stream selector label string `{name="value", ...}` (values in Go string
/// syntax: \" \\ \n \t escapes) into sorted labels. `{}` gives none. InvalidArgument(kLabels)
/// naming the byte offset on anything else (an operator other than `=`, a duplicate name, an
/// invalid name, an unterminated value).
Status ParseLokiLabels(std::string_view text, Labels* out);

/// Decodes a snappy-compressed protobuf PushRequest into `*out` (replaced). The service of each
/// stream is chosen from its labels (log_batch.h); an entry's level is its structured metadata
/// `level`, else the stream label `level`, `severity`, `detected_level` or `lvl`, else "".
/// Errors (InvalidArgument, `*out` cleared): not snappy (kSnappy); decompressed size above
/// `max_decompressed_bytes` (kTooLarge); malformed protobuf (kMalformed, naming the byte offset in
/// the decompressed message and the field path, e.g. `streams[2].entries[7].line`); a bad label
/// string (kLabels); invalid UTF-8 in a line or label (kUtf8); a timestamp before 1970 or beyond
/// int64 ns (kTimestamp).
Status DecodeLokiPushProto(std::string_view body, LogBatch* out,
                           size_t max_decompressed_bytes = 64 << 20);

/// As DecodeLokiPushProto for the JSON encoding (`body` already inflated). Errors name the byte
/// offset of a JSON syntax error, or the JSON path, e.g. `streams[0].values[3][0]`.
Status DecodeLokiPushJson(std::string_view body, LogBatch* out, size_t max_bytes = 64 << 20);

/// Encodes `batch` as a snappy-compressed protobuf PushRequest (labels printed as `{k="v",...}`,
/// levels not written): for tests and load generators.
void EncodeLokiPushProto(const LogBatch& batch, std::string* body);

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_LOKI_PUSH_H_
