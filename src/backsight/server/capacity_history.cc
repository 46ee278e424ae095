#include "backsight/server/capacity_history.h"

#include <cmath>
#include <limits>

#include "backsight/core/byte_io.h"
#include "backsight/store/state_store.h"

namespace backsight::server {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;
constexpr uint32_t kMagic = 0x48435342;  // bytes "BSCH"
// Version 2 added last_sample_ts at the end; version 1 is still read (formats.md §5g).
constexpr uint32_t kVersion = 2;
constexpr uint32_t kVersionWithoutLastSample = 1;
// CapacityService counts an open bucket's samples in an int.
constexpr uint64_t kMaxOpenCount = std::numeric_limits<int>::max();

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
  w.PutI64(h.last_sample_ts);
}

Status DecodeCapacityHistory(std::string_view in, CapacityHistory* h) {
  ByteReader r(in);
  // The header by hand, not GetStateHeader: two versions are read.
  uint32_t magic = 0, version = 0;
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&magic, "magic"));
  if (magic != kMagic) return Status::Corruption("capacity history: bad magic at byte 0");
  BACKSIGHT_RETURN_IF_ERROR(r.GetU32(&version, "version"));
  if (version != kVersion && version != kVersionWithoutLastSample) {
    return Status::Corruption("capacity history: unsupported version " + std::to_string(version) +
                              " (this build reads versions 1 and 2); start without this state "
                              "to rebuild it");
  }
  std::string labels;
  BACKSIGHT_RETURN_IF_ERROR(r.GetString(&labels, "labels"));
  BACKSIGHT_RETURN_IF_ERROR(store::DecodeLabels(labels, &h->labels));
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&h->step_ms, "step_ms"));
  // The service computes in ns: the step and the open bucket's end must fit an int64.
  int64_t step_ns = 0;
  if (h->step_ms <= 0 || __builtin_mul_overflow(h->step_ms, kNsPerMs, &step_ns)) {
    return Status::Corruption("capacity history: step_ms " + std::to_string(h->step_ms) +
                              " not positive or past int64 ns");
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&h->open_bucket, "open_bucket"));
  int64_t open_end_ns = 0;
  if (h->open_bucket != INT64_MIN && (__builtin_add_overflow(h->open_bucket, 1, &open_end_ns) ||
                                      __builtin_mul_overflow(open_end_ns, step_ns, &open_end_ns))) {
    return Status::Corruption("capacity history: open_bucket " + std::to_string(h->open_bucket) +
                              " ends past int64 ns at step " + std::to_string(h->step_ms) + " ms");
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetDouble(&h->open_sum, "open_sum"));
  if (!std::isfinite(h->open_sum)) {
    return Status::Corruption("capacity history: non-finite open_sum before offset " +
                              std::to_string(r.position()));
  }
  BACKSIGHT_RETURN_IF_ERROR(r.GetVarint(&h->open_count, "open_count"));
  if (h->open_count > kMaxOpenCount) {
    return Status::Corruption("capacity history: open_count " + std::to_string(h->open_count) +
                              " past " + std::to_string(kMaxOpenCount));
  }
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
  if (version == kVersion) {
    BACKSIGHT_RETURN_IF_ERROR(r.GetI64(&h->last_sample_ts, "last_sample_ts"));
  } else if (h->open_bucket != INT64_MIN) {  // v1: the open bucket's last ns (checked above)
    h->last_sample_ts = open_end_ns - 1;
  } else {  // v1 without an open bucket: the last closed one's last ns
    h->last_sample_ts = h->last_bucket_end > 0 ? h->last_bucket_end - 1 : INT64_MIN;
  }
  if (!r.done()) {
    return Status::Corruption("capacity history: " + std::to_string(r.remaining()) +
                              " trailing bytes at offset " + std::to_string(r.position()));
  }
  return Status::OK();
}

}  // namespace backsight::server
