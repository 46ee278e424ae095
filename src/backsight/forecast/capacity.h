// Capacity advice: the replicas a service needs over the hours ahead, from a forecast of its demand
// (issue 11, "Capacity advice").
#ifndef BACKSIGHT_FORECAST_CAPACITY_H_
#define BACKSIGHT_FORECAST_CAPACITY_H_

#include <span>
#include <string>
#include <vector>

#include "backsight/core/status.h"
#include "backsight/forecast/auto_forecaster.h"
#include "backsight/forecast/smoothing_model.h"

namespace backsight::forecast {

/// Target utilisation of a replica: 0.8, the utilisation most Kubernetes HorizontalPodAutoscaler
/// examples scale at (averageUtilization: 80 for CPU in the HPA walkthrough, kubernetes.io), so
/// that a replica keeps 20 % headroom for the noise the interval does not cover.
inline constexpr double kDefaultTargetUtilization = 0.8;

/// Options of the capacity advice. Demand and capacity are in the same unit (e.g. requests/s);
/// time is in samples of the demand series.
struct CapacityOptions {
  /// Demand one replica serves at 100 % utilisation (> 0).
  double per_replica = 1;
  /// Fraction of per_replica a replica is planned to carry, in (0, 1].
  double target_utilization = kDefaultTargetUtilization;
  /// Bounds of the advice (1 <= min <= max).
  int min_replicas = 1;
  int max_replicas = 1000;
  /// Samples ahead the advice must cover (>= 1).
  int horizon = 1;
  /// Samples a new replica needs before it serves (start-up time); the window looked at is
  /// extended by this lead so that replicas are ready when the demand arrives (>= 0).
  int startup = 0;
};

/// Errors: InvalidArgument naming the first out-of-range option.
Status ValidateCapacityOptions(const CapacityOptions& opt);

/// One capacity advice.
struct CapacityAdvice {
  int replicas = 0;    ///< recommended replicas, within [min_replicas, max_replicas]
  double current = 0;  ///< the last demand sample
  double peak = 0;     ///< the demand planned for: max(current, upper band over window)
  int peak_step = 0;   ///< steps ahead of the peak (0 = the current value)
  std::string reason;  ///< e.g. "forecast peak 812.3 in 5 steps / (100 * 0.8) = 11"
};

/// replicas = ceil(peak / (per_replica * target_utilization)) clamped to [min, max], where peak is
/// the maximum of `current` and of the upper interval bound of `forecast[0 .. horizon + startup)`
/// (the forecast of the next samples, step 1 first; shorter spans use what they have).
CapacityAdvice AdviseReplicas(double current, std::span<const ForecastPoint> forecast,
                              const CapacityOptions& opt);

/// Streaming capacity advisor of one demand series: an AutoForecaster fitted on the history, then
/// updated in O(1) per sample; Advise() forecasts horizon + startup steps (95 % band).
class CapacityAdvisor {
 public:
  explicit CapacityAdvisor(const CapacityOptions& opt) : opt_(opt) {}

  /// Fits the demand model to `history` (finite, equally spaced). Errors: as AutoForecaster::Fit.
  Status Fit(std::span<const double> history);
  /// Learns one more sample. Errors: InvalidArgument for a non-finite value or before Fit.
  Status Update(double x);
  /// The advice from the last sample. Before Fit: the minimum, reason "no model yet".
  CapacityAdvice Advise() const;

 private:
  CapacityOptions opt_;
  AutoForecaster model_;
  bool fitted_ = false;
  double last_ = 0;
  mutable std::vector<ForecastPoint> buf_;
};

}  // namespace backsight::forecast

#endif  // BACKSIGHT_FORECAST_CAPACITY_H_
