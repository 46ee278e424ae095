// Span CSV reader for `backsight traces`: one span per row, read with the project's CSV reader
// (core/csv.h). Two headers are recognised (columns in any order, extra columns ignored):
//  - Backsight's: trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,
//    end_unix_nano,status (parent_span_id empty for a root; status unset|ok|error or empty);
//  - Nezha's (github.com/IntelligentDDS/Nezha trace files): TraceID,SpanID,ParentID,PodName,
//    OperationName,StartTimeUnixNano,EndTimeUnixNano[,Duration] (ParentID "root" for a root; the
//    service is the Kubernetes pod name without its last two '-' fields, the instance the pod).
#ifndef BACKSIGHT_INGEST_SPAN_CSV_H_
#define BACKSIGHT_INGEST_SPAN_CSV_H_

#include <string_view>

#include "backsight/core/status.h"
#include "backsight/ingest/span_batch.h"

namespace backsight::ingest {

/// Reads the span CSV `text` (header first) and appends its spans to `*out`. Errors
/// (InvalidArgument; nothing appended): a header with neither column set (kMalformed, names the
/// first missing column); a row with too few fields, an empty trace or span id (kMalformed); a
/// time that is not a non-negative integer, or an end before the start (kTimestamp); an unknown
/// status (kMalformed); CSV syntax errors. Each is prefixed "line L: ".
Status ReadSpanCsv(std::string_view text, SpanBatch* out);

/// The service of a Kubernetes pod name made by a Deployment: the name without its last two
/// '-' fields (ReplicaSet hash, pod suffix), e.g. "ts-food-service-f5756978c-k8vqf" ->
/// "ts-food-service"; names with fewer than three fields are returned whole.
std::string_view ServiceOfPod(std::string_view pod);

}  // namespace backsight::ingest

#endif  // BACKSIGHT_INGEST_SPAN_CSV_H_
