// Capacity advice in `backsight serve` (issue 11): the `capacity:` rules (server/config.h) pick
// demand series (e.g. a request rate) out of every decoded metric series (remote_write, OTLP,
// scrapes); each is averaged into buckets of the rule's step, forecast with an AutoForecaster
// (95 % band), and turned into a replica count by forecast::AdviseReplicas.
//
// Output series (one per demand series with a model; the series' labels with `__name__` moved to
// `metric`, as the anomaly outputs):
//   backsight_recommended_replicas   replicas needed over the rule's horizon + startup
// GET /api/v1/capacity returns, per demand series: labels, current demand (last bucket's mean),
// forecast peak within the horizon and its time, capacity per replica, recommended replicas and
// the reason. The models are in memory only: after a restart they are refitted from new samples.
#ifndef BACKSIGHT_SERVER_CAPACITY_SERVICE_H_
#define BACKSIGHT_SERVER_CAPACITY_SERVICE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backsight/core/labels.h"
#include "backsight/forecast/auto_forecaster.h"
#include "backsight/forecast/capacity.h"
#include "backsight/server/config.h"

namespace backsight::server {

class CapacityService {
 public:
  explicit CapacityService(const ServeConfig& cfg);

  /// Feeds decoded series (only the rules' demand and capacity metrics are looked at). Thread-safe.
  void Observe(const std::vector<TimeSeries>& series);
  /// Appends backsight_recommended_replicas in the text exposition format (nothing without rules).
  void AppendMetrics(std::string* out) const;
  /// The body of GET /api/v1/capacity: {"status":"success","data":[...]} (see the file comment).
  std::string ApiJson() const;

 private:
  struct Demand {
    size_t rule = 0;
    Labels labels;
    int64_t bucket = INT64_MIN;  // index (ts / step) of the open bucket
    double sum = 0;
    int count = 0;
    std::vector<double> history;  // closed bucket means, oldest first
    size_t fitted_at = 0;         // history size at the last Fit
    size_t since_fit = 0;         // buckets closed since the last Fit
    std::unique_ptr<forecast::AutoForecaster> model;
    std::vector<forecast::ForecastPoint> forecast;  // from the last closed bucket
    TimestampNs last_bucket_end = 0;
  };
  struct Row {
    const Demand* d;
    forecast::CapacityAdvice advice;
    double per_replica;
  };
  void CloseBucket(Demand* d);
  /// Advice rows for every demand with a model and a known capacity (mu_ held).
  std::vector<Row> Rows() const;

  const std::vector<CapacityRule> rules_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Demand> demands_;      // by fingerprint of the demand labels
  std::unordered_map<std::string, double> capacity_;  // capacity metric + labels fingerprint
};

}  // namespace backsight::server

#endif  // BACKSIGHT_SERVER_CAPACITY_SERVICE_H_
