#include "backsight/detect/novelty.h"

namespace backsight::detect {

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
