#include "backsight/server/capacity_history.h"

#include <cmath>

#include "backsight/core/byte_io.h"
#include "backsight/store/state_store.h"

namespace backsight::server {
namespace {

constexpr uint32_t kMagic = 0x48435342;  // bytes "BSCH"
constexpr uint32_t kVersion = 1;

}  // namespace

void EncodeCapacityHistory(const CapacityHistory& h, std::string* out) {
  ByteWriter w(out);
  w.PutU32(kMagic);
  w.PutU32(kVersion);
  std::string labels;
  store::EncodeLabels(h.labels, &labels);
  w.PutString(labels);
  w.PutI64(h.step_ms);
  w.PutI64(h.open_bucket);
  w.PutDouble(h.open_sum);
  w.PutVarint(h.open_count);
  w.PutI64(h.last_bucket_end);
  w.PutVarint(h.fitted_at);
  w.PutVarint(h.since_fit);
  w.PutVarint(h.buckets.size());
  for (double b : h.buckets) w.PutDouble(b);
}

Status DecodeCapacityHistory(std::string_view in, CapacityHistory* h) {
  ByteReader r(in);
  BACKSIGHT_RETURN_IF_ERROR(r.GetStateHeader(kMagic, kVersion, "capacity history"));
  std::string labels;
  BACKSIGHT_RETURN_IF_ERROR(r.GetString(&labels, "labels"));
  BACKSIGHT_RETURN_IF_ERROR(store::DecodeLabels(labels, &h->labels));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&h->step_ms, "step_ms"));
  if (h->step_ms <= 0) {
    return Status::Corruption("capacity history: step_ms " + std::to_string(h->step_ms) +
                              " not positive");
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&h->open_bucket, "open_bucket"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&h->open_sum, "open_sum"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&h->open_count, "open_count"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&h->last_bucket_end, "last_bucket_end"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&h->fitted_at, "fitted_at"));
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&h->since_fit, "since_fit"));
  uint64_t n = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&n, "bucket_count"));
  if (n > kMaxCapacityHistory) {
    return Status::Corruption("capacity history: " + std::to_string(n) + " buckets, at most " +
                              std::to_string(kMaxCapacityHistory));
  }
  h->buckets.resize(n);
  for (double& b : h->buckets) {
    BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&b, "bucket"));
    if (!std::isfinite(b)) {
      return Status::Corruption("capacity history: non-finite bucket before offset " +
                                std::to_string(r.position()));
    }
  }
  if (!r.done()) {
    return Status::Corruption("capacity history: " + std::to_string(r.remaining()) +
                              " trailing bytes at offset " + std::to_string(r.position()));
  }
  return Status::OK();
}

}  // namespace backsight::server
