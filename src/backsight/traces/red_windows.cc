#include "backsight/traces/red_windows.h"

namespace backsight::traces {

namespace {
// The p99 the bucket reports.
constexpr double kBucketQuantile = 0.99;
constexpr double kSecondsPerNs = 1e-9;
}  // namespace

RedBucket RedWindows::ToBucket(std::string_view service, std::string_view operation,
                               int64_t bucket_start_ns, const Counts& c) {
  RedBucket b;
  b.service = service;
  b.operation = operation;
  b.bucket_start_ns = bucket_start_ns;
  b.calls = c.hist.count();
  b.errors = c.errors;
  b.p99_seconds = c.hist.Quantile(kBucketQuantile) * kSecondsPerNs;
  return b;
}

void RedWindows::Add(const ingest::Span& s, std::vector<RedBucket>* closed) {
  Counts* c = open_.Find(s.service, s.name, s.start_ns,
                         [closed](auto&&... bucket) { closed->push_back(ToBucket(bucket...)); });
  if (c == nullptr) return;
  c->hist.Add(s.duration_ns());
  if (s.status == ingest::SpanStatus::kError) ++c->errors;
}

void RedWindows::Flush(int64_t before_ns, std::vector<RedBucket>* closed) {
  open_.Flush(before_ns, [closed](auto&&... bucket) { closed->push_back(ToBucket(bucket...)); });
}

}  // namespace backsight::traces
