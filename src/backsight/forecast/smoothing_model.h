// Streaming exponential smoothing with damped or Theta trend and up to two seasonal periods.
#ifndef BACKSIGHT_FORECAST_SMOOTHING_MODEL_H_
#define BACKSIGHT_FORECAST_SMOOTHING_MODEL_H_

#include <cstdint>
#include <span>
#include <vector>

#include "backsight/core/byte_io.h"
#include "backsight/core/status.h"
#include "backsight/forecast/robust_scale.h"

namespace backsight::forecast {

/// One forecast step: the point forecast and its central prediction interval, in series units.
struct ForecastPoint {
  double yhat = 0;
  double lower = 0;
  double upper = 0;
};

/// Trend component of a SmoothingModel.
enum class TrendKind : uint8_t {
  kNone = 0,    // level only (simple exponential smoothing)
  kDamped = 1,  // additive damped trend (Gardner & McKenzie, Management Science 31, 1985)
  kTheta = 2,   // SES plus half the linear-regression slope of all data seen: the Theta method
                // (Assimakopoulos & Nikolopoulos, IJF 16, 2000) as shown equivalent to SES with
                // drift by Hyndman & Billah (IJF 19, 2003)
};

/// Configuration of a SmoothingModel. Periods are in samples (0 = none); `log` fits log(x), so
/// seasonality and trend act multiplicatively (only for strictly positive series).
struct SmoothingConfig {
  TrendKind trend = TrendKind::kNone;
  bool log = false;
  int period1 = 0;       // first seasonal period (e.g. 24 on hourly data)
  int period2 = 0;       // second seasonal period, a multiple of period1 (e.g. 168)
  double alpha = 0.1;    // level smoothing weight
  double beta = 0.01;    // trend smoothing weight (kDamped)
  double phi = 0.95;     // trend damping (kDamped)
  double gamma1 = 0.05;  // seasonal smoothing weights
  double gamma2 = 0.05;
};

/// Additive-error exponential smoothing in the ETS framework (Hyndman, Koehler, Ord & Snyder,
/// "Forecasting with Exponential Smoothing", Springer 2008): level, optional trend, and up to two
/// seasonal components updated by the same one-step error, which is Taylor's double seasonal
/// Holt-Winters (J. Oper. Res. Soc. 54, 2003). Robust: each update takes the one-step error
/// Huber-clipped at 4 robust scales (Gelper, Fried & Croux, J. Forecasting 29, 2010), so a single
/// outlier moves the state by a bounded amount while a lasting level shift is learnt as the scale
/// grows. Prediction intervals: the ETS(A,Ad,A) h-step variance sigma^2 (1 + sum_{j<h} c_j^2),
/// c_j = alpha + beta (phi + ... + phi^j) + gamma_i [j mod m_i = 0] (Hyndman et al. 2008, table
/// 6.1), sigma from the robust mean absolute one-step error (sigma = sqrt(pi/2) MAE for Gaussian
/// errors); in log space for `log` models, so bands are asymmetric there.
/// O(1) per sample (`Update`), O(h) per forecast; the state (~8 bytes per seasonal slot) is
/// saved and restored bit-exactly.
class SmoothingModel {
 public:
  explicit SmoothingModel(const SmoothingConfig& config = {});

  const SmoothingConfig& config() const { return cfg_; }

  /// Initialises the state from the first samples of `x` (series units), without learning from
  /// them: the level is the mean of the first period (or first value), seasonal indices come from a
  /// decomposition of all of `x` (centred moving average of the longest period, then per-phase
  /// means of the remainder for each period; MSTL-style, Bandara, Hyndman & Bergmeir 2021).
  /// `x` must be non-empty (and strictly positive for log models). Indices are aligned so the
  /// first Update() is x[0].
  void Initialise(std::span<const double> x);

  /// Learns one sample (finite, series units; a log model takes a value <= 0 as the smallest
  /// positive double, an error its clipping bounds). Returns the one-step error before the update
  /// in model units (log units for log models).
  double Update(double x);

  /// Forecasts the next `out.size()` steps; `z` is the standard-normal quantile of the interval
  /// (1.96 for 95 %).
  void Forecast(double z, std::span<ForecastPoint> out) const;

  /// Multiplies the interval's sigma by `scale` (> 0; 1 = the ETS formula), e.g. a calibration
  /// measured on a holdout.
  void set_interval_scale(double scale) { interval_scale_ = scale; }
  double interval_scale() const { return interval_scale_; }

  /// Number of samples learnt.
  uint64_t samples() const { return n_; }

  void Save(ByteWriter* w) const;
  /// Errors: Corruption (bad magic, a configuration out of range, truncated bytes).
  Status Restore(ByteReader* r);

 private:
  double Transform(double x) const;
  double Seasonal(int ahead) const;  // seasonal part for the step `ahead` steps after the last

  SmoothingConfig cfg_;
  double interval_scale_ = 1;
  double level_ = 0;
  double trend_ = 0;
  // Running sums for the Theta slope (least squares of x on t = 0, 1, ...).
  double st_ = 0, sx_ = 0, stt_ = 0, stx_ = 0;
  uint64_t n_ = 0;
  RobustScale scale_;
  std::vector<double> s1_, s2_;  // seasonal indices, rings indexed by sample count mod period
  size_t pos1_ = 0, pos2_ = 0;   // n_ mod period: the slots of the next sample (not saved)
};

}  // namespace backsight::forecast

#endif  // BACKSIGHT_FORECAST_SMOOTHING_MODEL_H_
