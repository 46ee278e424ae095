#include "backsight/forecast/seasonal_profile.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backsight/core/saturating.h"

namespace backsight::forecast {
namespace {

constexpr double kLevelAlpha = 0.1;    // smoothing weight of the level
constexpr double kProfileAlpha = 0.1;  // smoothing weight of a profile bin
constexpr double kClip = 4.0;          // Huber clipping of residuals, in robust scales

void PutFloat(ByteWriter* w, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  w->PutU32(bits);
}

}  // namespace

int SeasonalProfile::PhaseBin(TimestampNs ts) const {
  const int64_t p = period_ns_;
  int64_t m = ts % p;
  if (m < 0) m += p;
  return std::min(bins_ - 1, static_cast<int>(static_cast<double>(m) / p * bins_));
}

void SeasonalProfile::Learn(int bin, double e, double floor) {
  const double sc = std::max(scale_.s, floor);
  const double ce = std::clamp(e, -kClip * sc, kClip * sc);
  scale_.Update(std::fabs(e));
  level_ += kLevelAlpha * ce;
  const float p = profile_[bin] + SaturatingFloat(kProfileAlpha * ce);
  if (std::isfinite(p)) profile_[bin] = p;
}

bool SeasonalProfile::MaybeAdopt(const PeriodFinder& finder, double step_ns, double level) {
  const int64_t p = finder.period_ns();
  if (p <= 0 || step_ns <= 0) return false;
  if (period_ns_ > 0 && std::llabs(p - period_ns_) < period_ns_ / 20) return false;
  const double steps = p / step_ns;
  if (steps < 4) return false;
  period_ns_ = p;
  bins_ = std::clamp(static_cast<int>(steps), 4, kMaxBins);
  finder.PhaseMeans(p, bins_, profile_.data());
  level_ = level;
  scale_ = RobustScale{};
  return true;
}

void SeasonalProfile::Save(ByteWriter* w) const {
  w->PutI64(period_ns_);
  w->PutU8(static_cast<uint8_t>(bins_));
  w->PutDouble(level_);
  scale_.Save(w);
  for (int i = 0; i < bins_; ++i) PutFloat(w, profile_[i]);
}

Status SeasonalProfile::Restore(ByteReader* r) {
  BACKSIGHT_RETURN_IF_ERROR(r->GetI64(&period_ns_, "period_ns"));
  uint8_t b;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&b, "bins"));
  if (b > kMaxBins || (b == 0) != (period_ns_ == 0) || period_ns_ < 0) {
    return Status::Corruption("inconsistent seasonal state (bins " + std::to_string(b) +
                              ", period_ns " + std::to_string(period_ns_) + ")");
  }
  bins_ = b;
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&level_, "seas_level"));
  BACKSIGHT_RETURN_IF_ERROR(scale_.Restore(r));
  for (int i = 0; i < bins_; ++i) {
    uint32_t bits;
    BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&bits, "profile"));
    std::memcpy(&profile_[i], &bits, 4);
  }
  return Status::OK();
}

}  // namespace backsight::forecast
