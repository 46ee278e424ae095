// Calibration: turns a model's raw score stream into one interpretable scale.
#ifndef BACKSIGHT_DETECT_CALIBRATOR_H_
#define BACKSIGHT_DETECT_CALIBRATOR_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "backsight/core/byte_io.h"
#include "backsight/core/status.h"

namespace backsight::detect {

/// Anomaly likelihood (Ahmad, Lavin, Purdy, Agha: "Unsupervised real-time anomaly detection for
/// streaming data", Neurocomputing 262, 2017, section 4.2): the raw score's short-term mean is
/// compared with the raw score's long-term distribution (mean and variance, here exponentially
/// weighted so memory is O(1)); the Gaussian tail probability of the short mean gives the
/// likelihood that the process has changed. Output: `tail` = Q((short_mean - mu) / sigma) in
/// (0, 1]; small means anomalous. Also returns the surprise -log10(tail) (>= 0).
class AnomalyLikelihood {
 public:
  /// `short_window`: samples averaged for the short-term mean (1..32).
  /// `long_alpha`: weight of a new raw score in the long-term mean/variance (e.g. 1/2000).
  /// `min_sigma`: floor of the long-term standard deviation in raw-score units.
  AnomalyLikelihood(int short_window, double long_alpha, double min_sigma);

  /// Feeds one raw score (>= 0) and returns the surprise -log10(tail probability) of the current
  /// short-term mean under the long-term distribution as it was *before* this score.
  double Update(double raw);

  void Save(ByteWriter* w) const;
  Status Restore(ByteReader* r);

 private:
  static constexpr int kMaxWindow = 32;
  int short_window_;
  double long_alpha_;
  double min_sigma_;
  std::array<double, kMaxWindow> ring_{};
  int ring_pos_ = 0;
  uint32_t count_ = 0;
  double ring_sum_ = 0;
  double mean_ = 0;
  double var_ = 0;
};

/// -log10 of the upper Gaussian tail Q(z) = P(N(0,1) > z), accurate for large z (no underflow).
double GaussianTailSurprise(double z);

}  // namespace backsight::detect

#endif  // BACKSIGHT_DETECT_CALIBRATOR_H_
