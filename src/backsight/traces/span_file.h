// Reading span files for `backsight traces` and the benchmarks: plain or gzip, either OTLP JSON
// lines (one ExportTraceServiceRequest per line, what the OpenTelemetry Collector's file exporter
// writes) or span CSV (ingest/span_csv.h), told apart by the first non-blank character ('{').
#ifndef BACKSIGHT_TRACES_SPAN_FILE_H_
#define BACKSIGHT_TRACES_SPAN_FILE_H_

#include <string>

#include "backsight/core/status.h"
#include "backsight/ingest/span_batch.h"

namespace backsight::traces {

/// Appends the spans of file `path` ("-" = stdin) to `*out`. Errors: IoError when the file cannot
/// be read; the decoders' InvalidArgument, prefixed "<path>:<line>: " for JSON
/// lines and "<path>: " for CSV.
Status ReadSpanFile(const std::string& path, ingest::SpanBatch* out);

}  // namespace backsight::traces

#endif  // BACKSIGHT_TRACES_SPAN_FILE_H_
