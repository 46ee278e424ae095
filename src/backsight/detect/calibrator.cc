#include "backsight/detect/calibrator.h"

#include <algorithm>
#include <cmath>

namespace backsight::detect {

double GaussianTailSurprise(double z) {
  if (z < 5.0) {
    const double q = 0.5 * std::erfc(z / std::sqrt(2.0));
    return -std::log10(std::max(q, 1e-300));
  }
  // Asymptotic expansion: Q(z) ~ phi(z)/z * (1 - 1/z^2 + 3/z^4).
  const double lnq = -0.5 * z * z - std::log(z) - 0.5 * std::log(2 * M_PI) +
                     std::log1p(-1.0 / (z * z) + 3.0 / (z * z * z * z));
  return -lnq / std::log(10.0);
}

AnomalyLikelihood::AnomalyLikelihood(int short_window, double long_alpha, double min_sigma)
    : short_window_(std::clamp(short_window, 1, kMaxWindow)),
      long_alpha_(long_alpha),
      min_sigma_(min_sigma) {}

double AnomalyLikelihood::Update(double raw) {
  // Short-term mean over the last short_window_ raw scores (ring buffer, O(1)).
  ring_sum_ += raw - ring_[ring_pos_];
  ring_[ring_pos_] = raw;
  ring_pos_ = (ring_pos_ + 1) % short_window_;
  const int n = static_cast<int>(std::min<uint32_t>(count_ + 1, short_window_));
  const double short_mean = ring_sum_ / n;
  double surprise = 0;
  if (count_ > 0) {
    const double sigma = std::max(std::sqrt(var_), min_sigma_);
    surprise = GaussianTailSurprise((short_mean - mean_) / sigma);
  }
  // Long-term distribution: exponentially weighted mean and variance (West 1979 update), with a
  // faster start so the first samples are not dominated by initial zeros.
  ++count_;
  const double a = std::max(long_alpha_, 1.0 / count_);
  const double d = raw - mean_;
  mean_ += a * d;
  var_ = (1 - a) * (var_ + a * d * d);
  return surprise;
}

void AnomalyLikelihood::Save(ByteWriter* w) const {
  w->PutU8(static_cast<uint8_t>(short_window_));
  for (int i = 0; i < short_window_; ++i) w->PutDouble(ring_[i]);
  w->PutU8(static_cast<uint8_t>(ring_pos_));
  w->PutU32(count_);
  w->PutDouble(ring_sum_);
  w->PutDouble(mean_);
  w->PutDouble(var_);
}

Status AnomalyLikelihood::Restore(ByteReader* r) {
  uint8_t sw, pos;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&sw, "likelihood.short_window"));
  if (sw != short_window_) return Status::Corruption("likelihood.short_window mismatch");
  for (int i = 0; i < short_window_; ++i) {
    BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&ring_[i], "likelihood.ring"));
  }
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&pos, "likelihood.ring_pos"));
  if (pos >= short_window_) return Status::Corruption("likelihood.ring_pos out of range");
  ring_pos_ = pos;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&count_, "likelihood.count"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&ring_sum_, "likelihood.ring_sum"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&mean_, "likelihood.mean"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&var_, "likelihood.var"));
  return Status::OK();
}

}  // namespace backsight::detect
