// Saturating arithmetic: differences and float conversions that clamp instead of overflowing.
#ifndef BACKSIGHT_CORE_SATURATING_H_
#define BACKSIGHT_CORE_SATURATING_H_

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace backsight {

/// a - b for finite a, b, saturated to +-DBL_MAX instead of overflowing to +-inf (1e308 - -1e308).
/// Inline: it is on the per-sample path several times (the finite case costs one compare).
inline double SaturatingDiff(double a, double b) {
  const double d = a - b;
  return std::isfinite(d) ? d : std::copysign(DBL_MAX, d);
}

/// `x` converted to float, saturated to +-FLT_MAX instead of becoming +-inf (x finite).
inline float SaturatingFloat(double x) {
  return static_cast<float>(std::clamp(x, -static_cast<double>(FLT_MAX), double{FLT_MAX}));
}

}  // namespace backsight

#endif  // BACKSIGHT_CORE_SATURATING_H_
