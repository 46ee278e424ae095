// Robust scale of a residual stream, shared by the detector and the forecasters.
#ifndef BACKSIGHT_FORECAST_ROBUST_SCALE_H_
#define BACKSIGHT_FORECAST_ROBUST_SCALE_H_

#include <algorithm>
#include <cstdint>

#include "backsight/core/byte_io.h"
#include "backsight/core/status.h"

namespace backsight::forecast {

/// Robust scale of a residual stream: exponentially weighted mean absolute residual whose updates
/// are clipped at kClip scales (Huber-style bounded influence; P. J. Huber, Ann. Math. Statist. 35,
/// 1964). Input: |residual| in series units; `s` is in the same units (0 before the first update).
/// O(1) per update; 12 bytes saved.
struct RobustScale {
  /// Weight of one update once 1/n is below it (a time constant of 50 residuals).
  static constexpr double kAlpha = 0.02;
  /// Updates are clipped at this many current scales.
  static constexpr double kClip = 4.0;

  double s = 0;
  uint32_t n = 0;

  void Update(double abs_resid) {
    if (n < UINT32_MAX) ++n;
    if (n == 1) {
      s = abs_resid;
      return;
    }
    const double a = std::max(kAlpha, 1.0 / n);
    const double clipped = s > 0 ? std::min(abs_resid, kClip * s) : abs_resid;
    s += a * (clipped - s);
  }
  void Save(ByteWriter* w) const {
    w->PutDouble(s);
    w->PutU32(n);
  }
  Status Restore(ByteReader* r) {
    BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&s, "scale.s"));
    return r->GetU32(&n, "scale.n");
  }
};

}  // namespace backsight::forecast

#endif  // BACKSIGHT_FORECAST_ROBUST_SCALE_H_
