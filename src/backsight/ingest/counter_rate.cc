#include "backsight/ingest/counter_rate.h"

#include <cmath>

namespace backsight::ingest {

bool CounterRate::Update(TimestampNs ts, double value, double* rate_per_s) {
  if (!std::isfinite(value)) {
    primed_ = false;
    return false;
  }
  if (!primed_) {
    primed_ = true;
    last_ts_ = ts;
    last_value_ = value;
    return false;
  }
  if (ts <= last_ts_) return false;
  double increase = value - last_value_;
  if (value < last_value_) {
    increase = value;  // reset: the counter restarted from zero
    ++resets_;
  }
  double dt_s = static_cast<double>(ts - last_ts_) / static_cast<double>(kNanosPerSecond);
  last_ts_ = ts;
  last_value_ = value;
  *rate_per_s = increase / dt_s;
  return true;
}

void CounterRate::Save(ByteWriter* w) const {
  w->PutU8(primed_ ? 1 : 0);
  w->PutI64(last_ts_);
  w->PutDouble(last_value_);
  w->PutU64(resets_);
}

Status CounterRate::Load(ByteReader* r) {
  uint8_t primed;
  BACKSIGHT_RETURN_IF_ERROR(r->GetU8(&primed, "CounterRate.primed"));
  if (primed > 1) return Status::Corruption("CounterRate.primed: expected 0 or 1");
  BACKSIGHT_RETURN_IF_ERROR(r->GetI64(&last_ts_, "CounterRate.last_ts"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetDouble(&last_value_, "CounterRate.last_value"));
  BACKSIGHT_RETURN_IF_ERROR(r->GetU64(&resets_, "CounterRate.resets"));
  primed_ = primed == 1;
  return Status::OK();
}

}  // namespace backsight::ingest
