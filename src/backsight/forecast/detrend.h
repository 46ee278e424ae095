// Linear detrending by least squares, so that a trend does not look like a long period to an
// autocorrelation search (the period finder of the default detector and AutoForecaster's).
#ifndef BACKSIGHT_FORECAST_DETREND_H_
#define BACKSIGHT_FORECAST_DETREND_H_

#include <span>

namespace backsight::forecast {

/// Subtracts from every y[i] the ordinary least-squares line a + b * i fitted to (i, y[i]),
/// i = 0 .. y.size() - 1, in place (b = 0 when all i are equal, i.e. one sample).
void DetrendLinear(std::span<double> y);

}  // namespace backsight::forecast

#endif  // BACKSIGHT_FORECAST_DETREND_H_
