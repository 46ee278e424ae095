// Automatic forecasting: periods found from the data, the model chosen per series by a holdout.
#ifndef BACKSIGHT_FORECAST_AUTO_FORECASTER_H_
#define BACKSIGHT_FORECAST_AUTO_FORECASTER_H_

#include <span>
#include <string>
#include <vector>

#include "backsight/core/byte_io.h"
#include "backsight/core/status.h"
#include "backsight/forecast/smoothing_model.h"

namespace backsight::forecast {

/// Seasonal periods found in a series, in samples (0 = none).
struct Periods {
  int period1 = 0;
  int period2 = 0;  // a multiple of period1
};

/// Finds up to two seasonal periods of `y` (equally spaced samples) from its autocorrelation
/// function: period1 is the first lag >= 2 at which the ACF of the linearly detrended series has a
/// local maximum above 0.3 (ACF peak-picking, Wang, Smith & Hyndman, Data Min. Knowl. Disc. 13,
/// 2006); period2 the multiple of period1 whose ACF of the remainder after removing period1's
/// profile is highest, when above 0.2 (daily then weekly on hourly data). A period is kept only
/// when the series spans at least 3 of its cycles. O(n * n/3) for the first search.
Periods FindPeriods(std::span<const double> y);

/// Options of the automatic forecaster.
struct AutoForecastOptions {
  /// Holdout length used to choose the model; 0 = the forecast horizon given to Fit.
  int holdout = 0;
  /// Nominal coverage of the prediction interval (0.95 = 95 %).
  double coverage = 0.95;
  /// Number of best candidates (by holdout error) whose forecasts are combined by their median.
  /// 7: on the M4 Hourly validation split (last 48 training values) the median of the 1, 3, 5, 7
  /// and 9 best gave OWA 0.508, 0.507, 0.499, 0.488 and 0.493.
  int combine = 7;
};

/// Forecasts a series from its own data with no per-series setting. Fit() finds the periods,
/// runs every candidate SmoothingModel (SES, damped trend, Theta; with 0, 1 or 2 seasonal periods;
/// on x or log x; two level and two seasonal smoothing weights: up to 72 candidates) on the series
/// minus its last `holdout` samples, scores each by its mean absolute error over the held-out
/// samples, and refits the `combine` best on the whole series; the forecast and both interval
/// bounds are the medians of theirs (forecast combination, e.g. Petropoulos & Svetunkov, IJF 36,
/// 2020, and the M4 findings, Makridakis et al., IJF 36, 2020). Each model's interval is widened
/// (never narrowed) by the split-conformal calibration of its holdout errors. Update() then learns
/// further samples in O(1) each (per combined model). The state is saved and restored bit-exactly.
class AutoForecaster {
 public:
  explicit AutoForecaster(const AutoForecastOptions& options = {}) : opt_(options) {}

  /// Fits to `x` (finite values, equally spaced) for forecasts up to `horizon` steps.
  /// Errors: InvalidArgument when `x` is empty or holds a non-finite value.
  Status Fit(std::span<const double> x, int horizon);

  /// Learns one more sample in O(1) per combined model. Errors: InvalidArgument for a non-finite
  /// value (the state is untouched).
  Status Update(double x);

  /// Forecasts the next out.size() steps with the interval of the configured coverage.
  void Forecast(std::span<ForecastPoint> out) const;

  /// A short description of the chosen models: the best one, e.g.
  /// "ets(damped,log,24,168,alpha=0.05,gamma=0.2) and 6 more, median".
  std::string Describe() const;

  void Save(ByteWriter* w) const;
  /// Errors: Corruption (bad magic or version, truncated bytes, a model out of range).
  Status Restore(ByteReader* r);

 private:
  AutoForecastOptions opt_;
  std::vector<SmoothingModel> models_;
};

}  // namespace backsight::forecast

#endif  // BACKSIGHT_FORECAST_AUTO_FORECASTER_H_
