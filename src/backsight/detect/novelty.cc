#include "backsight/detect/novelty.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace backsight::detect {

namespace {
// Excess of f beyond [lo, hi] in widths. Differences are taken of halves (exact power-of-two
// scaling, so the ratio is bit-identical to the unscaled one) so they cannot overflow.
double Excess(double f, double lo, double hi) {
  const double w = 0.5 * hi - 0.5 * lo;
  const double d = std::max(0.5 * f - 0.5 * hi, 0.5 * lo - 0.5 * f);
  if (w > 0) return std::min(std::max(0.0, d / w), GlobalEnvelope::kMaxExcess);
  return f != hi ? GlobalEnvelope::kMaxExcess : 0.0;
}
// Deviations that update the moments are clamped here so their squares stay below DBL_MAX.
constexpr double kMaxDeviation = 1e150;
// The z-score fed to the sums is clamped at this many standard deviations.
constexpr double kZClamp = 10.0;
}  // namespace

double GlobalEnvelope::Update(double f, double learn, uint32_t min_n) {
  const double ex = n_ >= min_n ? Excess(f, lo_, hi_) : 0.0;
  if (n_ == 0) lo_ = hi_ = learn;
  lo_ = std::min(lo_, learn);
  hi_ = std::max(hi_, learn);
  if (n_ < UINT32_MAX) ++n_;
  return ex;
}

void GlobalEnvelope::Save(ByteWriter* w) const {
  w->PutDouble(lo_);
  w->PutDouble(hi_);
  w->PutU32(n_);
}

Status GlobalEnvelope::Restore(ByteReader* r) {
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&lo_, "envelope.lo"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&hi_, "envelope.hi"));
  return r->GetU32(&n_, "envelope.n");
}

double LocalEnvelope::Update(double f, double learn, double tau, uint32_t min_n) {
  if (n_ == 0) lo_ = hi_ = centre_ = learn;
  const double ex = n_ >= min_n ? Excess(f, lo_, hi_) : 0.0;
  if (n_ < UINT32_MAX) ++n_;
  const double lam = 1.0 / tau;
  centre_ += lam * SaturatingDiff(learn, centre_);
  lo_ = std::min(lo_ + lam * SaturatingDiff(centre_, lo_), learn);
  hi_ = std::max(hi_ - lam * SaturatingDiff(hi_, centre_), learn);
  return ex;
}

void LocalEnvelope::Save(ByteWriter* w) const {
  w->PutDouble(lo_);
  w->PutDouble(hi_);
  w->PutDouble(centre_);
  w->PutU32(n_);
}

Status LocalEnvelope::Restore(ByteReader* r) {
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&lo_, "local_envelope.lo"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&hi_, "local_envelope.hi"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&centre_, "local_envelope.centre"));
  return r->GetU32(&n_, "local_envelope.n");
}

double RollingMean::Add(double x) {
  constexpr double kScale = 1.0 / 16;  // exact; keeps the sum of kWindow values finite
  x *= kScale;
  sum_ += x - ring_[pos_];
  ring_[pos_] = x;
  pos_ = (pos_ + 1) % kWindow;
  if (n_ < UINT32_MAX) ++n_;
  if (pos_ == 0) {  // re-sum exactly once per cycle
    double s = 0;
    for (double v : ring_) s += v;
    sum_ = s;
  }
  return sum_ / std::min<uint32_t>(n_, kWindow) / kScale;
}

void RollingMean::Save(ByteWriter* w) const {
  for (double v : ring_) w->PutDouble(v);
  w->PutU8(static_cast<uint8_t>(pos_));
  w->PutU32(n_);
  w->PutDouble(sum_);
}

Status RollingMean::Restore(ByteReader* r) {
  for (double& v : ring_) BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&v, "rolling_mean.ring"));
  uint8_t pos;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&pos, "rolling_mean.pos"));
  if (pos >= kWindow) return Status::Corruption("rolling_mean.pos out of range");
  pos_ = pos;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&n_, "rolling_mean.n"));
  return r->GetDouble(&sum_, "rolling_mean.sum");
}

double Cusum::Update(double x, double floor, bool armed) {
  if (n_ == 0) mean_ = x;
  const double sd = std::max(std::sqrt(var_), floor);
  const double z = std::clamp(SaturatingDiff(x, mean_) / sd, -kZClamp, kZClamp);
  if (armed) {
    pos_ = std::max(0.0, pos_ + z - k_);
    neg_ = std::max(0.0, neg_ - z - k_);
    pos_n_ = pos_ > 0 ? pos_n_ + 1 : 0;
    neg_n_ = neg_ > 0 ? neg_n_ + 1 : 0;
  }
  const double stat = std::max(pos_, neg_) / h_;
  if (stat > 1) {
    // Page's estimate of the shift: k + S / (samples since the sum last left zero).
    const bool up = pos_ >= neg_;
    dir_ = up ? 1 : -1;
    shift_ =
        up ? k_ + pos_ / std::max<uint32_t>(pos_n_, 1) : k_ + neg_ / std::max<uint32_t>(neg_n_, 1);
    pos_ = neg_ = 0;
    pos_n_ = neg_n_ = 0;
  }
  ++n_;
  const double a = std::max(alpha_, 1.0 / static_cast<double>(n_));
  const double d = std::clamp(SaturatingDiff(x, mean_), -kMaxDeviation, kMaxDeviation);
  mean_ += a * d;
  var_ = (1 - a) * (var_ + a * d * d);
  return stat;
}

void Cusum::Save(ByteWriter* w) const {
  w->PutDouble(mean_);
  w->PutDouble(var_);
  w->PutDouble(pos_);
  w->PutDouble(neg_);
  w->PutU32(pos_n_);
  w->PutU32(neg_n_);
  w->PutDouble(shift_);
  w->PutU64(n_);
  w->PutU8(static_cast<uint8_t>(dir_ + 1));
}

Status Cusum::Restore(ByteReader* r) {
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&mean_, "cusum.mean"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&var_, "cusum.var"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&pos_, "cusum.pos"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&neg_, "cusum.neg"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&pos_n_, "cusum.pos_n"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU32(&neg_n_, "cusum.neg_n"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&shift_, "cusum.shift"));
  if (!(shift_ >= 0) || !std::isfinite(shift_)) return Status::Corruption("cusum.shift invalid");
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&n_, "cusum.n"));
  uint8_t dir;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&dir, "cusum.direction"));
  if (dir > 2) return Status::Corruption("cusum.direction out of range");
  dir_ = static_cast<int8_t>(dir - 1);
  return Status::OK();
}

}  // namespace backsight::detect
