// A root-cause case directory (issue 10), the input of `backsight rca`: what was recorded around an
// alert, in a vendor-neutral layout (all files optional except case.json; times UTC):
//
//   case.json     {"alert_time": <epoch s>, "symptom": {"service": "...", "metric": "..."}}
//   metrics.csv   timestamp,service,instance,metric,value   (timestamp: epoch s or ISO-8601)
//   spans.csv     trace_id,span_id,parent_span_id,service,instance,operation,start_unix_nano,
//                 end_unix_nano,status                      (ingest/span_csv.h)
//   logs.csv      timestamp_unix_nano,service,instance,trace_id,span_id,body
//   graph.csv     caller,callee
//   calls.csv     timestamp,caller,callee,metric,value      (a call edge's metric as the caller
//   sees
//                 it, e.g. Istio's request duration by source and destination workload)
//   baseline/     the same files, recorded while the system was healthy
#ifndef BACKSIGHT_INCIDENTS_CASE_DATA_H_
#define BACKSIGHT_INCIDENTS_CASE_DATA_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/core/time.h"
#include "backsight/ingest/span_batch.h"

namespace backsight::incidents {

/// One metric sample of metrics.csv.
struct MetricRow {
  TimestampNs ts = 0;
  std::string service;
  std::string instance;
  std::string metric;
  double value = 0;  ///< NaN allowed (a gap); callers skip non-finite values.
};

/// One sample of calls.csv: a metric of the calls from `caller` to `callee` (e.g. their median
/// latency in seconds, as measured on the caller's side: the callee's time plus the network).
struct CallRow {
  TimestampNs ts = 0;
  std::string caller;
  std::string callee;
  std::string metric;
  double value = 0;  ///< NaN allowed (no calls in the interval); callers skip non-finite values.
};

/// One log line of logs.csv.
struct LogRecord {
  TimestampNs ts = 0;
  std::string service;
  std::string instance;
  std::string trace_id;
  std::string span_id;
  std::string body;
};

/// The telemetry of one period (the case's files, or those of baseline/).
struct Telemetry {
  std::vector<MetricRow> metrics;
  std::vector<ingest::Span> spans;
  std::vector<LogRecord> logs;
  std::vector<std::pair<std::string, std::string>> graph;  ///< (caller, callee) service edges.
  std::vector<CallRow> calls;                              ///< calls.csv.
  bool empty() const { return metrics.empty() && spans.empty() && logs.empty() && calls.empty(); }
};

/// A loaded case.
struct CaseData {
  TimestampNs alert_time = 0;
  std::string symptom_service;  ///< From case.json's optional "symptom".
  std::string symptom_metric;
  Telemetry recorded;  ///< The case's own files.
  Telemetry baseline;  ///< baseline/ (empty when the folder is absent).
  bool has_baseline_dir = false;
};

/// Loads the case directory `dir`. Errors: NotFound when `dir` or its case.json is missing;
/// IoError when a file cannot be read; InvalidArgument naming "<file>:<line>: reason" for a
/// malformed row (missing column, bad number or time, CSV syntax) and "<file>: reason" for a bad
/// case.json (not JSON, alert_time missing or not a number).
Status LoadCase(const std::string& dir, CaseData* out);

}  // namespace backsight::incidents

#endif  // BACKSIGHT_INCIDENTS_CASE_DATA_H_
