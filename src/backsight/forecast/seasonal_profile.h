// The streaming level + seasonal profile forecaster (additive Holt-Winters without trend).
#ifndef BACKSIGHT_FORECAST_SEASONAL_PROFILE_H_
#define BACKSIGHT_FORECAST_SEASONAL_PROFILE_H_

#include <array>
#include <cstdint>

#include "backsight/core/byte_io.h"
#include "backsight/core/status.h"
#include "backsight/core/time.h"
#include "backsight/forecast/period_finder.h"
#include "backsight/forecast/robust_scale.h"

namespace backsight::forecast {

/// Level + seasonal profile over wall-clock phase: the prediction for time t is
/// level + profile[bin(t)], where bin(t) is the phase of t within the active period, split into
/// `bins` equal bins. Learning is additive Holt-Winters without trend (Winters, Management Science
/// 6, 1960) with Huber-clipped residuals (bounded influence, Gelper, Fried & Croux, J. Forecasting
/// 29, 2010). Inactive (no prediction) until a period is adopted from a PeriodFinder. Phases use
/// timestamps, so irregular sampling keeps the phase right. O(1) per sample; used by the default
/// detector for yhat and its per-phase features. The state is saved bit-exactly.
class SeasonalProfile {
 public:
  /// Profile resolution: at most this many bins per period.
  static constexpr int kMaxBins = 96;

  /// True once a period has been adopted.
  bool active() const { return period_ns_ > 0; }
  int64_t period_ns() const { return period_ns_; }
  int bins() const { return bins_; }
  /// Phase bin of `ts` in [0, bins()); only when active().
  int PhaseBin(TimestampNs ts) const;
  /// Prediction for a sample in phase bin `bin`, in series units.
  double Predict(int bin) const { return level_ + profile_[bin]; }
  float profile(int bin) const { return profile_[bin]; }
  /// Robust scale of the residuals x - Predict(bin) seen so far.
  const RobustScale& scale() const { return scale_; }

  /// Learns from the residual `e` = x - Predict(bin) of a sample in phase bin `bin`: the scale
  /// takes |e|, the level and the bin's profile take e clipped at kClip scales (the scale floored
  /// at `floor`, series units).
  void Learn(int bin, double e, double floor);

  /// Adopts the period found by `finder` when it differs from the active one by 5 % or more and
  /// spans at least 4 steps of `step_ns`: bins = period / step (4..kMaxBins), the profile
  /// warm-started from the finder's phase means, the level set to `level`, the scale reset.
  /// Returns true when a new period was adopted.
  bool MaybeAdopt(const PeriodFinder& finder, double step_ns, double level);

  void Save(ByteWriter* w) const;
  /// Errors: Corruption when the bins and the period disagree or the bytes end early.
  Status Restore(ByteReader* r);

 private:
  int64_t period_ns_ = 0;  // active period, 0 = none
  int bins_ = 0;
  double level_ = 0;
  RobustScale scale_;
  std::array<float, kMaxBins> profile_{};
};

}  // namespace backsight::forecast

#endif  // BACKSIGHT_FORECAST_SEASONAL_PROFILE_H_
