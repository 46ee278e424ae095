// Prometheus text exposition (format 0.0.4) of the output series
// `anomaly_score`, `yhat`, `yhat_lower`, `yhat_upper` (one of each per scored series, carrying the
// input's labels with its metric name in the label `metric`, see OutputLabels in alerts.h).
#ifndef BACKSIGHT_SERVER_METRICS_WRITER_H_
#define BACKSIGHT_SERVER_METRICS_WRITER_H_

#include <string>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/server/engine.h"

namespace backsight::server {

/// Appends the four output families for every series that has left warm-up. Series still
/// warming up are left out (their scores are not meaningful yet).
void WriteSeriesMetrics(Engine* engine, std::string* out);

/// Builds the output series (remote_write push): four TimeSeries per scored series, each with
/// one sample at the series' last timestamp.
void CollectOutputSeries(Engine* engine, std::vector<TimeSeries>* out);

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_METRICS_WRITER_H_
