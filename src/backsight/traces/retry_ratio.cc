#include "backsight/traces/retry_ratio.h"

#include <algorithm>
#include <tuple>

namespace backsight::traces {

RetryRatioBucket RetryRatioWindows::ToBucket(std::string_view service, std::string_view operation,
                                             int64_t bucket_start_ns, const Counts& c) {
  RetryRatioBucket b;
  b.service = service;
  b.operation = operation;
  b.bucket_start_ns = bucket_start_ns;
  b.calls = c.calls;
  b.retries = c.retries;
  return b;
}

void RetryRatioWindows::Add(std::string_view service, std::string_view operation, int64_t start_ns,
                            uint64_t calls, uint64_t retries,
                            std::vector<RetryRatioBucket>* closed) {
  Counts* c = open_.Find(service, operation, start_ns,
                         [closed](auto&&... bucket) { closed->push_back(ToBucket(bucket...)); });
  if (c == nullptr) return;
  c->calls += calls;
  c->retries += retries;
}

void RetryRatioWindows::Flush(int64_t before_ns, std::vector<RetryRatioBucket>* closed) {
  const size_t first = closed->size();
  open_.Flush(before_ns, [closed](auto&&... bucket) { closed->push_back(ToBucket(bucket...)); });
  std::sort(closed->begin() + static_cast<std::ptrdiff_t>(first), closed->end(),
            [](const RetryRatioBucket& a, const RetryRatioBucket& b) {
              return std::tie(a.service, a.operation) < std::tie(b.service, b.operation);
            });
}

}  // namespace backsight::traces
