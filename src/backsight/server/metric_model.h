// The metric model of `backsight serve`: what the stream engine runs for every Prometheus-style
// series (remote_write, OTLP metrics, scrapes). Counters (kind kCounter, or a metric name ending
// in `_total`, the Prometheus naming convention) become per-second rates with reset handling
// (ingest/counter_rate.h) when enabled; the value, or rate, goes to the default detector
// (detect/default_detector.h).
//
// It lives in server/, not stream/, because it is the metric wiring (Prometheus conventions and
// ingest's counter->rate) of the generic engine: stream/ stays free of ingest, and log template
// counts, trace RED series and forecasters bring their own factories.
#ifndef BACKSIGHT_SERVER_METRIC_MODEL_H_
#define BACKSIGHT_SERVER_METRIC_MODEL_H_

#include <memory>

#include "backsight/core/labels.h"
#include "backsight/stream/model.h"

namespace backsight::server {

/// True for a counter: declared kind kCounter, or a `__name__` ending in `_total`.
bool IsCounter(const Labels& labels, MetricKind kind);

/// Factory of metric models; `counters_as_rates` false scores counters' raw readings.
/// Model state (docs/formats.md section 2): u8 version 1, u8 flags (bit 0 counter), string
/// default-detector state (`BSD3`), then for counters the CounterRate state (25 bytes).
std::shared_ptr<const stream::ModelFactory> MakeMetricModelFactory(bool counters_as_rates);

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_METRIC_MODEL_H_
