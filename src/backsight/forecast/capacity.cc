#include "backsight/forecast/capacity.h"

#include <algorithm>
#include <cmath>

#include "backsight/core/number_format.h"

namespace backsight::forecast {

namespace {
constexpr int kReasonDigits = 4;  // significant digits of the numbers in a reason text
}  // namespace

Status ValidateCapacityOptions(const CapacityOptions& opt) {
  if (!(opt.per_replica > 0) || !std::isfinite(opt.per_replica)) {
    return Status::InvalidArgument("capacity per replica must be a finite number > 0");
  }
  if (!(opt.target_utilization > 0 && opt.target_utilization <= 1)) {
    return Status::InvalidArgument("target utilization must be in (0, 1]");
  }
  if (opt.min_replicas < 1) return Status::InvalidArgument("min replicas must be >= 1");
  if (opt.max_replicas < opt.min_replicas) {
    return Status::InvalidArgument("max replicas must be >= min replicas");
  }
  if (opt.horizon < 1) return Status::InvalidArgument("horizon must be >= 1 sample");
  if (opt.startup < 0) return Status::InvalidArgument("startup must be >= 0");
  return Status::OK();
}

CapacityAdvice AdviseReplicas(double current, std::span<const ForecastPoint> forecast,
                              const CapacityOptions& opt) {
  CapacityAdvice a;
  a.current = current;
  a.peak = std::isfinite(current) ? current : 0;
  const size_t window = std::min(
      forecast.size(), static_cast<size_t>(opt.horizon) + static_cast<size_t>(opt.startup));
  for (size_t i = 0; i < window; ++i) {
    if (std::isfinite(forecast[i].upper) && forecast[i].upper > a.peak) {
      a.peak = forecast[i].upper;
      a.peak_step = static_cast<int>(i) + 1;
    }
  }
  const double per = opt.per_replica * opt.target_utilization;
  const double need = std::ceil(std::max(0.0, a.peak) / per);
  const double clamped = std::clamp(need, static_cast<double>(opt.min_replicas),
                                    static_cast<double>(opt.max_replicas));
  a.replicas = static_cast<int>(clamped);
  a.reason = (a.peak_step == 0 ? "current demand " : "forecast peak (95 % upper band) ") +
             FormatDouble(a.peak, kReasonDigits) +
             (a.peak_step == 0 ? "" : " in " + std::to_string(a.peak_step) + " steps") + " / (" +
             FormatDouble(opt.per_replica, kReasonDigits) + " per replica * " +
             FormatDouble(opt.target_utilization, kReasonDigits) +
             ") = " + FormatDouble(need, kReasonDigits);
  if (need < opt.min_replicas) a.reason += ", raised to min " + std::to_string(opt.min_replicas);
  if (need > opt.max_replicas) a.reason += ", capped at max " + std::to_string(opt.max_replicas);
  return a;
}

Status CapacityAdvisor::Fit(std::span<const double> history) {
  BACKSIGHT_RETURN_IF_ERROR(model_.Fit(history, opt_.horizon + opt_.startup));
  fitted_ = true;
  last_ = history.back();
  return Status::OK();
}

Status CapacityAdvisor::Update(double x) {
  if (!fitted_) return Status::InvalidArgument("capacity advisor: Update before Fit");
  BACKSIGHT_RETURN_IF_ERROR(model_.Update(x));
  last_ = x;
  return Status::OK();
}

CapacityAdvice CapacityAdvisor::Advise() const {
  if (!fitted_) {
    CapacityAdvice a;
    a.replicas = opt_.min_replicas;
    a.reason = "no model yet";
    return a;
  }
  buf_.resize(static_cast<size_t>(opt_.horizon) + static_cast<size_t>(opt_.startup));
  model_.Forecast(buf_);
  return AdviseReplicas(last_, buf_, opt_);
}

}  // namespace backsight::forecast
