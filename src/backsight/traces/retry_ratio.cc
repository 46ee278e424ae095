#include "backsight/traces/retry_ratio.h"

#include <algorithm>
#include <tuple>

namespace backsight::traces {

namespace {
int64_t BucketStart(int64_t t, int64_t width) {
  const int64_t r = t % width;
  return t - (r < 0 ? r + width : r);
}
}  // namespace

RetryRatioBucket RetryRatioWindows::Close(std::string_view key, const Open& open) {
  RetryRatioBucket b;
  const size_t nul = key.find('\0');
  b.service = key.substr(0, nul);
  b.operation = key.substr(nul + 1);
  b.bucket_start_ns = open.bucket_start_ns;
  b.calls = open.calls;
  b.retries = open.retries;
  return b;
}

void RetryRatioWindows::Add(std::string_view service, std::string_view operation, int64_t start_ns,
                            uint64_t calls, uint64_t retries,
                            std::vector<RetryRatioBucket>* closed) {
  const int64_t start = BucketStart(start_ns, bucket_ns_);
  key_.assign(service);
  key_ += '\0';
  key_ += operation;
  auto it = open_.find(std::string_view(key_));
  if (it == open_.end()) {
    if (open_.size() >= max_operations_) {
      ++dropped_;
      return;
    }
    it = open_.try_emplace(key_).first;
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
  const size_t first = closed->size();
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.bucket_start_ns < before_ns) {
      closed->push_back(Close(it->first, it->second));
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(closed->begin() + static_cast<std::ptrdiff_t>(first), closed->end(),
            [](const RetryRatioBucket& a, const RetryRatioBucket& b) {
              return std::tie(a.service, a.operation) < std::tie(b.service, b.operation);
            });
}

}  // namespace backsight::traces
