#include "backsight/forecast/detrend.h"

#include <cstddef>

namespace backsight::forecast {

void DetrendLinear(std::span<double> y) {
  const double n = static_cast<double>(y.size());
  double st = 0, sy = 0, stt = 0, sty = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    st += i;
    sy += y[i];
    stt += double(i) * i;
    sty += double(i) * y[i];
  }
  const double den = n * stt - st * st;
  const double b = den != 0 ? (n * sty - st * sy) / den : 0;
  const double a = (sy - b * st) / n;
  for (size_t i = 0; i < y.size(); ++i) y[i] -= a + b * i;
}

}  // namespace backsight::forecast
