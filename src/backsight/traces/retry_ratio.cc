#include "backsight/traces/retry_ratio.h"

namespace backsight::traces {

namespace {
int64_t BucketStart(int64_t t, int64_t width) {
  const int64_t r = t % width;
  return t - (r < 0 ? r + width : r);
}
}  // namespace

RetryRatioBucket RetryRatioWindows::Close(const Key& key, const Open& open) {
  RetryRatioBucket b;
  b.service = key.first;
  b.operation = key.second;
  b.bucket_start_ns = open.bucket_start_ns;
  b.calls = open.calls;
  b.retries = open.retries;
  return b;
}

void RetryRatioWindows::Add(std::string_view service, std::string_view operation, int64_t start_ns,
                            uint64_t calls, uint64_t retries,
                            std::vector<RetryRatioBucket>* closed) {
  const int64_t start = BucketStart(start_ns, bucket_ns_);
  auto it = open_.find(KeyLess::View(service, operation));
  if (it == open_.end()) {
    if (open_.size() >= max_operations_) {
      ++dropped_;
      return;
    }
    it = open_.try_emplace(Key(service, operation)).first;
    it->second.bucket_start_ns = start;
  } else if (start < it->second.bucket_start_ns) {
    ++late_;
    return;
  } else if (start > it->second.bucket_start_ns) {
    closed->push_back(Close(it->first, it->second));
    it->second = Open();
    it->second.bucket_start_ns = start;
  }
  it->second.calls += calls;
  it->second.retries += retries;
}

void RetryRatioWindows::Flush(int64_t before_ns, std::vector<RetryRatioBucket>* closed) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.bucket_start_ns < before_ns) {
      closed->push_back(Close(it->first, it->second));
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace backsight::traces
